"""Keras's keras.preprocessing paths for the data helpers (lstm.utils holds them)."""
from . import sequence

__all__ = ["sequence"]
