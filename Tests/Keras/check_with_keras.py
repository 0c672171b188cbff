"""Real Keras reads the files liblstm writes and computes the same outputs.

Run by `make test-keras` in a virtual environment with tensorflow-cpu, tf-keras and the lstm
binding. For several architectures it trains a model with liblstm, saves it in every format, and
checks (max |Keras - liblstm| <= 1e-5 on the same input):
  - Keras 3: load_model(.keras), load_model(.h5), and a model built from our JSON + load_weights(.weights.h5)
  - Keras 3: a model built from our JSON + load_weights of our legacy (Keras 2 layout) .h5 weights
  - tf-keras: the same architecture built in tf-keras + load_weights(.weights.h5) and of the legacy .h5
  - `lstm convert` of a tf-keras full-model .h5 (which Keras 3 itself refuses) to .keras, opened by Keras 3
  - functional graphs (Tests/Fixtures/graphs: two inputs and outputs, a shared layer, every merge,
    GRU, SimpleRNN, encoder-decoder states, Embedding, Bidirectional) and the layer models
    (Tests/Fixtures/layers: Conv1D, pooling, reshaping, activation, noise and normalization
    layers, TimeDistributed, a frozen layer):
    Keras 3's file converted by `lstm convert` to each format, opened by Keras 3 (load_model, and
    model_from_json + load_weights), and our .weights.h5 and legacy .h5 by tf-keras
Prints a table and ends with "N passed, N failed".
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(REPO, "build", "lstm")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures")
TOLERANCE = 1e-5

ARCHITECTURES = {
    "sine": dict(shape=(49, 1), layers=[("LSTM", dict(units=50)), ("Dense", dict(units=1))]),
    "stacked_softmax": dict(shape=(None, 3), layers=[("LSTM", dict(units=16, return_sequences=True)),
                                                    ("LSTM", dict(units=8)),
                                                    ("Dense", dict(units=4, activation="softmax"))]),
    "relu_hardsigmoid_nobias": dict(shape=(6, 2), layers=[("LSTM", dict(units=5, activation="relu",
                                                                        recurrent_activation="hard_sigmoid",
                                                                        use_bias=False)),
                                                         ("Dense", dict(units=2, activation="tanh"))]),
    "backwards_sequences": dict(shape=(None, 2), layers=[("LSTM", dict(units=6, go_backwards=True,
                                                                       return_sequences=True)),
                                                        ("Dense", dict(units=3, activation="sigmoid"))]),
}

results = []  # (check, max diff or error)


def record(name, diff=None, error=None, tolerance=TOLERANCE):
    ok = error is None and diff is not None and diff <= tolerance
    results.append((name, ok, "error: " + error if error else f"{diff:.2e}"))


def build_ours(arch):
    import lstm
    from lstm import layers
    model = lstm.Sequential([lstm.Input(shape=arch["shape"])] +
                            [getattr(layers, cls)(**kw) for cls, kw in arch["layers"]])
    model.compile(optimizer="adam", loss="mse")
    return model


def save_ours(directory):
    """Trains each architecture a little with liblstm and saves it in every format."""
    import lstm
    lstm.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    inputs = {}
    for name, arch in ARCHITECTURES.items():
        model = build_ours(arch)
        steps = arch["shape"][0] or 7
        x = rng.uniform(-1, 1, (16, steps, arch["shape"][1])).astype(np.float32)
        y = rng.uniform(0, 1, model.predict(x, verbose=0).shape).astype(np.float32)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        base = os.path.join(directory, name)
        model.save(base + ".keras")
        model.save(base + ".h5")
        model.save_weights(base + ".weights.h5")
        model.save_weights(base + "_legacy.h5")  # the Keras 2 weights layout
        np.save(base + "_x.npy", x)
        np.save(base + "_y.npy", model.predict(x, verbose=0))
        with open(base + ".json", "w") as f:
            f.write(model.to_json())
        inputs[name] = x
    return inputs


def check_keras3(directory):
    import keras
    for name in ARCHITECTURES:
        base = os.path.join(directory, name)
        x, ours = np.load(base + "_x.npy"), np.load(base + "_y.npy")
        for what, load in [("load_model(.keras)", lambda: keras.saving.load_model(base + ".keras")),
                           ("load_model(.h5)", lambda: keras.saving.load_model(base + ".h5")),
                           ("model_from_json + load_weights(.weights.h5)", lambda: from_json_with_weights(base)),
                           ("model_from_json + load_weights(legacy .h5 weights)",
                            lambda: from_json_with_weights(base, "_legacy.h5"))]:
            try:
                model = load()
                record(f"Keras {keras.__version__}: {name} {what}", float(np.abs(model.predict(x, verbose=0) - ours).max()))
            except Exception as e:  # noqa: BLE001 - reported as a failed check
                record(f"Keras {keras.__version__}: {name} {what}", error=f"{type(e).__name__}: {str(e)[:200]}")
        if name == "sine":
            # The optimizer state travels: Keras resumes with our iteration count.
            model = keras.saving.load_model(base + ".keras")
            its = int(model.optimizer.iterations.numpy())
            results.append((f"Keras: {name}.keras optimizer {type(model.optimizer).__name__}, iterations {its}",
                            type(model.optimizer).__name__ == "Adam" and its == 4, ""))
    # Conversion Keras 3 cannot do itself: a tf-keras full-model .h5 to .keras.
    src = os.path.join(FIXTURES, "files", "keras2_stacked_softmax.h5")
    out = os.path.join(directory, "converted.keras")
    try:
        keras.saving.load_model(src)
        results.append(("Keras 3 refuses the tf-keras .h5 by itself", False, "it loaded"))
    except Exception as e:  # noqa: BLE001
        results.append(("Keras 3 refuses the tf-keras .h5 by itself", True, str(e)[:60]))
    r = subprocess.run([TOOL, "convert", src, out], capture_output=True, text=True)
    with open(os.path.join(FIXTURES, "configs", "keras2_stacked_softmax.json")) as f:
        expected = json.load(f)
    x = np.array(expected["x"]["values"], dtype=np.float32).reshape(expected["x"]["shape"])
    y = np.array(expected["y"]["values"], dtype=np.float32).reshape(expected["y"]["shape"])
    try:
        assert r.returncode == 0, r.stderr
        model = keras.saving.load_model(out)
        record("Keras 3: `lstm convert` tf-keras .h5 -> .keras, vs tf-keras's outputs",
               float(np.abs(model.predict(x, verbose=0) - y).max()))
    except Exception as e:  # noqa: BLE001
        record("Keras 3: `lstm convert` tf-keras .h5 -> .keras", error=str(e)[:200])


GRAPHS = ["two_inputs_two_outputs", "shared_and_merges", "seq2seq", "recurrent_layers", "text_classifier", "masked_classifier", "masked_sequences",
          "bidirectional_modes", "bidirectional_states"]
# Tests/Fixtures/layers (make_layer_fixtures.py): the layers around the recurrent ones.
LAYER_MODELS = ["cnn_lstm", "encoder_decoder", "regularised", "activation_layers", "activations", "convolutions",
                "normalization", "time_distributed", "masked_pooling", "noise", "frozen"]
LAYER_MODELS_KERAS2 = ["cnn_lstm", "encoder_decoder", "regularised", "activation_layers"]  # tf-keras fixtures too


def graph_fixture(name, folder="graphs"):
    with open(os.path.join(FIXTURES, folder, f"keras3_{name}.json")) as f:
        d = json.load(f)
    xs = [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in d["x"]]
    ys = [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in d["y"]]
    return d, xs, ys


def graph_diff(model, xs, ys):
    out = model.predict(xs, verbose=0)
    out = out if isinstance(out, list) else [out]
    return max(float(np.abs(a - b).max()) for a, b in zip(out, ys))


def check_graphs(directory, folder="graphs", names=GRAPHS):
    """Keras 3 writes each graph, `lstm convert` rewrites it in every format, Keras reads ours."""
    import keras
    for name in names:
        d, xs, ys = graph_fixture(name, folder)
        model = keras.models.model_from_json(d["model_json"])
        model.set_weights([np.array(w["values"], dtype=np.float32).reshape(w["shape"]) for w in d["weights"]])
        src = os.path.join(directory, f"graph_{name}_keras.keras")
        model.save(src)
        base = os.path.join(directory, f"graph_{name}")
        for out in (".keras", ".h5", ".weights.h5"):
            r = subprocess.run([TOOL, "convert", src, base + out], capture_output=True, text=True)
            if r.returncode != 0:
                record(f"`lstm convert` {name} -> {out}", error=r.stderr[:200])
        for what, load in [("load_model(.keras)", lambda: keras.saving.load_model(base + ".keras")),
                           ("load_model(.h5)", lambda: keras.saving.load_model(base + ".h5")),
                           ("model_from_json + load_weights(.weights.h5)",
                            lambda: with_weights(keras.models.model_from_json(d["model_json"]), base + ".weights.h5"))]:
            try:
                record(f"Keras {keras.__version__}: graph {name} {what}", graph_diff(load(), xs, ys))
            except Exception as e:  # noqa: BLE001
                record(f"Keras {keras.__version__}: graph {name} {what}", error=f"{type(e).__name__}: {str(e)[:200]}")


def check_trained_layers(directory):
    """A model with BatchNormalization, dropout (the recurrent layers' recurrent_dropout too) and
    a frozen layer trained by liblstm: Keras 3 loads the .keras file with our outputs and resumes
    with our optimizer state (its variable count: none for the frozen layer or the moving
    statistics)."""
    import keras
    import lstm
    from lstm import layers as L
    lstm.utils.set_random_seed(4)
    x = lstm.Input(shape=(6, 3))
    h = L.Conv1D(4, 2, padding="causal", activation="relu")(x)
    h = L.LSTM(5, return_sequences=True, dropout=0.2, recurrent_dropout=0.2)(h)
    h = L.BatchNormalization()(h)
    h = L.Dropout(0.3)(h)
    h = L.GRU(4, return_sequences=True, dropout=0.1, recurrent_dropout=0.2)(h)
    h = L.SimpleRNN(4, recurrent_dropout=0.2)(h)
    h = L.Dense(3, activation="tanh", trainable=False)(h)
    ours = lstm.Model(x, L.Dense(1)(h))
    rng = np.random.default_rng(5)
    data = rng.uniform(-1, 1, size=(32, 6, 3)).astype(np.float32)
    target = data[:, -1, :1] * 0.5
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(data, target, epochs=2, batch_size=8, verbose=0)
    path = os.path.join(directory, "trained_layers.keras")
    ours.save(path)
    name = "Keras 3: trained Conv1D/BatchNormalization/Dropout/recurrent_dropout/frozen model"
    try:
        theirs = keras.saving.load_model(path)
        record(name + " load_model(.keras)", float(np.abs(theirs.predict(data, verbose=0) - ours.predict(data, verbose=0)).max()))
        frozen_before = [w.numpy().copy() for w in theirs.layers[-2].weights]
        theirs.fit(data, target, epochs=1, batch_size=8, verbose=0)
        count = len(theirs.optimizer.variables)
        expected = 2 + 2 * len(theirs.trainable_weights)
        record(name + f" resumes fit ({count} optimizer variables, {expected} expected)",
               0.0 if count == expected and all(np.array_equal(a, b.numpy()) for a, b in
                                                zip(frozen_before, theirs.layers[-2].weights)) else 1.0)
    except Exception as e:  # noqa: BLE001
        record(name, error=f"{type(e).__name__}: {str(e)[:200]}")


def resumes_alike(name, ours, x, y, path, iterations=4):
    """Keras 3 loads `ours` (trained, compiled) from a .keras file with its optimizer and
    iteration count, evaluates it as we do, and one more epoch of its fit from our saved state
    gives the weights ours gives."""
    import keras
    ours.save(path)
    try:
        theirs = keras.saving.load_model(path)
        want = (json.loads(ours.to_json())["compile_config"]["optimizer"]["class_name"], iterations)
        found = (type(theirs.optimizer).__name__, int(theirs.optimizer.iterations.numpy()))
        if found != want:
            record(name, error=f"Keras found {found}, expected {want}")
            return
        evaluated = abs(theirs.evaluate(x, y, batch_size=8, verbose=0) - ours.evaluate(x, y, batch_size=8, verbose=0))
        record(name + " evaluates as ours", evaluated)
        ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(ours.get_weights(), theirs.get_weights()))
        # Two float32 implementations an epoch of updates apart: 1e-4.
        record(name + " resumes in Keras's fit as in ours (weights)", diff, tolerance=1e-4)
    except Exception as e:  # noqa: BLE001
        record(name, error=f"{type(e).__name__}: {str(e)[:200]}")


def check_trained_optimizers(directory):
    """Each Keras optimizer (and schedule) trained by liblstm on a text model (Embedding -> LSTM
    -> Dense), then a model with regularizers on every kind of weight and output: Keras 3 picks
    up where we stopped (resumes_alike)."""
    import lstm
    from lstm import layers as L
    from lstm import optimizers as O
    from lstm import regularizers as R
    rng = np.random.default_rng(9)
    tokens = rng.integers(0, 6, size=(16, 5)).astype(np.float32)
    target = rng.uniform(-1, 1, size=(16, 1)).astype(np.float32)
    for optimizer in [O.RMSprop(learning_rate=0.01, momentum=0.5, centered=True), O.AdamW(learning_rate=0.01, amsgrad=True),
                      O.Adagrad(learning_rate=0.05, clipnorm=0.5), O.Adadelta(learning_rate=1.0),
                      O.Adamax(learning_rate=0.01, clipvalue=0.05), O.Nadam(learning_rate=0.01),
                      O.Lion(learning_rate=0.001, global_clipnorm=1.0), O.SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
                      O.SGD(learning_rate=O.schedules.ExponentialDecay(0.2, 2, 0.5, staircase=True), momentum=0.5),
                      O.Adam(learning_rate=O.schedules.CosineDecay(0.001, 4, alpha=0.1, warmup_target=0.02, warmup_steps=3)),
                      O.RMSprop(learning_rate=O.schedules.PiecewiseConstantDecay([3, 5], [0.02, 0.01, 0.005])),
                      O.SGD(learning_rate=O.schedules.CosineDecayRestarts(0.1, 1, t_mul=2.0, m_mul=0.8, alpha=0.05)),
                      O.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)]:
        lstm.utils.set_random_seed(4)
        ours = lstm.Sequential([lstm.Input(shape=(5,)), L.Embedding(6, 3), L.LSTM(4), L.Dense(1)])
        ours.compile(optimizer=optimizer, loss="mse")
        ours.fit(tokens, target, epochs=2, batch_size=8, shuffle=False, verbose=0)
        rate = optimizer.learning_rate
        what = optimizer.class_name + ("" if isinstance(rate, float) else f" with {rate.class_name}")
        what += " with use_ema" if optimizer.get_config()["use_ema"] else ""
        resumes_alike(f"Keras 3: liblstm's {what} state", ours, tokens, target,
                      os.path.join(directory, f"optimizer_{what.replace(' ', '_')}.keras"))
    from lstm import losses as LO
    for loss in [LO.Huber(delta=0.5), "log_cosh", "cosine_similarity", "mape"]:
        lstm.utils.set_random_seed(6)
        ours = lstm.Sequential([lstm.Input(shape=(5,)), L.Embedding(6, 3), L.LSTM(4), L.Dense(2)])
        ours.compile(optimizer="adam", loss=loss)
        ours.fit(tokens, np.repeat(target, 2, axis=1), epochs=2, batch_size=8, shuffle=False, verbose=0)
        what = loss if isinstance(loss, str) else loss.class_name
        resumes_alike(f"Keras 3: liblstm's model with loss {what}", ours, tokens, np.repeat(target, 2, axis=1),
                      os.path.join(directory, f"loss_{what}.keras"))
    # The crossentropies on a token classifier: class ids for the sparse one, one-hot (or 0/1
    # per class) for the others; sigmoid or softmax outputs, whose logits both sides read.
    classes = (tokens[:, 0] % 3).astype(np.int64)
    for loss, activation in [("sparse_categorical_crossentropy", "softmax"),
                             (LO.CategoricalCrossentropy(label_smoothing=0.1), "softmax"),
                             (LO.BinaryCrossentropy(label_smoothing=0.05), "sigmoid"),
                             (LO.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5), "sigmoid"),
                             (LO.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0), "linear")]:
        lstm.utils.set_random_seed(7)
        ours = lstm.Sequential([lstm.Input(shape=(5,)), L.Embedding(6, 3), L.LSTM(4), L.Dense(3, activation=activation)])
        ours.compile(optimizer=O.Adam(learning_rate=0.02), loss=loss)
        sparse = loss == "sparse_categorical_crossentropy" or isinstance(loss, LO.SparseCategoricalCrossentropy)
        y = classes.astype(np.float32) if sparse else np.eye(3, dtype=np.float32)[classes]
        ours.fit(tokens, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        what = loss if isinstance(loss, str) else loss.class_name
        resumes_alike(f"Keras 3: liblstm's classifier with loss {what}", ours, tokens, y,
                      os.path.join(directory, f"loss_{what}_{activation}.keras"))
    lstm.utils.set_random_seed(5)
    ours = lstm.Sequential([
        lstm.Input(shape=(5,)), L.Embedding(6, 3, embeddings_regularizer=R.L2(0.01), activity_regularizer="l1"),
        L.Conv1D(4, 2, padding="causal", kernel_regularizer=R.L1(0.01), activity_regularizer=R.L1L2(0.001, 0.002)),
        L.GRU(4, return_sequences=True, kernel_regularizer="l2", recurrent_regularizer=R.L1(0.005), bias_regularizer="l1"),
        L.LSTM(3, activity_regularizer=R.L2(0.02)), L.BatchNormalization(gamma_regularizer=R.L2(0.01)),
        L.Dense(1, kernel_regularizer=R.L1L2(0.01, 0.01), bias_regularizer=R.L2(0.1))])
    ours.compile(optimizer=O.Adam(learning_rate=0.01), loss="mse")
    ours.fit(tokens, target, epochs=2, batch_size=8, shuffle=False, verbose=0)
    resumes_alike("Keras 3: a model with regularizers trained by liblstm", ours, tokens, target,
                  os.path.join(directory, "regularized.keras"))


def check_metrics(directory):
    """Models compiled with metrics by liblstm, saved (.keras and legacy .h5): Keras 3 loads
    them with the same metrics and its evaluate gives every value ours gives, by name."""
    import keras
    import lstm
    from lstm import layers as L
    from lstm import metrics as M
    rng = np.random.default_rng(12)
    tokens = rng.integers(0, 6, size=(20, 5)).astype(np.float32)
    classes = (tokens[:, 0] % 3).astype(np.float32)
    x = rng.uniform(-1, 1, size=(20, 5, 2)).astype(np.float32)
    cases = []
    lstm.utils.set_random_seed(8)
    sparse = lstm.Sequential([lstm.Input(shape=(5,)), L.Embedding(6, 3), L.LSTM(4), L.Dense(3, activation="softmax")])
    sparse.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                   metrics=["accuracy", M.SparseTopKCategoricalAccuracy(k=2, name="top2"), "sparse_categorical_crossentropy"])
    cases.append(("sparse classifier", sparse, tokens, classes))
    binary = lstm.Sequential([lstm.Input(shape=(5, 2)), L.LSTM(4), L.Dense(2, activation="sigmoid")])
    binary.compile(optimizer="adam", loss="binary_crossentropy",
                   metrics=["acc", M.BinaryAccuracy(threshold=0.3), "mae", M.RootMeanSquaredError(), M.BinaryCrossentropy()])
    cases.append(("binary classifier", binary, x, (x[:, -1, :] > 0).astype(np.float32)))
    inp = lstm.Input(shape=(5, 2), name="series")
    h = L.LSTM(4, name="encoder")(inp)
    two = lstm.Model(inp, [L.Dense(2, name="level")(h), L.Dense(1, activation="sigmoid", name="rising")(h)])
    two.compile(optimizer="adam", loss="mse", metrics={"rising": ["accuracy", "mse"]})
    cases.append(("two outputs", two, x, [x[:, -1, :], (x[:, -1, :1] > 0).astype(np.float32)]))
    inp = lstm.Input(shape=(5, 2), name="series")
    h = L.LSTM(4, name="encoder")(inp)
    per_output = lstm.Model(inp, [L.Dense(2, name="level")(h), L.Dense(1, activation="sigmoid", name="rising")(h)])
    per_output.compile(optimizer="adam", loss={"level": "mae", "rising": "binary_crossentropy"},
                       loss_weights={"level": 0.5, "rising": 2.0}, metrics={"rising": ["accuracy"]})
    cases.append(("loss per output", per_output, x, [x[:, -1, :], (x[:, -1, :1] > 0).astype(np.float32)]))
    for what, ours, xs, ys in cases:
        ours.fit(xs, ys, epochs=1, batch_size=8, verbose=0)
        want = ours.evaluate(xs, ys, batch_size=8, verbose=0, return_dict=True)
        for suffix in (".keras", ".h5"):
            name = f"Keras 3: liblstm's {what} with metrics ({suffix})"
            path = os.path.join(directory, f"metrics_{what.replace(' ', '_')}{suffix}")
            try:
                ours.save(path)
                theirs = keras.saving.load_model(path)
                got = theirs.evaluate(xs, ys, batch_size=8, verbose=0, return_dict=True)
                if sorted(got) != sorted(want):
                    record(name, error=f"Keras logs {sorted(got)}, ours {sorted(want)}")
                    continue
                record(name + " evaluates as ours", max(abs(got[k] - want[k]) for k in want))
            except Exception as e:  # noqa: BLE001
                record(name, error=f"{type(e).__name__}: {str(e)[:200]}")


def check_textgen(directory):
    """The text-generation demo (examples/textgen.py, one epoch) saves a .keras that Keras 3
    loads: its next-character probabilities equal ours along a text, and Keras samples from it."""
    import subprocess
    import keras
    import lstm
    name = "Keras 3: the textgen demo's model"
    path = os.path.join(directory, "textgen.keras")
    demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "textgen.py")
    try:
        subprocess.run([sys.executable, demo, "1", path], check=True, capture_output=True, timeout=600)
        with open(path + ".chars", encoding="utf-8") as f:
            chars = f.read()
        index = {c: i for i, c in enumerate(chars)}
        text = "the program is free software"
        ids = np.array([[index[c] for c in text]], dtype=np.float32)
        theirs = keras.saving.load_model(path)
        ours = lstm.load_model(path)
        record(name + " predicts as ours", float(np.abs(theirs.predict(ids, verbose=0) - ours.predict(ids, verbose=0)).max()))
        # Keras samples greedily from its own predictions, and our stream agrees step by step.
        stream, generated = ours.stream(), list(ids[0].astype(int))
        for c in generated:
            p = stream.step([c])
        worst = 0.0
        for _ in range(20):
            q = theirs.predict(np.array([generated], dtype=np.float32), verbose=0)[0, -1]
            worst = max(worst, float(np.abs(q - p).max()))
            k = int(np.argmax(q))
            generated.append(k)
            p = stream.step([k])
        record(name + " samples in Keras as in our stream (" + repr("".join(chars[k] for k in generated[len(text):])) + ")",
               worst)
    except Exception as e:  # noqa: BLE001
        record(name, error=f"{type(e).__name__}: {str(e)[:300]}")


def with_weights(model, path):
    model.load_weights(path)
    return model


def from_json_with_weights(base, suffix=".weights.h5"):
    import keras
    with open(base + ".json") as f:
        model = keras.models.model_from_json(f.read())
    model.load_weights(base + suffix)
    return model


def check_tf_keras(directory):
    """In a child process: tf-keras builds each architecture and loads our .weights.h5."""
    code = f"""
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tf_keras as keras
archs = json.loads({json.dumps(json.dumps(ARCHITECTURES))})
out = []
for name, arch in archs.items():
    base = os.path.join({directory!r}, name)
    try:
        model = keras.Sequential([keras.Input(shape=tuple(arch["shape"]))] +
                                 [getattr(keras.layers, cls)(**kw) for cls, kw in arch["layers"]])
        for suffix in (".weights.h5", "_legacy.h5"):
            model.load_weights(base + suffix)
            diff = float(np.abs(model.predict(np.load(base + "_x.npy"), verbose=0) - np.load(base + "_y.npy")).max())
            out.append([f"tf-keras {{keras.__version__}}: {{name}} load_weights({{suffix}})", diff, None])
    except Exception as e:
        out.append([f"tf-keras: {{name}} load_weights", None, f"{{type(e).__name__}}: {{str(e)[:200]}}"])
print("RESULT" + json.dumps(out))
"""
    code += f"""
# The graphs: tf-keras builds each from its own JSON and loads the weights we wrote (our
# .weights.h5, and the Keras 2 layout inside our full-model .h5); Keras 3's inputs and outputs.
for folder, name in {[("graphs", g) for g in GRAPHS] + [("layers", m) for m in LAYER_MODELS_KERAS2]!r}:
    base = os.path.join({directory!r}, "graph_" + name)
    with open(os.path.join({FIXTURES!r}, folder, "keras2_" + name + ".json")) as f:
        d = json.load(f)
    with open(os.path.join({FIXTURES!r}, folder, "keras3_" + name + ".json")) as f:
        k3 = json.load(f)
    xs = [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in k3["x"]]
    ys = [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in k3["y"]]
    try:
        model = keras.models.model_from_json(d["model_json"])
        for suffix in (".weights.h5", ".h5"):
            model.load_weights(base + suffix)
            out = model.predict(xs, verbose=0)
            out = out if isinstance(out, list) else [out]
            diff = max(float(np.abs(a - b).max()) for a, b in zip(out, ys))
            print("RESULT" + json.dumps([[f"tf-keras {{keras.__version__}}: graph {{name}} load_weights({{suffix}})", diff, None]]))
    except Exception as e:
        print("RESULT" + json.dumps([[f"tf-keras: graph {{name}} load_weights", None, f"{{type(e).__name__}}: {{str(e)[:200]}}"]]))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [l for l in r.stdout.splitlines() if l.startswith("RESULT")]
    if not line:
        record("tf-keras", error=r.stderr[-500:])
        return
    for name, diff, error in [item for l in line for item in json.loads(l[6:])]:
        if name.startswith("tf-keras") and "relu_hardsigmoid" in name and diff is not None:
            # tf-keras's hard_sigmoid is 0.2x + 0.5, Keras 3's (which the model uses) x/6 + 0.5:
            # the weights load, and the outputs must differ.
            results.append((name + " (tf-keras's own hard_sigmoid: outputs must differ)", diff > 1e-4, f"{diff:.2e}"))
        else:
            record(name, diff, error)


def main():
    with tempfile.TemporaryDirectory() as directory:
        save_ours(directory)
        check_keras3(directory)
        check_graphs(directory)
        check_graphs(directory, "layers", LAYER_MODELS)
        check_trained_layers(directory)
        check_trained_optimizers(directory)
        check_metrics(directory)
        check_textgen(directory)
        check_tf_keras(directory)
    width = max(len(r[0]) for r in results)
    print(f"{'check':<{width}}  result  max |Keras - liblstm|")
    for name, ok, detail in results:
        print(f"{name:<{width}}  {'ok    ' if ok else 'FAIL  '}  {detail}")
    failed = sum(1 for r in results if not r[1])
    print(f"keras: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
