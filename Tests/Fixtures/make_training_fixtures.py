"""Writes what real Keras 3 says about its optimizers, for the tests.

training/keras3_optimizers.json: one entry per optimizer configuration below. Each holds the
model's JSON, its initial weights, one small batch of inputs and targets, Keras's compile config
(`model.get_compile_config()`), and what `fit` (shuffle off, 2 epochs of 2 batches) gives: the
epoch losses, the final weights, and every optimizer variable after `iterations` and
`learning_rate` (absent with a learning-rate schedule) in Keras's order, with its path (so the order is what is tested).
Entries named loss_* use the other losses (with Adam): on 2-D outputs and on masked 3-D ones
(Masking -> LSTM(return_sequences) -> TimeDistributed(Dense)), where padded steps count for nothing;
the crossentropies also on sigmoid/softmax outputs pushed into saturation (from the logits or not).
Two models: an LSTM(4) -> Dense(1) forecaster, and a text model (Embedding -> GRU -> Dense)
whose batches repeat tokens, where TensorFlow hands the optimizer the embedding's gradient as
slices; and two models with regularizers on every kind of weight and on outputs. Each entry also
holds `evaluate` after the fit (which counts the regularization losses too).

Run with Keras 3:  python make_training_fixtures.py
(`pip install tensorflow-cpu h5py`.)
"""
import json
import os

import numpy as np
import keras

L = keras.layers
here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, "training")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261202)
O = keras.optimizers

OPTIMIZERS = [
    ("rmsprop", lambda: O.RMSprop(learning_rate=0.01)),
    ("rmsprop_momentum_centered_clipnorm", lambda: O.RMSprop(learning_rate=0.01, momentum=0.5, centered=True, clipnorm=0.5)),
    ("adam_amsgrad_global_clipnorm", lambda: O.Adam(learning_rate=0.02, amsgrad=True, global_clipnorm=0.3)),
    ("adamw", lambda: O.AdamW(learning_rate=0.01, weight_decay=0.05)),
    ("sgd_nesterov_clipvalue_decay", lambda: O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, clipvalue=0.05,
                                                   weight_decay=0.01)),
    ("adagrad", lambda: O.Adagrad(learning_rate=0.05)),
    ("adadelta", lambda: O.Adadelta(learning_rate=1.0)),
    ("adamax", lambda: O.Adamax(learning_rate=0.01)),
    ("nadam", lambda: O.Nadam(learning_rate=0.01)),
    ("lion", lambda: O.Lion(learning_rate=0.001)),
]
S = O.schedules
# Learning-rate schedules (the forecaster only): 4 updates cross their steps and boundaries.
SCHEDULES = [
    ("sgd_exponential_decay_staircase", lambda: O.SGD(S.ExponentialDecay(0.1, 2, 0.5, staircase=True), momentum=0.5)),
    ("adam_piecewise_constant", lambda: O.Adam(S.PiecewiseConstantDecay([1, 2], [0.02, 0.01, 0.005]))),
    ("rmsprop_polynomial_cycle", lambda: O.RMSprop(S.PolynomialDecay(0.01, 3, end_learning_rate=0.001, power=2.0,
                                                                     cycle=True))),
    ("nadam_polynomial", lambda: O.Nadam(S.PolynomialDecay(0.02, 3))),
    ("adagrad_inverse_time", lambda: O.Adagrad(S.InverseTimeDecay(0.1, 1, 0.5))),
    ("adamw_cosine_warmup", lambda: O.AdamW(S.CosineDecay(0.001, 2, alpha=0.1, warmup_target=0.01, warmup_steps=2),
                                            weight_decay=0.05)),
    ("adamax_cosine", lambda: O.Adamax(S.CosineDecay(0.02, 3, alpha=0.2))),
]


def forecaster():
    return keras.Sequential([keras.Input(shape=(5, 2)), L.LSTM(4), L.Dense(1)], name="forecaster")


def text_model():
    return keras.Sequential([keras.Input(shape=(6,)), L.Embedding(7, 3), L.GRU(3), L.Dense(1)], name="text")


R = keras.regularizers


def regularized_forecaster():
    """Every regularizer option of Conv1D, LSTM, GRU and Dense, by class and by name."""
    return keras.Sequential([
        keras.Input(shape=(5, 2)),
        L.Conv1D(3, 2, kernel_regularizer=R.L1(0.01), bias_regularizer=R.L2(0.02),
                 activity_regularizer=R.L1L2(0.001, 0.002)),
        L.LSTM(4, return_sequences=True, kernel_regularizer=R.L2(0.01), recurrent_regularizer=R.L1(0.005),
               bias_regularizer=R.L1L2(0.01, 0.01), activity_regularizer=R.L2(0.01)),
        L.GRU(3, kernel_regularizer="l2", recurrent_regularizer="l1"),
        L.Dense(1, kernel_regularizer="l1", activity_regularizer="l2"),
    ], name="regularized_forecaster")


def regularized_text():
    """Embedding, BatchNormalization and PReLU regularizers, and a frozen layer's (left out)."""
    return keras.Sequential([
        keras.Input(shape=(6,)),
        L.Embedding(7, 3, embeddings_regularizer=R.L2(0.01), activity_regularizer=R.L1(0.001)),
        L.LSTM(4),
        L.BatchNormalization(gamma_regularizer=R.L2(0.01), beta_regularizer=R.L1(0.01)),
        L.PReLU(alpha_regularizer=R.L2(0.1)),
        L.Dense(2, kernel_regularizer=R.L2(0.5), trainable=False),
        L.Dense(1, bias_regularizer=R.L1(0.05)),
    ], name="regularized_text")


def tensor(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "values": [float(v) for v in a.ravel()]}


def compiled(make_model, make_optimizer, seed, loss="mse"):
    """A fresh model with random biases (Keras starts them at zero), compiled with `loss`."""
    keras.utils.set_random_seed(seed)
    model = make_model()
    weights = [w + rng.uniform(-0.2, 0.2, size=w.shape).astype(np.float32) if w.ndim == 1 else w
               for w in model.get_weights()]
    model.set_weights(weights)
    model.compile(optimizer=make_optimizer(), loss=loss)
    return model, weights


def entry(name, make_model, make_optimizer, x, y, loss="mse", bias_shift=None):
    model, weights = compiled(make_model, make_optimizer, 7, loss)
    if bias_shift is not None:
        # Saturates the output (a sigmoid or softmax of |logits| ~ 20): only a loss computed from
        # the logits stays finite and keeps its gradient there.
        weights[-1] = (weights[-1] + np.asarray(bias_shift, dtype=np.float32)).astype(np.float32)
        model.set_weights(weights)
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    variables = model.optimizer.variables
    # After iterations: learning_rate (a variable unless a schedule gives it), then the slots.
    slots = [v for v in variables[1:] if not v.path.endswith("/learning_rate")]
    return {
        "name": name,
        "model_json": model.to_json(),
        "compile_config": model.get_compile_config(),
        "initial_weights": [tensor(w) for w in weights],
        "x": tensor(x), "y": tensor(y),
        "epoch_losses": [float(v) for v in history],
        "evaluate_loss": float(model.evaluate(x, y, batch_size=4, verbose=0)),
        "final_weights": [tensor(w) for w in model.get_weights()],
        "iterations": int(variables[0].numpy()),
        "optimizer_variable_paths": [v.path for v in slots],
        "optimizer_variables": [tensor(v.numpy()) for v in slots],
        # Keras 3's Huber.get_config leaves its delta out: the compile config alone would say 1.0.
        "huber_delta": float(loss._fn_kwargs.get("delta", 1.0)) if isinstance(loss, keras.losses.Huber) else None,
    }


series = rng.uniform(-1, 1, size=(8, 5, 2)).astype(np.float32)
series_target = (series[:, -1, :1] * 0.8 + 0.1).astype(np.float32)
# Token 1 and 2 come back in every sample: their embedding rows get several slices per batch.
tokens = np.array([[1, 2, 1, 3, 2, 1], [4, 1, 1, 2, 5, 6], [2, 2, 2, 1, 0, 3], [1, 6, 5, 1, 2, 2],
                   [3, 3, 1, 4, 1, 2], [6, 1, 2, 2, 1, 0], [5, 4, 1, 1, 3, 2], [2, 1, 6, 2, 1, 4]], dtype=np.float32)
token_target = rng.uniform(-1, 1, size=(8, 1)).astype(np.float32)

out = [entry(n, forecaster, make, series, series_target) for n, make in OPTIMIZERS]
out += [entry("text_" + n, text_model, make, tokens, token_target) for n, make in OPTIMIZERS]
out += [entry(n, forecaster, make, series, series_target) for n, make in SCHEDULES]
# Regularizers: Keras adds every penalty (activity ones divided by the batch size) to the loss.
out += [entry("regularized_forecaster", regularized_forecaster, lambda: O.Adam(learning_rate=0.01), series, series_target),
        # Adam: an Embedding with a regularizer has a dense gradient (TensorFlow adds the two), not slices.
        entry("regularized_text", regularized_text, lambda: O.Adam(learning_rate=0.02), tokens, token_target)]
# Losses: each with Adam on a model whose output suits it, 2-D and (masked) 3-D outputs.
def positive_forecaster(activation):
    return keras.Sequential([keras.Input(shape=(5, 2)), L.LSTM(4), L.Dense(2, activation=activation)], name="positive")


def masked_sequences(activation):
    return keras.Sequential([keras.Input(shape=(5, 2)), L.Masking(0.0), L.LSTM(4, return_sequences=True),
                             L.TimeDistributed(L.Dense(3, activation=activation))], name="masked_sequences")


masked_series = series.copy()
masked_series[1, 3:] = 0.0
masked_series[5, :2] = 0.0
two_targets = np.concatenate([series_target, -series_target * 0.5], axis=1)
positive_targets = np.abs(two_targets) + 0.05
step_targets = rng.uniform(-1, 1, size=(8, 5, 3)).astype(np.float32)
one_hot_steps = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=(8, 5))]
binary_targets = (two_targets > 0).astype(np.float32)
adam = lambda: O.Adam(learning_rate=0.02)
out += [
    entry("loss_mape", lambda: positive_forecaster("linear"), adam, series, positive_targets, "mape"),
    entry("loss_msle", lambda: positive_forecaster("softplus"), adam, series, positive_targets, "msle"),
    entry("loss_huber_delta", lambda: positive_forecaster("linear"), adam, series, two_targets * 3, keras.losses.Huber(delta=0.3)),
    entry("loss_log_cosh", lambda: positive_forecaster("linear"), adam, series, two_targets * 3, "log_cosh"),
    entry("loss_poisson", lambda: positive_forecaster("softplus"), adam, series, positive_targets, "poisson"),
    entry("loss_hinge_binary", lambda: positive_forecaster("tanh"), adam, series, binary_targets, "hinge"),
    entry("loss_squared_hinge", lambda: positive_forecaster("tanh"), adam, series, binary_targets * 2 - 1, "squared_hinge"),
    entry("loss_categorical_hinge_masked", lambda: masked_sequences("linear"), adam, masked_series, one_hot_steps,
          "categorical_hinge"),
    entry("loss_kl_divergence_masked", lambda: masked_sequences("softmax"), adam, masked_series,
          np.abs(step_targets) / np.abs(step_targets).sum(-1, keepdims=True), "kl_divergence"),
    entry("loss_cosine_similarity_masked", lambda: masked_sequences("linear"), adam, masked_series, step_targets,
          "cosine_similarity"),
    entry("loss_mae_masked", lambda: masked_sequences("linear"), adam, masked_series, step_targets, "mae"),
]
# The crossentropies. Keras's TensorFlow backend reads the logits behind an output that a sigmoid
# or softmax made (Dense, Activation; not through TimeDistributed), and the probabilities
# otherwise; the saturated entries tell the two apart.
def classifier(activation, units=3, activation_layer=False):
    head = [L.Dense(units), L.Activation(activation)] if activation_layer else [L.Dense(units, activation=activation)]
    return keras.Sequential([keras.Input(shape=(5, 2)), L.LSTM(4)] + head, name="classifier")


def masked_steps_dense(activation):
    """A Dense straight on the 3-D sequence (no TimeDistributed): its logits reach the loss, under the mask."""
    return keras.Sequential([keras.Input(shape=(5, 2)), L.Masking(0.0), L.LSTM(4, return_sequences=True),
                             L.Dense(3, activation=activation)], name="masked_steps_dense")


LO = keras.losses
classes = rng.integers(0, 3, size=(8,))
one_hot = np.eye(3, dtype=np.float32)[classes]
soft_targets = (one_hot * 0.7 + 0.1).astype(np.float32)
step_classes = rng.integers(0, 3, size=(8, 5)).astype(np.float32)
binary_steps = (rng.uniform(size=(8, 5, 3)) > 0.5).astype(np.float32)
saturate_binary = [25.0, -25.0]  # class 1 certain on the first output, class 0 on the second
saturate_classes = [22.0, 0.0, -22.0]
out += [
    entry("loss_binary_crossentropy", lambda: positive_forecaster("sigmoid"), adam, series, binary_targets,
          "binary_crossentropy"),
    entry("loss_binary_crossentropy_saturated_smoothing", lambda: positive_forecaster("sigmoid"), adam, series,
          binary_targets, LO.BinaryCrossentropy(label_smoothing=0.1), bias_shift=saturate_binary),
    entry("loss_binary_crossentropy_from_logits", lambda: positive_forecaster("linear"), adam, series, binary_targets,
          LO.BinaryCrossentropy(from_logits=True)),
    entry("loss_binary_crossentropy_on_softmax", lambda: classifier("softmax"), adam, series, one_hot, "bce"),
    entry("loss_binary_crossentropy_masked_steps", lambda: masked_steps_dense("sigmoid"), adam, masked_series,
          binary_steps, "binary_crossentropy", bias_shift=[20.0, -20.0, 0.0]),
    entry("loss_binary_focal_balanced_saturated", lambda: positive_forecaster("sigmoid"), adam, series, binary_targets,
          LO.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5, label_smoothing=0.05),
          bias_shift=saturate_binary),
    entry("loss_binary_focal_from_logits", lambda: positive_forecaster("linear"), adam, series, binary_targets,
          LO.BinaryFocalCrossentropy(from_logits=True)),
    entry("loss_categorical_crossentropy", lambda: classifier("softmax"), adam, series, soft_targets,
          "categorical_crossentropy"),
    entry("loss_categorical_crossentropy_saturated_smoothing", lambda: classifier("softmax"), adam, series, one_hot,
          LO.CategoricalCrossentropy(label_smoothing=0.2), bias_shift=saturate_classes),
    entry("loss_categorical_crossentropy_activation_layer", lambda: classifier("softmax", activation_layer=True), adam,
          series, one_hot, "categorical_crossentropy", bias_shift=saturate_classes),
    entry("loss_categorical_crossentropy_from_logits", lambda: classifier("linear"), adam, series, soft_targets,
          LO.CategoricalCrossentropy(from_logits=True)),
    entry("loss_categorical_crossentropy_on_sigmoid", lambda: classifier("sigmoid"), adam, series, one_hot,
          "categorical_crossentropy"),
    entry("loss_categorical_crossentropy_time_distributed_masked", lambda: masked_sequences("softmax"), adam,
          masked_series, one_hot_steps, "categorical_crossentropy"),
    entry("loss_sparse_categorical_crossentropy", lambda: classifier("softmax"), adam, series,
          classes.astype(np.float32), "sparse_categorical_crossentropy"),
    entry("loss_sparse_categorical_crossentropy_saturated", lambda: classifier("softmax"), adam, series,
          classes.astype(np.float32)[:, None], "sparse_categorical_crossentropy", bias_shift=saturate_classes),
    entry("loss_sparse_categorical_crossentropy_from_logits_ignore_masked", lambda: masked_steps_dense("linear"), adam,
          masked_series, step_classes, LO.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)),
    entry("loss_sparse_categorical_crossentropy_time_distributed_masked", lambda: masked_sequences("softmax"), adam,
          masked_series, step_classes[..., None], "sparse_categorical_crossentropy"),
    entry("loss_sparse_categorical_crossentropy_ignore_softmax", lambda: classifier("softmax"), adam, series,
          classes.astype(np.float32), LO.SparseCategoricalCrossentropy(ignore_class=1), bias_shift=saturate_classes),
]
# Added later, after the draws above so that their entries stay as they were: SGDR restarts
# (t_mul 2 crosses two restarts in 4 updates, t_mul 1 with m_mul shrinks each period's peak).
out += [entry(n, forecaster, make, series, series_target) for n, make in [
    ("sgd_cosine_decay_restarts", lambda: O.SGD(S.CosineDecayRestarts(0.2, 1, t_mul=2.0, m_mul=0.5, alpha=0.1), momentum=0.5)),
    ("adam_cosine_decay_restarts_constant_period", lambda: O.Adam(S.CosineDecayRestarts(0.02, 2, t_mul=1.0, m_mul=0.7))),
]]
# Categorical focal crossentropy: Keras computes it from the probabilities (no logits rule), so a
# saturated softmax is clipped; from_logits applies the softmax itself.
out += [
    entry("loss_categorical_focal_smoothing", lambda: classifier("softmax"), adam, series, one_hot,
          LO.CategoricalFocalCrossentropy(alpha=0.4, gamma=1.5, label_smoothing=0.1)),
    entry("loss_categorical_focal_saturated", lambda: classifier("softmax"), adam, series, one_hot,
          "categorical_focal_crossentropy", bias_shift=saturate_classes),
    entry("loss_categorical_focal_from_logits_masked", lambda: masked_steps_dense("linear"), adam, masked_series,
          one_hot_steps, LO.CategoricalFocalCrossentropy(from_logits=True, gamma=3.0)),
]
# use_ema: the weights' moving averages (saved before the slots), copied into the weights every
# ema_overwrite_frequency updates and at the end of fit.
out += [entry(n, forecaster, make, series, series_target) for n, make in [
    ("adam_ema", lambda: O.Adam(learning_rate=0.02, use_ema=True, ema_momentum=0.8)),
    ("sgd_momentum_ema_overwrite", lambda: O.SGD(learning_rate=0.1, momentum=0.5, use_ema=True, ema_momentum=0.6,
                                                 ema_overwrite_frequency=3)),
]]
with open(os.path.join(out_dir, "keras3_optimizers.json"), "w") as f:
    json.dump({"keras": keras.__version__, "entries": out}, f)
for e in out:
    print(e["name"], e["epoch_losses"], len(e["optimizer_variables"]), "optimizer variables")


# training/keras3_callbacks.json: fits whose learning rate callbacks change (ReduceLROnPlateau,
# LearningRateScheduler), for the Python binding's tests: the model, its initial weights, the
# data, and Keras's history (loss and learning_rate per epoch).
def callback_entry(name, make_optimizer, make_callback, epochs):
    model, weights = compiled(forecaster, make_optimizer, 11)
    history = model.fit(series, series_target, epochs=epochs, batch_size=4, shuffle=False, verbose=0,
                        callbacks=[make_callback()]).history
    return {"name": name, "initial_weights": [tensor(w) for w in weights], "epochs": epochs,
            "loss": [float(v) for v in history["loss"]], "learning_rate": [float(v) for v in history["learning_rate"]]}


callbacks = [
    callback_entry("reduce_lr_on_plateau", lambda: O.SGD(learning_rate=0.3),
                   lambda: keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.005,
                                                             cooldown=1, min_lr=0.02), 10),
    callback_entry("learning_rate_scheduler", lambda: O.Adam(learning_rate=0.05),
                   lambda: keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.7), 6),
]
# EarlyStopping and ModelCheckpoint, against validation data (the last 3 windows of a noisy
# copy): the epochs Keras ran, its history, the weights it ended with (restored or not), and the
# checkpoint files it wrote.
val_series = (series[:3] + rng.normal(0, 0.3, size=series[:3].shape)).astype(np.float32)
val_target = (series_target[:3] + 0.2).astype(np.float32)


def stopping_entry(name, make_optimizer, make_callback, epochs):
    import tempfile
    model, weights = compiled(forecaster, make_optimizer, 13)
    with tempfile.TemporaryDirectory() as d:
        callback = make_callback(d)
        history = model.fit(series, series_target, epochs=epochs, batch_size=4, shuffle=False, verbose=0,
                            validation_data=(val_series, val_target), callbacks=[callback]).history
        files = sorted(os.listdir(d))
    return {"name": name, "initial_weights": [tensor(w) for w in weights], "epochs": epochs,
            "loss": [float(v) for v in history["loss"]], "val_loss": [float(v) for v in history["val_loss"]],
            "final_weights": [tensor(w) for w in model.get_weights()], "files": files,
            "stopped_epoch": int(getattr(callback, "stopped_epoch", 0))}


C = keras.callbacks
callbacks += [
    stopping_entry("early_stopping_restore", lambda: O.SGD(learning_rate=0.5, momentum=0.9),
                   lambda d: C.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-4, restore_best_weights=True,
                                             start_from_epoch=1), 30),
    stopping_entry("early_stopping_baseline_max_mode", lambda: O.Adam(learning_rate=0.05),
                   lambda d: C.EarlyStopping(monitor="val_loss", mode="max", baseline=10.0, patience=1), 10),
    stopping_entry("model_checkpoint_best_only", lambda: O.SGD(learning_rate=0.5, momentum=0.9),
                   lambda d: C.ModelCheckpoint(os.path.join(d, "m{epoch:02d}-{val_loss:.3f}.weights.h5"),
                                               monitor="val_loss", save_best_only=True, save_weights_only=True), 12),
]
with open(os.path.join(out_dir, "keras3_callbacks.json"), "w") as f:
    json.dump({"keras": keras.__version__, "x": tensor(series), "y": tensor(series_target), "x_val": tensor(val_series),
               "y_val": tensor(val_target), "entries": callbacks}, f)
for c in callbacks:
    print(c["name"], c.get("learning_rate"), c.get("files"), c.get("stopped_epoch"), len(c["loss"]))
