"""The layers around the recurrent ones, with Keras's names, arguments and defaults:
activations, noise (dropout), reshaping, Conv1D and the 1-D poolings, normalization and
TimeDistributed. As in layers.py each is a description whose Keras 3 config the library reads;
options the library does not implement are refused by name (here or when the model is built).
"""
from .layers import Layer, _activation_name, _check_initializers, _require_none, _INITIALIZER_CONFIGS

_ONES = {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": None}


def _int_tuple(value, what, count=None):
    """An int or a tuple of ints, as Keras accepts them, as a list."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in items) or (count and len(items) not in count):
        raise ValueError(f"{what} must be an integer or a tuple of {count or 'some'} integers, got {value!r}")
    return items


def _channels_last(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: data_format={data_format!r} is not supported (only 'channels_last')")


# ---------------------------------------------------------------- activations

class Activation(Layer):
    """Applies an activation function by name, Keras's `keras.layers.Activation`."""

    class_name = "Activation"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activation_name(activation, "Activation activation")

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class LeakyReLU(Layer):
    class_name = "LeakyReLU"

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ReLU(Layer):
    class_name = "ReLU"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class ELU(Layer):
    class_name = "ELU"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    class_name = "Softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    class_name = "PReLU"

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        if alpha_initializer not in ("zeros", "Zeros", None):
            raise ValueError(f"PReLU: alpha_initializer={alpha_initializer!r} is not supported (only 'zeros')")
        self._set_regularizers(alpha_regularizer=alpha_regularizer)
        _require_none("PReLU", alpha_constraint=alpha_constraint)
        self.shared_axes = None if shared_axes is None else _int_tuple(shared_axes, "PReLU shared_axes")

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _INITIALIZER_CONFIGS["zeros"], "alpha_regularizer": None,
                "alpha_constraint": None, "shared_axes": self.shared_axes}


# ---------------------------------------------------------------- noise (training only)

class Dropout(Layer):
    """Drops `rate` of the values in fit (scaling the rest by 1 / (1 - rate)); the identity in
    predict. The noise comes from fit's seed, so a seeded fit repeats exactly."""

    class_name = "Dropout"

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        if not 0 <= self.rate < 1:
            raise ValueError(f"{self.class_name}: rate must be in [0, 1), got {rate!r}")
        self.noise_shape = None if noise_shape is None else [None if d is None else int(d) for d in noise_shape]
        self.seed = seed

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class SpatialDropout1D(Dropout):
    """Dropout of whole channels: one draw per (sample, feature), the same at every step."""

    class_name = "SpatialDropout1D"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self):
        c = super().get_config()
        del c["noise_shape"]
        return c


class GaussianNoise(Layer):
    class_name = "GaussianNoise"

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    class_name = "GaussianDropout"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# ---------------------------------------------------------------- reshaping

class Flatten(Layer):
    class_name = "Flatten"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last("Flatten", data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class Reshape(Layer):
    class_name = "Reshape"

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _int_tuple(target_shape, "Reshape target_shape")

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    class_name = "Permute"

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = _int_tuple(dims, "Permute dims")

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    class_name = "RepeatVector"

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _int_tuple(n, "RepeatVector n", count=(1,))[0]

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class ZeroPadding1D(Layer):
    class_name = "ZeroPadding1D"

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last("ZeroPadding1D", data_format)
        p = _int_tuple(padding, "ZeroPadding1D padding", count=(1, 2))
        self.padding = p * 2 if len(p) == 1 else p

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": "channels_last"}


class Cropping1D(Layer):
    class_name = "Cropping1D"

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        c = _int_tuple(cropping, "Cropping1D cropping", count=(1, 2))
        self.cropping = c * 2 if len(c) == 1 else c

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class UpSampling1D(Layer):
    class_name = "UpSampling1D"

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, "UpSampling1D size", count=(1,))[0]

    def get_config(self):
        return {**super().get_config(), "size": self.size}


# ---------------------------------------------------------------- convolution and pooling

class Conv1D(Layer):
    """1-D convolution over the steps, Keras's `keras.layers.Conv1D` (groups=1)."""

    class_name = "Conv1D"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"Conv1D: filters must be a positive integer, got {filters!r}")
        _channels_last("Conv1D", data_format)
        if groups != 1:
            raise ValueError(f"Conv1D: groups={groups!r} is not supported (only 1)")
        _check_initializers("Conv1D", {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer})
        self._set_regularizers(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer)
        _require_none("Conv1D", kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint)
        self.filters = filters
        self.kernel_size = _int_tuple(kernel_size, "Conv1D kernel_size", count=(1,))
        self.strides = _int_tuple(strides, "Conv1D strides", count=(1,))
        self.dilation_rate = _int_tuple(dilation_rate, "Conv1D dilation_rate", count=(1,))
        self.padding = padding
        self.activation = _activation_name(activation, "Conv1D activation")
        self.use_bias = bool(use_bias)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": self.dilation_rate, "groups": 1, "activation": self.activation,
                "use_bias": self.use_bias, "kernel_initializer": _INITIALIZER_CONFIGS["glorot_uniform"],
                "bias_initializer": _INITIALIZER_CONFIGS["zeros"], "kernel_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}


class _Pooling1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(self.class_name, data_format)
        self.pool_size = _int_tuple(pool_size, f"{self.class_name} pool_size", count=(1,))
        self.strides = self.pool_size if strides is None else _int_tuple(strides, f"{self.class_name} strides", count=(1,))
        self.padding = padding

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding, "strides": self.strides,
                "data_format": "channels_last"}


class MaxPooling1D(_Pooling1D):
    class_name = "MaxPooling1D"


class AveragePooling1D(_Pooling1D):
    class_name = "AveragePooling1D"


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _channels_last(self.class_name, data_format)
        self.keepdims = bool(keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling1D):
    class_name = "GlobalMaxPooling1D"


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps; masked steps are left out, as in Keras."""

    class_name = "GlobalAveragePooling1D"


# ---------------------------------------------------------------- normalization

class _Normalization(Layer):
    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        axes = _int_tuple(axis, f"{self.class_name} axis")
        if len(axes) != 1:
            raise ValueError(f"{self.class_name}: axis={axis!r} is not supported (only the last axis)")
        self.axis = axes[0]
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        for key, value, default in (("beta_initializer", beta_initializer, "zeros"),
                                    ("gamma_initializer", gamma_initializer, "ones")):
            if value not in (default, default.capitalize(), None):
                raise ValueError(f"{self.class_name}: {key}={value!r} is not supported (only {default!r})")
        self._set_regularizers(beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer)
        _require_none(self.class_name,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)

    def _common(self):
        return {"epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": _INITIALIZER_CONFIGS["zeros"], "gamma_initializer": _ONES,
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}


class BatchNormalization(_Normalization):
    """Batch statistics in fit (moving averages updated with `momentum`), the moving ones in
    predict; the moving mean and variance are non-trainable weights, as in Keras."""

    class_name = "BatchNormalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if renorm:
            raise ValueError("BatchNormalization: renorm=True is not supported")
        self.momentum = float(momentum)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, **self._common(),
                "moving_mean_initializer": _INITIALIZER_CONFIGS["zeros"], "moving_variance_initializer": _ONES,
                "synchronized": False, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}


class LayerNormalization(_Normalization):
    class_name = "LayerNormalization"

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if rms_scaling:
            raise ValueError("LayerNormalization: rms_scaling=True is not supported")

    def get_config(self):
        return {**super().get_config(), "axis": [self.axis], **self._common(), "rms_scaling": False}


# ---------------------------------------------------------------- wrappers

class TimeDistributed(Layer):
    """Applies `layer` to every step of its input with one set of weights."""

    class_name = "TimeDistributed"

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed wraps a layer, got {layer!r}")
        self.layer = layer

    def get_config(self):
        return {**super().get_config(), "layer": self.layer._keras_config()}


__all__ = ["Activation", "LeakyReLU", "ReLU", "ELU", "Softmax", "PReLU", "Dropout", "SpatialDropout1D",
           "GaussianNoise", "GaussianDropout", "Flatten", "Reshape", "Permute", "RepeatVector", "ZeroPadding1D",
           "Cropping1D", "UpSampling1D", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
           "GlobalAveragePooling1D", "BatchNormalization", "LayerNormalization", "TimeDistributed"]
