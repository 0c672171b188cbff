"""ONNX export (Model.export(format="onnx"), lstm_model_export_onnx, `lstm export`): every fixture
model with Keras's weights (Tests/Fixtures/graphs, layers, configs: written by real Keras) is
exported, checked by ONNX's own checker (full shape inference), run in ONNX Runtime, and compared
with the library's predict and with Keras's recorded outputs, masked models included. What has no ONNX form here is refused
with a message naming the layer and what it uses."""
import glob
import json
import os
import subprocess

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import lstm
from lstm import layers as L

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures")
# float32 through different but exact formulas (ORT's kernels, ours): a few ulps of the outputs.
TOLERANCE = 1e-5

# Fixtures whose models use what the exporter refuses, and the words the refusal must contain
# (none today: every fixture model exports).
REFUSED = {}


def listify(v):
    return v if isinstance(v, list) else [v]


def fixture_models():
    for folder in ["graphs", "layers", "configs"]:
        for path in sorted(glob.glob(os.path.join(FIXTURES, folder, "*.json"))):
            with open(path) as f:
                d = json.load(f)
            if "weights" in d and "x" in d:
                yield f"{folder}/{os.path.basename(path)[:-5]}", d


def arrays(d, key):
    return [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in listify(d[key])]


def input_specs(model):
    """(name, batch shape) of each model input, from the model's Keras config."""
    c = json.loads(model.to_json())["config"]
    inputs = {l["config"]["name"]: l["config"]["batch_shape"] for l in c["layers"] if l["class_name"] == "InputLayer"}
    wanted = c.get("input_layers")
    if wanted is None:  # Sequential: its one InputLayer
        return list(inputs.items())
    wanted = [wanted] if isinstance(wanted[0], str) else wanted
    return [(w[0], inputs[w[0]]) for w in wanted]


def run_onnx(path, xs):
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session, session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs)})


PARITY = []  # (fixture, max |ORT - ours|, max |ORT - Keras|), printed at the end


@pytest.mark.parametrize("name, d", list(fixture_models()), ids=lambda v: v if isinstance(v, str) else "")
def test_fixture_models_export_and_match_in_onnx_runtime(name, d, tmp_path):
    try:
        model = lstm.models.model_from_json(d["model_json"])
    except lstm.LSTMError as e:
        # Keras 2's hard_sigmoid cannot be written as Keras 3 JSON, which model_from_json
        # round-trips through; its files load and export (test_keras2_files_export).
        assert "Keras 2's" in str(e)
        pytest.skip(str(e))
    model.set_weights(arrays(d, "weights"))
    out = str(tmp_path / "model.onnx")
    if name in REFUSED:
        with pytest.raises(lstm.LSTMError, match="has no ONNX form") as e:
            model.export(out, format="onnx", verbose=False)
        assert REFUSED[name] in str(e.value) and "layer '" in str(e.value), str(e.value)
        assert not os.path.exists(out)
        return
    model.export(out, format="onnx", verbose=False)
    xs = arrays(d, "x")
    session, got = run_onnx(out, xs)
    ours = listify(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
    keras = arrays(d, "y")
    assert [i.name for i in session.get_inputs()] == [n for n, _ in input_specs(model)]
    assert len(got) == len(ours) == len(keras)
    for a, b, k in zip(got, ours, keras):
        assert a.shape == b.shape == k.shape
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0)
        np.testing.assert_allclose(a, k, atol=TOLERANCE, rtol=0)
    PARITY.append((name, max(float(np.abs(a - b).max()) for a, b in zip(got, ours)),
                   max(float(np.abs(a - k).max()) for a, k in zip(got, keras))))


def test_every_fixture_is_exported_or_refused_as_listed():
    names = [n for n, _ in fixture_models()]
    assert set(REFUSED) <= set(names), sorted(set(REFUSED) - set(names))
    print(f"\nONNX parity: {len(PARITY)} fixture models (max |ORT - ours|, max |ORT - Keras|)")
    for name, ours, keras in PARITY:
        print(f"  {name:45s} {ours:.1e} {keras:.1e}")
    assert len(PARITY) >= 44


@pytest.mark.parametrize("path", ["files/keras2_sine.h5", "files/keras3_layers_cnn_lstm.keras", "files/keras2_relu_hardsigmoid_nobias.h5",
                                  "files/keras3_graph_recurrent_layers.keras", "files/keras3_graph_text_classifier.keras"])
def test_keras_files_export(path, tmp_path):
    """Files as users bring them."""
    model = lstm.load_model(os.path.join(FIXTURES, path))
    rng = np.random.default_rng(5)
    xs = []
    for _, batch_shape in input_specs(model):
        shape = [3] + [d if d is not None else 7 for d in batch_shape[1:]]
        if "text" in path:
            xs.append(rng.integers(0, 10, size=shape).astype(np.float32))
        else:
            xs.append(rng.uniform(-1, 1, size=shape).astype(np.float32))
    out = str(tmp_path / "m.onnx")
    model.export(out, format="onnx", verbose=False)
    _, got = run_onnx(out, xs)
    ours = listify(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
    for a, b in zip(got, ours):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0)


def recurrent_variants():
    """Options the fixtures leave out, each a layer the operators must express exactly."""
    x = lstm.Input(shape=(None, 3), name="x")
    outs = [
        L.LSTM(4, activation="leaky_relu", recurrent_activation="hard_sigmoid", return_sequences=True, go_backwards=True)(x),
        # Only the later functions take an alpha: the operator must read [0.2, 0.2] as theirs.
        L.LSTM(3, activation="leaky_relu", recurrent_activation="sigmoid", use_bias=False)(x),
        L.GRU(3, activation="elu", recurrent_activation="hard_sigmoid")(x),
        L.GRU(4, reset_after=False, return_sequences=True)(x),
        L.GRU(3, activation="softsign", go_backwards=True)(x),
        L.SimpleRNN(5, activation="relu", return_sequences=True, go_backwards=True)(x),
        L.SimpleRNN(2, activation="linear")(x),
        L.Bidirectional(L.GRU(2, reset_after=False, return_sequences=True), merge_mode="mul")(x),
    ]
    f, b = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(x)
    return lstm.Model(x, outs + [f, b])


def exported_with_random_weights(model, path, seed, scale):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-scale, scale, size=w.shape).astype(np.float32) for w in model.get_weights()])
    model.export(path, format="onnx", verbose=False)
    return rng


def test_recurrent_options_dynamic_batch_and_length(tmp_path):
    model = recurrent_variants()
    out = str(tmp_path / "variants.onnx")
    rng = exported_with_random_weights(model, out, 11, 0.8)
    for batch, steps in [(1, 1), (4, 9), (2, 23)]:  # the batch and the length are dynamic
        x = rng.uniform(-2, 2, size=(batch, steps, 3)).astype(np.float32)
        _, got = run_onnx(out, [x])
        ours = model.predict(x, verbose=0)
        assert len(got) == len(ours) == 10
        for k, (a, b) in enumerate(zip(got, ours)):
            np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0, err_msg=f"output {k}, batch {batch}, steps {steps}")


def masked_variants():
    """Masks as Keras passes them, where the fixtures' are tame: steps masked in the middle and
    at both ends, rows with no real step, go_backwards, Bidirectional halves with return_state,
    initial states, the masked average, and masks joined along the time axis."""
    tokens = lstm.Input(shape=(None,), name="tokens")
    series = lstm.Input(shape=(None, 2), name="series")
    e = L.Embedding(9, 3, mask_zero=True)(tokens)
    h0 = lstm.Input(shape=(4,), name="h0")
    out = [
        L.LSTM(4, return_sequences=True)(e),
        L.LSTM(4, return_sequences=True, go_backwards=True)(e),
        L.GRU(3, return_sequences=True, reset_after=False)(e),
        L.SimpleRNN(4, go_backwards=True)(e, initial_state=[h0]),
    ]
    seq, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True))(e)
    out += [seq, fh, fc, bh, bc]
    out.append(L.Bidirectional(L.GRU(2), merge_mode="ave")(e))
    out.append(L.GlobalAveragePooling1D()(L.Dense(3)(e)))
    m = L.Masking(mask_value=0.0)(series)
    joined = L.Concatenate(axis=1)([m, L.Dense(2)(series)])
    out.append(L.LSTM(3, return_sequences=True)(joined))
    return lstm.Model([tokens, series, h0], out)


def test_masks_export_as_keras_applies_them(tmp_path):
    model = masked_variants()
    out = str(tmp_path / "masked.onnx")
    rng = exported_with_random_weights(model, out, 21, 0.7)
    ids = np.array([[3, 0, 5, 0, 0, 2, 7, 0],   # holes in the middle
                    [0, 0, 0, 0, 0, 0, 0, 0],   # no real step
                    [0, 0, 4, 4, 1, 0, 0, 0],   # masked at both ends
                    [1, 2, 3, 4, 5, 6, 7, 8]], dtype=np.float32)
    series = rng.uniform(-1, 1, size=(4, 8, 2)).astype(np.float32)
    series[0, 2:5] = 0
    series[1] = 0
    series[2, 0] = 0
    h0 = rng.uniform(-1, 1, size=(4, 4)).astype(np.float32)
    _, got = run_onnx(out, [ids, series, h0])
    ours = model.predict([ids, series, h0], verbose=0)
    assert len(got) == len(ours) == 12
    for k, (a, b) in enumerate(zip(got, ours)):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0, err_msg=f"output {k}")


def test_stateful_layers_export_with_their_state_as_inputs_and_outputs(tmp_path):
    """A stateful model's layers carry their state from one call to the next: the graph takes it
    as inputs <layer>_<state> (zeros to start) and gives the final one as <layer>_<state>_out,
    which the caller feeds back; three calls in a row give what the library's predict gives."""
    model = lstm.Sequential([lstm.Input(batch_shape=(2, 4, 3)), L.LSTM(4, stateful=True, return_sequences=True, name="lstm"),
                             L.GRU(3, stateful=True, name="gru"), L.Dense(2)])
    out = str(tmp_path / "stateful.onnx")
    rng = exported_with_random_weights(model, out, 31, 0.8)
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    states = inputs[1:]
    assert [s + "_out" for s in states] == outputs[1:], (inputs, outputs)
    assert states == ["lstm_h", "lstm_c", "gru_h"]
    feeds = {s: np.zeros((2, session.get_inputs()[k + 1].shape[1]), np.float32) for k, s in enumerate(states)}
    model.reset_states()
    for call in range(3):
        x = rng.uniform(-1, 1, size=(2, 4, 3)).astype(np.float32)
        got = session.run(None, {inputs[0]: x, **feeds})
        np.testing.assert_allclose(got[0], model.predict(x, verbose=0), atol=TOLERANCE, rtol=0, err_msg=f"call {call}")
        feeds = dict(zip(states, got[1:]))


def test_refusals_name_what_has_no_onnx_form(tmp_path):
    out = str(tmp_path / "m.onnx")
    x = lstm.Input(shape=(5, 2))
    # (Bidirectional's halves cannot be stateful here at all: refused when the model is built.)
    with pytest.raises(lstm.LSTMError, match=r"\(Bidirectional\): stateful=True in its halves is not supported"):
        lstm.Sequential([lstm.Input(batch_shape=(2, 5, 2)), L.Bidirectional(L.LSTM(3, stateful=True))]).predict(
            np.zeros((2, 5, 2), np.float32), verbose=0)
    relu6 = lstm.Model(x, L.LSTM(3, activation="relu6")(x))
    with pytest.raises(lstm.LSTMError, match=r"layer 'lstm.*' \(LSTM\): activation 'relu6' inside the LSTM operator has no ONNX form"):
        relu6.export(out, format="onnx", verbose=False)
    plain = lstm.Sequential([lstm.Input(shape=(5, 2)), L.LSTM(3)])
    with pytest.raises(ValueError, match="ending in .onnx"):
        plain.export(str(tmp_path / "m.txt"), format="onnx", verbose=False)
    with pytest.raises(NotImplementedError, match="tf_saved_model"):
        plain.export(str(tmp_path / "m"), verbose=False)
    assert os.listdir(tmp_path) == []


def test_cli_exports_keras_files(tmp_path):
    """`lstm export`, on a Keras 3 file and on a Keras 2 file whose LSTM runs Keras 2's
    hard_sigmoid (0.2x + 0.5, HardSigmoid with alpha 0.2 in ONNX), against `lstm predict`."""
    tool = os.path.join(REPO, "build", "lstm")
    if not os.path.exists(tool):
        pytest.skip("build/lstm not built")
    rng = np.random.default_rng(3)
    for name in ["keras3_sine.keras", "keras2_relu_hardsigmoid_nobias.h5"]:
        src = os.path.join(FIXTURES, "files", name)
        out = str(tmp_path / (name + ".onnx"))
        done = subprocess.run([tool, "export", src, out], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        dims = session.get_inputs()[0].shape
        x = rng.uniform(-2, 2, size=[4] + [d if isinstance(d, int) else 9 for d in dims[1:]]).astype(np.float32)
        np.save(tmp_path / "x.npy", x)
        done = subprocess.run([tool, "predict", src, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        _, got = run_onnx(out, [x])
        np.testing.assert_allclose(got[0], np.load(tmp_path / "y.npy"), atol=TOLERANCE, rtol=0, err_msg=name)
    bad = subprocess.run([tool, "export", src, str(tmp_path / "m.keras")], capture_output=True, text=True)
    assert bad.returncode == 1 and "ending in .onnx" in bad.stderr
