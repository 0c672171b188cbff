"""Losses by Keras's names; the library computes them."""


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


class MeanSquaredError(Loss):
    class_name = "MeanSquaredError"
    name = "mean_squared_error"


class MeanAbsoluteError(Loss):
    class_name = "MeanAbsoluteError"
    name = "mean_absolute_error"


def get(identifier):
    if isinstance(identifier, Loss):
        return identifier._keras_config()
    if isinstance(identifier, (str, dict)):
        return identifier
    raise ValueError(f"loss must be a name such as 'mse' or an lstm.losses object, got {identifier!r}")


__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "get"]
