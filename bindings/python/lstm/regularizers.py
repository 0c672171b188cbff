"""Keras's weight and activity regularizers (keras.regularizers): pass one as a layer's
kernel_regularizer, recurrent_regularizer, bias_regularizer, embeddings_regularizer,
gamma_regularizer, beta_regularizer, alpha_regularizer or activity_regularizer, as an object,
a name ("l1", "l2", "l1_l2") or a Keras config dict; the library adds the penalties to the loss
as Keras does."""


class Regularizer:
    class_name = "Regularizer"

    def get_config(self):
        raise NotImplementedError

    def _keras_config(self):
        return {"module": "keras.regularizers", "class_name": self.class_name, "config": self.get_config(),
                "registered_name": None}


def _factor(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class L1(Regularizer):
    class_name = "L1"

    def __init__(self, l1=0.01):
        self.l1 = _factor("l1", l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    class_name = "L2"

    def __init__(self, l2=0.01):
        self.l2 = _factor("l2", l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    class_name = "L1L2"

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor("l1", l1), _factor("l2", l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2


def serialize(regularizer, what="regularizer"):
    """A regularizer as the layer config carries it (the library checks names and values)."""
    if regularizer is None or isinstance(regularizer, (str, dict)):
        return regularizer
    if isinstance(regularizer, Regularizer):
        return regularizer._keras_config()
    raise ValueError(f"{what} must be an lstm.regularizers object, a name such as 'l2' or a Keras config, "
                     f"got {regularizer!r}")


__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "serialize"]
