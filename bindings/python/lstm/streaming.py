"""Running a model one timestep at a time (the library's streaming API; Keras has none): for
generating a sequence step by step, or for a live signal. The model stays read-only, so several
streams may run one model at once."""
import ctypes

import numpy as np

from . import _lib
from ._lib import call, lib


class Stream:
    """One stream's recurrent states over a model: `step(x_t)` feeds one timestep (its features,
    or one token id for a model that starts with an Embedding) and returns the model's output
    for it, as `predict` over the sequence so far gives at its last step. `reset()` starts a new
    sequence. Made by `model.stream()`."""

    def __init__(self, model):
        model._ensure_built()
        self._model = model
        self._handle = model._handle  # keeps the library's model alive as long as the stream
        pointer = ctypes.c_void_p()
        call(lib.lstm_state_new, model._model, ctypes.byref(pointer))
        self._state = pointer
        sizes_in, sizes_out = ctypes.c_size_t(), ctypes.c_size_t()
        call(lib.lstm_step_sizes, model._model, ctypes.byref(sizes_in), ctypes.byref(sizes_out))
        self.input_size, self.output_size = sizes_in.value, sizes_out.value
        self._out = np.empty(self.output_size, dtype=np.float32)

    def step(self, x_t):
        """The output (a new float32 array of output_size values) for one more timestep."""
        x = np.ascontiguousarray(np.ravel(np.asarray(x_t, dtype=np.float32)))
        if x.size != self.input_size:
            raise ValueError(f"step: a timestep of this model holds {self.input_size} values, got {x.size}")
        call(lib.lstm_step, self._model._model, self._state, _lib.float_pointer(x), _lib.float_pointer(self._out),
             self.output_size)
        return self._out.copy()

    def reset(self):
        """Back to the zero state, as at the start of a sequence."""
        call(lib.lstm_state_reset, self._state)

    def __del__(self):
        if getattr(self, "_state", None):
            lib.lstm_state_free(self._state)
            self._state = None


__all__ = ["Stream"]
