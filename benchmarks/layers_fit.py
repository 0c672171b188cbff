"""Fit time of two models built from the layers around the recurrent ones, on liblstm and
Keras 3 in one run (the machine is shared and noisy: compare within a run only):

  cnn_lstm:    Conv1D(32, 3, relu) -> MaxPooling1D(2) -> LSTM(50) -> Dense(1)
  regularised: LSTM(50, return_sequences, dropout=0.2, recurrent_dropout=0.2) -> Dropout(0.3)
               -> LSTM(50) -> BatchNormalization -> Dense(1)

on the user's 1000 sine windows (49 steps), Adam, MSE, batch 32, 5 epochs.

    build/keras-venv/bin/python benchmarks/layers_fit.py     (after make test-keras)
"""
import os
import platform
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def sine_data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    starts = rng.random(n)
    seqs = np.sin(np.linspace(starts, starts + 2 * np.pi, 50, axis=1)).astype(np.float32)
    return seqs[:, :-1, None], seqs[:, -1:]


def build(api, name):
    L = api.layers
    if name == "cnn_lstm":
        layers = [L.Conv1D(32, 3, activation="relu"), L.MaxPooling1D(2), L.LSTM(50), L.Dense(1)]
    else:
        layers = [L.LSTM(50, return_sequences=True, dropout=0.2, recurrent_dropout=0.2), L.Dropout(0.3),
                  L.LSTM(50), L.BatchNormalization(), L.Dense(1)]
    model = api.Sequential([api.Input(shape=(49, 1))] + layers)
    model.compile(optimizer="adam", loss="mse")
    return model


def timed_fit(api, name, x, y, epochs=5):
    model = build(api, name)
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)  # warm-up (Keras traces its graph)
    t = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return time.perf_counter() - t, history.history["loss"][-1]


def main():
    import keras
    import lstm
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), platform.processor())
    print(f"CPU: {cpu}, {os.cpu_count()} cores; kernel {platform.release()}; Keras {keras.__version__}, liblstm {lstm.__version__}")
    x, y = sine_data()
    print(f"{'model':<12} {'liblstm':>10} {'Keras 3':>10} {'Keras / liblstm':>16}   final losses")
    for name in ("cnn_lstm", "regularised"):
        ours, our_loss = timed_fit(lstm, name, x, y)
        theirs, their_loss = timed_fit(keras, name, x, y)
        print(f"{name:<12} {ours:>9.2f}s {theirs:>9.2f}s {theirs / ours:>15.2f}x   {our_loss:.2e} / {their_loss:.2e}")


if __name__ == "__main__":
    main()
