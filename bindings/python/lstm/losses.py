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


def _named(class_name, name):
    """A loss class that only carries Keras's class name and default name (no options)."""
    return type(class_name, (Loss,), {"class_name": class_name, "name": name,
                                      "__doc__": f"Keras's keras.losses.{class_name}, computed by the library."})


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


def get(identifier):
    if isinstance(identifier, Loss):
        return identifier._keras_config()
    if isinstance(identifier, (str, dict)):
        return identifier
    raise ValueError(f"loss must be a name such as 'mse' or an lstm.losses object, got {identifier!r}")


__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "Huber", "LogCosh", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "CosineSimilarity",
           "get"]
