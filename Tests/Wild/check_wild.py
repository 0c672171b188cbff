"""Real users' model files (../shared/keras-wild, make test-wild): every file loaded from C
(run_wild, through lstm.h) and from Python (the lstm package), run on its reference inputs and
compared with the outputs real Keras (or numpy from the stored arrays) gave, to 1e-5. One line
per file says what happened. The files are third-party test inputs: they are read where they
are and never copied into the repository.

Each file's expected outcome is listed in EXPECTED: "match" (both loaders run it and every output
is within 1e-5 of the reference), or the words the refusal must contain while the file is still
refused. A file that starts matching, or a refusal that changes, fails the run until the table
says so: the table is the record of what the library reads.

Usage: check_wild.py KERAS_WILD_DIR RUN_WILD_BINARY"""
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np

import lstm

TOLERANCE = 1e-5

# How each weights-only file gets its architecture (besides the manifest's
# architecture_for_weights_only): a companion file holding Keras JSON.
ARCHITECTURES = {
    "06": "files/06_ecg_bilstm_autoenc_weights_k212.companion.architecture.json",
    "20": "files/20_covid_stacked_gru_k3.companion.lstm_model.json",
}

# The outputs to compare, where the reference is of a layer's output rather than the model's
# (the part of the graph before a layer that cannot run).
OUTPUTS = {
    "05": ["softmax"],  # the CTC loss output needs a Lambda; the reference is the softmax
}

EXPECTED = {
    "01": "match",
    "02": "match",
    "03": "match",
    "05": "match",
    "06": "match",
    "07": "refused: no architecture",
    "09": "refused: no architecture",
    "11": "match",
    "14": "refused: (Lambda) holds Python code",
    "15": "match",
    "16": "refused: has rank 5",
    "18": "match",
    "19": "refused: no architecture",
    "20": "match",
    "21": "refused: layer class 'Attention'",
    "24": "match",
}


# What a weights-only file without an architecture in the corpus gives, from C and Python alike.
NO_ARCHITECTURE = "refused: a weights-only file with no architecture to load it into (no architecture available)"


def recipe(wild, entry):
    """(key, model or weights path, architecture path or None, [(input paths, output paths)]),
    the runs being the reference inputs and, where the corpus has them, masked ones."""
    key = os.path.basename(entry["file"])[:2]
    ref = entry["reference"]
    arch = entry.get("architecture_for_weights_only") or ARCHITECTURES.get(key)
    runs = [([os.path.join(wild, "refs", i["file"]) for i in ref["inputs"]],
             [os.path.join(wild, "refs", o["file"]) for o in ref["outputs"]])]
    masked = [os.path.join(wild, "refs", i["file"].replace(".npy", "_masked.npy")) for i in ref["inputs"]]
    if all(os.path.exists(p) for p in masked):
        runs.append((masked, [os.path.join(wild, "refs", o["file"].replace(".npy", "_masked.npy")) for o in ref["outputs"]]))
    return key, os.path.join(wild, entry["file"]), arch and os.path.join(wild, arch), runs


def from_python(path, arch, runs, weights_only, outputs):
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        result = run_python(path, arch, runs, weights_only, outputs)
    return result + "".join(f" (note: {n.message})" for n in notes if result.startswith("ran"))


def run_python(path, arch, runs, weights_only, outputs):
    try:
        if arch:
            with open(arch) as f:
                model = lstm.models.model_from_json(f.read())
            model.load_weights(path)
        elif weights_only:
            return NO_ARCHITECTURE
        else:
            model = lstm.load_model(path, compile=False, outputs=outputs)
        worst = 0.0
        for ins, outs in runs:
            xs = [np.load(p) for p in ins]
            ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            ys = ys if isinstance(ys, list) else [ys]
            for y, want in zip(ys, [np.load(p) for p in outs]):
                if y.shape != want.shape:
                    return f"shape {y.shape}, reference {want.shape}"
                worst = max(worst, float(np.abs(y - want).max()))
        return f"ran: max |diff| {worst:.3g}"
    except (lstm.LSTMError, ValueError, OSError, NotImplementedError) as e:
        return f"refused: {e}"


def from_c(binary, path, arch, runs, weights_only, outputs):
    if weights_only and not arch:
        return NO_ARCHITECTURE
    worst = 0.0
    for ins, outs in runs:
        cmd = ([binary, path] + (["--arch", arch] if arch else []) + (["--outputs"] + outputs if outputs else [])
               + ["--in"] + ins + ["--out"] + outs)
        done = subprocess.run(cmd, capture_output=True, text=True)
        line = done.stdout.strip()
        if done.returncode != 0 or not line.startswith("ran: "):
            return line or done.stderr.strip()
        worst = max(worst, float(line.split()[3]))
    return f"ran: max |diff| {worst:.3g}"


def outcome_ok(result, expected):
    if expected == "match":
        diff = re.match(r"ran: max \|diff\| (\S+)", result)
        return diff is not None and float(diff.group(1)) <= TOLERANCE
    return result.startswith("refused") and expected.split("refused: ", 1)[1] in result


def main():
    wild, binary = sys.argv[1], sys.argv[2]
    with open(os.path.join(wild, "manifest.json")) as f:
        manifest = json.load(f)
    passed = failed = matching = 0
    for entry in manifest["files"]:
        key, path, arch, runs = recipe(wild, entry)
        weights_only = entry["format"].startswith("weights") or entry["format"] == "keras3_weights_h5"
        c = from_c(binary, path, arch, runs, weights_only, OUTPUTS.get(key))
        py = from_python(path, arch, runs, weights_only, OUTPUTS.get(key))
        expected = EXPECTED.get(key, "match")
        ok = outcome_ok(c, expected) and outcome_ok(py, expected)
        both_match = outcome_ok(c, "match") and outcome_ok(py, "match")
        matching += both_match
        passed += ok
        failed += not ok
        status = "matches" if both_match else "refused" if c.startswith("refused") and py.startswith("refused") else "differs"
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)[:44]:44s} Keras {entry['keras_version'][:12]:12s} {status:8s}"
              f" C: {c[:110]}")
        if py != c:
            print(f"{'':50s} Python: {py[:110]}")
        if not ok:
            print(f"{'':50s} expected: {expected}")
    print(f"keras-wild: {matching} of {len(manifest['files'])} files load and match their reference from C and Python")
    print(f"wild: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
