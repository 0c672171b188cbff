"""Writes Keras-produced model configs, weights, inputs and outputs as small JSON files.

Each fixture holds what real Keras says about one small model: its JSON (`model.to_json()`),
its weights (`model.get_weights()`, with every bias replaced by random values so that a gate
order or bias mistake shows), an input batch, and Keras's `predict` output for it. The tests read
these files; they do not need TensorFlow.

Run with Keras 3:    python make_config_fixtures.py keras3
Run with tf-keras:   TF_USE_LEGACY_KERAS=1 python make_config_fixtures.py keras2
(`pip install tensorflow-cpu tf-keras`.)
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

layers = keras.layers
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
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
    y = model.predict(x, verbose=0)
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
