"""Optimizers with Keras's names, arguments and defaults; the library applies Keras's updates."""


class Optimizer:
    class_name = "Optimizer"

    def __init__(self, learning_rate, name, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, **kwargs):
        if kwargs:
            raise TypeError(f"{self.class_name}: unexpected keyword arguments {sorted(kwargs)}")
        if not isinstance(learning_rate, (int, float)) or isinstance(learning_rate, bool):
            raise ValueError(f"{self.class_name}: learning_rate must be a number (schedules are not supported), "
                             f"got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.name = name
        # Passed on: the library refuses the values it does not implement, naming them.
        self._common = {"weight_decay": weight_decay, "clipnorm": clipnorm, "global_clipnorm": global_clipnorm,
                        "clipvalue": clipvalue, "use_ema": use_ema, "ema_momentum": ema_momentum,
                        "ema_overwrite_frequency": ema_overwrite_frequency, "loss_scale_factor": loss_scale_factor,
                        "gradient_accumulation_steps": gradient_accumulation_steps}

    def get_config(self):
        return dict({"name": self.name, "learning_rate": self.learning_rate}, **self._common)

    def _keras_config(self):
        return {"module": "keras.optimizers", "class_name": self.class_name, "config": self.get_config(),
                "registered_name": None}


class Adam(Optimizer):
    class_name = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adam",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                    amsgrad=self.amsgrad)


class SGD(Optimizer):
    class_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="sgd", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def get_config(self):
        return dict(super().get_config(), momentum=self.momentum, nesterov=self.nesterov)


def get(identifier):
    """An optimizer's Keras config from a name ('adam'), an Optimizer, or a Keras config dict."""
    if isinstance(identifier, Optimizer):
        return identifier._keras_config()
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, dict):
        return identifier
    raise ValueError(f"optimizer must be a name such as 'adam' or an lstm.optimizers object, got {identifier!r}")


__all__ = ["Optimizer", "Adam", "SGD", "get"]
