"""Writes what real Keras says about small functional (graph) models, for the tests.

graphs/<flavor>_<model>.json: the model's JSON (`model.to_json()`), its weights
(`model.get_weights()`, every bias replaced by random values), one input batch per model input
and Keras's `predict` output for each model output, plus the weight names in Keras's order.
files/<flavor>_graph_two_inputs_two_outputs.*: the first model saved by Keras in each of its formats
  Keras 3:  .weights.h5, .keras, .h5 (legacy full model)
  tf-keras: .weights.h5, _legacy.h5 (the Keras 2 weights layout), .h5 (full model)
files/keras3_graph_<model>.keras, keras2_graph_<model>.h5: GRU and SimpleRNN (recurrent_layers),
  Embedding and Bidirectional (text_classifier).
graphs/keras3_stateful.json: stateful LSTM, GRU and SimpleRNN (batch 2): Keras's outputs for a
batch A, then a batch B that continues A's state, then B again after reset_state.
graphs/keras3_masked_training.json: evaluate and fit (shuffle off) of the masked-outputs model:
Keras leaves the padded steps out of the loss.
graphs/keras3_training.json: a fit of the first model (shuffle off, 2 epochs of batches 4 and
2, Adam, MSE on both outputs): initial weights, data, every epoch's loss and the final weights.

Run with Keras 3:    python make_graph_fixtures.py keras3
Run with tf-keras:   python make_graph_fixtures.py keras2
(`pip install tensorflow-cpu tf-keras h5py`.)
"""
import json
import os
import sys

import numpy as np

flavor = sys.argv[1] if len(sys.argv) > 1 else "keras3"
if flavor == "keras2":
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras as keras
else:
    import keras

L = keras.layers
here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, "graphs")
files = os.path.join(here, "files")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261201)


def two_inputs_two_outputs():
    """A sequence and a static vector, merged: the forecaster-with-covariates shape."""
    seq = keras.Input(shape=(5, 3), name="seq")
    static = keras.Input(shape=(4,), name="static")
    x = L.LSTM(6, return_sequences=True)(seq)
    h = L.LSTM(4)(x)
    joined = L.Concatenate()([h, L.Dense(4, activation="tanh")(static)])
    main = L.Dense(2, name="main")(joined)
    aux = L.Dense(1, name="aux")(h)
    return keras.Model([seq, static], [main, aux], name="covariates")


def shared_and_merges():
    """One LSTM called on two inputs (shared weights), every elementwise merge, and a
    concatenation along the time axis."""
    a = keras.Input(shape=(6, 2), name="a")
    b = keras.Input(shape=(6, 2), name="b")
    shared = L.LSTM(3, return_sequences=True, name="shared")
    sa, sb = shared(a), shared(b)
    merged = L.Concatenate()([L.Add()([sa, sb]), L.Subtract()([sa, sb]), L.Multiply()([sa, sb]),
                              L.Average()([sa, sb]), L.Maximum()([sa, sb]), L.Minimum()([sa, sb])])
    first = L.Dense(2, name="first")(L.LSTM(4)(merged))
    in_time = L.LSTM(2, name="over_time")(L.Concatenate(axis=1)([sa, sb]))
    return keras.Model([a, b], [first, in_time], name="shared_merges")


def any_length():
    """Sequences of any length, a skip connection around an LSTM (streamable)."""
    x = keras.Input(shape=(None, 2), name="x")
    h = L.LSTM(4, return_sequences=True)(x)
    y = L.Add()([L.Dense(3)(h), L.Dense(3, use_bias=False)(x)])
    return keras.Model(x, y, name="skip")


def recurrent_layers():
    """GRU (both bias layouts, backwards) and SimpleRNN stacked."""
    x = keras.Input(shape=(6, 3), name="x")
    h = L.GRU(4, return_sequences=True)(x)
    h = L.GRU(3, reset_after=False, go_backwards=True, return_sequences=True)(h)
    h = L.SimpleRNN(2, activation="sigmoid")(h)
    return keras.Model(x, L.Dense(1)(h), name="recurrent")


def seq2seq():
    """Encoder-decoder: an LSTM's and a GRU's final states start decoders reading a second input."""
    enc = keras.Input(shape=(5, 3), name="encoder_inputs")
    dec = keras.Input(shape=(4, 2), name="decoder_inputs")
    _, h, c = L.LSTM(4, return_state=True, name="encoder")(enc)
    seq = L.LSTM(4, return_sequences=True, name="decoder")(dec, initial_state=[h, c])
    words = L.Dense(3, activation="softmax", name="words")(seq)
    g_out, g_state = L.GRU(3, return_state=True, return_sequences=True, name="gru_encoder")(enc)
    g_dec = L.GRU(3, name="gru_decoder")(dec, initial_state=g_state)
    r_dec = L.SimpleRNN(3, name="rnn_decoder")(dec, initial_state=L.Dense(3, name="to_state")(g_dec))
    return keras.Model([enc, dec], [words, g_dec, r_dec, g_out], name="seq2seq")


def text_classifier():
    """Token ids -> Embedding -> two Bidirectional layers -> softmax: the classic text model."""
    tokens = keras.Input(shape=(6,), name="tokens")
    h = L.Embedding(12, 5)(tokens)
    h = L.Bidirectional(L.LSTM(4, return_sequences=True))(h)
    h = L.Bidirectional(L.GRU(3), merge_mode="sum")(h)
    return keras.Model(tokens, L.Dense(2, activation="softmax")(h), name="text")


def bidirectional_modes():
    """Every other merge mode, None among them (two outputs of one layer)."""
    x = keras.Input(shape=(5, 2), name="x")
    h = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="ave")(x)
    h = L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="mul")(h)
    fw, bw = L.Bidirectional(L.GRU(2, reset_after=False), merge_mode=None)(h)
    return keras.Model(x, L.Dense(1)(L.Concatenate()([fw, bw])), name="modes")


def masked_classifier():
    """Padded token ids (mask_zero) through Bidirectional LSTM and GRU, and a Masking input
    through LSTM and SimpleRNN: the masks end inside the model (its outputs have none)."""
    tokens = keras.Input(shape=(7,), name="tokens")
    h = L.Embedding(12, 4, mask_zero=True)(tokens)
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(h)
    h = L.GRU(3, go_backwards=True)(h)
    series = keras.Input(shape=(6, 2), name="series")
    s = L.Masking(mask_value=0.0)(series)
    s = L.SimpleRNN(2)(L.LSTM(3, return_sequences=True)(s))
    return keras.Model([tokens, series], [L.Dense(2)(h), L.Dense(1)(s)], name="masked")


def masked_sequences():
    """Masked outputs (return_sequences after mask_zero), through Dense and an Add."""
    tokens = keras.Input(shape=(7,), name="tokens")
    e = L.Embedding(12, 3, mask_zero=True)(tokens)
    seq = L.LSTM(3, return_sequences=True)(e)
    g = L.GRU(3, return_sequences=True, go_backwards=True)(e)
    return keras.Model(tokens, [L.Dense(2)(L.Add()([seq, e])), g], name="masked_out")


def bidirectional_states():
    """Bidirectional returning both halves' states, and another started from them."""
    x = keras.Input(shape=(5, 3), name="x")
    d = keras.Input(shape=(4, 2), name="d")
    out, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_state=True))(x)
    dec = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum")(d, initial_state=[fh, fc, bh, bc])
    g_out, gf, gb = L.Bidirectional(L.GRU(2, return_state=True), merge_mode="ave")(x)
    return keras.Model([x, d], [L.Dense(2)(dec), out, gf, gb, g_out], name="bidirectional_states")


MODELS = {"two_inputs_two_outputs": (two_inputs_two_outputs, 4),
          "bidirectional_states": (bidirectional_states, 3),
          "masked_classifier": (masked_classifier, 4),
          "masked_sequences": (masked_sequences, 3),
          "text_classifier": (text_classifier, 3),
          "bidirectional_modes": (bidirectional_modes, 2),
          "shared_and_merges": (shared_and_merges, 3),
          "any_length": (any_length, 2),
          "recurrent_layers": (recurrent_layers, 3),
          "seq2seq": (seq2seq, 3)}


def sample(model, batch):
    xs = []
    for t in model.inputs:
        shape = [batch] + [d if d is not None else 7 for d in t.shape[1:]]
        if "tokens" in t.name:
            ids = rng.integers(1, 12, size=shape)
            if model.name.startswith("masked"):
                # Padding after the ids (0 to 3 steps), and one sample padded before them too.
                for b in range(shape[0]):
                    ids[b, shape[1] - (b % 4):] = 0
                ids[-1, 0] = 0
            xs.append(ids.astype(np.float32))
        elif model.name.startswith("masked"):
            x = rng.uniform(-1.5, 1.5, size=shape)
            for b in range(shape[0]):
                x[b, shape[1] - (b % 3):] = 0
            xs.append(x.astype(np.float32))
        else:
            xs.append(rng.uniform(-1.5, 1.5, size=shape).astype(np.float32))
    return xs


def tensor(a):
    return {"shape": list(a.shape), "values": [float(v) for v in np.ravel(a)]}


def weight_names(model):
    if flavor == "keras3":
        return [w.path for w in model.weights]
    return [w.name for w in model.weights]


def randomize_biases(model):
    weights = model.get_weights()
    for k, w in enumerate(weights):
        if w.ndim == 1:
            weights[k] = rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
    model.set_weights(weights)


for name, (make, batch) in MODELS.items():
    model = make()
    randomize_biases(model)
    xs = sample(model, batch)
    ys = model.predict(xs, verbose=0)
    if not isinstance(ys, list):
        ys = [ys]
    base = os.path.join(files, f"{flavor}_graph_{name}")
    if name == "two_inputs_two_outputs":
        model.save_weights(base + ".weights.h5")
        model.save(base + ".h5")
        if flavor == "keras3":
            model.save(base + ".keras")
        else:
            model.save_weights(base + "_legacy.h5")
    elif name in ("recurrent_layers", "text_classifier"):
        # Each HDF5 file costs ~30 KB whatever it holds: one whole-model file per Keras.
        model.save(base + (".keras" if flavor == "keras3" else ".h5"))
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "weight_names": weight_names(model),
        "weights": [tensor(w) for w in model.get_weights()],
        "x": [tensor(x) for x in xs],
        "y": [tensor(y) for y in ys],
    }
    with open(os.path.join(out_dir, f"{flavor}_{name}.json"), "w") as f:
        json.dump(out, f)
    print(flavor, name, "params", model.count_params(), "outputs", [y.shape for y in ys])

if flavor == "keras3":
    # Training parity through Concatenate and two outputs: shuffle off, 2 epochs of batches 4, 2.
    model = two_inputs_two_outputs()
    randomize_biases(model)
    initial = model.get_weights()
    xs = sample(model, 6)
    ys = [rng.uniform(-1, 1, size=(6, 2)).astype(np.float32), rng.uniform(-1, 1, size=(6, 1)).astype(np.float32)]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(xs, ys, epochs=2, batch_size=4, shuffle=False, verbose=0)
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "initial_weights": [tensor(w) for w in initial],
        "final_weights": [tensor(w) for w in model.get_weights()],
        "x": [tensor(x) for x in xs],
        "y": [tensor(y) for y in ys],
        "epoch_losses": [float(v) for v in history.history["loss"]],
    }
    with open(os.path.join(out_dir, "keras3_training.json"), "w") as f:
        json.dump(out, f)
    print("graph training parity:", out["epoch_losses"])

if flavor == "keras3":
    # Stateful layers: the final state of one predict starts the next, until reset_state.
    x = keras.Input(batch_shape=(2, 3, 2), name="x")
    h = L.LSTM(4, stateful=True, return_sequences=True)(x)
    g = L.GRU(3, stateful=True)(h)
    r = L.SimpleRNN(2, stateful=True)(x)
    model = keras.Model(x, [L.Dense(1)(g), r], name="stateful")
    randomize_biases(model)
    xa = rng.uniform(-1, 1, (2, 3, 2)).astype(np.float32)
    xb = rng.uniform(-1, 1, (2, 3, 2)).astype(np.float32)
    ya = model.predict(xa, batch_size=2, verbose=0)
    yb = model.predict(xb, batch_size=2, verbose=0)
    for layer in model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    yb_fresh = model.predict(xb, batch_size=2, verbose=0)
    out = {"keras": keras.__version__, "model_json": model.to_json(),
           "weights": [tensor(w) for w in model.get_weights()],
           "x_a": tensor(xa), "x_b": tensor(xb), "y_a": [tensor(y) for y in ya],
           "y_b_after_a": [tensor(y) for y in yb], "y_b_fresh": [tensor(y) for y in yb_fresh]}
    # Keras's fit carries the states from batch to batch and epoch to epoch (shuffle off).
    for layer in model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    initial = model.get_weights()
    xf = rng.uniform(-1, 1, (4, 3, 2)).astype(np.float32)
    yf = [rng.uniform(-1, 1, (4, 1)).astype(np.float32), rng.uniform(-1, 1, (4, 2)).astype(np.float32)]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(xf, yf, epochs=2, batch_size=2, shuffle=False, verbose=0)
    out.update({"fit_initial_weights": [tensor(w) for w in initial], "fit_x": tensor(xf), "fit_y": [tensor(y) for y in yf],
                "fit_epoch_losses": [float(v) for v in history.history["loss"]],
                "fit_final_weights": [tensor(w) for w in model.get_weights()]})
    with open(os.path.join(out_dir, "keras3_stateful.json"), "w") as f:
        json.dump(out, f)
    print("stateful fit:", out["fit_epoch_losses"])
    print("stateful:", [float(np.abs(a - b).max()) for a, b in zip(yb, yb_fresh)], "apart after reset")

if flavor == "keras3":
    # A loss on outputs that carry a mask: Keras averages over the real steps only.
    model = masked_sequences()
    randomize_biases(model)
    initial = model.get_weights()
    xs = sample(model, 4)
    ys = [rng.uniform(-1, 1, size=(4, 7, 2)).astype(np.float32), rng.uniform(-1, 1, size=(4, 7, 3)).astype(np.float32)]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    evaluated = model.evaluate(xs, ys, batch_size=4, verbose=0)
    history = model.fit(xs, ys, epochs=2, batch_size=2, shuffle=False, verbose=0)
    out = {"keras": keras.__version__, "model_json": model.to_json(),
           "initial_weights": [tensor(w) for w in initial], "final_weights": [tensor(w) for w in model.get_weights()],
           "x": [tensor(x) for x in xs], "y": [tensor(y) for y in ys],
           "evaluate": float(evaluated[0] if isinstance(evaluated, list) else evaluated),
           "epoch_losses": [float(v) for v in history.history["loss"]]}
    with open(os.path.join(out_dir, "keras3_masked_training.json"), "w") as f:
        json.dump(out, f)
    print("masked loss:", out["evaluate"], out["epoch_losses"])
