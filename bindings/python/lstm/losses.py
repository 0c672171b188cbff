"""Losses by Keras's names and classes; the library computes them (keras/src/losses definitions)."""


class Loss:
    class_name = "Loss"
    name = "loss"

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"{self.class_name}: reduction {reduction!r} is not supported")
        self.name = name or self.name

    def _keras_config(self):
        return {"module": "keras.losses", "class_name": self.class_name,
                "config": {"name": self.name, "reduction": "sum_over_batch_size"}, "registered_name": None}


def _named(class_name, name, base=None, module="losses"):
    """A class (of losses, or of `base`) that only carries Keras's class name and default name
    (no options)."""
    return type(class_name, (base or Loss,), {"class_name": class_name, "name": name,
                                              "__doc__": f"Keras's keras.{module}.{class_name}, computed by the library."})


MeanSquaredError = _named("MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _named("MeanAbsoluteError", "mean_absolute_error")
MeanAbsolutePercentageError = _named("MeanAbsolutePercentageError", "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _named("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error")
LogCosh = _named("LogCosh", "log_cosh")
Poisson = _named("Poisson", "poisson")
Hinge = _named("Hinge", "hinge")
SquaredHinge = _named("SquaredHinge", "squared_hinge")
CategoricalHinge = _named("CategoricalHinge", "categorical_hinge")
KLDivergence = _named("KLDivergence", "kl_divergence")


class Huber(Loss):
    class_name = "Huber"
    name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"Huber: delta must be a number > 0, got {delta!r}")
        self.delta = float(delta)

    def _keras_config(self):
        config = super()._keras_config()
        config["config"]["delta"] = self.delta
        return config


class CosineSimilarity(Loss):
    class_name = "CosineSimilarity"
    name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        if axis != -1:
            raise ValueError(f"CosineSimilarity: axis {axis!r} is not supported (the last axis, -1, is)")


def _flag(value, what):
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


def _fraction(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


def _last_axis(axis, what):
    if axis != -1:
        raise ValueError(f"{what}: axis {axis!r} is not supported (the last axis, -1, is)")


class BinaryCrossentropy(Loss):
    """Keras's keras.losses.BinaryCrossentropy. After a sigmoid (or softmax) output layer it is
    computed from that layer's logits, as Keras's TensorFlow backend does."""
    class_name = "BinaryCrossentropy"
    name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        _last_axis(axis, self.class_name)
        self.from_logits = _flag(from_logits, f"{self.class_name}: from_logits")
        self.label_smoothing = _fraction(label_smoothing, f"{self.class_name}: label_smoothing")

    def _keras_config(self):
        config = super()._keras_config()
        config["config"].update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing, "axis": -1})
        return config


class CategoricalCrossentropy(BinaryCrossentropy):
    """Keras's keras.losses.CategoricalCrossentropy (one-hot or soft targets)."""
    class_name = "CategoricalCrossentropy"
    name = "categorical_crossentropy"


class BinaryFocalCrossentropy(BinaryCrossentropy):
    """Keras's keras.losses.BinaryFocalCrossentropy."""
    class_name = "BinaryFocalCrossentropy"
    name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)
        self.apply_class_balancing = _flag(apply_class_balancing, f"{self.class_name}: apply_class_balancing")
        self.alpha = _fraction(alpha, f"{self.class_name}: alpha")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
            raise ValueError(f"{self.class_name}: gamma must be a number >= 0, got {gamma!r}")
        self.gamma = float(gamma)

    def _keras_config(self):
        config = super()._keras_config()
        config["config"].update({"apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                                 "gamma": self.gamma})
        return config


class CategoricalFocalCrossentropy(BinaryCrossentropy):
    """Keras's keras.losses.CategoricalFocalCrossentropy: alpha (one number) and gamma weigh each
    class's crossentropy by (1 - p)^gamma; Keras computes it from the probabilities."""
    class_name = "CategoricalFocalCrossentropy"
    name = "categorical_focal_crossentropy"

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
            raise ValueError(f"{self.class_name}: alpha must be a number >= 0 (one per class is not supported), "
                             f"got {alpha!r}")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
            raise ValueError(f"{self.class_name}: gamma must be a number >= 0, got {gamma!r}")
        self.alpha, self.gamma = float(alpha), float(gamma)

    def _keras_config(self):
        config = super()._keras_config()
        config["config"].update({"alpha": self.alpha, "gamma": self.gamma})
        return config


class SparseCategoricalCrossentropy(Loss):
    """Keras's keras.losses.SparseCategoricalCrossentropy: one class id per output position as
    the target; positions whose target is ignore_class count for nothing."""
    class_name = "SparseCategoricalCrossentropy"
    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1, name=None):
        super().__init__(reduction, name)
        _last_axis(axis, self.class_name)
        self.from_logits = _flag(from_logits, f"{self.class_name}: from_logits")
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
            raise ValueError(f"{self.class_name}: ignore_class must be an integer or None, got {ignore_class!r}")
        self.ignore_class = ignore_class

    def _keras_config(self):
        config = super()._keras_config()
        config["config"].update({"from_logits": self.from_logits, "ignore_class": self.ignore_class, "axis": -1})
        return config


def get(identifier):
    if isinstance(identifier, Loss):
        return identifier._keras_config()
    if isinstance(identifier, (str, dict)):
        return identifier
    raise ValueError(f"loss must be a name such as 'mse' or an lstm.losses object, got {identifier!r}")


__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "Huber", "LogCosh", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "CosineSimilarity",
           "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
           "SparseCategoricalCrossentropy",
           "get"]
