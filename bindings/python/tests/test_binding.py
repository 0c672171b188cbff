"""Tests of the Python binding: behaviour against the C library itself, Keras's names and
defaults, errors, summary against Keras's own output, callbacks, Ctrl-C, and the user's script."""
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import lstm
from lstm import callbacks, losses, optimizers
from lstm._lib import lib
from lstm.layers import LSTM, Dense, Input
from lstm.models import Sequential

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def sine_model(units=50, steps=49):
    m = Sequential()
    m.add(LSTM(units, activation="tanh", input_shape=(steps, 1)))
    m.add(Dense(1))
    return m


def sine_data(n, seed=0, steps=49):
    rng = np.random.default_rng(seed)
    starts = rng.random(n)
    seqs = np.sin(np.linspace(starts, starts + 2 * np.pi, steps + 1, axis=1))
    return seqs[:, :-1, None], seqs[:, -1]


class RawModel:
    """The same model driven through the C functions directly (no binding code)."""

    def __init__(self, model_json, weights):
        self.p = ctypes.c_void_p()
        assert lib.lstm_model_from_json(model_json.encode(), 1, ctypes.byref(self.p)) == 0
        flat = np.ascontiguousarray(np.concatenate([w.ravel() for w in weights]), dtype=np.float32)
        assert lib.lstm_model_set_weights(self.p, flat.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), flat.size) == 0

    def __del__(self):
        lib.lstm_model_free(self.p)

    def predict(self, x, out_size):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.empty(x.shape[0] * out_size, dtype=np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        assert lib.lstm_model_predict(self.p, x.ctypes.data_as(fp), x.shape[0], x.shape[1], y.ctypes.data_as(fp),
                                      y.size) == 0
        return y

    def get_weights(self, n):
        w = np.empty(n, dtype=np.float32)
        assert lib.lstm_model_get_weights(self.p, w.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n) == 0
        return w


# ------------------------------------------------------------------------------------------------
# Same results as the C library


def test_predict_equals_the_c_call():
    lstm.utils.set_random_seed(1)
    m = sine_model(units=16)
    x, _ = sine_data(20)
    raw = RawModel(m.to_json(), m.get_weights())
    got = m.predict(x, verbose=0)
    assert got.shape == (20, 1) and got.dtype == np.float32
    np.testing.assert_array_equal(got.ravel(), raw.predict(x, 1))


def test_training_equals_the_c_call_for_a_fixed_order():
    lstm.utils.set_random_seed(2)
    m = sine_model(units=8)
    m.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    x, y = sine_data(50, seed=3)
    raw = RawModel(m.to_json(), m.get_weights())
    history = m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)

    opts = lstm._lib.FitOptions()
    lib.lstm_fit_options_init(ctypes.byref(opts))
    opts.epochs, opts.batch_size, opts.shuffle = 3, 16, 0
    hist = (ctypes.c_double * 3)()
    xa, ya = np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)
    fp = ctypes.POINTER(ctypes.c_float)
    assert lib.lstm_model_fit(raw.p, xa.ctypes.data_as(fp), ya.ctypes.data_as(fp), 50, 49, ctypes.byref(opts),
                              hist, 3, None) == 0
    assert history.history["loss"] == list(hist)
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in m.get_weights()]),
                                  raw.get_weights(m.count_params()))


def test_same_seed_same_model_and_training():
    x, y = sine_data(40)
    results = []
    for _ in range(2):
        lstm.utils.set_random_seed(7)
        m = sine_model(units=8)
        m.compile(optimizer="adam", loss="mse")
        h = m.fit(x, y, epochs=2, verbose=0)
        results.append((h.history["loss"], m.predict(x, verbose=0)))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


# ------------------------------------------------------------------------------------------------
# Keras's names: honoured or rejected, never ignored


def build(*layers, shape=(6, 2)):
    m = Sequential([Input(shape=shape)] + list(layers))
    m.build()
    return m


def test_layer_arguments_are_honoured():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 6, 2))
    assert build(LSTM(4, return_sequences=True)).predict(x, verbose=0).shape == (3, 6, 4)
    assert build(LSTM(4)).predict(x, verbose=0).shape == (3, 4)
    assert len(build(LSTM(4, use_bias=False)).get_weights()) == 2
    bias = build(LSTM(3)).get_weights()[2]
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(build(LSTM(3, unit_forget_bias=False)).get_weights()[2], np.zeros(12))
    # Options that change the math change the output for the same weights.
    base = build(LSTM(4), Dense(2))
    weights = base.get_weights()
    y0 = base.predict(x, verbose=0)
    for layer in (LSTM(4, go_backwards=True), LSTM(4, activation="relu"), LSTM(4, recurrent_activation="hard_sigmoid"),
                  LSTM(4, activation="sigmoid"), LSTM(4, activation="linear")):
        other = build(layer, Dense(2))
        other.set_weights(weights)
        assert np.abs(other.predict(x, verbose=0) - y0).max() > 1e-4, layer
    soft = build(LSTM(4), Dense(3, activation="softmax")).predict(x, verbose=0)
    np.testing.assert_allclose(soft.sum(axis=1), 1, rtol=1e-6)
    assert (build(LSTM(4), Dense(3, activation="relu")).predict(x, verbose=0) >= 0).all()


@pytest.mark.parametrize("layer, exc, words", [
    (lambda: LSTM(4, dropout=1.2), ValueError, "dropout"),
    (lambda: LSTM(4, return_state=True), lstm.LSTMError, "return_state"),
    (lambda: LSTM(4, activation="softmax"), lstm.LSTMError, "softmax"),
    (lambda: LSTM(4, activation="gelu"), lstm.LSTMError, "gelu"),
    (lambda: LSTM(4, kernel_regularizer=42), ValueError, "kernel_regularizer"),
    (lambda: LSTM(4, recurrent_constraint="max_norm"), ValueError, "recurrent_constraint"),
    (lambda: LSTM(4, kernel_initializer="he_normal"), ValueError, "kernel_initializer"),
    (lambda: LSTM(0), ValueError, "units"),
    (lambda: LSTM(4, bogus=1), TypeError, "bogus"),
    (lambda: Dense(3, bias_constraint="non_neg"), ValueError, "bias_constraint"),
    (lambda: Dense(3, kernel_regularizer="orthogonal_regularizer"), lstm.LSTMError, "orthogonal_regularizer"),
    (lambda: Dense(3, activation="mish"), lstm.LSTMError, "mish"),
])
def test_unsupported_layer_arguments_are_rejected(layer, exc, words):
    with pytest.raises(exc, match=words):
        build(layer())


@pytest.mark.parametrize("optimizer, words", [
    (optimizers.Adam(loss_scale_factor=2.0), "loss_scale_factor"),
    (optimizers.SGD(gradient_accumulation_steps=2), "gradient_accumulation_steps"),
    ("ftrl", "ftrl"),
])
def test_unsupported_optimizer_arguments_are_rejected(optimizer, words):
    m = sine_model(units=4)
    with pytest.raises(lstm.LSTMError, match=words):
        m.compile(optimizer=optimizer, loss="mse")


def test_optimizer_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0)
    m = sine_model(units=4)
    with pytest.raises(ValueError, match="rho"):
        m.compile(optimizer=optimizers.RMSprop(rho=2.0), loss="mse")


# Every Keras optimizer by class and by name: compiles, trains the sine model, and writes
# Keras's config (class, its own options, the common ones).
@pytest.mark.parametrize("optimizer, options", [
    (optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True, clipnorm=1.0), {"rho": 0.9, "centered": True}),
    (optimizers.AdamW(learning_rate=0.01, amsgrad=True), {"weight_decay": 0.004, "amsgrad": True}),
    (optimizers.Adagrad(learning_rate=0.1, global_clipnorm=2.0), {"initial_accumulator_value": 0.1, "global_clipnorm": 2.0}),
    (optimizers.Adadelta(learning_rate=1.0, clipvalue=1.0), {"rho": 0.95, "clipvalue": 1.0}),
    (optimizers.Adamax(learning_rate=0.01), {"beta_2": 0.999}),
    (optimizers.Nadam(learning_rate=0.01, weight_decay=0.001), {"weight_decay": 0.001}),
    (optimizers.Lion(learning_rate=0.001), {"beta_2": 0.99}),
    (optimizers.SGD(learning_rate=0.1, momentum=0.9, clipvalue=0.5), {"clipvalue": 0.5}),
    ("rmsprop", {"rho": 0.9}), ("adamw", {"weight_decay": 0.004}), ("nadam", {}), ("lion", {}),
])
def test_every_keras_optimizer_trains(optimizer, options):
    m = sine_model(units=4)
    m.compile(optimizer=optimizer, loss="mse")
    cfg = json.loads(m.to_json())["compile_config"]["optimizer"]
    want = optimizer.class_name if isinstance(optimizer, optimizers.Optimizer) else \
        {"rmsprop": "RMSprop", "adamw": "AdamW", "nadam": "Nadam", "lion": "Lion"}[optimizer]
    assert cfg["class_name"] == want
    for k, v in options.items():
        assert cfg["config"][k] == v, (k, cfg["config"])
    x, y = sine_data(64)
    losses = m.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_optimizer_arguments_are_honoured():
    m = sine_model(units=4)
    m.compile(optimizer=optimizers.SGD(learning_rate=0.2, momentum=0.5, nesterov=True), loss="mae")
    cfg = json.loads(m.to_json())["compile_config"]
    assert cfg["loss"] == "mae"
    assert cfg["optimizer"]["class_name"] == "SGD"
    assert cfg["optimizer"]["config"]["learning_rate"] == 0.2
    assert cfg["optimizer"]["config"]["momentum"] == 0.5 and cfg["optimizer"]["config"]["nesterov"] is True
    m.compile(optimizer=optimizers.Adam(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6), loss="mse")
    adam = json.loads(m.to_json())["compile_config"]["optimizer"]["config"]
    assert (adam["learning_rate"], adam["beta_1"], adam["beta_2"], adam["epsilon"]) == (0.02, 0.8, 0.99, 1e-6)


@pytest.mark.parametrize("kwargs, words", [
    ({"class_weight": {"a": 1}}, "class_weight"), ({"sample_weight": np.ones(9)}, "sample_weight"),
    ({"class_weight": {0: 1}, "sample_weight": np.ones(10)}, "at the same time"), ({"class_weight": [1, 2]}, "class_weight"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"), ({"validation_freq": 0}, "validation_freq"),
    ({"batch_size": 0}, "batch_size"), ({"epochs": 0}, "epochs"), ({"validation_split": 1.0}, "validation_split"),
    ({"verbose": 3}, "verbose"), ({"initial_epoch": 5}, "initial_epoch"),
])
def test_unsupported_fit_arguments_are_rejected(kwargs, words):
    m = sine_model(units=4)
    m.compile(optimizer="adam", loss="mse")
    x, y = sine_data(10)
    with pytest.raises(ValueError, match=words):
        m.fit(x, y, **kwargs)


def test_fit_arguments_are_honoured(capsys):
    lstm.utils.set_random_seed(4)
    m = sine_model(units=4)
    m.compile(optimizer="adam", loss="mse")
    x, y = sine_data(40)
    h = m.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=2)
    out = capsys.readouterr().out
    assert len(h.history["loss"]) == 3 and len(h.history["val_loss"]) == 3 and h.epoch == [0, 1, 2]
    assert re.search(r"^4/4 - \d+s - \d+(ms|us|s)/step - loss: \S+ - val_loss: \S+$", out, re.M), out
    xv, yv = sine_data(12, seed=9)
    h = m.fit(x, y, epochs=2, validation_data=(xv, yv), verbose=0, initial_epoch=1)
    assert capsys.readouterr().out == ""
    assert h.epoch == [1] and h.history["val_loss"][0] == pytest.approx(m.evaluate(xv, yv, verbose=0), rel=1e-6)
    assert m.evaluate(xv, yv, verbose=0, return_dict=True) == {"loss": pytest.approx(h.history["val_loss"][0])}


# ------------------------------------------------------------------------------------------------
# Errors


def test_bad_inputs_raise_clear_errors():
    m = sine_model(units=4)
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(*sine_data(4))
    m.compile(optimizer="adam", loss="mse")
    x, y = sine_data(4)
    with pytest.raises(ValueError, match="batch, timesteps, features"):
        m.predict(x[:, :, 0])
    with pytest.raises(ValueError, match=r"expects \(batch, 49, 1\)"):
        m.predict(np.zeros((2, 48, 1)))
    with pytest.raises(ValueError, match="y has shape"):
        m.fit(x, y[:3], verbose=0)
    with pytest.raises(ValueError, match="numeric"):
        m.predict([["a"]])
    bad = x.copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(lstm.LSTMError, match=r"x\[52\] \(sample 1, timestep 3, feature 0\) is nan") as e:
        m.predict(bad, verbose=0)
    assert e.value.status_name == "LSTM_ERROR_NUMERIC"
    with pytest.raises(lstm.LSTMError, match="'dice' is not supported yet") as e:
        m.compile(optimizer="adam", loss="dice")
    assert e.value.status_name == "LSTM_ERROR_UNSUPPORTED"
    with pytest.raises(ValueError, match="has shape"):
        m.set_weights([w[:1] for w in m.get_weights()])
    with pytest.raises(ValueError, match="weight arrays"):
        m.set_weights(m.get_weights()[:2])
    with pytest.raises(ValueError, match="InputLayer"):
        Sequential([LSTM(3), Input(shape=(3, 1))])
    with pytest.raises(ValueError, match="input shape"):
        Sequential([LSTM(3)]).summary()


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_save_and_load_model_round_trip(tmp_path, name):
    lstm.utils.set_random_seed(12)
    m = Sequential([Input(shape=(None, 2)), LSTM(4, return_sequences=True, go_backwards=True), LSTM(3),
                    Dense(2, activation="softmax")])
    m.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="mae")
    x = np.random.default_rng(1).uniform(-1, 1, (8, 5, 2))
    m.fit(x, np.random.default_rng(2).uniform(0, 1, (8, 2)), epochs=2, verbose=0)
    m.save(tmp_path / name)
    back = lstm.load_model(tmp_path / name)
    assert [type(l).__name__ for l in back.layers] == ["LSTM", "LSTM", "Dense"]
    assert back.layers[0].go_backwards and back.layers[0].return_sequences
    assert back.input_shape == (None, None, 2) and back.output_shape == (None, 2)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    assert json.loads(back.to_json())["compile_config"]["loss"] == "mae"
    assert back.evaluate(x, np.zeros((8, 2)), verbose=0) == pytest.approx(m.evaluate(x, np.zeros((8, 2)), verbose=0))
    back.fit(x, np.zeros((8, 2)), epochs=1, verbose=0)  # compiled: training resumes


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5"])
def test_save_and_load_weights_round_trip(tmp_path, name):
    m = sine_model(units=6)
    m.save_weights(tmp_path / name)
    other = sine_model(units=6)
    other.load_weights(tmp_path / name)
    for a, b in zip(other.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = sine_model(units=7)
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"layer 'lstm\w*': kernel has shape \(1, 24\) in the file, the model expects "
                                         r"\(1, 28\)"):
        wrong.load_weights(tmp_path / name)
    for a, b in zip(wrong.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_file_errors(tmp_path):
    with pytest.raises(OSError, match="cannot open"):
        lstm.load_model(tmp_path / "missing.keras")
    (tmp_path / "junk.h5").write_text("junk")
    with pytest.raises(lstm.LSTMError, match="not an HDF5 file: it is text starting with \"junk\"") as e:
        lstm.load_model(tmp_path / "junk.h5")
    assert e.value.status_name == "LSTM_ERROR_FORMAT"
    # One suffix rule for saves and loads, the library's message unchanged in the exception.
    with pytest.raises(ValueError, match=r"cannot tell the format of .*m\.pkl.* from its name: use \.keras, \.weights\.h5, \.h5"):
        sine_model(units=2).save(tmp_path / "m.pkl")
    with pytest.raises(ValueError, match="holds a whole model"):
        sine_model(units=2).save_weights(tmp_path / "w.keras")
    with pytest.raises(OSError, match="is a directory"):
        lstm.load_model(tmp_path)
    model = sine_model(units=2)
    model.save(tmp_path / "UPPER.KERAS")
    assert len(lstm.load_model(tmp_path / "UPPER.KERAS").get_weights()) == len(model.get_weights())


KERAS_FIXTURES = os.path.join(REPO, "Tests", "Fixtures")


@pytest.mark.parametrize("name", ["keras3_sine.keras", "keras3_stacked_softmax.h5", "keras2_sine.h5",
                                  "keras2_stacked_softmax.h5", "keras3_relu_hardsigmoid_nobias.keras"])
def test_models_keras_wrote_give_keras_outputs(name):
    flavor, model = name.split("_", 1)
    model = model.rsplit(".", 1)[0]
    with open(os.path.join(KERAS_FIXTURES, "configs", f"{flavor}_{model}.json")) as f:
        expected = json.load(f)
    m = lstm.load_model(os.path.join(KERAS_FIXTURES, "files", name))
    x = np.array(expected["x"]["values"], dtype=np.float32).reshape(expected["x"]["shape"])
    y = np.array(expected["y"]["values"], dtype=np.float32).reshape(expected["y"]["shape"])
    np.testing.assert_allclose(m.predict(x, verbose=0), y, atol=1e-5)


def test_missing_library_gives_an_import_error_that_says_what_to_do(tmp_path):
    env = dict(os.environ, LSTM_LIBRARY=str(tmp_path / "nope.so"))
    r = subprocess.run([sys.executable, "-c", "import lstm"], env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "ImportError" in r.stderr and "make" in r.stderr and "nope.so" in r.stderr


# ------------------------------------------------------------------------------------------------
# Round trips


def test_weights_and_json_round_trip():
    m = Sequential([Input(shape=(None, 3)), LSTM(5, return_sequences=True), LSTM(4), Dense(2, activation="tanh")])
    weights = m.get_weights()
    assert [w.shape for w in weights] == [(3, 20), (5, 20), (20,), (5, 16), (4, 16), (16,), (4, 2), (2,)]
    rng = np.random.default_rng(5)
    new = [rng.uniform(-1, 1, w.shape).astype(np.float32) for w in weights]
    m.set_weights(new)
    for a, b in zip(m.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    config = json.loads(m.to_json())
    assert config["class_name"] == "Sequential"
    assert [l["class_name"] for l in config["config"]["layers"]] == ["InputLayer", "LSTM", "LSTM", "Dense"]
    raw = RawModel(m.to_json(), new)
    x = rng.uniform(-1, 1, (2, 7, 3))
    np.testing.assert_array_equal(m.predict(x, verbose=0).ravel(), raw.predict(x, 2))


# ------------------------------------------------------------------------------------------------
# summary() against Keras 3.15's own output for the same models

KERAS_SINE_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ lstm (LSTM)                     │ (None, 50)             │        10,400 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 1)              │            51 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 10,451 (40.82 KB)
 Trainable params: 10,451 (40.82 KB)
 Non-trainable params: 0 (0.00 B)"""

KERAS_STACKED_SUMMARY = """\
Model: "sequential_1"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ lstm_1 (LSTM)                   │ (None, None, 64)       │        17,408 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ lstm_2 (LSTM)                   │ (None, 32)             │        12,416 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 30,154 (117.79 KB)
 Trainable params: 30,154 (117.79 KB)
 Non-trainable params: 0 (0.00 B)"""


def test_summary_matches_keras():
    lines = []
    m = Sequential([Input(shape=(49, 1)), LSTM(50, name="lstm"), Dense(1, name="dense")], name="sequential")
    m.summary(print_fn=lines.append)
    assert "\n".join(lines) == KERAS_SINE_SUMMARY
    lines = []
    m = Sequential([Input(shape=(None, 3)), LSTM(64, return_sequences=True, name="lstm_1"), LSTM(32, name="lstm_2"),
                    Dense(10, activation="softmax", name="dense_1")], name="sequential_1")
    m.summary(print_fn=lines.append)
    assert "\n".join(lines) == KERAS_STACKED_SUMMARY
    assert m.count_params() == 30154


# ------------------------------------------------------------------------------------------------
# Callbacks


def test_callback_can_stop_training():
    class StopAtSecond(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

    m = sine_model(units=4)
    m.compile(optimizer="adam", loss="mse")
    cb = StopAtSecond()
    h = m.fit(*sine_data(30), epochs=10, verbose=0, callbacks=[cb], validation_split=0.2)
    assert cb.seen == [(0, ["loss", "val_loss"]), (1, ["loss", "val_loss"])]
    assert len(h.history["loss"]) == 2


def test_callback_exceptions_propagate():
    class Boom(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("boom in callback")

    m = sine_model(units=4)
    m.compile(optimizer="adam", loss="mse")
    with pytest.raises(RuntimeError, match="boom in callback"):
        m.fit(*sine_data(10), epochs=3, verbose=0, callbacks=[Boom()])


def test_early_stopping_with_restore_best_weights():
    m = sine_model(units=4)
    m.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="mse")
    x, y = sine_data(40)
    # A learning rate that makes the loss bounce: patience 1 stops soon; the best epoch's
    # weights come back.
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    snapshots = []

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    h = m.fit(x, y, epochs=30, batch_size=4, verbose=0, callbacks=[Snap(), stop])
    losses = h.history["loss"]
    best = int(np.argmin(losses))
    assert len(losses) < 30 and stop.stopped_epoch == len(losses) - 1
    assert stop.best_epoch == best
    for a, b in zip(m.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------
# Threads and Ctrl-C


def test_predict_from_several_threads():
    m = sine_model(units=32)
    x, _ = sine_data(200)
    want = m.predict(x, verbose=0)
    results = [None] * 4

    def run(k):
        results[k] = [m.predict(x, verbose=0) for _ in range(3)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        for y in r:
            np.testing.assert_array_equal(y, want)


def test_ctrl_c_stops_fit_and_keeps_the_model_usable():
    script = textwrap.dedent("""
        import sys, numpy as np
        from lstm.models import Sequential
        from lstm.layers import LSTM, Dense
        from lstm import callbacks
        m = Sequential([LSTM(16, input_shape=(49, 1)), Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        x = np.random.rand(2000, 49, 1); y = np.random.rand(2000)

        class Ready(callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch == 1:
                    print("training", flush=True)

        try:
            m.fit(x, y, epochs=1000, verbose=0, callbacks=[Ready()])
        except KeyboardInterrupt:
            p = m.predict(x[:3], verbose=0)
            ok = np.isfinite(p).all() and all(np.isfinite(w).all() for w in m.get_weights())
            print("interrupted, model usable" if ok else "interrupted, model broken", flush=True)
            sys.exit(0)
        print("not interrupted", flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "training"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.strip() == "interrupted, model usable"


# ------------------------------------------------------------------------------------------------
# The user's script


def test_users_sine_script_runs_with_changed_imports(tmp_path):
    script = os.path.join(REPO, "examples", "sine.py")
    with open(script, encoding="utf-8") as f:
        text = f.read()
    assert "from lstm.models import Sequential\nfrom lstm.layers import LSTM, Dense\n" in text
    assert "keras" not in text.replace("keras_", "")
    png = tmp_path / "sine.png"
    r = subprocess.run([sys.executable, os.path.join(REPO, "examples", "sine_demo.py"), str(png)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    losses = [float(v) for v in re.findall(r"^32/32 \S+ \S+ \S+ - loss: (\S+)$", r.stdout, re.M)]
    assert len(losses) == 20, r.stdout
    assert losses[0] / losses[-1] >= 10, losses
    assert png.stat().st_size > 10000


# ------------------------------------------------------------------------------------------------
# The `lstm` command-line tool (build/lstm)

LSTM_TOOL = os.path.join(REPO, "build", "lstm")


def tool(*args):
    return subprocess.run([LSTM_TOOL, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_tool_info_describes_keras_files():
    r = tool("info", os.path.join(KERAS_FIXTURES, "files", "keras2_stacked_softmax.h5"))
    assert r.returncode == 0, r.stderr
    assert "tf-keras / Keras 2.21.0" in r.stdout and "legacy full-model .h5" in r.stdout
    assert re.search(r"lstm_1 \(LSTM\)\s+\(None, 7, 6\)\s+216\s", r.stdout), r.stdout
    assert "total params: 474" in r.stdout
    r = tool("info", os.path.join(KERAS_FIXTURES, "files", "keras3_sine.weights.h5"))
    assert r.returncode == 0 and "weights-only" in r.stdout and "5 arrays" in r.stdout
    r = tool("info", os.path.join(KERAS_FIXTURES, "files", "missing.keras"))
    assert r.returncode == 1 and "cannot open" in r.stderr
    assert tool("bogus").returncode == 2


def test_tool_converts_keras2_h5_to_keras_and_predicts_npy(tmp_path):
    src = os.path.join(KERAS_FIXTURES, "files", "keras2_stacked_softmax.h5")
    for out in ("m.keras", "m.h5", "m.weights.h5"):
        r = tool("convert", src, tmp_path / out)
        assert r.returncode == 0, r.stderr
    with open(os.path.join(KERAS_FIXTURES, "configs", "keras2_stacked_softmax.json")) as f:
        expected = json.load(f)
    x = np.array(expected["x"]["values"]).reshape(expected["x"]["shape"])  # float64 on purpose
    y = np.array(expected["y"]["values"], dtype=np.float32).reshape(expected["y"]["shape"])
    np.save(tmp_path / "x.npy", x)
    for model in ("m.keras", "m.h5"):
        r = tool("predict", tmp_path / model, tmp_path / "x.npy", tmp_path / "y.npy")
        assert r.returncode == 0, r.stderr
        got = np.load(tmp_path / "y.npy")
        assert got.dtype == np.float32 and got.shape == y.shape
        np.testing.assert_allclose(got, y, atol=1e-5)
    converted = lstm.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(converted.predict(x.astype(np.float32), verbose=0), y, atol=1e-5)
    np.save(tmp_path / "bad.npy", x[:, :, :1])
    r = tool("predict", tmp_path / "m.keras", tmp_path / "bad.npy", tmp_path / "y.npy")
    assert r.returncode == 1 and "expected" in r.stderr.lower()


def test_learning_rate_schedules_are_keras_configs_and_train():
    from lstm.optimizers import schedules
    m = sine_model(units=4)
    decay = schedules.ExponentialDecay(0.05, decay_steps=4, decay_rate=0.5, staircase=True)
    m.compile(optimizer=optimizers.Adam(learning_rate=decay), loss="mse")
    rate = json.loads(m.to_json())["compile_config"]["optimizer"]["config"]["learning_rate"]
    assert rate["class_name"] == "ExponentialDecay"
    assert rate["config"] == {"initial_learning_rate": 0.05, "decay_steps": 4, "decay_rate": 0.5, "staircase": True,
                              "name": "ExponentialDecay"}
    x, y = sine_data(64)
    losses = m.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    for schedule in [schedules.PiecewiseConstantDecay([4, 8], [0.02, 0.01, 0.005]),
                     schedules.PolynomialDecay(0.02, 10, cycle=True), schedules.InverseTimeDecay(0.02, 5, 0.5),
                     schedules.CosineDecay(0.0, 20, warmup_target=0.02, warmup_steps=5)]:
        m.compile(optimizer=optimizers.RMSprop(learning_rate=schedule), loss="mse")
        cfg = json.loads(m.to_json())["compile_config"]["optimizer"]["config"]["learning_rate"]
        assert cfg["class_name"] == schedule.class_name and cfg["config"] == schedule.get_config()
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")


def test_regularizers_add_keras_penalties_to_the_loss():
    from lstm import regularizers
    x, y = sine_data(16)
    def model(with_regularizers):
        lstm.utils.set_random_seed(6)
        kw = dict(kernel_regularizer=regularizers.L2(0.02), recurrent_regularizer="l1",
                  activity_regularizer=regularizers.L1L2(l1=0.001, l2=0.003)) if with_regularizers else {}
        head = dict(bias_regularizer={"class_name": "L1", "config": {"l1": 0.5}}) if with_regularizers else {}
        m = lstm.Sequential([lstm.Input(shape=(49, 1)), lstm.layers.LSTM(4, return_sequences=True, **kw),
                             lstm.layers.LSTM(3), Dense(1, **head)])
        m.compile(optimizer="sgd", loss="mse")
        return m
    plain, regularized = model(False), model(True)
    regularized.set_weights(plain.get_weights())
    w = plain.get_weights()
    bias = np.full_like(w[-1], 0.25)
    w[-1] = bias
    plain.set_weights(w)
    regularized.set_weights(w)
    # The penalties in numpy: Keras's L1/L2 of the weights, and the activity one of the first
    # LSTM's output (from a model of that layer alone) divided by the batch size (16: evaluate's
    # one batch holds every sample).
    first = lstm.Sequential([lstm.Input(shape=(49, 1)), lstm.layers.LSTM(4, return_sequences=True)])
    first.set_weights(w[:3])
    h = first.predict(x, verbose=0).astype(np.float64)
    activity = (0.001 * np.sum(np.abs(h)) + 0.003 * np.sum(h ** 2)) / 16
    kernel, recurrent = w[0].astype(np.float64), w[1].astype(np.float64)
    penalty = 0.02 * np.sum(kernel ** 2) + 0.01 * np.sum(np.abs(recurrent)) + 0.5 * np.sum(np.abs(bias)) + activity
    got = regularized.evaluate(x, y, batch_size=16, verbose=0) - plain.evaluate(x, y, batch_size=16, verbose=0)
    np.testing.assert_allclose(got, penalty, rtol=1e-5)
    cfg = json.loads(regularized.to_json())["config"]["layers"][1]["config"]
    assert cfg["kernel_regularizer"]["class_name"] == "L2" and cfg["recurrent_regularizer"]["class_name"] == "L1"
    losses = regularized.fit(x, y, epochs=5, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


def test_keras_callbacks_lambda_csv_checkpoint_terminate(tmp_path):
    from lstm import callbacks
    x, y = sine_data(32)
    m = sine_model(units=4)
    m.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    seen, weights = [], {}
    hooks = callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(("begin", b)),
        on_train_batch_end=lambda b, logs: seen.append(("end", b)),
        on_epoch_end=lambda e, logs: weights.__setitem__(e, m.get_weights()))
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss", save_best_only=True)
    every = callbacks.ModelCheckpoint(str(tmp_path / "w{epoch:02d}-{loss:.3f}.weights.h5"), save_weights_only=True)
    log = callbacks.CSVLogger(str(tmp_path / "log.csv"))
    history = m.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0,
                    callbacks=[hooks, best, every, log]).history
    # 24 training samples in batches of 8: three batches an epoch, each begun before it ends.
    assert seen[:6] == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2), ("end", 2)]
    assert len(seen) == 4 * 6
    # Every epoch's weights file, named from its epoch and loss, holds that epoch's weights.
    for e in range(4):
        path = tmp_path / f"w{e + 1:02d}-{history['loss'][e]:.3f}.weights.h5"
        assert path.exists(), sorted(p.name for p in tmp_path.iterdir())
        probe = sine_model(units=4)
        probe.load_weights(str(path))
        for a, b in zip(probe.get_weights(), weights[e]):
            np.testing.assert_array_equal(a, b)
    # save_best_only: the file holds the weights of the epoch with the lowest val_loss.
    best_epoch = int(np.argmin(history["val_loss"]))
    restored = lstm.load_model(str(tmp_path / "best.keras"))
    for a, b in zip(restored.get_weights(), weights[best_epoch]):
        np.testing.assert_array_equal(a, b)
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0] == "epoch,loss,val_loss" and len(rows) == 5
    assert rows[1].split(",")[0] == "0" and abs(float(rows[4].split(",")[1]) - history["loss"][3]) < 1e-12
    # append=True continues the file without a second header.
    m.fit(x, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0,
          callbacks=[callbacks.CSVLogger(str(tmp_path / "log.csv"), append=True)])
    assert (tmp_path / "log.csv").read_text().splitlines()[0] == "epoch,loss,val_loss"
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 6
    with pytest.raises(ValueError, match=".keras"):
        callbacks.ModelCheckpoint(str(tmp_path / "model.h5"))
    # TerminateOnNaN: without it a NaN target (a NaN first loss, in Keras) raises; with it fit
    # stops there and returns, the weights untouched.
    bad = y.copy()
    bad[0] = np.nan
    before = m.get_weights()
    with pytest.raises(lstm.LSTMError):
        m.fit(x, bad, epochs=2, batch_size=8, verbose=0)
    stopped = m.fit(x, bad, epochs=2, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert stopped.history.get("loss", []) == []
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    # A loss that overflows during training (a learning rate of 1e18): fit stops at that batch
    # and returns with the last finite step's weights.
    diverging = sine_model(units=4)
    diverging.compile(optimizer=optimizers.SGD(learning_rate=1e18), loss="mse")
    steps = []
    diverging.fit(x, y * 1e3, epochs=3, batch_size=8, verbose=0,
                  callbacks=[callbacks.TerminateOnNaN(), callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(logs["loss"]))])
    assert 0 < len(steps) < 12 and all(np.isfinite(steps))
    assert all(np.isfinite(w).all() for w in diverging.get_weights())


CALLBACK_FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Fixtures", "training",
                                "keras3_callbacks.json")


@pytest.mark.parametrize("name", ["reduce_lr_on_plateau", "learning_rate_scheduler"])
def test_learning_rate_callbacks_follow_keras(name):
    """ReduceLROnPlateau and LearningRateScheduler against Keras 3's fits of the same model,
    weights and data (make_training_fixtures.py): each epoch's loss and learning rate."""
    from lstm import callbacks
    with open(CALLBACK_FIXTURE) as f:
        d = json.load(f)
    e = next(c for c in d["entries"] if c["name"] == name)
    arr = lambda t: np.array(t["values"], np.float32).reshape(t["shape"])
    m = lstm.Sequential([lstm.Input(shape=(5, 2)), lstm.layers.LSTM(4), Dense(1)])
    m.set_weights([arr(w) for w in e["initial_weights"]])
    if name == "reduce_lr_on_plateau":
        m.compile(optimizer=optimizers.SGD(learning_rate=0.3), loss="mse")
        cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.005, cooldown=1,
                                         min_lr=0.02)
    else:
        m.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse")
        cb = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.7)
    history = m.fit(arr(d["x"]), arr(d["y"]), epochs=e["epochs"], batch_size=4, shuffle=False, verbose=0,
                    callbacks=[cb]).history
    np.testing.assert_allclose(history["learning_rate"], e["learning_rate"], rtol=1e-7)
    np.testing.assert_allclose(history["loss"], e["loss"], rtol=1e-5)


def test_optimizer_learning_rate_reads_and_sets():
    m = sine_model(units=4)
    assert m.optimizer is None
    m.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    assert m.optimizer.class_name == "Adam" and m.optimizer.learning_rate == pytest.approx(0.01)
    m.optimizer.learning_rate = 0.002
    assert m.optimizer.learning_rate == pytest.approx(0.002)
    assert json.loads(m.to_json())["compile_config"]["optimizer"]["config"]["learning_rate"] == 0.002
    with pytest.raises(ValueError, match="learning rate"):
        m.optimizer.learning_rate = -1.0
    from lstm.optimizers import schedules
    m.compile(optimizer=optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 2, 0.5)), loss="mse")
    assert m.optimizer.learning_rate == pytest.approx(0.1)
    with pytest.raises(lstm.LSTMError, match="ExponentialDecay"):
        m.optimizer.learning_rate = 0.5


@pytest.mark.parametrize("loss, name", [
    ("mape", "mape"), (losses.MeanSquaredLogarithmicError(), "MeanSquaredLogarithmicError"), (losses.Huber(delta=0.5), "Huber"),
    ("log_cosh", "log_cosh"), ("poisson", "poisson"), (losses.Hinge(), "Hinge"), ("squared_hinge", "squared_hinge"),
    ("categorical_hinge", "categorical_hinge"), ("kld", "kld"), (losses.CosineSimilarity(), "CosineSimilarity"),
])
def test_other_keras_losses_compile_and_evaluate(loss, name):
    """Each loss by name or class compiles, and evaluate gives its value computed in numpy from
    the same predictions (Keras's definitions, keras/src/losses/losses.py)."""
    # softplus: positive predictions, which poisson, msle and kld need to be finite.
    m = lstm.Sequential([lstm.Input(shape=(49, 1)), LSTM(3), Dense(1, activation="softplus")])
    m.compile(optimizer="adam", loss=loss)
    written = json.loads(m.to_json())["compile_config"]["loss"]
    x, y = sine_data(8)
    y = (np.abs(y) + 0.1)[:, None].astype(np.float32)
    p = m.predict(x, verbose=0).astype(np.float64)
    t = y.astype(np.float64)
    eps = 1e-7
    expected = {
        "mape": lambda: np.mean(100 * np.abs(t - p) / np.maximum(np.abs(t), eps)),
        "MeanSquaredLogarithmicError": lambda: np.mean((np.log(np.maximum(p, eps) + 1) - np.log(np.maximum(t, eps) + 1)) ** 2),
        "Huber": lambda: np.mean(np.where(np.abs(p - t) <= 0.5, 0.5 * (p - t) ** 2, 0.5 * np.abs(p - t) - 0.125)),
        "log_cosh": lambda: np.mean(np.log(np.cosh(p - t))),
        "poisson": lambda: np.mean(p - t * np.log(p + eps)),
        "Hinge": lambda: np.mean(np.maximum(1 - t * p, 0)),
        "squared_hinge": lambda: np.mean(np.maximum(1 - t * p, 0) ** 2),
        "categorical_hinge": lambda: np.mean(np.maximum((1 - t) * p - t * p + 1, 0)),
        "kld": lambda: np.mean(np.clip(t, eps, 1) * np.log(np.clip(t, eps, 1) / np.clip(p, eps, 1))),
        "CosineSimilarity": lambda: np.mean(-t * p / (np.abs(t) * np.abs(p))),
    }[name]()
    assert np.isfinite(expected)
    np.testing.assert_allclose(m.evaluate(x, y, verbose=0), expected, rtol=1e-5, atol=1e-7)
    if name == "Huber":
        assert written["config"]["delta"] == 0.5


@pytest.mark.parametrize("loss, name", [
    ("sparse_categorical_crossentropy", "sparse"), (losses.SparseCategoricalCrossentropy(ignore_class=2), "sparse_ignore"),
    ("categorical_crossentropy", "categorical"), (losses.CategoricalCrossentropy(label_smoothing=0.2), "categorical_smooth"),
    ("bce", "binary"), (losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0), "focal"),
])
def test_crossentropies_evaluate_as_numpy_and_train(loss, name):
    """A token classifier (Embedding -> LSTM -> Dense(3, softmax; sigmoid for the binary ones))
    with each crossentropy: evaluate equals the loss computed in numpy from its predictions
    (keras/src/losses/losses.py), and fit lowers it. Sparse targets are class ids, shape (n,) or (n, 1)."""
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, 20, size=(32, 6)).astype(np.float32)
    classes = (tokens[:, 0] % 3).astype(np.int64)  # learnable: the first token decides
    lstm.utils.set_random_seed(2)
    binary = name in ("binary", "focal")
    m = lstm.Sequential([lstm.Input(shape=(6,)), lstm.layers.Embedding(20, 4), LSTM(5),
                         Dense(3, activation="sigmoid" if binary else "softmax")])
    m.compile(optimizer=optimizers.Adam(learning_rate=0.03), loss=loss)
    sparse = name.startswith("sparse")
    y = classes.astype(np.float32) if sparse else np.eye(3, dtype=np.float32)[classes]
    p = m.predict(tokens, verbose=0).astype(np.float64)
    eps = 1e-7
    one_hot = np.eye(3)[classes]
    if name == "sparse":
        expected = np.mean(-np.log(p[np.arange(32), classes]))
    elif name == "sparse_ignore":
        kept = classes != 2
        expected = np.mean(-np.log(np.clip(p, eps, 1 - eps)[np.arange(32), classes])[kept])
    elif name.startswith("categorical"):
        t = one_hot * 0.8 + 0.2 / 3 if name == "categorical_smooth" else one_hot
        expected = np.mean(-np.sum(t * np.log(p), axis=-1))
    else:
        bce = -(one_hot * np.log(p) + (1 - one_hot) * np.log(1 - p))
        if name == "focal":
            pt = one_hot * p + (1 - one_hot) * (1 - p)
            bce = (one_hot * 0.4 + (1 - one_hot) * 0.6) * (1 - pt) * bce
        expected = np.mean(bce)
    before = m.evaluate(tokens, y, verbose=0)
    np.testing.assert_allclose(before, expected, rtol=1e-5)
    if sparse:
        np.testing.assert_allclose(m.evaluate(tokens, y[:, None], verbose=0), before, rtol=1e-7)
        with pytest.raises(ValueError, match="one class id per output position"):
            m.fit(tokens, np.eye(3, dtype=np.float32)[classes], verbose=0)
    history = m.fit(tokens, y, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    written = json.loads(m.to_json())["compile_config"]["loss"]
    if isinstance(loss, str):
        assert written == {"bce": "binary_crossentropy"}.get(loss, loss)  # Keras's full name for an alias
    else:
        assert written["class_name"] == loss.class_name


def test_class_ids_out_of_range_are_refused():
    m = lstm.Sequential([lstm.Input(shape=(4, 1)), LSTM(2), Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.zeros((4, 4, 1), np.float32)
    with pytest.raises(ValueError, match=r"y\[2\] is 3.0: a class id must be a whole number in \[0, 3\)"):
        m.fit(x, np.array([0, 1, 3, 2], np.float32), verbose=0)


METRIC_FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Fixtures", "training",
                              "keras3_metrics.json")


def test_metrics_evaluate_as_numpy_from_predictions():
    """Each metric of a token classifier equals its numpy form (keras/src/metrics definitions)
    on the model's own predictions; evaluate returns [loss, metrics...] in compile's order, a
    sorted dict with return_dict, and fit's History has every metric and its val_ form."""
    from lstm import metrics
    rng = np.random.default_rng(4)
    tokens = rng.integers(1, 20, size=(30, 6)).astype(np.float32)
    classes = (tokens[:, 0] % 4).astype(np.int64)
    lstm.utils.set_random_seed(3)
    m = lstm.Sequential([lstm.Input(shape=(6,)), lstm.layers.Embedding(20, 4), LSTM(5), Dense(4, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"), "sparse_categorical_crossentropy"])
    assert m.metrics_names == ["loss", "accuracy", "top2", "sparse_categorical_crossentropy"]
    p = m.predict(tokens, verbose=0).astype(np.float64)
    y = classes.astype(np.float32)
    accuracy = np.mean(np.argmax(p, axis=1) == classes)
    target_p = p[np.arange(30), classes]
    top2 = np.mean((p > target_p[:, None]).sum(axis=1) < 2)
    crossentropy = np.mean(-np.log(target_p))
    loss, got_accuracy, got_top2, got_ce = m.evaluate(tokens, y, verbose=0)
    np.testing.assert_allclose([got_accuracy, got_top2], [accuracy, top2], rtol=0, atol=1e-12)
    np.testing.assert_allclose([loss, got_ce], [crossentropy, crossentropy], rtol=1e-5)
    d = m.evaluate(tokens, y, verbose=0, return_dict=True)
    assert list(d) == sorted(d) and d["top2"] == got_top2
    history = m.fit(tokens, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0).history
    assert sorted(history) == sorted(["loss", "accuracy", "top2", "sparse_categorical_crossentropy", "val_loss",
                                      "val_accuracy", "val_top2", "val_sparse_categorical_crossentropy"])
    assert all(len(v) == 2 for v in history.values())
    # Keras's validation_split 0.2 of 30 samples holds out 6 (not 7 from a float rounding).
    assert all(v * 6 == round(v * 6) for v in history["val_accuracy"]), history["val_accuracy"]
    # Regression metrics on a second model: mae, mse, rmse, mape against numpy.
    x = rng.uniform(-1, 1, size=(20, 5, 2)).astype(np.float32)
    t = rng.uniform(0.5, 1.5, size=(20, 2)).astype(np.float32)
    r = lstm.Sequential([lstm.Input(shape=(5, 2)), LSTM(3), Dense(2)])
    r.compile(optimizer="adam", loss="mse", metrics=["mae", metrics.RootMeanSquaredError(), "mape"])
    q = r.predict(x, verbose=0).astype(np.float64)
    got = r.evaluate(x, t, verbose=0)
    want = [np.mean((q - t) ** 2), np.mean(np.abs(q - t)), np.sqrt(np.mean((q - t) ** 2)),
            100 * np.mean(np.abs((t - q) / t))]
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("name", ["binary_sigmoid", "categorical_softmax", "sparse_logits_masked_steps",
                                  "two_outputs_list", "two_outputs_dict"])
def test_metrics_follow_keras(name):
    """Keras 3's fits with metrics and validation_data (make_metric_fixtures.py), loaded from
    Keras's JSON and compile config: every History value and evaluate's dict."""
    with open(METRIC_FIXTURE) as f:
        e = next(x for x in json.load(f)["entries"] if x["name"] == name)
    arr = lambda t: np.array(t["values"], np.float32).reshape(t["shape"])  # noqa: E731
    config = json.loads(e["model_json"])
    config["compile_config"] = e["compile_config"]
    m = lstm.models.model_from_json(json.dumps(config))
    m.set_weights([arr(w) for w in e["initial_weights"]])
    ys, yvs = [arr(t) for t in e["y"]], [arr(t) for t in e["y_val"]]
    y, yv = (ys, yvs) if len(ys) > 1 else (ys[0], yvs[0])
    history = m.fit(arr(e["x"]), y, epochs=2, batch_size=4, shuffle=False, verbose=0,
                    validation_data=(arr(e["x_val"]), yv)).history
    assert list(history) == e["history_keys"]
    for k in history:
        np.testing.assert_allclose(history[k], e["history"][k], rtol=1e-4, atol=2e-5, err_msg=k)
    evaluated = m.evaluate(arr(e["x_val"]), yv, batch_size=4, verbose=0, return_dict=True)
    assert list(evaluated) == sorted(e["evaluate"])
    np.testing.assert_allclose([evaluated[k] for k in sorted(evaluated)], [e["evaluate"][k] for k in sorted(evaluated)],
                               rtol=1e-4, atol=2e-5)


def test_metric_refusals_name_the_metric():
    from lstm import metrics
    m = sine_model(units=3)
    with pytest.raises(lstm.LSTMError, match="'AUC' is not supported yet"):
        m.compile(optimizer="adam", loss="mse", metrics=["AUC"])
    with pytest.raises(ValueError, match="reads class ids"):
        m.compile(optimizer="adam", loss="mse", metrics=["sparse_categorical_accuracy"])
    with pytest.raises(ValueError, match="k must be"):
        metrics.TopKCategoricalAccuracy(k=0)
    m.compile(optimizer="adam", loss="mse", metrics=[metrics.MeanAbsoluteError(name="err")])
    written = json.loads(m.to_json())["compile_config"]["metrics"]
    assert written[0]["class_name"] == "MeanAbsoluteError" and written[0]["config"]["name"] == "err"


WEIGHT_FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Fixtures", "training",
                              "keras3_sample_weights.json")


@pytest.mark.parametrize("name", ["sample_weight_regression", "sample_weight_per_timestep_masked", "class_weight_sparse",
                                  "class_weight_binary", "weighted_metrics_regression", "weighted_metrics_class_weight",
                                  "steps_per_epoch"])
def test_sample_and_class_weights_follow_keras(name):
    """Keras 3's fits with sample_weight / class_weight (make_metric_fixtures.py): History,
    final weights and a weighted evaluate, through Python's fit and evaluate."""
    with open(WEIGHT_FIXTURE) as f:
        e = next(x for x in json.load(f)["entries"] if x["name"] == name)
    arr = lambda t: None if t is None else np.array(t["values"], np.float32).reshape(t["shape"])  # noqa: E731
    config = json.loads(e["model_json"])
    config["compile_config"] = e["compile_config"]
    m = lstm.models.model_from_json(json.dumps(config))
    m.set_weights([arr(w) for w in e["initial_weights"]])
    class_weight = {int(k): v for k, v in e["class_weight"].items()} if e["class_weight"] else None
    validation = tuple(arr(t) for t in e["validation"]) if e["validation"] else None
    history = m.fit(arr(e["x"]), arr(e["y"]), epochs=e["epochs"], batch_size=e["batch_size"], shuffle=False, verbose=0,
                    sample_weight=arr(e["sample_weight"]), class_weight=class_weight, validation_data=validation,
                    validation_split=e["validation_split"], steps_per_epoch=e["steps_per_epoch"]).history
    assert sorted(history) == sorted(e["history"])
    for k in history:
        np.testing.assert_allclose(history[k], e["history"][k], rtol=1e-5, atol=1e-6, err_msg=k)
    for got, want in zip(m.get_weights(), e["final_weights"]):
        np.testing.assert_allclose(got, arr(want), rtol=1e-3, atol=1e-4)
    evaluated = m.evaluate(arr(e["x"]), arr(e["y"]), sample_weight=arr(e["evaluate_weight"]), batch_size=4, verbose=0,
                           return_dict=True)
    for k, v in e["evaluate"].items():
        np.testing.assert_allclose(evaluated[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


def test_per_sample_weights_spread_over_timesteps_as_numpy():
    """Per-sample weights on a masked 3-D output's loss (which Keras 3 itself cannot run): each
    sample's weight on each of its real steps, the sum over the real steps, as numpy computes it
    from the predictions."""
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, size=(6, 4, 2)).astype(np.float32)
    x[1, 2:] = 0.0
    y = rng.uniform(-1, 1, size=(6, 4, 3)).astype(np.float32)
    w = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 0.25], dtype=np.float32)
    m = lstm.Sequential([lstm.Input(shape=(4, 2)), lstm.layers.Masking(0.0), LSTM(3, return_sequences=True), Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    p = m.predict(x, verbose=0).astype(np.float64)
    real = np.any(x != 0, axis=-1)
    per_step = np.mean((p - y) ** 2, axis=-1)
    want = np.sum(per_step * w[:, None] * real) / real.sum()
    np.testing.assert_allclose(m.evaluate(x, y, sample_weight=w, verbose=0), want, rtol=1e-5)
    np.testing.assert_allclose(m.evaluate(x, y, sample_weight=np.repeat(w[:, None], 4, axis=1), verbose=0), want, rtol=1e-6)
    with pytest.raises(ValueError, match="sample_weight"):
        m.evaluate(x, y, sample_weight=np.ones((6, 3)), verbose=0)


def test_validation_freq_validates_the_epochs_keras_does():
    """validation_freq=2 puts val_loss in the logs of epochs 2 and 4 only, and a list names the
    epochs; History's val_ lists hold only those (as Keras's); the values equal evaluate's on the
    held-out samples at that point."""
    from lstm import callbacks
    x, y = sine_data(20)
    m = sine_model(units=3)
    m.compile(optimizer="adam", loss="mse")
    seen = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    history = m.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, validation_freq=2, verbose=0,
                    callbacks=[record]).history
    assert [k for e, k in seen] == [["loss"], ["loss", "val_loss"], ["loss"], ["loss", "val_loss"]]
    assert len(history["loss"]) == 4 and len(history["val_loss"]) == 2
    np.testing.assert_allclose(history["val_loss"][-1], m.evaluate(x[15:], y[15:], batch_size=8, verbose=0), rtol=1e-6)
    history = m.fit(x, y, epochs=3, batch_size=8, validation_data=(x[:5], y[:5]), validation_freq=[1, 3], verbose=0).history
    assert len(history["val_loss"]) == 2


def test_stream_steps_as_predict_does():
    """model.stream(): each step's output equals predict's last step over the sequence so far
    (token ids into an Embedding model); reset starts again; a wrong step size is refused."""
    rng = np.random.default_rng(5)
    lstm.utils.set_random_seed(5)
    m = lstm.Sequential([lstm.Input(shape=(None,)), lstm.layers.Embedding(9, 4), LSTM(6, return_sequences=True),
                         Dense(9, activation="softmax")])
    tokens = rng.integers(0, 9, size=12).astype(np.float32)
    whole = m.predict(tokens[None, :], verbose=0)[0]
    stream = m.stream()
    assert (stream.input_size, stream.output_size) == (1, 9)
    steps = np.array([stream.step([t]) for t in tokens])
    np.testing.assert_allclose(steps, whole, rtol=1e-5, atol=1e-6)
    stream.reset()
    np.testing.assert_allclose(stream.step([tokens[0]]), whole[0], rtol=1e-6)
    with pytest.raises(ValueError, match="holds 1 values"):
        stream.step([1, 2])


def test_evaluate_and_predict_call_keras_hooks(capsys):
    """evaluate and predict call a Callback's on_test_* / on_predict_* hooks per batch, as Keras
    does: the running logs (the last equal to evaluate's), the batch outputs (their
    concatenation equal to predict's); ProgbarLogger given to fit prints its lines once."""
    from lstm import callbacks

    class Seen(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.events = []

        def on_test_begin(self, logs=None):
            self.events.append("test_begin")

        def on_test_batch_begin(self, batch, logs=None):
            self.events.append(("test_batch_begin", batch))

        def on_test_batch_end(self, batch, logs=None):
            self.events.append(("test_batch_end", batch, logs["loss"], logs["mae"]))

        def on_test_end(self, logs=None):
            self.events.append(("test_end", logs["loss"]))

        def on_predict_batch_end(self, batch, logs=None):
            self.events.append(("predict_batch_end", batch, logs["outputs"].copy()))

        def on_predict_end(self, logs=None):
            self.events.append("predict_end")
    x, y = sine_data(20)
    m = sine_model(units=3)
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    seen = Seen()
    loss, mae = m.evaluate(x, y, batch_size=8, verbose=0, callbacks=[seen])
    kinds = [e if isinstance(e, str) else e[:2] for e in seen.events]
    assert kinds == ["test_begin", ("test_batch_begin", 0), ("test_batch_end", 0), ("test_batch_begin", 1),
                     ("test_batch_end", 1), ("test_batch_begin", 2), ("test_batch_end", 2), ("test_end", loss)]
    assert seen.events[-2][2:] == (loss, mae)
    # The first batch's running loss is that batch's evaluate.
    np.testing.assert_allclose(seen.events[2][2], m.evaluate(x[:8], y[:8], verbose=0)[0], rtol=1e-6)
    seen.events = []
    q = m.predict(x, batch_size=8, verbose=0, callbacks=[seen])
    # Batches of 8 take other kernel paths than one of 20: float32 rounding apart.
    np.testing.assert_allclose(q, m.predict(x, verbose=0), rtol=1e-5, atol=1e-7)
    outs = [e[2] for e in seen.events if e[0] == "predict_batch_end"]
    assert [o.shape[0] for o in outs] == [8, 8, 4] and seen.events[-1] == "predict_end"
    np.testing.assert_array_equal(np.concatenate(outs), q)
    capsys.readouterr()
    m.fit(x, y, epochs=2, batch_size=10, verbose=2, callbacks=[callbacks.ProgbarLogger()])
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1 and out.count("mae:") == 2


def test_train_on_batch_loop_with_kept_or_released_memory():
    """A loop of one-batch fits (fit keeps its working memory between calls) gives the same
    weights whether or not release_training_memory frees that memory between the calls."""
    x, y = sine_data(16)
    weights, initial = [], None
    for release in (False, True):
        m = sine_model(units=4)
        m.compile(optimizer="adam", loss="mse")
        initial = initial or m.get_weights()
        m.set_weights(initial)
        for start in (0, 8, 0):
            m.fit(x[start:start + 8], y[start:start + 8], epochs=1, batch_size=8, shuffle=False, verbose=0)
            if release:
                m.release_training_memory()
        weights.append(m.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_use_ema_ends_fit_on_the_moving_average():
    """Adam(use_ema=True): after fit the weights are the moving average of the weights after each
    update (numpy from the weights a callback records after every batch: the first update's
    weights, then m * average + (1 - m) * weights), as Keras's finalize_variable_values leaves them."""
    from lstm import callbacks
    x, y = sine_data(24)
    m = sine_model(units=3)
    m.compile(optimizer=optimizers.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.7), loss="mse")
    after_each = []
    record = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: after_each.append(m.get_weights()))
    m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[record])
    average = [w.astype(np.float64) for w in after_each[0]]
    for ws in after_each[1:]:
        average = [np.float32(0.7) * a + np.float32(0.3) * w for a, w in zip(average, ws)]
    for got, want in zip(m.get_weights(), average):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    config = json.loads(m.to_json())["compile_config"]["optimizer"]["config"]
    assert config["use_ema"] is True and config["ema_momentum"] == 0.7


def test_fit_validation_calls_the_test_hooks():
    """fit's validation (a split or validation_data) runs through evaluate's hooks, as Keras's:
    on_test_begin, a test batch per validation batch, on_test_end with the val logs' values."""
    from lstm import callbacks
    seen = []

    class Seen(callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append("begin")

        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

        def on_test_end(self, logs=None):
            seen.append(("end", logs["loss"]))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", logs["val_loss"]))
    x, y = sine_data(30)
    m = sine_model(units=3)
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=2, batch_size=4, validation_split=0.2, verbose=0, callbacks=[Seen()])
    # 6 held-out samples in batches of 4: two test batches per epoch.
    assert [e if not isinstance(e, tuple) else e[0] for e in seen] == ["begin", 0, 1, "end", "epoch"] * 2
    assert seen[3][1] == seen[4][1] and seen[8][1] == seen[9][1]


@pytest.mark.parametrize("name", ["early_stopping_restore", "early_stopping_baseline_max_mode",
                                  "model_checkpoint_best_only"])
def test_stopping_and_checkpoint_callbacks_follow_keras(name, tmp_path):
    """EarlyStopping (restore_best_weights, start_from_epoch, baseline in max mode) and
    ModelCheckpoint (save_best_only, {epoch:02d}-{val_loss:.3f} names) against Keras 3's fits of
    the same model, weights and data (make_training_fixtures.py): the epochs run, every loss and
    val_loss, the weights it ends with, and the files written."""
    from lstm import callbacks
    with open(CALLBACK_FIXTURE) as f:
        d = json.load(f)
    e = next(c for c in d["entries"] if c["name"] == name)
    arr = lambda t: np.array(t["values"], np.float32).reshape(t["shape"])  # noqa: E731
    m = lstm.Sequential([lstm.Input(shape=(5, 2)), lstm.layers.LSTM(4), Dense(1)])
    m.set_weights([arr(w) for w in e["initial_weights"]])
    if name == "early_stopping_restore":
        m.compile(optimizer=optimizers.SGD(learning_rate=0.5, momentum=0.9), loss="mse")
        cb = callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-4, restore_best_weights=True,
                                     start_from_epoch=1)
    elif name == "early_stopping_baseline_max_mode":
        m.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse")
        cb = callbacks.EarlyStopping(monitor="val_loss", mode="max", baseline=10.0, patience=1)
    else:
        m.compile(optimizer=optimizers.SGD(learning_rate=0.5, momentum=0.9), loss="mse")
        cb = callbacks.ModelCheckpoint(str(tmp_path / "m{epoch:02d}-{val_loss:.3f}.weights.h5"), monitor="val_loss",
                                       save_best_only=True, save_weights_only=True)
    history = m.fit(arr(d["x"]), arr(d["y"]), epochs=e["epochs"], batch_size=4, shuffle=False, verbose=0,
                    validation_data=(arr(d["x_val"]), arr(d["y_val"])), callbacks=[cb]).history
    assert len(history["loss"]) == len(e["loss"])
    np.testing.assert_allclose(history["loss"], e["loss"], rtol=1e-5)
    np.testing.assert_allclose(history["val_loss"], e["val_loss"], rtol=1e-5)
    for got, want in zip(m.get_weights(), e["final_weights"]):
        np.testing.assert_allclose(got, arr(want), rtol=1e-4, atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == e["files"]
    if name.startswith("early"):
        assert cb.stopped_epoch == e["stopped_epoch"]


def test_fit_distributed_takes_true_false_or_a_strategy():
    # The data-parallel fit itself runs under mpirun (Tests/MPI/mpi_fit.py); here only its argument.
    m = Sequential([Input(shape=(3, 1)), LSTM(2), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3, 1), np.float32), np.zeros((4, 1), np.float32)
    with pytest.raises(ValueError, match="MPIStrategy"):
        m.fit(x, y, verbose=0, distributed="yes")
    assert len(m.fit(x, y, verbose=0, distributed=False).history["loss"]) == 1


def test_keras2_hard_sigmoid_models_keep_their_math_in_python(tmp_path):
    """A Keras 2 file whose LSTM runs Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1)) loads in
    Python and gives tf-keras's outputs; its JSON names the function 'hard_sigmoid_keras2' and
    reads back to the same model; a Keras 3 save refuses it by name (Keras 3's hard_sigmoid is
    another function), while its weights still save."""
    fixtures = KERAS_FIXTURES
    with open(os.path.join(fixtures, "configs", "keras2_relu_hardsigmoid_nobias.json")) as f:
        d = json.load(f)
    x = np.array(d["x"]["values"], dtype=np.float32).reshape(d["x"]["shape"])
    y = np.array(d["y"]["values"], dtype=np.float32).reshape(d["y"]["shape"])
    model = lstm.load_model(os.path.join(fixtures, "files", "keras2_relu_hardsigmoid_nobias.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6)
    text = model.to_json()
    assert '"hard_sigmoid_keras2"' in text
    again = lstm.models.model_from_json(text)
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    for name in ["m.keras", "m.h5"]:
        with pytest.raises(lstm.LSTMError, match=r"layer 'lstm.*' runs Keras 2's hard_sigmoid"):
            model.save(str(tmp_path / name))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    assert sorted(os.listdir(tmp_path)) == ["m.weights.h5"]


def test_load_model_outputs_loads_the_part_of_the_graph_they_need():
    """load_model(path, outputs=[...]) (an extension): the part of a graph computing named
    layers' outputs, as Model(inputs, model.get_layer(name).output) would give it."""
    path = os.path.join(KERAS_FIXTURES, "files", "keras3_graph_two_inputs_two_outputs.keras")
    whole = lstm.load_model(path)
    part = lstm.load_model(path, outputs=["aux"])
    rng = np.random.default_rng(4)
    seq = rng.standard_normal((3, 5, 3)).astype(np.float32)
    static = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(part.predict(seq, verbose=0), whole.predict([seq, static], verbose=0)[1])
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        lstm.load_model(path, outputs=["nope"])
