"""Keras's Sequential model over liblstm.

The model's architecture is Keras JSON built from the layers; liblstm builds, trains and runs
it. numpy arrays go in and out; any array-like is converted once to C-contiguous float32.
"""
import ctypes
import json
import math
import signal
import sys
import threading
import time
import weakref

import numpy as np

from . import _lib, callbacks as callbacks_module, losses as losses_module, metrics as metrics_module, \
    optimizers as optimizers_module
from ._lib import call, call_noting, lib
from . import engine
from .layers import InputLayer, Layer, _unique_name
from .utils import next_seed
from . import distributed as distributed_module


class _Handle:
    """Owns an lstm_model pointer."""

    def __init__(self, pointer):
        self.pointer = pointer

    def __del__(self):
        if self.pointer:
            lib.lstm_model_free(self.pointer)
            self.pointer = None


def _as_float32(x, name):
    try:
        a = np.ascontiguousarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numeric array-like: {e}") from None
    return a


def _verbose_level(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose


def _format_time(seconds):
    return f"{round(seconds)}s"


def _format_step(seconds):
    if seconds >= 1:
        return f"{round(seconds)}s/step"
    if seconds >= 1e-3:
        return f"{round(seconds * 1e3)}ms/step"
    return f"{round(seconds * 1e6)}us/step"


class _Progress:
    """Keras's progress line: `32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 7ms/step - loss: 0.0123`."""

    def __init__(self, verbose, total):
        self.verbose = verbose
        self.total = total
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.interactive = sys.stdout.isatty()

    def line(self, done, logs, final):
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(done, 1)
        values = "".join(f" - {k}: {v:.4f}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f" - {k}: {v:.4e}"
                         for k, v in logs.items())
        if self.verbose == 2:
            return f"{done}/{self.total} - {_format_time(elapsed)} - {_format_step(per_step)}{values}"
        width = 20
        filled = width if final else int(width * done / self.total)
        bar = "━" * filled + " " * (width - filled)
        shown = elapsed if final else per_step * (self.total - done)
        return f"{done}/{self.total} {bar} {_format_time(shown)} {_format_step(per_step)}{values}"

    def update(self, done, logs):
        if self.verbose == 1 and self.interactive:
            now = time.perf_counter()
            if now - self.last_draw >= 0.05 or done == self.total:
                self.last_draw = now
                sys.stdout.write("\r" + self.line(done, logs, final=False) + "\x1b[K")
                sys.stdout.flush()

    def finish(self, done, logs):
        if self.verbose == 0:
            return
        prefix = "\r" if self.verbose == 1 and self.interactive else ""
        sys.stdout.write(prefix + self.line(done, logs, final=True) + ("\x1b[K" if prefix else "") + "\n")
        sys.stdout.flush()


def _check_fit_arguments(model, batch_size, epochs, verbose, validation_split, initial_epoch, class_weight,
                         sample_weight, steps_per_epoch, validation_steps, validation_freq):
    """Keras's fit arguments, checked; returns (batch_size, epochs, verbose level)."""
    if class_weight is not None and sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, (int, np.integer))
                                        or steps_per_epoch < 1):
        raise ValueError(f"fit: steps_per_epoch must be a positive integer, got {steps_per_epoch!r}")
    for arg, value in (("validation_steps", validation_steps),):
        if value is not None:
            raise ValueError(f"fit: {arg} is not supported")
    if isinstance(validation_freq, bool) or not (
            (isinstance(validation_freq, (int, np.integer)) and validation_freq >= 1)
            or (isinstance(validation_freq, (list, tuple)) and all(isinstance(e, (int, np.integer)) for e in validation_freq))):
        raise ValueError(f"fit: validation_freq must be an integer >= 1 or a list of epochs, got {validation_freq!r}")
    if model._compile_config is None:
        raise RuntimeError("You must call compile() before fit()")
    verbose = _verbose_level(verbose)
    batch_size = 32 if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    if not 0 <= initial_epoch < epochs:
        raise ValueError(f"fit: initial_epoch must be in [0, epochs), got {initial_epoch!r}")
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
    return batch_size, epochs, verbose


def _split_validation(arrays, validation_split):
    """Keras's validation_split, done here rather than in the library so that validation runs
    through evaluate and its callback hooks: the last floor(n * validation_split) samples, cut
    before shuffling."""
    n = arrays[0].shape[0]
    keep = int(math.floor(n * (1 - validation_split)))
    if not 1 <= keep < n:
        raise ValueError(f"fit: validation_split {validation_split} of {n} samples leaves {keep} for training and "
                         f"{n - keep} for validation; both must be >= 1")
    return [a[:keep] for a in arrays], [a[keep:] for a in arrays]


def _sample_weights(sample_weight, n, what="sample_weight"):
    """Keras's sample_weight as float32: shape (n,) or (n, timesteps); (n, 1) is (n,)."""
    if sample_weight is None:
        return None
    w = _as_float32(sample_weight, what)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.ndim not in (1, 2) or w.shape[0] != n:
        raise ValueError(f"{what} has shape {w.shape}; expected ({n},) or ({n}, timesteps)")
    return w


def _class_weights(class_weight):
    """Keras's class_weight dict as the library's array (class index -> weight, 1 when absent)."""
    if class_weight is None:
        return None
    if not hasattr(class_weight, "items"):
        raise ValueError(f"`class_weight` must be a dict-like mapping of class indices to weights, got {class_weight!r}")
    cleaned = {}
    for key, value in class_weight.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"`class_weight` must be a dictionary with integer keys representing class indices. "
                             f"Received an invalid key: {key!r}") from None
        if index < 0:
            raise ValueError(f"class_weight: class {index} is negative; classes are 0, 1, ...")
        cleaned[index] = float(value)
    out = np.ones(max(cleaned, default=-1) + 1, dtype=np.float32)
    for index, value in cleaned.items():
        out[index] = value
    return out


def _validation_triple(validation_data):
    """validation_data as Keras takes it: (x, y) or (x, y, sample_weight)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight)")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))


def _validates(epoch, validation_freq):
    """Keras's validation_freq: every validation_freq-th epoch, or the (1-based) epochs listed."""
    if isinstance(validation_freq, (list, tuple)):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


def _epoch_batches(batches, steps_per_epoch, epochs):
    """The batches each epoch runs (the library's rule, as Keras's EpochIterator for arrays):
    steps_per_epoch at a time through the data, the epoch at its end cut short."""
    if steps_per_epoch is None:
        return [batches] * epochs
    out, cursor = [], 0
    for _ in range(epochs):
        run = min(steps_per_epoch, batches - cursor)
        out.append(run)
        cursor = 0 if cursor + run >= batches else cursor + run
    return out


def _logs(n, names, values):
    """A logs callback's values as a dict, its keys in sorted order as Keras's TensorFlow
    backend hands its logs over."""
    return dict(sorted((names[k].decode(), values[k]) for k in range(n)))


def _fit_loop(model, run, n, batch_size, epochs, initial_epoch, verbose, callbacks, shuffle,
              evaluate_validation, sample_weight=None, class_weight=None, validation_freq=1, steps_per_epoch=None,
              strategy=None):
    """Keras's fit around one C fit call: callbacks, the progress log, History, Ctrl-C.
    run(opts, history, ran) makes the call and returns its status. With a strategy
    (lstm.distributed), n is this rank's shard and the call sums over the ranks."""
    history = callbacks_module.History()
    # History after the user's callbacks, as Keras adds it: it records what they add to the logs
    # (learning_rate); then the progress bar, which prints them (unless one was given).
    cbs = list(callbacks or []) + [history]
    if verbose and not any(isinstance(cb, callbacks_module.ProgbarLogger) for cb in cbs):
        cbs.append(callbacks_module.ProgbarLogger())
    batches = strategy.batches(n, int(batch_size)) if strategy else -(-n // int(batch_size))
    per_epoch = _epoch_batches(batches, steps_per_epoch, epochs - initial_epoch)
    params = {"verbose": verbose, "epochs": epochs, "steps": steps_per_epoch or batches}
    for cb in cbs:
        cb.set_model(model)
        cb.set_params(params)
    model.stop_training = False
    state = {"error": None, "interrupted": False}

    def begin_epoch(epoch):
        state["batch"] = 0
        for cb in cbs:
            cb.on_epoch_begin(epoch, {})
        for cb in cbs:
            cb.on_train_batch_begin(0, {})

    def on_batch(_user, epoch, batch, n, names, values):
        try:
            logs = _logs(n, names, values)
            for cb in cbs:
                cb.on_train_batch_end(batch, logs)
            state["batch"] = batch + 1
            if batch + 1 < per_epoch[epoch]:
                # The library's next batch starts when this call returns.
                for cb in cbs:
                    cb.on_train_batch_begin(batch + 1, {})
            return 1 if state["interrupted"] else 0
        except BaseException as e:  # noqa: BLE001 - re-raised after the C call returns
            state["error"] = e
            return 1

    def on_epoch(_user, epoch, _batches, n, names, values):
        try:
            epoch += initial_epoch
            logs = _logs(n, names, values)
            if evaluate_validation is not None and _validates(epoch, validation_freq):
                logs = dict(sorted({**logs, **{"val_" + k: v for k, v in evaluate_validation(cbs).items()}}.items()))
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                return 1
            if epoch + 1 < epochs:
                begin_epoch(epoch + 1)
            return 0
        except BaseException as e:  # noqa: BLE001
            state["error"] = e
            return 1

    opts = _lib.FitOptions()
    lib.lstm_fit_options_init(ctypes.byref(opts))
    opts.epochs = epochs - initial_epoch
    opts.batch_size = int(batch_size)
    opts.shuffle = 1 if shuffle else 0
    opts.seed = next_seed()
    opts.steps_per_epoch = steps_per_epoch or 0
    if strategy is not None:
        opts.seed = strategy.comm.bcast(opts.seed, root=0)  # one shuffle and noise seed for the job
        opts.reducer = ctypes.cast(ctypes.pointer(strategy.reducer), ctypes.c_void_p)
    if model._is_stateful():
        # Keras's fit of a stateful model carries the states from batch to batch.
        opts.state = model._batch_state_for(int(batch_size)).pointer
    epoch_cb, batch_cb = _lib.LOGS_CALLBACK(on_epoch), _lib.LOGS_CALLBACK(on_batch)
    opts.on_epoch_logs, opts.on_batch_logs = epoch_cb, batch_cb
    weights = _lib.tensors([sample_weight]) if sample_weight is not None else None
    if weights is not None:
        opts.sample_weight = ctypes.cast(weights, ctypes.c_void_p)
    if class_weight is not None and class_weight.size:
        opts.class_weight = _lib.float_pointer(class_weight)
        opts.class_weight_count = class_weight.size

    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(_signum, _frame):
            state["interrupted"] = True
        previous_handler = signal.signal(signal.SIGINT, on_sigint)
    try:
        for cb in cbs:
            cb.on_train_begin({})
        begin_epoch(initial_epoch)
        hist = (ctypes.c_double * epochs)()
        ran = ctypes.c_size_t()
        status = run(opts, hist, ran)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if status in (_lib.OK, _lib.ERROR_CANCELLED, _lib.ERROR_NUMERIC):
        model._after_weights_change()  # some updates happened
    if state["error"] is not None:
        raise state["error"]
    if status == _lib.ERROR_CANCELLED and state["interrupted"]:
        if verbose:
            print()
        raise KeyboardInterrupt("fit interrupted; the model keeps the weights reached")
    if status == _lib.ERROR_NUMERIC and any(isinstance(cb, callbacks_module.TerminateOnNaN) for cb in cbs):
        # The library stops at the first non-finite loss, before its update (the weights are the
        # last finite step's), and says so; TerminateOnNaN makes that the end of a normal fit.
        print(f"Batch {state['batch']}: Invalid loss, terminating training")
        if verbose:
            print(lib.lstm_last_error().decode("utf-8", "replace"))
    elif status != _lib.OK:
        raise _lib.error_for(status)
    for cb in cbs:
        cb.on_train_end({})
    model.history = history
    history.params = params
    return history


_weights_clock = [0]  # orders the changes of shared layers' weights


class _StateHandle:
    """Owns an lstm_state (a batch state, for `batch` samples) and frees it."""

    def __init__(self, pointer, batch):
        self.pointer = pointer
        self.batch = batch

    def __del__(self):
        if self.pointer:
            lib.lstm_state_free(self.pointer)


class _OptimizerView:
    """`model.optimizer` after compile, as far as callbacks use Keras's: its class name and
    `learning_rate`, read from and written to the library (the optimizer state is kept)."""

    def __init__(self, model):
        self._owner = model

    @property
    def name(self):
        return self._config()["config"].get("name", self.class_name.lower())

    @property
    def class_name(self):
        return self._config()["class_name"]

    def _config(self):
        return json.loads(self._owner.to_json())["compile_config"]["optimizer"]

    @property
    def learning_rate(self):
        rate = ctypes.c_double()
        call(lib.lstm_model_learning_rate, self._owner._model, ctypes.byref(rate))
        return rate.value

    @learning_rate.setter
    def learning_rate(self, value):
        call(lib.lstm_model_set_learning_rate, self._owner._model, float(value))

    def __repr__(self):
        return f"<{self.class_name} learning_rate={self.learning_rate}>"


def _compile_config(optimizer, loss, loss_weights, metrics, weighted_metrics):
    """compile's arguments as the library's compile JSON (Keras's compile_config)."""
    if loss is None:
        raise ValueError("compile: a loss is required, e.g. loss='mse'")

    def one(value):
        return None if value is None else losses_module.get(value)
    if isinstance(loss, dict):
        given = {name: one(v) for name, v in loss.items()}  # a loss per output, by name
    elif isinstance(loss, (list, tuple)):
        given = [one(v) for v in loss]  # a loss per output, in order
    else:
        given = losses_module.get(loss)
    config = {"optimizer": optimizers_module.get(optimizer), "loss": given}
    if loss_weights is not None:
        if isinstance(loss_weights, dict):
            config["loss_weights"] = {name: float(w) for name, w in loss_weights.items()}
        elif isinstance(loss_weights, (list, tuple)):
            config["loss_weights"] = [float(w) for w in loss_weights]
        else:
            raise ValueError(f"compile: loss_weights must be a list or a dict, got {loss_weights!r}")
    if metrics:
        config["metrics"] = metrics_module.serialize(metrics)
    if weighted_metrics:
        config["weighted_metrics"] = metrics_module.serialize(weighted_metrics)
    return config


class _ModelMethods:
    """What every model does through its library handle alone (Sequential and functional):
    weights, JSON and files. Subclasses give `_model` (the handle) and `_ensure_built`."""

    def stream(self):
        """A Stream that runs the model one timestep at a time (see lstm.streaming)."""
        from .streaming import Stream
        return Stream(self)

    @property
    def metrics_names(self):
        """The keys of the logs and of evaluate's values: "loss", then the compiled metrics."""
        if getattr(self, "_compile_config", None) is None:
            return []
        self._ensure_built()
        count = ctypes.c_size_t()
        call(lib.lstm_model_metric_count, self._model, ctypes.byref(count))
        name = ctypes.create_string_buffer(256)
        names = ["loss"]
        for k in range(count.value):
            call(lib.lstm_model_metric_name, self._model, k, name, 256)
            names.append(name.value.decode())
        return names

    def _evaluate_logs(self, xs, ys, batch_size=None, sample_weight=None, callbacks=None, verbose=0, configure=True):
        """{"loss": ..., metric name: ...} over arrays shaped as the inputs and the targets, in
        batches of batch_size (Keras's 32 by default), the loss weighted by sample_weight;
        callbacks get Keras's on_test_* hooks, with the running logs after each batch (and, unless
        configure is off as for fit's validation, their model and params first)."""
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        names = self.metrics_names
        loss = ctypes.c_double()
        values = (ctypes.c_double * max(1, len(names) - 1))()
        weights = _sample_weights(sample_weight, xs[0].shape[0])
        tw = _lib.tensors([weights]) if weights is not None else None
        cbs = list(callbacks or [])
        batches = -(-xs[0].shape[0] // int(batch_size or 32))
        error = []

        def on_batch(_user, _epoch, batch, n, c_names, c_values):
            try:
                logs = _logs(n, c_names, c_values)
                for cb in cbs:
                    cb.on_test_batch_end(batch, logs)
                if batch + 1 < batches:
                    for cb in cbs:
                        cb.on_test_batch_begin(batch + 1, {})
                return 0
            except BaseException as e:  # noqa: BLE001 - re-raised after the C call returns
                error.append(e)
                return 1
        batch_cb = _lib.LOGS_CALLBACK(on_batch) if cbs else _lib.LOGS_CALLBACK()
        for cb in cbs:
            if configure:
                cb.set_model(self)
                cb.set_params({"verbose": verbose, "epochs": 1, "steps": batches})
            cb.on_test_begin({})
        for cb in cbs:
            cb.on_test_batch_begin(0, {})
        status = lib.lstm_model_evaluate_metrics(
            self._model, _lib.tensors(xs), len(xs), _lib.tensors(ys), len(ys),
            ctypes.cast(tw, ctypes.c_void_p) if tw is not None else None, int(batch_size or 32), ctypes.byref(loss),
            values, len(names) - 1, batch_cb, None)
        if error:
            raise error[0]
        if status != _lib.OK:
            raise _lib.error_for(status)
        logs = dict(zip(names, [loss.value] + list(values[:len(names) - 1])))
        for cb in cbs:
            cb.on_test_end(dict(sorted(logs.items())))
        return logs

    def _predict_with_callbacks(self, callbacks, n, batch_size, verbose, run):
        """predict in batches, calling Keras's on_predict_* hooks; run(start, end) gives a
        batch's outputs (one array, or a list for several outputs)."""
        cbs = list(callbacks or [])
        size = int(batch_size or 32)
        batches = -(-n // size)
        for cb in cbs:
            cb.set_model(self)
            cb.set_params({"verbose": verbose, "epochs": 1, "steps": batches})
            cb.on_predict_begin({})
        parts = []
        for b in range(batches):
            for cb in cbs:
                cb.on_predict_batch_begin(b, {})
            out = run(b * size, min(n, (b + 1) * size))
            parts.append(out)
            for cb in cbs:
                cb.on_predict_batch_end(b, {"outputs": out})
        for cb in cbs:
            cb.on_predict_end({})
        if isinstance(parts[0], list):
            return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
        return np.concatenate(parts)

    def _evaluate_result(self, logs, return_dict):
        """Keras's evaluate value: the dict (keys sorted, as Keras's), the loss alone, or a list
        in Keras's order (_flatten_metrics_in_order): the loss, then a single output's metrics
        as compiled, or several outputs' losses, then every other value by sorted name."""
        if return_dict:
            return dict(sorted(logs.items()))
        if len(logs) == 1:
            return logs["loss"]
        names, outputs = list(logs), self._output_count()
        # The library lists the losses of several outputs last.
        first = ["loss"] + (names[-outputs:] if outputs > 1 else names[1:])
        return [logs[k] for k in first if k in logs] + [logs[k] for k in sorted(logs) if k not in first]

    def _output_count(self):
        count = ctypes.c_size_t()
        call(lib.lstm_model_output_count, self._model, ctypes.byref(count))
        return count.value

    @property
    def optimizer(self):
        """The compiled optimizer (None before compile): `model.optimizer.learning_rate` reads
        and sets the learning rate, as in Keras."""
        if getattr(self, "_compile_config", None) is None:
            return None
        self._ensure_built()
        return _OptimizerView(self)

    # ---------------------------------------------------------------- weights

    def _weight_shapes(self):
        self._ensure_built()
        return self._query_weight_shapes()

    def _query_weight_shapes(self):
        count = ctypes.c_size_t()
        call(lib.lstm_model_weight_count, self._model, ctypes.byref(count))
        out = []
        name = ctypes.create_string_buffer(256)
        for k in range(count.value):
            ndim, shape = ctypes.c_size_t(), (ctypes.c_size_t * _lib.MAX_RANK)()
            call(lib.lstm_model_weight_info, self._model, k, name, 256, ctypes.byref(ndim), shape)
            out.append((name.value.decode(), tuple(shape[i] for i in range(ndim.value))))
        return out

    def _query_weights(self, shapes):
        flat = np.empty(sum(int(np.prod(s)) for _, s in shapes), dtype=np.float32)
        call(lib.lstm_model_get_weights, self._model, _lib.float_pointer(flat), flat.size)
        out, offset = [], 0
        for _, shape in shapes:
            size = int(np.prod(shape))
            out.append(flat[offset:offset + size].reshape(shape).copy())
            offset += size
        return out

    def _store_weights(self, shapes, weights):
        parts = []
        for (name, shape), w in zip(shapes, weights):
            a = _as_float32(w, name)
            if a.shape != shape:
                raise ValueError(f"set_weights: '{name}' has shape {shape}, got {a.shape}")
            parts.append(a.ravel())
        flat = np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=np.float32)
        call(lib.lstm_model_set_weights, self._model, _lib.float_pointer(flat), flat.size)

    def get_weights(self):
        """The weights as Keras lists them: per layer kernel, recurrent_kernel, bias (numpy float32)."""
        return self._query_weights(self._weight_shapes())

    def set_weights(self, weights):
        """Sets every weight array at once, in get_weights' order and shapes."""
        shapes = self._weight_shapes()
        weights = list(weights)
        if len(weights) != len(shapes):
            raise ValueError(f"set_weights: the model has {len(shapes)} weight arrays, got {len(weights)}")
        self._store_weights(shapes, weights)
        self._after_weights_change()

    def count_params(self):
        self._ensure_built()
        n = ctypes.c_size_t()
        call(lib.lstm_model_param_count, self._model, ctypes.byref(n))
        return n.value

    def _trainable_count(self):
        self._ensure_built()
        n = ctypes.c_size_t()
        call(lib.lstm_model_trainable_param_count, self._model, ctypes.byref(n))
        return n.value

    @property
    def trainable_weights(self):
        """The weights fit trains, as Keras lists them (not frozen layers' nor moving statistics)."""
        return [w for w, t in zip(self.get_weights(), self._trainable_flags()) if t]

    @property
    def non_trainable_weights(self):
        return [w for w, t in zip(self.get_weights(), self._trainable_flags()) if not t]

    def _apply_trainable_flags(self):
        """Hands the layers' `trainable` to the built model: as in Keras, setting it takes
        effect at the next compile."""
        for layer in self.layers:
            if type(layer).__name__ != "InputLayer":
                call(lib.lstm_model_set_layer_trainable, self._model, layer.name.encode(), int(bool(layer.trainable)))

    def _trainable_flags(self):
        """Per weight array: whether fit trains it (not a frozen layer's, nor a moving statistic)."""
        flag = ctypes.c_int()
        out = []
        for k in range(len(self._weight_shapes())):
            call(lib.lstm_model_weight_trainable, self._model, k, ctypes.byref(flag))
            out.append(bool(flag.value))
        return out

    # ---------------------------------------------------------------- JSON, files

    def to_json(self, **kwargs):
        """The model's Keras 3 JSON (with its compile config once compiled)."""
        self._ensure_built()
        size = ctypes.c_size_t()
        call(lib.lstm_model_to_json, self._model, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value + 1)
        call(lib.lstm_model_to_json, self._model, buf, size.value + 1, ctypes.byref(size))
        text = buf.value.decode()
        return json.dumps(json.loads(text), **kwargs) if kwargs else text

    def get_config(self):
        return json.loads(self.to_json())["config"]

    def save(self, filepath, overwrite=True):
        """Writes a .keras file (or legacy .h5)."""
        self._ensure_built()
        call(lib.lstm_model_save, self._model, str(filepath).encode())

    def export(self, filepath, format="tf_saved_model", verbose=True, **kwargs):
        """Keras's ``model.export``: ``format="onnx"`` writes the inference graph as an ONNX
        file (opset 17; see lstm_model_export_onnx in lstm.h for what exports). Keras's other
        formats need TensorFlow or JAX and are refused by name."""
        if format != "onnx":
            raise NotImplementedError(
                f"export format {format!r} needs TensorFlow (tf_saved_model) or JAX (openxla): "
                "this library exports format='onnx' only")
        if kwargs:
            raise NotImplementedError(f"export() does not take {sorted(kwargs)} here")
        self._ensure_built()
        call(lib.lstm_model_export_onnx, self._model, str(filepath).encode())
        if verbose:
            print(f"Saved artifact at '{filepath}'.")

    def save_weights(self, filepath, overwrite=True):
        """Writes a Keras .weights.h5 file."""
        self._ensure_built()
        call(lib.lstm_model_save_weights, self._model, str(filepath).encode())

    def load_weights(self, filepath):
        """Reads weights from a Keras file (.weights.h5, legacy .h5, .keras)."""
        self._ensure_built()
        call_noting(lib.lstm_model_load_weights, self._model, str(filepath).encode())
        self._after_weights_change()

    def _layer_infos(self):
        count = ctypes.c_size_t()
        call(lib.lstm_model_layer_count, self._model, ctypes.byref(count))
        out = []
        for i in range(count.value):
            info = _lib.LayerInfo()
            info.struct_size = ctypes.sizeof(_lib.LayerInfo)
            call(lib.lstm_model_layer_info, self._model, i, ctypes.byref(info))
            shapes = [tuple(None if info.output_shape[k][a] == 0 else info.output_shape[k][a]
                            for a in range(info.output_rank[k])) for k in range(min(info.output_count, 4))]
            out.append({"class_name": info.class_name.decode(), "name": info.name.decode(),
                        "params": info.param_count, "shapes": shapes, "connected_to": info.connected_to.decode()})
        return out

    # ---------------------------------------------------------------- tensors and stateful layers

    def _tensor_run(self, xs, state=None):
        """The model's outputs for float32 arrays, one per input (through lstm_model_run, or
        lstm_model_run_stateful with a batch state)."""
        outputs = ctypes.c_size_t()
        call(lib.lstm_model_output_count, self._model, ctypes.byref(outputs))
        outs = (_lib.TensorOut * outputs.value)()
        tx = _lib.tensors(xs)
        call(lib.lstm_model_output_shapes, self._model, tx, len(xs), outs, outputs.value)
        results = []
        for o in outs:
            a = np.empty(tuple(o.shape[i] for i in range(o.rank)), dtype=np.float32)
            o.data, o.cap = _lib.float_pointer(a), a.size
            results.append(a)
        if state is None:
            call(lib.lstm_model_run, self._model, tx, len(xs), outs, outputs.value)
        else:
            call(lib.lstm_model_run_stateful, self._model, state, tx, len(xs), outs, outputs.value)
        return results

    def _is_stateful(self):
        def stateful(layer):
            inner = [layer.layer, layer.backward_layer] if hasattr(layer, "merge_mode") else []
            return getattr(layer, "stateful", False) or any(stateful(l) for l in inner if l is not None)
        return any(stateful(l) for l in self._model_layers())

    def _stateful_predict(self, xs, batch_size):
        """Keras's predict on a stateful model: batches of the state's size in order, each starting
        from the state the one before left (until reset_states)."""
        n = xs[0].shape[0]
        batch = self._batch_state_for(batch_size or n).batch
        if n % batch:
            raise ValueError(f"a stateful model runs batches of {batch} samples; got {n} samples")
        chunks = [self._tensor_run([x[k:k + batch] for x in xs], self._batch_state.pointer) for k in range(0, n, batch)]
        return [np.concatenate(parts) for parts in zip(*chunks)]

    def _batch_state_for(self, batch_size):
        """The model's batch state (made on first use, for the input's fixed batch size or else
        `batch_size`)."""
        if getattr(self, "_batch_state", None) is None:
            batch = self._state_batch_size() or batch_size
            pointer = ctypes.c_void_p()
            call(lib.lstm_state_new_batch, self._model, batch, ctypes.byref(pointer))
            self._batch_state = _StateHandle(pointer, batch)
            for layer in self._model_layers():
                if getattr(layer, "stateful", False):
                    layer.__dict__.setdefault("_state_models", []).append(weakref.ref(self))
        return self._batch_state

    def _state_batch_size(self):
        """The batch size the model's input fixes (its batch_shape), if any."""
        config = json.loads(self.to_json())["config"]
        for layer in config.get("layers", []):
            if layer["class_name"] == "InputLayer" and layer["config"]["batch_shape"][0]:
                return layer["config"]["batch_shape"][0]
        return None

    def release_training_memory(self):
        """Frees the working memory fit keeps for the next fit (its gradient arrays and the
        layers' tapes of the last batch shape); the next fit allocates it again."""
        call(lib.lstm_model_release_training_memory, self._model)

    def reset_states(self):
        """Zero states for the stateful layers (Keras's reset_states)."""
        if getattr(self, "_batch_state", None) is not None:
            call(lib.lstm_state_reset, self._batch_state.pointer)

    # ---------------------------------------------------------------- layers shared between models

    # A layer used by several models (the seq2seq idiom: Model(encoder_inputs, encoder_states)
    # after training the whole) shares its weights as in Keras: each layer remembers the model
    # that last changed them, and another model copies them in before it next uses its handle.

    def _model_layers(self):
        return []

    def _layer_arrays(self, layer_name, shapes=None):
        shapes = shapes or self._query_weight_shapes()
        arrays = self._query_weights(shapes)
        return {n: a for (n, _), a in zip(shapes, arrays) if n.startswith(layer_name + "/")}

    def _after_weights_change(self):
        """The weights changed in this model's handle: it becomes the source of its layers'."""
        _weights_clock[0] += 1
        synced = self.__dict__.setdefault("_synced", {})
        for layer in self._model_layers():
            layer._weights_home = weakref.ref(self)
            layer._weights_version = _weights_clock[0]
            synced[id(layer)] = _weights_clock[0]

    def _claim_new_layers(self):
        """After a build: this model holds the weights of the layers no live model holds."""
        synced = self.__dict__.setdefault("_synced", {})
        for layer in self._model_layers():
            home = getattr(layer, "_weights_home", None)
            if home is None or home() is None:
                _weights_clock[0] += 1
                layer._weights_home = weakref.ref(self)
                layer._weights_version = _weights_clock[0]
                synced[id(layer)] = _weights_clock[0]

    def _sync_shared_weights(self):
        synced = self.__dict__.setdefault("_synced", {})
        stale = []
        for layer in self._model_layers():
            home = getattr(layer, "_weights_home", None)
            other = home() if home is not None else None
            if other is not None and other is not self and layer._weights_version > synced.get(id(layer), -1):
                stale.append((layer, other))
        if not stale:
            return
        shapes = self._query_weight_shapes()
        arrays = self._query_weights(shapes)
        position = {n: k for k, (n, _) in enumerate(shapes)}
        for layer, other in stale:
            for name, a in other._layer_arrays(layer.name).items():
                if name in position and arrays[position[name]].shape == a.shape:
                    arrays[position[name]] = a
            synced[id(layer)] = layer._weights_version
        self._store_weights(shapes, arrays)


class Sequential(_ModelMethods):
    """A linear stack of layers, as keras.Sequential."""

    def __init__(self, layers=None, name=None, trainable=True):
        if trainable is not True:
            raise ValueError("Sequential: trainable=False is not supported")
        self.name = name or _unique_name("sequential")
        self._input = None
        self._layers = []
        self._handle = None
        self._compile_config = None
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # ---------------------------------------------------------------- building

    def add(self, layer):
        """Appends a layer; an InputLayer (or lstm.Input(...)) may come first."""
        if isinstance(layer, engine.KerasTensor) and layer.is_input:
            layer = layer._layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise ValueError("an InputLayer can only be the first layer of a Sequential model")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer from lstm.layers, got {layer!r}")
        if layer.batch_shape is not None:
            if self._layers or self._input is not None:
                raise ValueError(f"layer '{layer.name}': input_shape is only allowed on the first layer")
            self._input = InputLayer(batch_shape=layer.batch_shape)
        self._layers.append(layer)
        self._handle = None  # a new architecture: rebuilt (with new weights) on next use

    @property
    def layers(self):
        return list(self._layers)

    def _model_layers(self):
        return list(self._layers)

    @property
    def built(self):
        return self._handle is not None

    def _config(self):
        if self._input is None:
            raise ValueError(f"model '{self.name}' has no input shape yet: give input_shape=(timesteps, features) "
                             f"to the first layer, start with lstm.Input(shape=...), or call build/fit/predict")
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": self.name, "trainable": True,
                           "layers": [self._input._keras_config()] + [l._keras_config() for l in self._layers]}}

    def build(self, input_shape=None):
        """Creates the model in the library (new weights, from lstm.utils' seed)."""
        if input_shape is not None and self._input is None:
            self._input = InputLayer(batch_shape=(None,) + tuple(input_shape)[1:])
        if not self._layers:
            raise ValueError(f"model '{self.name}' has no layers")
        pointer = ctypes.c_void_p()
        call(lib.lstm_model_from_json, json.dumps(self._config()).encode(), next_seed(), ctypes.byref(pointer))
        self._handle = _Handle(pointer)
        self.__dict__["_synced"] = {}
        self._claim_new_layers()
        if self._compile_config is not None:
            call(lib.lstm_model_compile, self._model, json.dumps(self._compile_config).encode())

    def _ensure_built(self, x_shape=None):
        if self._handle is None:
            if self._input is None and x_shape is not None:
                if len(x_shape) != 3:
                    raise ValueError(f"expected input of shape (batch, timesteps, features), got {x_shape}")
                self._input = InputLayer(batch_shape=(None, x_shape[1], x_shape[2]))
            self.build()
        self._sync_shared_weights()

    @property
    def _model(self):
        return self._handle.pointer

    # ---------------------------------------------------------------- shapes

    @property
    def input_shape(self):
        if self._input is None:
            raise AttributeError("the model has no input shape yet")
        return self._input.batch_shape

    def _layer_shapes(self):
        """Each layer's output shape, as the library computed it."""
        self._ensure_built()
        return [info["shapes"][0] for info in self._layer_infos()]

    @property
    def output_shape(self):
        return self._layer_shapes()[-1]

    def _x(self, x, name="x"):
        """x as C-contiguous float32 (batch, timesteps, features), checked against the model."""
        a = _as_float32(x, name)
        rank = len(self._input.batch_shape) if self._input is not None else 3
        if a.ndim != rank:
            what = "(batch, timesteps, features)" if rank == 3 else "(batch, timesteps) of token ids"
            raise ValueError(f"{name} must have shape {what}, got shape {a.shape}")
        self._ensure_built(a.shape)
        steps = self.input_shape[1]
        features = self.input_shape[2] if rank == 3 else None
        if (rank == 3 and a.shape[2] != features) or (steps is not None and a.shape[1] != steps) \
                or a.shape[0] == 0 or a.shape[1] == 0:
            expected = f"(batch, {steps}, {features})" if rank == 3 else f"(batch, {steps})"
            raise ValueError(f"{name} has shape {a.shape}, but the model expects {expected}")
        return a

    def _output_size(self, steps):
        """Floats of one sample's output for sequences of `steps` (the library's count: the
        steps may change on the way, through pooling, strides, RepeatVector...)."""
        self._ensure_built()
        size = ctypes.c_size_t()
        call(lib.lstm_model_output_size, self._model, steps, ctypes.byref(size))
        return size.value

    def _output_dims(self, steps):
        """One sample's output shape for sequences of `steps`: the open axis filled in."""
        dims = list(self.output_shape[1:])
        if None in dims:
            known = int(np.prod([d for d in dims if d is not None]))
            dims[dims.index(None)] = self._output_size(steps) // max(known, 1)
        return tuple(dims)

    def _y(self, y, n, steps, name="y"):
        a = _as_float32(y, name)
        size = ctypes.c_size_t()
        call(lib.lstm_model_target_size, self._model, steps, ctypes.byref(size))
        if a.shape[:1] != (n,) or a.size != n * size.value:
            dims = self._output_dims(steps)
            if size.value != int(np.prod(dims)):
                raise ValueError(f"{name} has shape {a.shape}, but the loss takes one class id per output position: "
                                 f"shape {(n,) + dims[:-1]} for the model's output of shape {(n,) + dims}")
            raise ValueError(f"{name} has shape {a.shape}, but the model's output for {n} samples has shape "
                             f"{(n,) + dims}")
        return a

    # ---------------------------------------------------------------- compile, fit, evaluate, predict

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Sets the optimizer ('adam', 'sgd' or an lstm.optimizers object), the loss ('mse',
        'binary_crossentropy', an lstm.losses object) and the metrics (['accuracy'], lstm.metrics
        objects) as Keras's compile takes them."""
        config = _compile_config(optimizer, loss, loss_weights, metrics, weighted_metrics)
        if self._handle is not None:
            self._apply_trainable_flags()
            call(lib.lstm_model_compile, self._model, json.dumps(config).encode())
        else:
            # Checked now, with a throwaway model, so that a bad config fails here as in Keras.
            if self._input is not None and self._layers:
                probe = Sequential(name=self.name)
                probe._input, probe._layers = self._input, self._layers
                probe.build()
                call(lib.lstm_model_compile, probe._model, json.dumps(config).encode())
        self._compile_config = config

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            distributed=None):
        """Trains as keras.Model.fit; returns a History. Ctrl-C stops after the current batch and
        raises KeyboardInterrupt, leaving the weights reached. distributed=True (or an
        lstm.distributed.MPIStrategy): data-parallel over MPI, batch_size samples per rank."""
        batch_size, epochs, verbose = _check_fit_arguments(self, batch_size, epochs, verbose, validation_split,
                                                           initial_epoch, class_weight, sample_weight,
                                                           steps_per_epoch, validation_steps, validation_freq)
        xa = self._x(x)
        n, steps = xa.shape[0], xa.shape[1]
        ya = self._y(y, n, steps)
        sw = _sample_weights(sample_weight, n)
        val = None
        # The split is made here rather than in the library, so that validation runs through
        # evaluate and its callback hooks (on_test_*), as Keras's does.
        if validation_data is None and validation_split:
            train, held = _split_validation([xa, ya] + ([sw] if sw is not None else []), validation_split)
            (xa, ya), n = train[:2], train[0].shape[0]
            sw = train[2] if sw is not None else None
            validation_data = tuple(held)
        held = None
        if validation_data is not None:
            xv, yv, swv = _validation_triple(validation_data)
            xv = self._x(xv, "validation_data x")
            held = [xv, self._y(yv, xv.shape[0], xv.shape[1], "validation_data y"), swv]
        strategy = distributed_module.strategy_for(distributed)
        if strategy is not None:
            (xa, ya, sw), held, verbose, callbacks = distributed_module.prepare(strategy, self, [xa, ya, sw], held,
                                                                                verbose, callbacks)
            n = xa.shape[0]
        if held is not None:
            xv, yv, swv = held
            val = ([xv], [self._shaped_target(yv, xv.shape[1])], validation_batch_size or batch_size, swv)

        def run(opts, hist, ran):
            return lib.lstm_model_fit(self._model, _lib.float_pointer(xa), _lib.float_pointer(ya), n, steps,
                                      ctypes.byref(opts), hist, epochs, ctypes.byref(ran))

        validate = None
        if val is not None:
            validate = lambda cbs: self._evaluate_logs(*val, callbacks=cbs, configure=False)  # noqa: E731
            if strategy is not None:
                validate = lambda cbs, local=validate: strategy.mean_logs(local(cbs), val[0][0].shape[0])  # noqa: E731
        return _fit_loop(self, run, n, batch_size, epochs, initial_epoch, verbose, callbacks,
                         shuffle, validate, sw, _class_weights(class_weight), validation_freq, steps_per_epoch,
                         strategy)

    def _shaped_target(self, ya, steps):
        """A checked target (see _y) in the target's own shape: the output's, or without its
        last axis for class ids."""
        dims = self._output_dims(steps)
        size = int(np.prod(dims))
        return ya.reshape((ya.shape[0],) + (dims if ya.size == ya.shape[0] * size else dims[:-1]))

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The compiled loss on (x, y), and the metrics after it as Keras returns them: the loss
        alone without metrics, else [loss, metric, ...]; a dict by name with return_dict."""
        if steps is not None:
            raise ValueError("evaluate: steps is not supported")
        if self._compile_config is None:
            raise RuntimeError("You must call compile() before evaluate()")
        verbose = _verbose_level(verbose)
        xa = self._x(x)
        ya = self._y(y, xa.shape[0], xa.shape[1])
        progress = _Progress(verbose, -(-xa.shape[0] // (batch_size or 32)))
        logs = self._evaluate_logs([xa], [self._shaped_target(ya, xa.shape[1])], batch_size, sample_weight, callbacks,
                                   verbose)
        progress.finish(progress.total, logs)
        return self._evaluate_result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for x (batch, timesteps, features): (batch, units), or (batch, timesteps, units)
        when the last layer returns sequences."""
        if steps is not None:
            raise ValueError("predict: steps is not supported")
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
            raise ValueError(f"predict: batch_size must be a positive integer, got {batch_size!r}")
        verbose = _verbose_level(verbose)
        xa = self._x(x)
        if self._is_stateful():
            return self._stateful_predict([xa], batch_size)[0]
        n, t = xa.shape[0], xa.shape[1]
        per = self._output_size(t)

        def run(start, end):
            y = np.empty((end - start) * per, dtype=np.float32)
            part = np.ascontiguousarray(xa[start:end])
            call(lib.lstm_model_predict, self._model, _lib.float_pointer(part), end - start, t, _lib.float_pointer(y),
                 y.size)
            return y.reshape((end - start,) + self._output_dims(t))
        progress = _Progress(verbose, -(-n // (batch_size or 32)))
        # With callbacks, batch by batch for their hooks (the same values: samples are independent).
        out = self._predict_with_callbacks(callbacks, n, batch_size, verbose, run) if callbacks else run(0, n)
        progress.finish(progress.total, {})
        return out

    def __call__(self, x):
        return self.predict(x, verbose=0)

    # ---------------------------------------------------------------- summary

    def summary(self, print_fn=None):
        """Prints Keras's summary table: layers, output shapes, parameter counts, totals."""
        print_fn = print_fn or print
        self._ensure_built()
        per_layer = {}
        for name, shape in self._weight_shapes():
            layer = name.rsplit("/", 1)[0]
            per_layer[layer] = per_layer.get(layer, 0) + int(np.prod(shape))
        rows = [(f"{l.name} ({l.class_name})", str(s).replace("None", "None"), f"{per_layer.get(l.name, 0):,}")
                for l, s in zip(self._layers, self._layer_shapes())]
        w = [max(32, max(len(r[0]) for r in rows) + 1), max(23, max(len(r[1]) for r in rows) + 1), 13]

        def row(cells, left="│", mid="│", right="│"):
            return (f"{left} {cells[0]:<{w[0]}}{mid} {cells[1]:<{w[1]}}{mid} {cells[2]:>{w[2]}} {right}")

        def rule(l, m, r, ch):
            return l + ch * (w[0] + 1) + m + ch * (w[1] + 1) + m + ch * (w[2] + 2) + r

        _print_table(print_fn, self.name, ("Layer (type)", "Output Shape", "Param #"), rows, row, rule,
                     self.count_params(), self._trainable_count())


def _print_table(print_fn, name, heads, rows, row, rule, total, trainable):
    """Keras's summary frame: the title, the table (row(cells, left, mid, right) and
    rule(left, mid, right, char) draw it) and the parameter totals."""
    lines = [f'Model: "{name}"', rule("┏", "┳", "┓", "━"), row(heads, "┃", "┃", "┃"), rule("┡", "╇", "┩", "━")]
    for k, r in enumerate(rows):
        lines.append(row(r))
        lines.append(rule("├", "┼", "┤", "─") if k + 1 < len(rows) else rule("└", "┴", "┘", "─"))
    lines += [f" Total params: {total:,} ({_format_bytes(total * 4)})",
              f" Trainable params: {trainable:,} ({_format_bytes(trainable * 4)})",
              f" Non-trainable params: {total - trainable:,} ({_format_bytes((total - trainable) * 4)})"]
    for line in lines:
        print_fn(line)


def _format_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def load_model(filepath, compile=True, outputs=None):
    """Loads a whole model from a Keras file (.keras, or .h5 with a model config).

    A graph holding layers that cannot run here (a Lambda, a user's own layer class) loads as
    the part computing the outputs that need none of them, with a warning naming what was left
    out. ``outputs`` (an extension of Keras's signature) names the tensors wanted instead —
    layer names, "name:k" for a layer's output k — as ``Model(inputs, model.get_layer(name).output)``
    would take them from a model Keras could load; such a part comes back uncompiled."""
    pointer = ctypes.c_void_p()
    if outputs is None:
        call_noting(lib.lstm_model_load, str(filepath).encode(), ctypes.byref(pointer))
    else:
        names = [outputs] if isinstance(outputs, str) else list(outputs)
        array = (ctypes.c_char_p * max(len(names), 1))(*[str(n).encode() for n in names])
        call_noting(lib.lstm_model_load_outputs, str(filepath).encode(), array, len(names), ctypes.byref(pointer))
    return _model_of(pointer, compile and outputs is None)


def model_from_json(json_string, custom_objects=None):
    """A model from Keras's JSON (model.to_json()), with fresh weights as Keras initialises
    them; compiled when the JSON carries a compile_config."""
    if custom_objects:
        raise ValueError("model_from_json: custom_objects are not supported")
    pointer = ctypes.c_void_p()
    text = json_string if isinstance(json_string, str) else json.dumps(json_string)
    call(lib.lstm_model_from_json, text.encode(), next_seed(), ctypes.byref(pointer))
    return _model_of(pointer, True)


def _model_of(pointer, compile):
    """The Python model (Sequential or functional) around a library model handle."""
    handle = _Handle(pointer)
    model = Sequential()
    model._handle = handle
    config = json.loads(model.to_json())
    if config["class_name"] != "Sequential":
        from .functional import Model
        functional = Model._from_handle(handle, config)
        if not compile:
            functional._compile_config = None
        return functional
    cfg = config["config"]
    model.name = cfg.get("name", model.name)
    from .functional import layer_from_config
    for spec in cfg["layers"]:
        layer = layer_from_config(spec)
        if isinstance(layer, InputLayer):
            model._input = layer
        else:
            model._layers.append(layer)
    model._claim_new_layers()
    if compile and config.get("compile_config"):
        model._compile_config = config["compile_config"]
    return model


__all__ = ["Sequential", "load_model", "model_from_json"]
