"""Writes what real Keras says about small models, for the tests (which need no TensorFlow).

configs/<flavor>_<model>.json: the model's JSON (`model.to_json()`), its weights
(`model.get_weights()`, every bias replaced by random values so that a gate order or bias
mistake shows, then one Adam step so that the optimizer has state), an input batch and Keras's
`predict` output for it.
files/<flavor>_<model>.*: the same model saved by Keras in each of its formats:
  Keras 3:  .weights.h5, .keras, .h5 (legacy full model)
  tf-keras: .weights.h5, _legacy.h5 (save_weights to .h5: the Keras 2 layout), .h5 (full model),
            and keras2_sine_fixed_strings.h5: the sine .h5 with fixed-length string attributes, as
            Keras 2.0-2.4 wrote them
configs/keras3_training.json: a fit with shuffling off (3 epochs of 3 batches, Adam, MSE):
initial weights, data, the loss of every epoch and the final weights.

Run with Keras 3:    python make_keras_fixtures.py keras3
Run with tf-keras:   python make_keras_fixtures.py keras2
(`pip install tensorflow-cpu tf-keras h5py`.)
"""
import json
import os
import sys

import numpy as np

flavor = sys.argv[1] if len(sys.argv) > 1 else "keras3"
np.random.seed(0)
if flavor == "keras2":
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras as keras
else:
    import keras

layers = keras.layers
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
files = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
os.makedirs(files, exist_ok=True)
# Models also saved as files (the others are JSON only, to keep the fixtures small).
SAVED = {"sine", "stacked_softmax", "relu_hardsigmoid_nobias"}
rng = np.random.default_rng(20261127)


def lstm(units, **kw):
    return layers.LSTM(units, **kw)


MODELS = {
    # The user's sine architecture, at a smaller width to keep the file small.
    "sine": (lambda: [lstm(8, activation="tanh"), layers.Dense(1)], (None, 12, 1), 4),
    "stacked_softmax": (lambda: [lstm(6, return_sequences=True), lstm(5), layers.Dense(3, activation="softmax")],
                        (None, 7, 2), 3),
    "relu_hardsigmoid_nobias": (lambda: [lstm(5, activation="relu", recurrent_activation="hard_sigmoid",
                                              use_bias=False), layers.Dense(2, activation="tanh")], (None, 6, 3), 3),
    "backwards_sequences": (lambda: [lstm(4, go_backwards=True, return_sequences=True),
                                     layers.Dense(2, activation="sigmoid")], (None, None, 2), 2),
    "sigmoid_linear_dense_relu": (lambda: [lstm(4, activation="sigmoid", recurrent_activation="sigmoid",
                                                return_sequences=True),
                                           lstm(3, activation="linear", unit_forget_bias=False),
                                           layers.Dense(3, activation="relu")], (None, 5, 2), 3),
}

for name, (make, batch_shape, batch) in MODELS.items():
    model = keras.Sequential([keras.Input(batch_shape=batch_shape) if flavor == "keras3"
                              else keras.Input(batch_input_shape=batch_shape)] + make())
    weights = model.get_weights()
    for k, w in enumerate(weights):
        if w.ndim == 1:
            weights[k] = rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
    model.set_weights(weights)
    steps = batch_shape[1] or 9
    x = rng.uniform(-1.5, 1.5, size=(batch, steps, batch_shape[2])).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(x, np.zeros(model.predict(x, verbose=0).shape, np.float32))
    y = model.predict(x, verbose=0)
    if name in SAVED:
        base = os.path.join(files, f"{flavor}_{name}")
        model.save_weights(base + ".weights.h5")
        model.save(base + ".h5")
        if flavor == "keras3":
            model.save(base + ".keras")
        else:
            model.save_weights(base + "_legacy.h5")
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "weights": [{"shape": list(w.shape), "values": [float(v) for v in w.ravel()]} for w in model.get_weights()],
        "x": {"shape": list(x.shape), "values": [float(v) for v in x.ravel()]},
        "y": {"shape": list(y.shape), "values": [float(v) for v in y.ravel()]},
    }
    with open(os.path.join(here, f"{flavor}_{name}.json"), "w") as f:
        json.dump(out, f)
    print(flavor, name, "params", model.count_params(), "output", y.shape)


if flavor == "keras2":
    # Keras 2.0-2.4 stored these attributes as fixed-length byte strings (numpy "S" arrays and
    # bytes scalars) where tf-keras now writes variable-length ones: the same model that way.
    import shutil
    import h5py
    src = os.path.join(files, "keras2_sine.h5")
    dst = os.path.join(files, "keras2_sine_fixed_strings.h5")
    shutil.copy(src, dst)

    def to_fixed(attrs):
        for key in list(attrs.keys()):
            value = attrs[key]
            if isinstance(value, str):
                attrs[key] = np.bytes_(value.encode("utf8"))
            elif isinstance(value, np.ndarray) and value.dtype == object:
                attrs[key] = np.array([v.encode("utf8") if isinstance(v, str) else v for v in value], dtype="S")

    with h5py.File(dst, "r+") as f:
        to_fixed(f.attrs)
        f.visititems(lambda name, obj: to_fixed(obj.attrs))
    print("wrote", dst)

if flavor == "keras3":
    # Training parity: shuffle off, 3 epochs of batches 4, 4 and 2.
    model = keras.Sequential([keras.Input(batch_shape=(None, 6, 2)), lstm(5), layers.Dense(2)])
    weights = model.get_weights()
    weights[2] = rng.uniform(-0.5, 0.5, size=weights[2].shape).astype(np.float32)
    model.set_weights(weights)
    initial = model.get_weights()
    x = rng.uniform(-1, 1, size=(10, 6, 2)).astype(np.float32)
    y = rng.uniform(-1, 1, size=(10, 2)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "initial_weights": [{"shape": list(w.shape), "values": [float(v) for v in w.ravel()]} for w in initial],
        "final_weights": [{"shape": list(w.shape), "values": [float(v) for v in w.ravel()]} for w in model.get_weights()],
        "x": {"shape": list(x.shape), "values": [float(v) for v in x.ravel()]},
        "y": {"shape": list(y.shape), "values": [float(v) for v in y.ravel()]},
        "epoch_losses": [float(v) for v in history.history["loss"]],
    }
    with open(os.path.join(here, "keras3_training.json"), "w") as f:
        json.dump(out, f)
    print("training parity:", out["epoch_losses"])
