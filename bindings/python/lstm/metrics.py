"""Metrics by Keras's names and classes, for compile(metrics=...): the library computes them
over fit's batches and evaluate's samples (keras/src/metrics definitions)."""
from . import losses
from .losses import _flag, _fraction, _last_axis


class Metric:
    class_name = "Metric"
    name = "metric"

    def __init__(self, name=None, dtype=None):
        if dtype not in (None, "float32"):
            raise ValueError(f"{self.class_name}: dtype {dtype!r} is not supported (float32 is)")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{self.class_name}: name must be a non-empty string, got {name!r}")
        self.name = name or self.name

    def _options(self):
        return {}

    def _keras_config(self):
        return {"module": "keras.metrics", "class_name": self.class_name,
                "config": {"name": self.name, "dtype": "float32", **self._options()}, "registered_name": None}


def _named(class_name, name):
    return losses._named(class_name, name, Metric, "metrics")


CategoricalAccuracy = _named("CategoricalAccuracy", "categorical_accuracy")
SparseCategoricalAccuracy = _named("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
MeanSquaredError = _named("MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _named("MeanAbsoluteError", "mean_absolute_error")
MeanAbsolutePercentageError = _named("MeanAbsolutePercentageError", "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _named("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error")
RootMeanSquaredError = _named("RootMeanSquaredError", "root_mean_squared_error")
LogCoshError = _named("LogCoshError", "logcosh")
KLDivergence = _named("KLDivergence", "kl_divergence")
Poisson = _named("Poisson", "poisson")
Hinge = _named("Hinge", "hinge")
SquaredHinge = _named("SquaredHinge", "squared_hinge")
CategoricalHinge = _named("CategoricalHinge", "categorical_hinge")


class BinaryAccuracy(Metric):
    """Keras's keras.metrics.BinaryAccuracy: how often `prediction > threshold` equals the target."""
    class_name = "BinaryAccuracy"
    name = "binary_accuracy"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        super().__init__(name, dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"BinaryAccuracy: threshold must be a number, got {threshold!r}")
        self.threshold = float(threshold)

    def _options(self):
        return {"threshold": self.threshold}


class TopKCategoricalAccuracy(Metric):
    """Keras's keras.metrics.TopKCategoricalAccuracy: whether the target class is among the k
    largest predictions."""
    class_name = "TopKCategoricalAccuracy"
    name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None, dtype=None):
        super().__init__(name, dtype)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{self.class_name}: k must be an integer >= 1, got {k!r}")
        self.k = k

    def _options(self):
        return {"k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Keras's keras.metrics.SparseTopKCategoricalAccuracy (class-id targets)."""
    class_name = "SparseTopKCategoricalAccuracy"
    name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name=None, dtype=None, from_sorted_ids=False):
        super().__init__(k, name, dtype)
        if from_sorted_ids:
            raise ValueError("SparseTopKCategoricalAccuracy: from_sorted_ids=True is not supported")

    def _options(self):
        return {"k": self.k, "from_sorted_ids": False}


class CosineSimilarity(Metric):
    """Keras's keras.metrics.CosineSimilarity."""
    class_name = "CosineSimilarity"
    name = "cosine_similarity"

    def __init__(self, name=None, dtype=None, axis=-1):
        super().__init__(name, dtype)
        _last_axis(axis, self.class_name)

    def _options(self):
        return {"axis": -1}


class BinaryCrossentropy(Metric):
    """Keras's keras.metrics.BinaryCrossentropy."""
    class_name = "BinaryCrossentropy"
    name = "binary_crossentropy"

    def __init__(self, name=None, dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(name, dtype)
        self.from_logits = _flag(from_logits, f"{self.class_name}: from_logits")
        self.label_smoothing = _fraction(label_smoothing, f"{self.class_name}: label_smoothing")

    def _options(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Keras's keras.metrics.CategoricalCrossentropy."""
    class_name = "CategoricalCrossentropy"
    name = "categorical_crossentropy"

    def __init__(self, name=None, dtype=None, from_logits=False, label_smoothing=0.0, axis=-1):
        super().__init__(name, dtype, from_logits, label_smoothing)
        _last_axis(axis, self.class_name)

    def _options(self):
        return {**super()._options(), "axis": -1}


class SparseCategoricalCrossentropy(Metric):
    """Keras's keras.metrics.SparseCategoricalCrossentropy."""
    class_name = "SparseCategoricalCrossentropy"
    name = "sparse_categorical_crossentropy"

    def __init__(self, name=None, dtype=None, from_logits=False, ignore_class=None, axis=-1):
        super().__init__(name, dtype)
        _last_axis(axis, self.class_name)
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy metric: ignore_class is not supported")
        self.from_logits = _flag(from_logits, f"{self.class_name}: from_logits")

    def _options(self):
        return {"from_logits": self.from_logits, "ignore_class": None, "axis": -1}


def _serialize_one(m):
    if isinstance(m, Metric):
        return m._keras_config()
    if isinstance(m, (str, dict)):
        return m
    raise ValueError(f"a metric must be a name such as 'accuracy' or an lstm.metrics object, got {m!r}")


def serialize(metrics):
    """compile's metrics argument (a list, a list of per-output lists, or a dict by output name)
    as the compile config holds it; the library checks the names."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {k: serialize(v) if isinstance(v, (list, tuple)) else _serialize_one(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [serialize(m) if isinstance(m, (list, tuple)) else _serialize_one(m) for m in metrics]
    raise ValueError(f"compile: metrics must be a list or a dict, got {metrics!r}")


get = _serialize_one

__all__ = ["Metric", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "KLDivergence",
           "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "serialize", "get"]
