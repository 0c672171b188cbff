"""lstm.utils' data helpers against what Keras 3 gives on the same arguments
(Tests/Fixtures/make_data_utils_fixtures.py)."""
import json
import os

import numpy as np
import pytest

import lstm
from lstm.preprocessing.sequence import pad_sequences as pad_from_preprocessing

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Fixtures", "utils", "keras3_data_utils.json")
with open(FIXTURE) as f:
    KERAS = json.load(f)


@pytest.mark.parametrize("case", KERAS["pad_sequences"], ids=lambda c: json.dumps(c["kwargs"]))
def test_pad_sequences_as_keras(case):
    got = lstm.utils.pad_sequences(case["sequences"], **case["kwargs"])
    assert str(got.dtype) == case["dtype"]
    np.testing.assert_array_equal(got, np.array(case["result"], dtype=case["dtype"]))
    np.testing.assert_array_equal(pad_from_preprocessing(case["sequences"], **case["kwargs"]), got)


@pytest.mark.parametrize("case", KERAS["to_categorical"], ids=lambda c: json.dumps(c["x"]))
def test_to_categorical_as_keras(case):
    got = lstm.utils.to_categorical(case["x"], **case["kwargs"])
    np.testing.assert_array_equal(got, np.array(case["result"]))
    assert got.dtype == np.float64


@pytest.mark.parametrize("case", KERAS["timeseries"], ids=lambda c: json.dumps(c["kwargs"]))
def test_timeseries_windows_as_keras(case):
    series, targets = np.array(KERAS["series"], np.float32), np.array(KERAS["targets"], np.float32)
    batches = lstm.utils.timeseries_dataset_from_array(series, targets, **case["kwargs"])
    assert [len(x) for x, _ in batches] == case["batch_sizes"]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), np.array(case["x"], np.float32))
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), np.array(case["y"], np.float32))
    whole_x, whole_y = lstm.utils.timeseries_dataset_from_array(series, targets, **dict(case["kwargs"], batch_size=None))
    np.testing.assert_array_equal(whole_x, np.array(case["x"], np.float32))


def test_shuffled_windows_are_the_same_windows_in_a_seeded_order():
    series = np.arange(30, dtype=np.float32)
    first = lstm.utils.timeseries_dataset_from_array(series, series, 3, batch_size=None, shuffle=True, seed=7)
    again = lstm.utils.timeseries_dataset_from_array(series, series, 3, batch_size=None, shuffle=True, seed=7)
    plain = lstm.utils.timeseries_dataset_from_array(series, series, 3, batch_size=None)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], plain[0])
    order = np.argsort(first[1])
    np.testing.assert_array_equal(first[0][order], plain[0])
    np.testing.assert_array_equal(first[0][:, 0], first[1])  # each window still starts at its target


def test_padded_token_ids_train_a_masked_classifier():
    sequences = [[3, 1, 4], [1, 5, 9, 2, 6], [5], [3, 5, 8, 9], [7, 9]] * 4
    x = lstm.utils.pad_sequences(sequences, maxlen=5)
    y = lstm.utils.to_categorical([len(s) % 2 for s in sequences], 2)[:, 1:]
    model = lstm.Sequential([lstm.Input(shape=(5,)), lstm.layers.Embedding(10, 4, mask_zero=True),
                             lstm.layers.LSTM(4), lstm.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y.astype(np.float32), epochs=30, batch_size=5, verbose=0).history["loss"]
    assert history[-1] < history[0]


@pytest.mark.parametrize("call, words", [
    (lambda: lstm.utils.pad_sequences([[1], [2]], padding="middle"), "Padding"),
    (lambda: lstm.utils.pad_sequences([[1], 2]), "non-iterable"),
    (lambda: lstm.utils.pad_sequences([[[1, 2]], [[1, 2, 3]]]), "Shape of sample"),
    (lambda: lstm.utils.to_categorical([0, 3], num_classes=2), "class ids"),
    (lambda: lstm.utils.timeseries_dataset_from_array(np.zeros(5), None, 2, sampling_rate=0), "sampling_rate"),
    (lambda: lstm.utils.timeseries_dataset_from_array(np.zeros(5), None, 2, end_index=9), "end_index"),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError, match=words):
        call()
