"""Writes what Keras 3's data utilities give, for the Python binding's tests.

utils/keras3_data_utils.json: for each case below, the arguments and Keras's result:
`keras.utils.pad_sequences` on ragged lists (every padding/truncating/maxlen/value/dtype mix,
items of shape (2,), empty sequences), `keras.utils.to_categorical` (a trailing axis of 1,
num_classes given or not), and the windows and targets of
`keras.utils.timeseries_dataset_from_array` (unshuffled: Keras's shuffle also goes through a
tf.data buffer) collected from its tf.data batches.

Run with Keras 3:  python make_data_utils_fixtures.py
"""
import json
import os

import numpy as np
import keras

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "utils"), exist_ok=True)

ragged = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10], [11]]
items = [[[1, 2], [3, 4]], [[5, 6]], [[7, 8], [9, 10], [11, 12]]]
pad_cases = []
for kwargs in [{}, {"maxlen": 3}, {"maxlen": 3, "padding": "post"}, {"maxlen": 3, "truncating": "post"},
               {"maxlen": 6, "padding": "post", "truncating": "post", "value": -1},
               {"dtype": "float32", "value": 0.5}, {"maxlen": 1}]:
    pad_cases.append({"sequences": ragged, "kwargs": kwargs,
                      "result": keras.utils.pad_sequences(ragged, **kwargs).tolist(),
                      "dtype": str(keras.utils.pad_sequences(ragged, **kwargs).dtype)})
pad_cases.append({"sequences": items, "kwargs": {"maxlen": 2}, "result": keras.utils.pad_sequences(items, maxlen=2).tolist(),
                  "dtype": "int32"})

categorical_cases = []
for x, kwargs in [([0, 2, 1, 3], {}), ([[1], [0], [2]], {}), ([[0, 1], [2, 0]], {"num_classes": 4}), ([1, 1], {"num_classes": 3})]:
    categorical_cases.append({"x": x, "kwargs": kwargs, "result": keras.utils.to_categorical(x, **kwargs).tolist()})

series = np.arange(40, dtype=np.float32).reshape(20, 2)
targets = np.arange(100, 120, dtype=np.float32)
window_cases = []
for kwargs in [{"sequence_length": 4}, {"sequence_length": 3, "sequence_stride": 2, "sampling_rate": 2},
               {"sequence_length": 5, "start_index": 3, "end_index": 15, "batch_size": 4},
               {"sequence_length": 2, "sequence_stride": 3, "batch_size": 2}]:
    ds = keras.utils.timeseries_dataset_from_array(series, targets, **kwargs)
    xs, ys, sizes = [], [], []
    for x, y in ds:
        xs += x.numpy().tolist()
        ys += y.numpy().tolist()
        sizes.append(int(x.shape[0]))
    window_cases.append({"kwargs": kwargs, "x": xs, "y": ys, "batch_sizes": sizes})

with open(os.path.join(here, "utils", "keras3_data_utils.json"), "w") as f:
    json.dump({"keras": keras.__version__, "series": series.tolist(), "targets": targets.tolist(),
               "pad_sequences": pad_cases, "to_categorical": categorical_cases, "timeseries": window_cases}, f)
print(len(pad_cases), "pad_sequences,", len(categorical_cases), "to_categorical,", len(window_cases), "timeseries cases")
