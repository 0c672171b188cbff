"""Keras's functional API in the binding: models built with Input / layer calls / Model against
the outputs real Keras computed on the same weights (Tests/Fixtures/graphs, written by
make_graph_fixtures.py), Keras's graph files, several inputs and outputs, shared layers."""
import io
import json
import os
from contextlib import redirect_stdout

import numpy as np
import pytest

import lstm
import lstm as keras  # the Keras spelling must work as is
from lstm import layers as L

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
GRAPHS = os.path.join(REPO, "Tests", "Fixtures", "graphs")
FILES = os.path.join(REPO, "Tests", "Fixtures", "files")


def fixture(name, flavor="keras3"):
    with open(os.path.join(GRAPHS, f"{flavor}_{name}.json")) as f:
        d = json.load(f)

    def arrays(key):
        return [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in d[key]]

    return arrays("weights"), arrays("x"), arrays("y")


def two_inputs_two_outputs():
    seq = keras.Input(shape=(5, 3), name="seq")
    static = keras.Input(shape=(4,), name="static")
    x = keras.layers.LSTM(6, return_sequences=True)(seq)
    h = keras.layers.LSTM(4)(x)
    joined = keras.layers.Concatenate()([h, keras.layers.Dense(4, activation="tanh")(static)])
    return keras.Model([seq, static], [keras.layers.Dense(2, name="main")(joined), keras.layers.Dense(1, name="aux")(h)])


def seq2seq():
    enc = lstm.Input(shape=(5, 3), name="encoder_inputs")
    dec = lstm.Input(shape=(4, 2), name="decoder_inputs")
    _, h, c = L.LSTM(4, return_state=True)(enc)
    words = L.Dense(3, activation="softmax")(L.LSTM(4, return_sequences=True)(dec, initial_state=[h, c]))
    g_out, g_state = L.GRU(3, return_state=True, return_sequences=True)(enc)
    g_dec = L.GRU(3)(dec, initial_state=g_state)
    r_dec = L.SimpleRNN(3)(dec, initial_state=L.Dense(3)(g_dec))
    return lstm.Model([enc, dec], [words, g_dec, r_dec, g_out])


def text_classifier():
    tokens = lstm.Input(shape=(6,), name="tokens")
    h = L.Embedding(12, 5)(tokens)
    h = L.Bidirectional(L.LSTM(4, return_sequences=True))(h)
    h = L.Bidirectional(L.GRU(3), merge_mode="sum")(h)
    return lstm.Model(tokens, L.Dense(2, activation="softmax")(h))


def masked_classifier():
    tokens = lstm.Input(shape=(7,), name="tokens")
    h = L.Embedding(12, 4, mask_zero=True)(tokens)
    h = L.GRU(3, go_backwards=True)(L.Bidirectional(L.LSTM(3, return_sequences=True))(h))
    series = lstm.Input(shape=(6, 2), name="series")
    s = L.SimpleRNN(2)(L.LSTM(3, return_sequences=True)(L.Masking(mask_value=0.0)(series)))
    return lstm.Model([tokens, series], [L.Dense(2)(h), L.Dense(1)(s)])


def bidirectional_states():
    x = lstm.Input(shape=(5, 3), name="x")
    d = lstm.Input(shape=(4, 2), name="d")
    out, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_state=True))(x)
    dec = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum")(d, initial_state=[fh, fc, bh, bc])
    g_out, gf, gb = L.Bidirectional(L.GRU(2, return_state=True), merge_mode="ave")(x)
    return lstm.Model([x, d], [L.Dense(2)(dec), out, gf, gb, g_out])


@pytest.mark.parametrize("name, build", [("two_inputs_two_outputs", two_inputs_two_outputs), ("seq2seq", seq2seq),
                                         ("bidirectional_states", bidirectional_states),
                                         ("text_classifier", text_classifier),
                                         ("masked_classifier", masked_classifier)])
def test_functional_models_give_keras_outputs_on_keras_weights(name, build):
    weights, xs, ys = fixture(name)
    model = build()
    model.set_weights(weights)
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    out = out if isinstance(out, list) else [out]
    assert len(out) == len(ys)
    for a, b in zip(out, ys):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("file, name", [("keras3_graph_two_inputs_two_outputs.keras", "two_inputs_two_outputs"),
                                        ("keras2_graph_two_inputs_two_outputs.h5", "two_inputs_two_outputs"),
                                        ("keras3_graph_text_classifier.keras", "text_classifier"),
                                        ("keras2_graph_recurrent_layers.h5", "recurrent_layers")])
def test_load_model_of_keras_graph_files(file, name):
    _, xs, ys = fixture(name, file.split("_")[0])
    model = lstm.load_model(os.path.join(FILES, file))
    assert isinstance(model, lstm.Model)
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    for a, b in zip(out if isinstance(out, list) else [out], ys):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    text = io.StringIO()
    with redirect_stdout(text):
        model.summary()
    assert "Connected to" in text.getvalue() and "Total params" in text.getvalue()


def test_structure_names_shapes_and_summary():
    model = two_inputs_two_outputs()
    assert model.input_names == ["seq", "static"] and model.output_names == ["main", "aux"]
    assert model.input_shape == [(None, 5, 3), (None, 4)]
    assert model.output_shape == [(None, 2), (None, 1)]
    assert [l.__class__.__name__ for l in model.layers][:2] == ["InputLayer", "LSTM"]
    assert model.get_layer("main").units == 2
    concat = [l for l in model.layers if isinstance(l, L.Concatenate)][0]
    assert concat.output.shape == (None, 8)
    lines = []
    model.summary(print_fn=lines.append)
    row = [l for l in lines if "concatenate" in l][0]
    assert "(None, 8)" in row and "lstm_" in row and "dense" in row
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")


def test_fit_on_several_inputs_and_outputs_lowers_the_summed_loss():
    rng = np.random.default_rng(1)
    model = two_inputs_two_outputs()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    x = [rng.uniform(-1, 1, (32, 5, 3)), rng.uniform(-1, 1, (32, 4))]
    y = [np.tanh(x[1][:, :2]), x[0][:, -1, :1]]
    # As Keras: [loss, each output's loss] for two outputs; the loss is their sum.
    before = model.evaluate(x, y, verbose=0)
    assert len(before) == 3 and before[0] == pytest.approx(before[1] + before[2], rel=1e-6)
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0, validation_split=0.25)
    after = model.evaluate(x, y, verbose=0)
    assert len(history.history["loss"]) == 15 and "val_loss" in history.history
    assert {k for k in history.history if k.endswith("_loss") and not k.startswith("val_")} == \
        {f"{n}_loss" for n in model.output_names}
    assert after[0] < 0.5 * before[0]
    by_name = model.predict({"static": x[1], "seq": x[0]}, verbose=0)
    by_list = model.predict(x, verbose=0)
    for a, b in zip(by_name, by_list):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="2"):
        model.predict(x[:1], verbose=0)
    with pytest.raises(ValueError, match="static"):
        model.predict({"seq": x[0]}, verbose=0)


def test_sub_model_shares_the_trained_weights():
    rng = np.random.default_rng(2)
    enc_in, dec_in = lstm.Input(shape=(5, 3)), lstm.Input(shape=(4, 2))
    encoder = L.LSTM(4, return_state=True)
    _, h, c = encoder(enc_in)
    out = L.Dense(1)(L.LSTM(4)(dec_in, initial_state=[h, c]))
    model = lstm.Model([enc_in, dec_in], out)
    model.compile(optimizer="adam", loss="mse")
    x = [rng.uniform(-1, 1, (16, 5, 3)), rng.uniform(-1, 1, (16, 4, 2))]
    model.fit(x, rng.uniform(-1, 1, (16, 1)), epochs=3, verbose=0)
    states = lstm.Model(enc_in, [h, c])  # the inference idiom: the encoder alone
    trained = {n: w for (n, _), w in zip(model._query_weight_shapes(), model.get_weights())}
    for (n, _), w in zip(states._query_weight_shapes(), states.get_weights()):
        np.testing.assert_array_equal(w, trained[n])
    # Keras's recurrence from the equations, on those weights: h of the last step.
    k, u, b = (trained[f"{encoder.name}/{w}"] for w in ("kernel", "recurrent_kernel", "bias"))
    hs, cs = np.zeros((16, 4)), np.zeros((16, 4))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(5):
        z = x[0][:, t] @ k + hs @ u + b
        i, f, g, o = sig(z[:, :4]), sig(z[:, 4:8]), np.tanh(z[:, 8:12]), sig(z[:, 12:])
        cs = f * cs + i * g
        hs = o * np.tanh(cs)
    got_h, got_c = states.predict(x[0], verbose=0)
    np.testing.assert_allclose(got_h, hs, atol=1e-5)
    np.testing.assert_allclose(got_c, cs, atol=1e-5)
    # Training the sub-model moves the shared layer in the whole model too.
    states.compile(optimizer="sgd", loss="mse")
    states.fit(x[0], [np.ones((16, 4)), np.ones((16, 4))], epochs=1, verbose=0)
    moved = {n: w for (n, _), w in zip(model._query_weight_shapes(), model.get_weights())}
    assert not np.array_equal(moved[f"{encoder.name}/kernel"], trained[f"{encoder.name}/kernel"])


def test_sequential_takes_the_new_layers():
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Embedding(10, 4),
                              keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True)),
                              keras.layers.SimpleRNN(2), keras.layers.Dense(1)])
    ids = np.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    assert model.predict(ids, verbose=0).shape == (2, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(ids, np.zeros((2, 1)), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="token ids"):
        model.predict(np.array([[1, 2, 3, 4, 5, 10]]), verbose=0)


def test_functional_errors_name_the_problem():
    x = lstm.Input(shape=(3, 2))
    with pytest.raises(TypeError, match="symbolic tensors"):
        L.Dense(2)(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="inputs and outputs"):
        lstm.Model()
    with pytest.raises(ValueError, match="dropout"):
        lstm.Model(x, L.LSTM(2, dropout=1.5)(x))
    y = L.Dense(3)(x)
    with pytest.raises(ValueError, match="same shape"):
        lstm.Model(x, L.Add()([y, x]))


def test_stateful_layers_carry_state_across_predicts_until_reset():
    with open(os.path.join(GRAPHS, "keras3_stateful.json")) as f:
        d = json.load(f)
    arrays = lambda key: [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in d[key]]  # noqa: E731
    xa, xb = (np.array(d[k]["values"], dtype=np.float32).reshape(d[k]["shape"]) for k in ("x_a", "x_b"))
    x = lstm.Input(batch_shape=(2, 3, 2), name="x")
    h = L.LSTM(4, stateful=True, return_sequences=True)(x)
    model = lstm.Model(x, [L.Dense(1)(L.GRU(3, stateful=True)(h)), L.SimpleRNN(2, stateful=True)(x)])
    model.set_weights([np.array(w["values"], dtype=np.float32).reshape(w["shape"]) for w in d["weights"]])
    for xs, key in ((xa, "y_a"), (xb, "y_b_after_a")):
        for got, want in zip(model.predict(xs, verbose=0), arrays(key)):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    model.reset_states()
    for got, want in zip(model.predict(xb, verbose=0), arrays("y_b_fresh")):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="batches of 2"):
        model.predict(xa[:1], verbose=0)
    # One layer reset (the SimpleRNN), the others carry on: its output is B-after-reset's, the
    # GRU branch's is B-after-A's.
    model.reset_states()
    model.predict(xa, verbose=0)
    rnn = [l for l in model.layers if isinstance(l, L.SimpleRNN)][0]
    rnn.reset_states()
    gru_out, rnn_out = model.predict(xb, verbose=0)
    np.testing.assert_allclose(rnn_out, arrays("y_b_fresh")[1], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(gru_out, arrays("y_b_after_a")[0], atol=1e-5, rtol=1e-5)
    # Keras's fit of it carries the states from batch to batch (shuffle off): its losses and weights.
    model.set_weights([np.array(w["values"], dtype=np.float32).reshape(w["shape"]) for w in d["fit_initial_weights"]])
    model.reset_states()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    fx = np.array(d["fit_x"]["values"], dtype=np.float32).reshape(d["fit_x"]["shape"])
    history = model.fit(fx, arrays("fit_y"), epochs=2, batch_size=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], d["fit_epoch_losses"], rtol=1e-5)
    for got, want in zip(model.get_weights(), arrays("fit_final_weights")):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="batches of the state's size"):
        model.fit(fx, arrays("fit_y"), epochs=1, batch_size=4, verbose=0)


def test_tool_describes_and_runs_graph_files(tmp_path):
    import subprocess
    tool = os.path.join(REPO, "build", "lstm")
    src = os.path.join(FILES, "keras3_graph_two_inputs_two_outputs.keras")
    r = subprocess.run([tool, "info", src], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Connected to" in r.stdout and "lstm_1[0][0], dense[0][0]" in r.stdout and "outputs: main[0][0], aux[0][0]" in r.stdout
    _, xs, ys = fixture("two_inputs_two_outputs")
    paths = [tmp_path / "seq.npy", tmp_path / "static.npy"]
    for p, x in zip(paths, xs):
        np.save(p, x)
    r = subprocess.run([tool, "predict", src, *map(str, paths), str(tmp_path / "out.npy")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for k, y in enumerate(ys):
        np.testing.assert_allclose(np.load(tmp_path / f"out_{k}.npy"), y, atol=1e-5)
    r = subprocess.run([tool, "predict", src, str(paths[0]), str(tmp_path / "out.npy")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "2 inputs" in r.stderr


def test_a_loss_per_output_and_loss_weights():
    """compile(loss=[...] or {...}, loss_weights=...): the loss is the weighted sum of each
    output's loss (numpy from the predictions), each output's loss in the logs; an output with
    None trains on nothing; a list of the wrong length is refused naming the outputs."""
    rng = np.random.default_rng(3)
    model = two_inputs_two_outputs()
    x = [rng.uniform(-1, 1, (16, 5, 3)).astype(np.float32), rng.uniform(-1, 1, (16, 4)).astype(np.float32)]
    y = [np.tanh(x[1][:, :2]), (x[0][:, -1, :1] > 0).astype(np.float32)]
    names = model.output_names
    model.compile(optimizer="adam", loss=["mae", "mse"], loss_weights=[0.25, 3.0])
    p = model.predict(x, verbose=0)
    mae, mse = np.mean(np.abs(p[0] - y[0])), np.mean((p[1] - y[1]) ** 2)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose([logs["loss"], logs[f"{names[0]}_loss"], logs[f"{names[1]}_loss"]],
                               [0.25 * mae + 3.0 * mse, mae, mse], rtol=1e-5)
    model.compile(optimizer="adam", loss={names[0]: None, names[1]: "mse"})
    head = [k for k, (n, _) in enumerate(model._weight_shapes()) if n.startswith(names[0] + "/")]
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert sorted(history) == ["loss"]  # one loss left: Keras logs no per-output losses
    after = model.get_weights()
    assert head and all(np.array_equal(before[k], after[k]) for k in head)
    assert not np.array_equal(before[0], after[0])
    with pytest.raises(ValueError, match="list of 1"):
        model.compile(optimizer="adam", loss=["mse"])
    with pytest.raises(ValueError, match="name every output"):
        model.compile(optimizer="adam", loss="mse", loss_weights={"nope": 1.0})


def test_layer_get_and_set_weights():
    """layer.get_weights() / set_weights() as Keras's: the layer's arrays in the model's order,
    written back through the model (and refused with a wrong shape or count)."""
    model = two_inputs_two_outputs()
    main = model.get_layer("main")
    kernel, bias = main.get_weights()
    assert kernel.shape == (8, 2) and bias.shape == (2,)
    main.set_weights([kernel + 1, bias - 1])
    k2, b2 = model.get_layer("main").get_weights()
    np.testing.assert_array_equal(k2, kernel + 1)
    np.testing.assert_array_equal(b2, bias - 1)
    names = [n for n, _ in model._weight_shapes()]
    np.testing.assert_array_equal(model.get_weights()[names.index("main/kernel")], kernel + 1)
    with pytest.raises(ValueError, match="has shape"):
        main.set_weights([kernel[:1], bias])
    with pytest.raises(ValueError, match="2 weight arrays"):
        main.set_weights([kernel])
    assert keras.layers.Dense(3).get_weights() == []
