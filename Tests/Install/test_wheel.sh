#!/usr/bin/env bash
# The repaired wheel (make wheel) used as a Python user gets it (make test-wheel): installed
# with pip into a fresh virtual environment, then run from an empty folder with a clean
# environment (no LD_LIBRARY_PATH, LSTM_LIBRARY or PYTHONPATH) and the repository out of its
# search path: it must load its own copy of liblstm and of every library that copy needs
# beyond the manylinux baseline, give Keras's outputs on a model Keras wrote, train, and save.
# The wheel is small: at most 5 MB, bundling at most compression libraries (the library reads
# and writes HDF5 itself: no libhdf5, and none of the curl, TLS and Kerberos libraries
# Debian's libhdf5 links).
# Usage (from the repository root, after make wheel): Tests/Install/test_wheel.sh
set -euo pipefail
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wheel=$(ls build/wheelhouse/liblstm-*-py3-none-manylinux_*_x86_64.whl)
echo "wheel: $(basename "$wheel"), $(stat -c %s "$wheel") bytes"
python3 - "$wheel" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
libs = [i for i in z.infolist() if ".libs/" in i.filename and not i.filename.endswith("/")]
own = [i for i in z.infolist() if i.filename == "lstm/liblstm.so"]
print(f"  lstm/liblstm.so: {own[0].file_size} bytes; bundled by auditwheel: {len(libs)} libraries, "
      f"{sum(i.file_size for i in libs)} bytes ({sum(i.compress_size for i in libs)} compressed)")
names = sorted(i.filename.split("/")[-1].split("-")[0] for i in libs)
print("  " + " ".join(names))
size = os.path.getsize(sys.argv[1])
assert size <= 5_000_000, f"the wheel is {size} bytes, more than 5 MB"
allowed = {"libz", "libsz", "libaec"}  # compression libraries, the most the wheel may carry
assert set(n.split(".so")[0] for n in names) <= allowed, f"the wheel bundles {names}: more than compression libraries"
PY

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
cp Tests/Fixtures/files/keras3_stacked_softmax.keras Tests/Fixtures/configs/keras3_stacked_softmax.json "$work/"
mkdir "$work/run"
cd "$work/run"
env -i PATH=/usr/bin:/bin HOME="$work" "$work/venv/bin/python" -I - "$work" <<'PY' || fail "the installed wheel"
import json, os, subprocess, sys
import numpy as np
import lstm

work = sys.argv[1]
site = os.path.join(work, "venv")
path = lstm.library_path
assert path.startswith(site), f"liblstm loaded from {path}, not from the wheel in {site}"
# Every library liblstm needs resolves to the system's baseline or to the wheel's own copies.
ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
for heavy in ["libhdf5", "libcurl", "libssl", "libcrypto", "libgnutls", "libkrb5", "libldap"]:
    assert heavy not in ldd, f"liblstm loads {heavy}:\n{ldd}"
assert "not found" not in ldd, ldd
outside = sorted({l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=>" in l and site not in l})
print("  outside the wheel:", " ".join(os.path.basename(p) for p in outside))
for p in outside:
    assert os.path.basename(p).split(".so")[0] in {"libc", "libm", "libstdc++", "libgcc_s", "libresolv", "libpthread",
                                                   "libdl", "librt", "libz"}, f"{p} is not in the manylinux baseline"

with open(os.path.join(work, "keras3_stacked_softmax.json")) as f:
    expected = json.load(f)
x = np.array(expected["x"]["values"], dtype=np.float32).reshape(expected["x"]["shape"])
y = np.array(expected["y"]["values"], dtype=np.float32).reshape(expected["y"]["shape"])
model = lstm.load_model(os.path.join(work, "keras3_stacked_softmax.keras"))
got = model.predict(x, verbose=0)
np.testing.assert_allclose(got, y, atol=1e-5)
print(f"  Keras's outputs on its own file: max |diff| {np.abs(got - y).max():.1e}")

model.compile(optimizer="adam", loss="categorical_crossentropy")
target = np.eye(y.shape[1], dtype=np.float32)[np.arange(len(x)) % y.shape[1]]
history = model.fit(x, target, epochs=5, verbose=0)
assert history.history["loss"][-1] < history.history["loss"][0], history.history
model.save(os.path.join(work, "trained.keras"))
again = lstm.load_model(os.path.join(work, "trained.keras"))
np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
print(f"  trained 5 epochs (loss {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}), "
      f"saved (the library's own HDF5 writer) and loaded back identical")
print(f"  lstm {lstm.__version__} from {os.path.relpath(path, work)}")
PY
# The checks above: at most 5 MB with nothing but compression libraries bundled; loaded from
# the wheel, no libhdf5 or TLS stack loaded, nothing beyond the baseline; Keras's outputs;
# trained, saved and reloaded.
echo "wheel: 6 passed, 0 failed (installed and used away from the build tree)"
