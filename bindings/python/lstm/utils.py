"""Keras's utilities: seeding (the library's randomness, weight initialisation and shuffling, draws
from here) and the data helpers pad_sequences, to_categorical and timeseries_dataset_from_array
(numpy in, numpy out: no tf.data)."""
import os

import numpy as np

_rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))


def set_random_seed(seed):
    """Makes model initialisation and fit's shuffling reproducible, as keras.utils.set_random_seed."""
    global _rng
    _rng = np.random.default_rng(int(seed))


def next_seed():
    return int(_rng.integers(0, 2 ** 63 - 1))


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Sequences of different lengths to one (samples, maxlen, ...) array, as Keras's: longer
    ones lose their start ("pre") or end ("post"), shorter ones are filled with `value` before
    ("pre") or after ("post") them; maxlen defaults to the longest."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths, item_shape = [], None
    for k, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {seq!r}") from e
        if item_shape is None and len(seq):
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(maxlen, bool) or int(maxlen) != maxlen or maxlen < 0:
        raise ValueError(f"maxlen must be an integer >= 0, got {maxlen!r}")
    maxlen = int(maxlen)
    if isinstance(value, str) and dtype is not object and not np.issubdtype(np.dtype(dtype), np.character):
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(sequences), maxlen) + item_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for k, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {k} is different from "
                             f"expected shape {item_shape}")
        if padding == "post":
            out[k, :len(kept)] = kept
        else:
            out[k, maxlen - len(kept):] = kept
    return out


def to_categorical(x, num_classes=None):
    """Class ids to one-hot rows (float64, as Keras's for numpy input); a trailing axis of size
    1 is dropped first; num_classes defaults to the largest id + 1."""
    ids = np.array(x, dtype="int64")
    shape = ids.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    ids = ids.reshape(-1)
    if not num_classes:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in 0..{num_classes - 1}, got {ids.min()}..{ids.max()}")
    out = np.zeros((ids.size, num_classes))
    out[np.arange(ids.size), ids] = 1
    return out.reshape(tuple(shape) + (num_classes,))


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Keras's sliding windows over a series, as numpy: window i is data[s + i, s + i + rate, ...]
    (sequence_length steps, s = start_index) and its target targets[s + i]; windows start every
    sequence_stride steps. Returns a list of batches, each (x, y) (x alone without targets), or
    with batch_size=None the whole (x, y). shuffle orders the windows with
    numpy.random.RandomState(seed), as Keras orders their start positions (Keras then also
    shuffles within a buffer through tf.data, which is not reproduced)."""
    data = np.asarray(data)
    n = len(data)
    for name, v in (("sequence_length", sequence_length), ("sampling_rate", sampling_rate),
                    ("sequence_stride", sequence_stride)):
        if isinstance(v, bool) or int(v) != v or v <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={v}")
    for name, v in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if v >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={v}, "
                             f"for data of length {n}")
    if start_index and not 0 <= start_index < n:
        raise ValueError(f"`start_index` must be 0 or greater and lower than the length of the data. Received: "
                         f"start_index={start_index}, for data of length {n}")
    if end_index and not ((not start_index or end_index > start_index) and 0 < end_index < n):
        raise ValueError(f"`end_index` must be higher than `start_index` and 0, and lower than the length of the "
                         f"data. Received: start_index={start_index}, end_index={end_index}, for data of length {n}")
    start = start_index or 0
    end = end_index if end_index is not None else n
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    positions = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        np.random.RandomState(seed if seed is not None else np.random.randint(1e6)).shuffle(positions)
    steps = np.arange(sequence_length) * sampling_rate
    x = data[start + positions[:, None] + steps[None, :]] if len(positions) else \
        np.zeros((0, sequence_length) + data.shape[1:], data.dtype)
    y = targets[start + positions] if targets is not None else None
    if batch_size is None:
        return (x, y) if y is not None else x
    batches = []
    for b in range(0, len(positions), batch_size):
        batches.append((x[b:b + batch_size], y[b:b + batch_size]) if y is not None else x[b:b + batch_size])
    return batches


__all__ = ["set_random_seed", "pad_sequences", "to_categorical", "timeseries_dataset_from_array"]
