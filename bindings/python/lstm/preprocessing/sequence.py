"""keras.preprocessing.sequence: pad_sequences (the one in lstm.utils)."""
from ..utils import pad_sequences

__all__ = ["pad_sequences"]
