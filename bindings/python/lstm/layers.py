"""Layers with Keras's names, arguments and defaults.

A layer here is a description: it produces the Keras 3 config that the model hands to
liblstm, which does the math. Arguments the library cannot honour are rejected with a clear
error (here, or by the library when the model is built), never silently ignored.
"""
import json

import numpy as np

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
        self.trainable = bool(trainable)
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

    def get_weights(self):
        """The layer's weights as numpy arrays, in Keras's order ([] before a model is built with
        it), from the model that last changed them."""
        home = getattr(self, "_weights_home", None)
        model = home() if home is not None else None
        if model is None:
            return []
        return list(model._layer_arrays(self.name).values())

    def set_weights(self, weights):
        """Replaces the layer's weights (arrays of the shapes get_weights gives) in its model."""
        home = getattr(self, "_weights_home", None)
        model = home() if home is not None else None
        if model is None:
            raise ValueError(f"layer '{self.name}' has no weights yet: build a model with it first")
        shapes = model._weight_shapes()
        mine = [k for k, (n, _) in enumerate(shapes) if n.startswith(self.name + "/")]
        if len(weights) != len(mine):
            raise ValueError(f"layer '{self.name}' has {len(mine)} weight arrays, got {len(weights)}")
        everything = model.get_weights()
        for k, w in zip(mine, weights):
            w = np.asarray(w, dtype=np.float32)
            if w.shape != tuple(shapes[k][1]):
                raise ValueError(f"weight '{shapes[k][0]}' has shape {tuple(shapes[k][1])}, got {w.shape}")
            everything[k] = w
        model.set_weights(everything)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                          "registered_name": None}}

    def _keras_config(self):
        config = self.get_config()
        config.update({k: v for k, v in getattr(self, "_regularizers", {}).items() if v is not None})
        return {"module": "keras.layers", "class_name": self.class_name, "config": config, "registered_name": None}

    def _set_regularizers(self, **values):
        """Keeps the regularizer options, serialized, for the layer's config."""
        from . import regularizers
        self._regularizers = {k: regularizers.serialize(v, f"{self.class_name}: {k}") for k, v in values.items()}


    def __call__(self, inputs, initial_state=None, mask=None, training=None, **kwargs):
        """Calls the layer on symbolic tensors (from lstm.Input): Keras's functional API. Returns
        a tensor, or a list for several outputs (return_state, merge_mode=None)."""
        from . import engine
        if kwargs:
            raise TypeError(f"{self.name}: unexpected call arguments {sorted(kwargs)}")
        if training:
            raise ValueError(f"{self.name}: training=True in a call is not supported (the noise layers are active in fit only)")
        return engine.call_layer(self, inputs, initial_state=initial_state, mask=mask)

    @property
    def output(self):
        """The tensor (or list) of the layer's first call."""
        return self._calls()[0].outputs_value()

    @property
    def input(self):
        """The tensor (or list) the layer's first call read."""
        return self._calls()[0].inputs_value()

    def _calls(self):
        calls = getattr(self, "_nodes", [])
        if not calls:
            raise AttributeError(f"layer '{self.name}' has not been called on a tensor yet")
        return calls

    def _output_count(self):
        return 1

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
        self.input_dtype = dtype or "float32"
        if self.input_dtype not in ("float32", "int32", "int64", "bool"):
            raise ValueError(f"InputLayer: dtype {dtype!r} is not supported (float32, int32, int64, bool)")
        super().__init__(name=name or _unique_name("input_layer"), **kwargs)
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported")
        if batch_shape is not None:
            self.batch_shape = _shape_tuple(batch_shape, "batch_shape")
        elif shape is not None:
            self.batch_shape = (batch_size,) + _shape_tuple(shape, "shape")
        else:
            raise ValueError("InputLayer needs shape=(timesteps, features) or batch_shape")
        if not 2 <= len(self.batch_shape) <= 4:
            raise ValueError(f"InputLayer: inputs have 1 to 3 axes per sample, e.g. (timesteps, features); got shape "
                             f"{self.batch_shape[1:]}")

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": "float32", "sparse": False, "ragged": False,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
    """Keras's `Input`: a symbolic tensor to call layers on (functional models), or the first
    element of a Sequential model, e.g. Input(shape=(49, 1)). Token ids for an Embedding are an
    input of shape (timesteps,) (dtype int32/int64 accepted; the data is passed as floats)."""
    from . import engine
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name,
                       **kwargs)
    return engine.KerasTensor.for_input(layer)


class _Recurrent(Layer):
    """What Keras's recurrent layers share: units, activations, the sequence options."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        cls = self.class_name
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"{cls}: units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = _activation_name(activation, f"{cls} activation")
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        _check_initializers(cls, {"kernel_initializer": kernel_initializer,
                                  "recurrent_initializer": recurrent_initializer,
                                  "bias_initializer": bias_initializer})
        self._set_regularizers(kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                               bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer)
        _require_none(cls,
                      kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint)
        # Passed on to the library, which refuses the values it does not implement by name.
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_state = bool(return_state)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.seed = seed

    def _cell_config(self):
        return {"activation": self.activation, "use_bias": self.use_bias}

    def get_config(self):
        c = super().get_config()
        c.update({"return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": self.zero_output_for_mask, "units": self.units})
        c.update(self._cell_config())
        c.update({"kernel_initializer": _INITIALIZER_CONFIGS["glorot_uniform"],
                  "recurrent_initializer": _INITIALIZER_CONFIGS["orthogonal"],
                  "bias_initializer": _INITIALIZER_CONFIGS["zeros"],
                  "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
                  "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
                  "bias_constraint": None, "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                  "seed": self.seed})
        return c

    def _state_count(self):
        return 1

    def reset_states(self):
        """Zero states for this stateful layer in every model that carries them (Keras's
        layer.reset_states())."""
        from . import _lib
        for model in list(getattr(self, "_state_models", [])):
            state = getattr(model(), "_batch_state", None) if model() is not None else None
            if state is not None:
                _lib.call(_lib.lib.lstm_state_reset_layer, state.pointer, self.name.encode())

    def _output_count(self):
        return 1 + (self._state_count() if self.return_state else 0)



class LSTM(_Recurrent):
    """Long Short-Term Memory layer, Keras's `keras.layers.LSTM`."""

    class_name = "LSTM"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = _activation_name(recurrent_activation, "LSTM recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)

    def _cell_config(self):
        return {"activation": self.activation, "recurrent_activation": self.recurrent_activation,
                "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias}

    def _state_count(self):
        return 2


class GRU(_Recurrent):
    """Gated Recurrent Unit, Keras's `keras.layers.GRU` (reset_after=True by default, as Keras 3)."""

    class_name = "GRU"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True, reset_after=True,
                 **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = _activation_name(recurrent_activation, "GRU recurrent_activation")
        self.reset_after = bool(reset_after)

    def _cell_config(self):
        return {"activation": self.activation, "recurrent_activation": self.recurrent_activation,
                "use_bias": self.use_bias, "reset_after": self.reset_after}


class SimpleRNN(_Recurrent):
    """Fully connected recurrence, Keras's `keras.layers.SimpleRNN`."""

    class_name = "SimpleRNN"


class Bidirectional(Layer):
    """Keras's `keras.layers.Bidirectional`: a recurrent layer run forwards and backwards, merged
    ('concat', 'sum', 'mul', 'ave', or None for both outputs)."""

    class_name = "Bidirectional"

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _Recurrent):
            raise ValueError(f"Bidirectional wraps an LSTM, GRU or SimpleRNN, got {layer!r}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Bidirectional: merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, got {merge_mode!r}")
        if weights is not None:
            raise ValueError("Bidirectional: weights= is not supported (use set_weights)")
        kwargs.setdefault("name", _unique_name("bidirectional"))
        super().__init__(**kwargs)
        self.layer, self.backward_layer, self.merge_mode = layer, backward_layer, merge_mode
        if backward_layer is not None and not isinstance(backward_layer, _Recurrent):
            raise ValueError(f"Bidirectional: backward_layer must be an LSTM, GRU or SimpleRNN, got {backward_layer!r}")

    def get_config(self):
        c = super().get_config()
        forward = self.layer._keras_config()
        forward["config"]["name"] = "forward_" + self.layer.name.removeprefix("forward_")
        # Keras's wrapper makes its halves output zeros at masked steps when they return sequences.
        forward["config"]["zero_output_for_mask"] = self.layer.return_sequences
        if self.backward_layer is not None:
            backward = self.backward_layer._keras_config()
        else:
            backward = json.loads(json.dumps(forward))
            backward["config"]["go_backwards"] = not self.layer.go_backwards
            backward["config"]["name"] = "backward_" + self.layer.name.removeprefix("forward_")
        c.update({"merge_mode": self.merge_mode, "layer": forward, "backward_layer": backward})
        return c

    def _output_count(self):
        states = 2 * self.layer._state_count() if self.layer.return_state else 0
        return (2 if self.merge_mode is None else 1) + states



class Embedding(Layer):
    """Token ids (whole numbers in 0..input_dim-1) to vectors, Keras's `keras.layers.Embedding`."""

    class_name = "Embedding"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, activity_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Embedding: {what} must be a positive integer, got {v!r}")
        if embeddings_initializer not in ("uniform", "random_uniform", "RandomUniform"):
            raise ValueError(f"Embedding: embeddings_initializer={embeddings_initializer!r} is not supported "
                             f"(Keras's default, 'uniform')")
        self._set_regularizers(embeddings_regularizer=embeddings_regularizer, activity_regularizer=activity_regularizer)
        _require_none("Embedding", embeddings_constraint=embeddings_constraint)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, bool(mask_zero)
        if input_length is not None and self.batch_shape is None:
            self.batch_shape = (None, int(input_length))

    def get_config(self):
        c = super().get_config()
        c.update({"input_dim": self.input_dim, "output_dim": self.output_dim, "mask_zero": self.mask_zero,
                  "embeddings_initializer": {"module": "keras.initializers", "class_name": "RandomUniform",
                                             "config": {"seed": None, "minval": -0.05, "maxval": 0.05},
                                             "registered_name": None}})
        return c



class Masking(Layer):
    """Masks the timesteps whose features all equal mask_value, Keras's `keras.layers.Masking`."""

    class_name = "Masking"

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def get_config(self):
        c = super().get_config()
        c["mask_value"] = self.mask_value
        return c



class _Merge(Layer):
    """Keras's merge layers, called on a list of tensors."""



class Add(_Merge):
    class_name = "Add"


class Subtract(_Merge):
    class_name = "Subtract"


class Multiply(_Merge):
    class_name = "Multiply"


class Average(_Merge):
    class_name = "Average"


class Maximum(_Merge):
    class_name = "Maximum"


class Minimum(_Merge):
    class_name = "Minimum"


class Concatenate(_Merge):
    """Joins tensors along `axis` (the last by default)."""

    class_name = "Concatenate"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def get_config(self):
        c = super().get_config()
        c["axis"] = self.axis
        return c


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
        self._set_regularizers(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer)
        _require_none("Dense", kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint, lora_rank=lora_rank)

    def get_config(self):
        c = super().get_config()
        c.update({"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                  "kernel_initializer": _INITIALIZER_CONFIGS["glorot_uniform"],
                  "bias_initializer": _INITIALIZER_CONFIGS["zeros"], "kernel_regularizer": None,
                  "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
                  "quantization_config": None})
        return c



from ._layers_around import *  # noqa: E402,F401,F403 (the layers around the recurrent ones)
from ._layers_around import __all__ as _around  # noqa: E402

__all__ = ["Layer", "Input", "InputLayer", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "Embedding", "Masking",
           "Dense", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"] + _around
