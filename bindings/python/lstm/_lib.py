"""Loads liblstm.so and declares its C functions for ctypes.

Every function of include/lstm.h has its argtypes and restype here. `call` turns a status other
than LSTM_OK into an exception carrying lstm_last_error()'s message.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_size_t, c_uint,
                    c_uint64, c_void_p)

VERSION_NUMBER = 200  # the LSTM_VERSION_NUMBER this package was written for (0.2.0)

OK, ERROR_ARGUMENT, ERROR_SHAPE, ERROR_STATE, ERROR_IO, ERROR_FORMAT, ERROR_UNSUPPORTED, ERROR_NUMERIC, \
    ERROR_MEMORY, ERROR_CANCELLED, ERROR_INTERNAL = range(11)


class LSTMError(Exception):
    """A failure reported by liblstm, other than a bad argument (ValueError) or I/O (OSError).

    `status` is the lstm_status value and `status_name` its name, e.g. "LSTM_ERROR_UNSUPPORTED".
    """

    def __init__(self, status, status_name, message):
        super().__init__(f"{message} [{status_name}]")
        self.status = status
        self.status_name = status_name
        self.message = message


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("LSTM_LIBRARY")
    if env:
        return [("the LSTM_LIBRARY environment variable", env)]
    return [("the installed package", os.path.join(here, "liblstm.so")),
            ("the repository's build folder", os.path.join(here, "..", "..", "..", "build", "liblstm.so"))]


def _load():
    tried = []
    for where, path in _candidates():
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            tried.append(f"{path} ({where}): not found")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({where}): {e}")
            continue
        lib.lstm_version_number.restype = c_uint
        lib.lstm_version_number.argtypes = []
        version = lib.lstm_version_number()
        if version != VERSION_NUMBER:
            raise ImportError(
                f"liblstm at {path} is version {version}, but this lstm package needs {VERSION_NUMBER}: "
                f"rebuild the library with `make` and reinstall the package (pip install ./bindings/python)")
        return lib, path
    raise ImportError("cannot find liblstm.so; build it with `make` in the liblstm repository and install this "
                      "package with `pip install ./bindings/python`, or set LSTM_LIBRARY to its path. Tried: "
                      + "; ".join(tried))


lib, library_path = _load()

EPOCH_CALLBACK = CFUNCTYPE(c_int, c_void_p, c_size_t, c_double, c_double)
BATCH_CALLBACK = CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t, c_size_t, c_double)
LOGS_CALLBACK = CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t, c_size_t, POINTER(c_char_p), POINTER(c_double))


SUM_CALLBACK = CFUNCTYPE(c_int, c_void_p, POINTER(c_float), c_size_t, POINTER(c_double), c_size_t)
ERROR_CALLBACK = CFUNCTYPE(c_void_p, c_void_p)


class GradientReducer(Structure):
    _fields_ = [("struct_size", c_size_t), ("rank", c_size_t), ("workers", c_size_t), ("sum", SUM_CALLBACK),
                ("last_error", ERROR_CALLBACK), ("user", c_void_p)]


class FitOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("epochs", c_size_t), ("batch_size", c_size_t), ("shuffle", c_int),
                ("validation_split", c_float), ("seed", c_uint64), ("on_epoch", EPOCH_CALLBACK),
                ("user", c_void_p), ("on_batch", BATCH_CALLBACK), ("state", c_void_p),
                ("on_batch_logs", LOGS_CALLBACK), ("on_epoch_logs", LOGS_CALLBACK), ("sample_weight", c_void_p),
                ("class_weight", POINTER(c_float)), ("class_weight_count", c_size_t), ("steps_per_epoch", c_size_t),
                ("reducer", c_void_p)]


MAX_RANK = 4
MAX_LAYER_OUTPUTS = 4


class Tensor(Structure):
    _fields_ = [("data", POINTER(c_float)), ("rank", c_size_t), ("shape", c_size_t * MAX_RANK)]


class TensorOut(Structure):
    _fields_ = [("data", POINTER(c_float)), ("cap", c_size_t), ("rank", c_size_t), ("shape", c_size_t * MAX_RANK)]


class LayerInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("class_name", ctypes.c_char * 32), ("name", ctypes.c_char * 128),
                ("param_count", c_size_t), ("output_count", c_size_t),
                ("output_rank", c_size_t * MAX_LAYER_OUTPUTS),
                ("output_shape", (c_size_t * MAX_RANK) * MAX_LAYER_OUTPUTS), ("call_count", c_size_t),
                ("connected_to", ctypes.c_char * 256)]


_model_p = c_void_p
_float_p = POINTER(c_float)
_size_p = POINTER(c_size_t)

_DECLARATIONS = {
    "lstm_version_string": (c_char_p, []),
    "lstm_status_name": (c_char_p, [c_int]),
    "lstm_last_error": (c_char_p, []),
    "lstm_last_warning": (c_char_p, []),
    "lstm_model_from_json": (c_int, [c_char_p, c_uint64, POINTER(_model_p)]),
    "lstm_model_load": (c_int, [c_char_p, POINTER(_model_p)]),
    "lstm_model_load_outputs": (c_int, [c_char_p, POINTER(c_char_p), c_size_t, POINTER(_model_p)]),
    "lstm_model_free": (None, [_model_p]),
    "lstm_model_to_json": (c_int, [_model_p, c_char_p, c_size_t, _size_p]),
    "lstm_model_input_shape": (c_int, [_model_p, _size_p, _size_p]),
    "lstm_model_output_size": (c_int, [_model_p, c_size_t, _size_p]),
    "lstm_model_target_size": (c_int, [_model_p, c_size_t, _size_p]),
    "lstm_model_load_weights": (c_int, [_model_p, c_char_p]),
    "lstm_model_save_weights": (c_int, [_model_p, c_char_p]),
    "lstm_model_save": (c_int, [_model_p, c_char_p]),
    "lstm_model_export_onnx": (c_int, [_model_p, c_char_p]),
    "lstm_model_param_count": (c_int, [_model_p, _size_p]),
    "lstm_model_trainable_param_count": (c_int, [_model_p, _size_p]),
    "lstm_model_learning_rate": (c_int, [_model_p, ctypes.POINTER(ctypes.c_double)]),
    "lstm_model_set_learning_rate": (c_int, [_model_p, ctypes.c_double]),
    "lstm_model_release_training_memory": (c_int, [_model_p]),
    "lstm_model_weight_trainable": (c_int, [_model_p, ctypes.c_size_t, POINTER(ctypes.c_int)]),
    "lstm_model_set_layer_trainable": (c_int, [_model_p, c_char_p, c_int]),
    "lstm_model_weight_count": (c_int, [_model_p, _size_p]),
    "lstm_model_weight_info": (c_int, [_model_p, c_size_t, c_char_p, c_size_t, _size_p, _size_p]),
    "lstm_model_get_weights": (c_int, [_model_p, _float_p, c_size_t]),
    "lstm_model_set_weights": (c_int, [_model_p, _float_p, c_size_t]),
    "lstm_model_predict": (c_int, [_model_p, _float_p, c_size_t, c_size_t, _float_p, c_size_t]),
    "lstm_state_new": (c_int, [_model_p, POINTER(c_void_p)]),
    "lstm_state_reset": (c_int, [c_void_p]),
    "lstm_state_free": (None, [c_void_p]),
    "lstm_step": (c_int, [_model_p, c_void_p, _float_p, _float_p, c_size_t]),
    "lstm_model_compile": (c_int, [_model_p, c_char_p]),
    "lstm_fit_options_init": (None, [POINTER(FitOptions)]),
    "lstm_model_fit": (c_int, [_model_p, _float_p, _float_p, c_size_t, c_size_t, POINTER(FitOptions),
                               POINTER(c_double), c_size_t, _size_p]),
    "lstm_model_evaluate": (c_int, [_model_p, _float_p, _float_p, c_size_t, c_size_t, POINTER(c_double)]),
    "lstm_model_input_count": (c_int, [_model_p, _size_p]),
    "lstm_model_output_count": (c_int, [_model_p, _size_p]),
    "lstm_model_metric_count": (c_int, [_model_p, _size_p]),
    "lstm_model_metric_name": (c_int, [_model_p, c_size_t, c_char_p, c_size_t]),
    "lstm_model_evaluate_metrics": (c_int, [_model_p, POINTER(Tensor), c_size_t, POINTER(Tensor), c_size_t, c_void_p, c_size_t,
                                            POINTER(c_double), POINTER(c_double), c_size_t, LOGS_CALLBACK, c_void_p]),
    "lstm_model_input_info": (c_int, [_model_p, c_size_t, c_char_p, c_size_t, _size_p, _size_p]),
    "lstm_model_output_info": (c_int, [_model_p, c_size_t, c_char_p, c_size_t, _size_p, _size_p]),
    "lstm_model_output_shapes": (c_int, [_model_p, POINTER(Tensor), c_size_t, POINTER(TensorOut), c_size_t]),
    "lstm_model_run": (c_int, [_model_p, POINTER(Tensor), c_size_t, POINTER(TensorOut), c_size_t]),
    "lstm_model_fit_tensors": (c_int, [_model_p, POINTER(Tensor), c_size_t, POINTER(Tensor), c_size_t,
                                       POINTER(FitOptions), POINTER(c_double), c_size_t, _size_p]),
    "lstm_model_evaluate_tensors": (c_int, [_model_p, POINTER(Tensor), c_size_t, POINTER(Tensor), c_size_t,
                                            POINTER(c_double)]),
    "lstm_model_layer_count": (c_int, [_model_p, _size_p]),
    "lstm_model_layer_info": (c_int, [_model_p, c_size_t, POINTER(LayerInfo)]),
    "lstm_step_sizes": (c_int, [_model_p, _size_p, _size_p]),
    "lstm_state_new_batch": (c_int, [_model_p, c_size_t, POINTER(c_void_p)]),
    "lstm_state_reset_layer": (c_int, [c_void_p, c_char_p]),
    "lstm_model_run_stateful": (c_int, [_model_p, c_void_p, POINTER(Tensor), c_size_t, POINTER(TensorOut), c_size_t]),
}

for _name, (_restype, _argtypes) in _DECLARATIONS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def status_name(status):
    return lib.lstm_status_name(status).decode()


def error_for(status):
    """The exception for a failed call, with the library's message (read on this thread)."""
    message = lib.lstm_last_error().decode("utf-8", "replace")
    if status in (ERROR_ARGUMENT, ERROR_SHAPE):
        return ValueError(message)
    if status == ERROR_IO:
        return OSError(message)
    return LSTMError(status, status_name(status), message)


def call(fn, *args):
    """Calls a C function that returns lstm_status; raises on failure."""
    status = fn(*args)
    if status != OK:
        raise error_for(status)


def call_noting(fn, *args):
    """`call`, then what the library noted of a call that succeeded (a file read by its content
    because its name says another format) as a Python warning."""
    call(fn, *args)
    note = lib.lstm_last_warning().decode("utf-8", "replace")
    if note:
        import warnings
        warnings.warn(note, stacklevel=3)


def float_pointer(array):
    return array.ctypes.data_as(_float_p)


def tensors(arrays):
    """A C array of lstm_tensor over float32 C-contiguous numpy arrays (kept alive by the caller)."""
    out = (Tensor * max(1, len(arrays)))()
    for t, a in zip(out, arrays):
        if not 1 <= a.ndim <= MAX_RANK:
            raise ValueError(f"an array of rank {a.ndim} cannot be passed (1 to {MAX_RANK} axes, the batch included)")
        t.data = float_pointer(a)
        t.rank = a.ndim
        for k, d in enumerate(a.shape):
            t.shape[k] = d
    return out
