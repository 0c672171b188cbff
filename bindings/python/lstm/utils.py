"""Seeding: the library's randomness (weight initialisation, shuffling) draws from here."""
import os

import numpy as np

_rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))


def set_random_seed(seed):
    """Makes model initialisation and fit's shuffling reproducible, as keras.utils.set_random_seed."""
    global _rng
    _rng = np.random.default_rng(int(seed))


def next_seed():
    return int(_rng.integers(0, 2 ** 63 - 1))


__all__ = ["set_random_seed"]
