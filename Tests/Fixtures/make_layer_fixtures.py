"""Writes what real Keras says about the layers around the recurrent ones, for the tests.

layers/<flavor>_<model>.json, one per model below: the model's JSON (`model.to_json()`), its
weight names in Keras's order and their values (`model.get_weights()`, every 1-D weight replaced
by random values, moving variances kept positive), one input batch per model input, Keras's
`predict` output for each model output (inference: every dropout and noise layer is the
identity) and, for models without random layers, the output of a training-mode call
(`model(x, training=True)`: BatchNormalization's batch statistics) with the weights after it
(the moving statistics it updated).
layers/keras3_frozen_training.json: a fit (shuffle off, 2 epochs of batches 4 and 2, Adam) of a
model with a BatchNormalization and a Dense(trainable=False): losses and final weights.
files/<flavor>_layers_<model>.keras / .h5: the three models the issue names (a CNN-LSTM, an
encoder-decoder forecaster and a regularised stack) saved whole by Keras 3 (.keras) and tf-keras
(.h5).

Run with Keras 3:    python make_layer_fixtures.py keras3
Run with tf-keras:   python make_layer_fixtures.py keras2
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
out_dir = os.path.join(here, "layers")
files = os.path.join(here, "files")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261202)
keras.utils.set_random_seed(20261202)


def cnn_lstm():
    """Conv1D -> MaxPooling1D -> LSTM -> Dense: the CNN-LSTM forecaster."""
    return keras.Sequential([keras.Input(shape=(12, 3)), L.Conv1D(8, 3, activation="relu"),
                             L.MaxPooling1D(2), L.LSTM(5), L.Dense(1)], name="cnn_lstm")


def encoder_decoder():
    """LSTM -> RepeatVector -> LSTM(return_sequences) -> TimeDistributed(Dense)."""
    return keras.Sequential([keras.Input(shape=(8, 2)), L.LSTM(6), L.RepeatVector(4),
                             L.LSTM(5, return_sequences=True), L.TimeDistributed(L.Dense(2))],
                            name="encoder_decoder")


def regularised():
    """Dropout inside and between the LSTMs, BatchNormalization before the head."""
    return keras.Sequential([keras.Input(shape=(7, 3)),
                             L.LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.2),
                             L.Dropout(0.3), L.LSTM(4), L.BatchNormalization(), L.Dense(1)],
                            name="regularised")


def activation_layers():
    """Every activation layer, the reshaping layers between them."""
    x = keras.Input(shape=(6, 4), name="x")
    h = L.Dense(6)(x)
    h = L.LeakyReLU(0.1)(h)
    h = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)(h)
    h = L.ELU(0.7)(h)
    h = L.PReLU(shared_axes=[1])(h)
    h = L.Reshape((4, 9))(h)
    h = L.Permute((2, 1))(h)
    h = L.Softmax()(h)
    h = L.Activation("tanh")(h)
    h = L.Flatten()(L.Dense(2)(h))
    return keras.Model(x, L.Dense(2)(h), name="activation_layers")


def activations():
    """Dense with every activation Keras names, side by side."""
    names = ["linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "tanh",
             "sigmoid", "hard_sigmoid", "softmax", "softplus", "softsign", "exponential"]
    x = keras.Input(shape=(5, 3), name="x")
    outs = [L.Dense(3, activation=a, name="dense_" + a)(x) for a in names]
    h = L.Concatenate()(outs)
    return keras.Model(x, L.Activation("gelu")(L.Dense(2)(h)), name="activations")


def convolutions():
    """Conv1D's paddings, strides and dilation; the pooling, padding and resampling layers."""
    x = keras.Input(shape=(11, 4), name="x")
    h = L.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="tanh")(x)
    h = L.Conv1D(5, 4, strides=2, padding="same", use_bias=False)(h)
    h = L.ZeroPadding1D((1, 2))(h)
    h = L.Conv1D(4, 2, strides=2, activation="elu")(h)
    h = L.AveragePooling1D(2, strides=1, padding="same")(h)
    h = L.UpSampling1D(2)(h)
    h = L.Cropping1D((1, 2))(h)
    a = L.GlobalAveragePooling1D()(h)
    m = L.GlobalMaxPooling1D()(h)
    f = L.Flatten()(L.MaxPooling1D(3, padding="same")(h))
    p = L.Flatten()(L.AveragePooling1D(2, strides=3)(L.Conv1D(3, 5, padding="same")(x)))
    k = L.GlobalMaxPooling1D(keepdims=True)(h)
    return keras.Model(x, [L.Dense(2, activation="softmax")(L.Concatenate()([a, m, f, p])), k],
                       name="convolutions")


def normalization():
    """LayerNormalization and BatchNormalization on 3-D tensors, with and without center/scale."""
    x = keras.Input(shape=(5, 4), name="x")
    h = L.LayerNormalization()(x)
    h = L.BatchNormalization(momentum=0.9, epsilon=0.01)(L.Dense(6)(h))
    h = L.LSTM(3, return_sequences=True)(h)
    h = L.LayerNormalization(center=False, epsilon=0.01)(h)
    h = L.BatchNormalization(scale=False)(h)
    return keras.Model(x, L.Dense(1)(h), name="normalization")


def time_distributed():
    """TimeDistributed around an LSTM over a 4-D input (a sequence of sequences)."""
    x = keras.Input(shape=(3, 5, 2), name="x")
    h = L.TimeDistributed(L.LSTM(4))(x)
    h = L.LSTM(3, return_sequences=True)(h)
    return keras.Model(x, L.TimeDistributed(L.Dense(2))(h), name="time_distributed")


def masked_pooling():
    """The mask reaching GlobalAveragePooling1D through Dropout (masked steps left out);
    GlobalMaxPooling1D ignores it as Keras 3 does."""
    t = keras.Input(shape=(7,), name="tokens")
    h = L.Embedding(12, 4, mask_zero=True)(t)
    h = L.LSTM(5, return_sequences=True)(h)
    h = L.Dropout(0.1)(h)
    both = L.Concatenate()([L.GlobalAveragePooling1D()(h), L.GlobalMaxPooling1D()(h)])
    return keras.Model(t, L.Dense(1)(both), name="masked_pooling")


def noise():
    """Every random layer: the identity in predict."""
    x = keras.Input(shape=(6, 3), name="x")
    h = L.GaussianNoise(0.3)(x)
    h = L.Dropout(0.5, noise_shape=(None, 1, 3))(h)
    h = L.SpatialDropout1D(0.3)(h)
    h = L.LSTM(4, dropout=0.3)(h)
    h = L.GaussianDropout(0.4)(h)
    return keras.Model(x, L.Dense(1)(h), name="noise")


def frozen():
    """BatchNormalization between LSTMs and a frozen Dense: trained in the fit fixture."""
    x = keras.Input(shape=(6, 3), name="x")
    h = L.LSTM(5, return_sequences=True)(x)
    h = L.BatchNormalization()(h)
    h = L.LSTM(4)(h)
    h = L.Dense(3, activation="tanh", trainable=False)(h)
    return keras.Model(x, L.Dense(1)(h), name="frozen")


# model: (builder, batch, whether the training-mode call is deterministic, saved files)
MODELS = {"cnn_lstm": (cnn_lstm, 3, True, True),
          "encoder_decoder": (encoder_decoder, 3, True, True),
          "regularised": (regularised, 4, False, True),
          "activation_layers": (activation_layers, 3, True, False)}
if flavor == "keras3":
    MODELS.update({"activations": (activations, 3, True, False),
                   "convolutions": (convolutions, 3, True, False),
                   "normalization": (normalization, 4, True, False),
                   "time_distributed": (time_distributed, 2, True, False),
                   "masked_pooling": (masked_pooling, 4, False, False),
                   "noise": (noise, 3, False, False),
                   "frozen": (frozen, 4, True, False)})


def sample(model, batch):
    xs = []
    for t in model.inputs:
        shape = [batch] + list(t.shape[1:])
        if "tokens" in t.name:
            ids = rng.integers(1, 12, size=shape)
            for b in range(batch):
                ids[b, shape[1] - (b % 4):] = 0  # 0 to 3 padded steps at the end
            xs.append(ids.astype(np.float32))
        else:
            xs.append(rng.uniform(-1.5, 1.5, size=shape).astype(np.float32))
    return xs


def tensor(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "values": [float(v) for v in np.ravel(a)]}


def weight_names(model):
    if flavor == "keras3":
        return [w.path for w in model.weights]
    return [w.name for w in model.weights]


def randomize_vectors(model):
    """Biases, scales and moving statistics away from their initial 0 / 1."""
    weights = model.get_weights()
    for k, (w, v) in enumerate(zip(weights, model.weights)):
        if w.ndim == 1:
            lo, hi = (0.5, 1.5) if "variance" in v.name or "gamma" in v.name else (-0.5, 0.5)
            weights[k] = rng.uniform(lo, hi, size=w.shape).astype(np.float32)
        elif "alpha" in v.name:  # PReLU's slopes start at 0
            weights[k] = rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
    model.set_weights(weights)


def as_list(ys):
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


for name, (make, batch, deterministic, saved) in MODELS.items():
    model = make()
    randomize_vectors(model)
    xs = sample(model, batch)
    ys = as_list(model.predict(xs, verbose=0))
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "weight_names": weight_names(model),
        "weights": [tensor(w) for w in model.get_weights()],
        "x": [tensor(x) for x in xs],
        "y": [tensor(y) for y in ys],
    }
    if deterministic:
        out["y_training"] = [tensor(y) for y in as_list(model(xs, training=True))]
        out["weights_after_training_call"] = [tensor(w) for w in model.get_weights()]
    if saved:
        model.save(os.path.join(files, f"{flavor}_layers_{name}" + (".keras" if flavor == "keras3" else ".h5")))
    with open(os.path.join(out_dir, f"{flavor}_{name}.json"), "w") as f:
        json.dump(out, f)
    print(flavor, name, "params", model.count_params(), "outputs", [y.shape for y in ys])

if flavor == "keras3":
    # Training parity through BatchNormalization (batch statistics, moving updates) and a frozen
    # layer (its weights and the optimizer's slots for it untouched).
    model = frozen()
    randomize_vectors(model)
    initial = model.get_weights()
    xs = sample(model, 6)
    y = rng.uniform(-1, 1, size=(6, 1)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(xs, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    out = {
        "keras": keras.__version__,
        "model_json": model.to_json(),
        "initial_weights": [tensor(w) for w in initial],
        "final_weights": [tensor(w) for w in model.get_weights()],
        "x": [tensor(x) for x in xs],
        "y": [tensor(y)],
        "epoch_losses": [float(v) for v in history.history["loss"]],
        "optimizer_variables": len(model.optimizer.variables),
    }
    with open(os.path.join(out_dir, "keras3_frozen_training.json"), "w") as f:
        json.dump(out, f)
    print("frozen training parity:", out["epoch_losses"], "optimizer variables", out["optimizer_variables"])
