"""Optimizers with Keras's names, arguments and defaults; the library applies Keras's updates."""
from . import schedules


class Optimizer:
    class_name = "Optimizer"

    def __init__(self, learning_rate, name, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, **kwargs):
        if kwargs:
            raise TypeError(f"{self.class_name}: unexpected keyword arguments {sorted(kwargs)}")
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self.learning_rate = learning_rate
        elif isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
            self.learning_rate = float(learning_rate)
        else:
            raise ValueError(f"{self.class_name}: learning_rate must be a number or an lstm.optimizers.schedules "
                             f"schedule, got {learning_rate!r}")
        self.name = name
        clips = [k for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm))
                 if v is not None]
        if len(clips) > 1:
            raise ValueError(f"{self.class_name}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                             f"got {' and '.join(clips)}")
        # Passed on: the library refuses the values it does not implement, naming them.
        self._common = {"weight_decay": weight_decay, "clipnorm": clipnorm, "global_clipnorm": global_clipnorm,
                        "clipvalue": clipvalue, "use_ema": use_ema, "ema_momentum": ema_momentum,
                        "ema_overwrite_frequency": ema_overwrite_frequency, "loss_scale_factor": loss_scale_factor,
                        "gradient_accumulation_steps": gradient_accumulation_steps}

    def get_config(self):
        rate = self.learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = rate._keras_config()
        return dict({"name": self.name, "learning_rate": rate}, **self._common)

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


class AdamW(Adam):
    class_name = "AdamW"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    class_name = "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), bool(centered)

    def get_config(self):
        return dict(super().get_config(), rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
                    centered=self.centered)


class Adagrad(Optimizer):
    class_name = "Adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="adagrad", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def get_config(self):
        return dict(super().get_config(), initial_accumulator_value=self.initial_accumulator_value,
                    epsilon=self.epsilon)


class Adadelta(Optimizer):
    class_name = "Adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def get_config(self):
        return dict(super().get_config(), rho=self.rho, epsilon=self.epsilon)


class Adamax(Optimizer):
    class_name = "Adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adamax", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)


class Nadam(Adamax):
    class_name = "Nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="nadam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)


class Lion(Optimizer):
    class_name = "Lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="lion", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: beta_1 must be in (0, 1], got {beta_1}")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2)


def get(identifier):
    """An optimizer's Keras config from a name ('adam'), an Optimizer, or a Keras config dict."""
    if isinstance(identifier, Optimizer):
        return identifier._keras_config()
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, dict):
        return identifier
    raise ValueError(f"optimizer must be a name such as 'adam' or an lstm.optimizers object, got {identifier!r}")


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "schedules", "get"]
