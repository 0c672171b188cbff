"""The layers around the recurrent ones in the binding, written as a Keras user writes them:
the fixture models of make_layer_fixtures.py rebuilt here give the outputs real Keras computed
on the same weights; Keras's own files load; fit trains through them; frozen layers and
BatchNormalization's moving statistics show as non-trainable."""
import io
import json
import os
from contextlib import redirect_stdout

import numpy as np
import pytest

import lstm as keras  # the Keras spelling must work as is
from lstm import layers as L

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAYERS = os.path.join(REPO, "Tests", "Fixtures", "layers")
FILES = os.path.join(REPO, "Tests", "Fixtures", "files")


def fixture(name, flavor="keras3"):
    with open(os.path.join(LAYERS, f"{flavor}_{name}.json")) as f:
        d = json.load(f)

    def arrays(key):
        return [np.array(t["values"], dtype=np.float32).reshape(t["shape"]) for t in d[key]]

    return arrays("weights"), arrays("x"), arrays("y")


def cnn_lstm():
    return keras.Sequential([keras.Input(shape=(12, 3)), L.Conv1D(8, 3, activation="relu"),
                             L.MaxPooling1D(2), L.LSTM(5), L.Dense(1)])


def encoder_decoder():
    return keras.Sequential([keras.Input(shape=(8, 2)), L.LSTM(6), L.RepeatVector(4),
                             L.LSTM(5, return_sequences=True), L.TimeDistributed(L.Dense(2))])


def regularised():
    return keras.Sequential([keras.Input(shape=(7, 3)),
                             L.LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.2),
                             L.Dropout(0.3), L.LSTM(4), L.BatchNormalization(), L.Dense(1)])


def activation_layers():
    x = keras.Input(shape=(6, 4))
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
    return keras.Model(x, L.Dense(2)(h))


def convolutions():
    x = keras.Input(shape=(11, 4))
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
    return keras.Model(x, [L.Dense(2, activation="softmax")(L.Concatenate()([a, m, f, p])), k])


def normalization():
    x = keras.Input(shape=(5, 4))
    h = L.LayerNormalization()(x)
    h = L.BatchNormalization(momentum=0.9, epsilon=0.01)(L.Dense(6)(h))
    h = L.LSTM(3, return_sequences=True)(h)
    h = L.LayerNormalization(center=False, epsilon=0.01)(h)
    h = L.BatchNormalization(scale=False)(h)
    return keras.Model(x, L.Dense(1)(h))


def time_distributed():
    x = keras.Input(shape=(3, 5, 2))
    h = L.TimeDistributed(L.LSTM(4))(x)
    h = L.LSTM(3, return_sequences=True)(h)
    return keras.Model(x, L.TimeDistributed(L.Dense(2))(h))


def noise():
    x = keras.Input(shape=(6, 3))
    h = L.GaussianNoise(0.3)(x)
    h = L.Dropout(0.5, noise_shape=(None, 1, 3))(h)
    h = L.SpatialDropout1D(0.3)(h)
    h = L.LSTM(4, dropout=0.3)(h)
    h = L.GaussianDropout(0.4)(h)
    return keras.Model(x, L.Dense(1)(h))


def frozen():
    x = keras.Input(shape=(6, 3))
    h = L.LSTM(5, return_sequences=True)(x)
    h = L.BatchNormalization()(h)
    h = L.LSTM(4)(h)
    h = L.Dense(3, activation="tanh", trainable=False)(h)
    return keras.Model(x, L.Dense(1)(h))


BUILDERS = {"cnn_lstm": cnn_lstm, "encoder_decoder": encoder_decoder, "regularised": regularised,
            "activation_layers": activation_layers, "convolutions": convolutions, "normalization": normalization,
            "time_distributed": time_distributed, "noise": noise, "frozen": frozen}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_models_built_here_give_keras_outputs_on_keras_weights(name):
    weights, xs, ys = fixture(name)
    model = BUILDERS[name]()
    model.set_weights(weights)
    got = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    got = got if isinstance(got, list) else [got]
    for g, want in zip(got, ys):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("file,name", [("keras3_layers_cnn_lstm.keras", "cnn_lstm"),
                                       ("keras2_layers_encoder_decoder.h5", "encoder_decoder"),
                                       ("keras3_layers_regularised.keras", "regularised")])
def test_load_model_of_keras_files(file, name):
    model = keras.load_model(os.path.join(FILES, file))
    flavor = file.split("_")[0]
    _, xs, ys = fixture(name, flavor)
    np.testing.assert_allclose(model.predict(xs[0], verbose=0), ys[0], rtol=1e-5, atol=1e-5)
    assert [type(l).__name__ for l in model.layers][-2:] == {"cnn_lstm": ["LSTM", "Dense"],
                                                            "encoder_decoder": ["LSTM", "TimeDistributed"],
                                                            "regularised": ["BatchNormalization", "Dense"]}[name]


def test_cnn_lstm_trains_and_saves(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(64, 12, 3)).astype(np.float32)
    y = x[:, -3:, 0].mean(axis=1, keepdims=True).astype(np.float32)
    keras.utils.set_random_seed(1)
    model = cnn_lstm()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    path = str(tmp_path / "cnn.keras")
    model.save(path)
    back = keras.load_model(path)
    np.testing.assert_array_equal(back.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0))


def test_dropout_is_active_in_fit_only_and_repeats_with_the_seed():
    weights, xs, ys = fixture("noise")
    y = np.array([[0.5], [-0.2], [0.1]], dtype=np.float32)

    def fitted(seed):
        keras.utils.set_random_seed(seed)
        model = noise()
        model.set_weights(weights)
        np.testing.assert_allclose(model.predict(xs[0], verbose=0), ys[0], rtol=1e-5, atol=1e-5)
        model.compile(optimizer="adam", loss="mse")
        model.fit(xs[0], y, epochs=3, batch_size=2, verbose=0, shuffle=False)
        return model.get_weights()

    a, b, c = fitted(1), fitted(1), fitted(2)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


def test_frozen_layers_and_moving_statistics_are_non_trainable():
    model = frozen()
    weights = fixture("frozen")[0]
    model.set_weights(weights)
    out = io.StringIO()
    with redirect_stdout(out):
        model.summary()
    text = out.getvalue()
    total = sum(w.size for w in weights)
    # The frozen Dense(3) on 4 units (12 + 3) and the BatchNormalization's moving mean and variance (5 + 5).
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 25:,}" in text
    assert "Non-trainable params: 25 " in text
    assert len(model.non_trainable_weights) == 4 and len(model.trainable_weights) == len(weights) - 4
    x = np.random.default_rng(0).uniform(-1, 1, size=(16, 6, 3)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, -1, :1], epochs=2, batch_size=8, verbose=0)
    after = model.get_weights()
    frozen_layer = [l for l in model.layers if not l.trainable][0]
    k = [n for n, _ in model._weight_shapes()].index(frozen_layer.name + "/kernel")
    np.testing.assert_array_equal(after[k], weights[k])
    assert not np.array_equal(after[0], weights[0])


def test_recurrent_dropout_trains_every_recurrent_layer():
    keras.utils.set_random_seed(2)
    model = regularised()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    x = np.random.default_rng(1).uniform(-1, 1, size=(32, 7, 3)).astype(np.float32)
    y = x[:, -1, :1]
    # The training loss (batch statistics, dropout on): evaluate uses BatchNormalization's
    # moving statistics, which momentum 0.99 moves slowly from their start.
    history = model.fit(x, y, epochs=40, batch_size=8, verbose=0).history["loss"]
    assert np.mean(history[-5:]) < 0.5 * history[0], history
    for layer in (L.GRU, L.SimpleRNN):
        def fitted():
            keras.utils.set_random_seed(5)
            m = keras.Sequential([keras.Input(shape=(7, 3)), layer(6, dropout=0.1, recurrent_dropout=0.2), L.Dense(1)])
            m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
            losses = m.fit(x, y, epochs=40, batch_size=8, verbose=0).history["loss"]
            return m, losses
        m, losses = fitted()
        assert np.mean(losses[-5:]) < 0.5 * losses[0], (layer.__name__, losses)
        np.testing.assert_array_equal(m.predict(x, verbose=0), m.predict(x, verbose=0))
        again, repeated = fitted()
        assert repeated == losses, layer.__name__
        for a, b in zip(m.get_weights(), again.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_bad_layer_arguments_name_the_problem():
    with pytest.raises(ValueError, match="groups"):
        L.Conv1D(4, 3, groups=2)
    with pytest.raises(ValueError, match="data_format"):
        L.MaxPooling1D(data_format="channels_first")
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.2)
    with pytest.raises(ValueError, match="renorm"):
        L.BatchNormalization(renorm=True)
    model = keras.Sequential([keras.Input(shape=(8, 3)), L.Conv1D(2, 9)])
    with pytest.raises(ValueError, match="window"):
        model.predict(np.zeros((1, 8, 3), np.float32), verbose=0)


def test_setting_trainable_takes_effect_at_compile_as_in_keras():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, size=(16, 6, 3)).astype(np.float32)
    y = x[:, -1, :1]
    model = keras.Sequential([keras.Input(shape=(6, 3)), L.LSTM(4), L.Dense(3), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    before = model.get_weights()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="mse")
    assert len(model.non_trainable_weights) == 3
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before[:3], after[:3])), "the frozen LSTM is untouched"
    assert not np.array_equal(before[3], after[3]), "the Dense layers still train"
    model.layers[0].trainable = True
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(after[0], model.get_weights()[0])
