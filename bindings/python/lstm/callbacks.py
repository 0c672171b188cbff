"""Callbacks with Keras's interface, driven by the library's per-batch and per-epoch callbacks."""
import csv
import math
import os
import re

import numpy as np


class Callback:
    """Base class: override the hooks you need. `self.model` is the model being trained; set
    `self.model.stop_training = True` to stop after the current epoch."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class ProgbarLogger(Callback):
    """Keras's progress output of fit: "Epoch 3/20", then the bar (verbose=1) or one line per
    epoch (verbose=2) with every log value. fit adds one when verbose is on and none is given."""

    def __init__(self):
        super().__init__()
        self._progress = None

    def _verbose(self):
        v = self.params.get("verbose", 1)
        return 1 if v == "auto" else v

    def on_epoch_begin(self, epoch, logs=None):
        from .models import _Progress
        if self._verbose():
            print(f"Epoch {epoch + 1}/{self.params.get('epochs', 1)}")
        self._progress = _Progress(self._verbose(), self.params.get("steps", 1))
        self._done = None

    def on_train_batch_end(self, batch, logs=None):
        self._done = batch + 1
        if self._progress is not None:
            self._progress.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        # The batches run (fewer than steps when steps_per_epoch reached the end of the data).
        if self._progress is not None:
            self._progress.finish(self._done or self.params.get("steps", 1), logs or {})


class History(Callback):
    """Returned by fit: `history.history['loss']` (and 'val_loss') per epoch, `history.epoch`."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved by more than `min_delta` for `patience`
    epochs; with restore_best_weights, the model gets the best epoch's weights back at the end."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.stopped_epoch = 0

    def _better(self, current, reference):
        if self.mode == "max" or (self.mode == "auto" and ("acc" in self.monitor or "auc" in self.monitor)):
            return np.greater(current - self.min_delta, reference)
        return np.less(current + self.min_delta, reference)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise ValueError(f"EarlyStopping: monitor '{self.monitor}' is not among the logged values "
                             f"{sorted(logs or {})}")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self.best is None or self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _improves(mode, monitor, current, best, min_delta=0.0):
    """Keras's comparison for a monitored value: max for accuracies and AUC in auto mode, else min."""
    if best is None:
        return True
    if mode == "max" or (mode == "auto" and ("acc" in monitor or "auc" in monitor)):
        return np.greater(current - min_delta, best)
    return np.less(current + min_delta, best)


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_begin(logs), on_train_end(logs), on_train_batch_begin(batch, logs),
    on_train_batch_end(batch, logs); the ones not given do nothing."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        unknown = sorted(k for k in kwargs if not k.startswith("on_"))
        if unknown:
            raise TypeError(f"LambdaCallback: unexpected arguments {unknown}")
        for name, fn in kwargs.items():
            if fn is not None and name not in hooks:
                raise ValueError(f"LambdaCallback: the hook {name} is not called by this library's fit")
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite, as Keras's does, and fit
    returns normally. The library itself stops there, before that batch's update (so the
    weights are the last finite step's); with this callback fit reports it and returns instead
    of raising."""


class CSVLogger(Callback):
    """Writes one row per epoch to a CSV file: "epoch" then the logged values, sorted by name, as
    Keras's CSVLogger; append=True continues an existing file without a second header."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys, self.writer, self.file = None, None, None

    def on_train_begin(self, logs=None):
        has_content = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.append_header = not has_content
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys, delimiter=self.sep)
            if self.append_header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


class ModelCheckpoint(Callback):
    """Saves the model (a .keras file) or its weights (.weights.h5, with save_weights_only) at
    the end of every epoch, or every save_freq batches; filepath may hold {epoch:02d} and any
    logged value ({val_loss:.2f}). save_best_only keeps to the epochs whose `monitor` improves
    on the best so far (and on initial_value_threshold). A save never leaves a half-written
    file in place of the previous one."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        ending = ".weights.h5" if save_weights_only else ".keras"
        if not self.filepath.endswith(ending):
            raise ValueError(f"ModelCheckpoint: with save_weights_only={save_weights_only} the filepath must end "
                             f"in `{ending}`, got {self.filepath!r}")
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.save_weights_only, self.mode, self.save_freq = save_weights_only, mode, save_freq
        self.best = initial_value_threshold
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches >= self.save_freq:
                self._batches = 0
                self._save(self._epoch, dict(logs or {}, batch=batch))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs):
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                print(f"Can save best model only with {self.monitor} available, skipping.")
                return
            if not _improves(self.mode, self.monitor, current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to {current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved by more than
    min_delta for `patience` epochs, down to min_lr, then waits `cooldown` epochs; the rate is
    logged as "learning_rate" every epoch. Keras's rules, step for step."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, abs(min_delta), cooldown, min_lr
        self._reset()

    def _reset(self):
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def _improved(self, current):
        if self.best is None:
            return True
        if self.mode == "max" or (self.mode == "auto" and self.monitor.removeprefix("val_") != "loss"
                                  and ("acc" in self.monitor or "auc" in self.monitor)):
            return current - self.min_delta > self.best
        return current + self.min_delta < self.best

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = self.model.optimizer.learning_rate
        current = logs.get(self.monitor)
        if current is None:
            print(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                  f"Available metrics are: {','.join(logs)}.")
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.learning_rate
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to schedule(epoch, current_rate) (or
    schedule(epoch), Keras's older form); the rate is logged as "learning_rate"."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        current = self.model.optimizer.learning_rate
        try:
            rate = self.schedule(epoch, current)
        except TypeError:
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {rate}")
        self.model.optimizer.learning_rate = float(rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


__all__ = ["Callback", "ProgbarLogger", "History", "EarlyStopping", "LambdaCallback", "TerminateOnNaN", "CSVLogger", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler"]
