"""Layers with Keras's names, arguments and defaults.

A layer here is a description: it produces the Keras 3 config that the model hands to
liblstm, which does the math. Arguments the library cannot honour are rejected with a clear
error (here, or by the library when the model is built), never silently ignored.
"""

_DEFAULT_INITIALIZERS = {
    "kernel_initializer": "glorot_uniform",
    "recurrent_initializer": "orthogonal",
    "bias_initializer": "zeros",
}

_INITIALIZER_CONFIGS = {
    "glorot_uniform": {"module": "keras.initializers", "class_name": "GlorotUniform",
                       "config": {"seed": None}, "registered_name": None},
    "orthogonal": {"module": "keras.initializers", "class_name": "Orthogonal",
                   "config": {"seed": None, "gain": 1.0}, "registered_name": None},
    "zeros": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None},
}

_counters = {}


def _unique_name(base):
    n = _counters.get(base, 0)
    _counters[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _shape_tuple(shape, what):
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        raise ValueError(f"{what} must be a tuple of ints, got {shape!r}") from None
    if any(d is not None and d < 1 for d in shape):
        raise ValueError(f"{what} must hold positive sizes, got {shape!r}")
    return shape


class Layer:
    """Base of the layers: name, input shape given on the first layer, Keras's config."""

    class_name = "Layer"

    def __init__(self, name=None, input_shape=None, batch_input_shape=None, input_dim=None, trainable=True,
                 dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}")
        if trainable is not True:
            raise ValueError(f"{type(self).__name__}: trainable=False is not supported")
        if dtype not in (None, "float32"):
            raise ValueError(f"{type(self).__name__}: dtype {dtype!r} is not supported (only float32)")
        self.name = name or _unique_name(_snake(self.class_name))
        self.batch_shape = None
        if batch_input_shape is not None:
            self.batch_shape = _shape_tuple(batch_input_shape, "batch_input_shape")
        elif input_shape is not None:
            self.batch_shape = (None,) + _shape_tuple(input_shape, "input_shape")
        elif input_dim is not None:
            self.batch_shape = (None, None, int(input_dim))

    def get_config(self):
        return {"name": self.name, "trainable": True,
                "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                          "registered_name": None}}

    def _keras_config(self):
        return {"module": "keras.layers", "class_name": self.class_name, "config": self.get_config(),
                "registered_name": None}

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    def __repr__(self):
        return f"<{self.class_name} name={self.name}>"


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _activation_name(value, what):
    if value is None:
        return "linear"
    if callable(value) and hasattr(value, "__name__"):
        value = value.__name__
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an activation name such as 'tanh', got {value!r}")
    return value


def _check_initializers(layer, values):
    for key, value in values.items():
        if value is None:
            continue
        name = value if isinstance(value, str) else getattr(value, "__name__", None)
        if name != _DEFAULT_INITIALIZERS[key] and not (isinstance(name, str) and
                                                        _snake(name) == _DEFAULT_INITIALIZERS[key]):
            raise ValueError(f"{layer}: {key}={value!r} is not supported; liblstm initialises weights as Keras's "
                             f"defaults do ({key}='{_DEFAULT_INITIALIZERS[key]}')")


def _require_none(layer, **values):
    for key, value in values.items():
        if value is not None:
            raise ValueError(f"{layer}: {key} is not supported (got {value!r})")


class InputLayer(Layer):
    """The model's input: `shape` per sample, (timesteps, features); timesteps may be None."""

    class_name = "InputLayer"

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, sparse=None,
                 ragged=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name or _unique_name("input_layer"), dtype=dtype, **kwargs)
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported")
        if batch_shape is not None:
            self.batch_shape = _shape_tuple(batch_shape, "batch_shape")
        elif shape is not None:
            self.batch_shape = (batch_size,) + _shape_tuple(shape, "shape")
        else:
            raise ValueError("InputLayer needs shape=(timesteps, features) or batch_shape")
        if len(self.batch_shape) != 3:
            raise ValueError(f"InputLayer: inputs are sequences (timesteps, features); got shape "
                             f"{self.batch_shape[1:]}")
        if self.batch_shape[2] is None:
            raise ValueError("InputLayer: the number of features must be known")

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": "float32", "sparse": False, "ragged": False,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
    """Keras's `Input`: the first element of a Sequential model, e.g. Input(shape=(49, 1))."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name, **kwargs)


class LSTM(Layer):
    """Long Short-Term Memory layer, Keras's `keras.layers.LSTM`."""

    class_name = "LSTM"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"LSTM: units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = _activation_name(activation, "LSTM activation")
        self.recurrent_activation = _activation_name(recurrent_activation, "LSTM recurrent_activation")
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        _check_initializers("LSTM", {"kernel_initializer": kernel_initializer,
                                     "recurrent_initializer": recurrent_initializer,
                                     "bias_initializer": bias_initializer})
        _require_none("LSTM", kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                      bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                      kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint)
        # Passed on to the library, which refuses the values it does not implement by name.
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_state = bool(return_state)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.seed = seed

    def get_config(self):
        c = super().get_config()
        c.update({"return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": False, "units": self.units, "activation": self.activation,
                  "recurrent_activation": self.recurrent_activation, "use_bias": self.use_bias,
                  "kernel_initializer": _INITIALIZER_CONFIGS["glorot_uniform"],
                  "recurrent_initializer": _INITIALIZER_CONFIGS["orthogonal"],
                  "bias_initializer": _INITIALIZER_CONFIGS["zeros"], "unit_forget_bias": self.unit_forget_bias,
                  "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
                  "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
                  "bias_constraint": None, "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                  "seed": self.seed})
        return c

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"LSTM '{self.name}' needs 3-D input (batch, timesteps, features), got {input_shape}")
        return (input_shape[0], input_shape[1], self.units) if self.return_sequences else (input_shape[0], self.units)


class Dense(Layer):
    """Densely connected layer on the last axis, Keras's `keras.layers.Dense`."""

    class_name = "Dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = _activation_name(activation, "Dense activation")
        self.use_bias = bool(use_bias)
        _check_initializers("Dense", {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer})
        _require_none("Dense", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint, lora_rank=lora_rank)

    def get_config(self):
        c = super().get_config()
        c.update({"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                  "kernel_initializer": _INITIALIZER_CONFIGS["glorot_uniform"],
                  "bias_initializer": _INITIALIZER_CONFIGS["zeros"], "kernel_regularizer": None,
                  "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
                  "quantization_config": None})
        return c

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


__all__ = ["Layer", "Input", "InputLayer", "LSTM", "Dense"]
