"""lstm: Keras's LSTM API in Python over liblstm, a small native LSTM library.

    from lstm.models import Sequential
    from lstm.layers import LSTM, Dense

Models take and return numpy arrays (any array-like is converted once to float32). The library
calls release the GIL: one model may be used for `predict` from several threads at once, while
`fit`, `compile`, `set_weights` and `load_weights` need the model to themselves.
"""
from . import callbacks, layers, losses, metrics, models, optimizers, preprocessing, regularizers, utils
from ._lib import LSTMError, library_path
from ._lib import lib as _clib
from .functional import Model
from .layers import Input
from .models import Sequential, load_model

models.Model = Model  # lstm.models.Model, as keras.models.Model

__version__ = _clib.lstm_version_string().decode()

__all__ = ["Sequential", "Model", "Input", "load_model", "LSTMError", "layers", "models", "optimizers", "regularizers", "preprocessing", "losses", "metrics", "callbacks",
           "utils", "library_path", "__version__"]
