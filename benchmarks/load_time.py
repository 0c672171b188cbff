"""How long a model load takes from a Python host, alone, in a host holding 2 GB, and while
other threads load and save: the cost of reading model files inside someone else's process.

    LSTM_LIBRARY=build/liblstm.so PYTHONPATH=bindings/python python benchmarks/load_time.py

Compare two builds by running it with each LSTM_LIBRARY in turn (same machine, same minute).
"""
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

import lstm

here = os.path.dirname(os.path.abspath(__file__))
model_file = os.path.join(here, "..", "Tests", "Fixtures", "files", "keras3_sine.keras")
h5_file = os.path.join(here, "..", "Tests", "Fixtures", "files", "keras2_sine.h5")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def median_ms(path, n=40):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        lstm.load_model(path)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), max(times)


def concurrent(seconds_limit=120):
    """4 threads each loading 10 models while 2 threads save: the slowest single load."""
    model = lstm.load_model(model_file)
    out = tempfile.mkdtemp()
    worst = [0.0]
    stop = threading.Event()
    lock = threading.Lock()

    def loader():
        for _ in range(10):
            t = time.perf_counter()
            lstm.load_model(model_file)
            with lock:
                worst[0] = max(worst[0], time.perf_counter() - t)

    def saver(k):
        i = 0
        while not stop.is_set():
            model.save(os.path.join(out, f"s{k}_{i % 3}.keras"))
            i += 1

    savers = [threading.Thread(target=saver, args=(k,)) for k in range(2)]
    loaders = [threading.Thread(target=loader) for _ in range(4)]
    t0 = time.perf_counter()
    for t in savers + loaders:
        t.start()
    for t in loaders:
        t.join(seconds_limit)
    stop.set()
    for t in savers:
        t.join(seconds_limit)
    return time.perf_counter() - t0, worst[0] * 1e3


print(f"cpu: {cpu_model()}; kernel: {platform.release()}; library: {os.environ.get('LSTM_LIBRARY', 'default')}")
for label, path in [(".keras", model_file), (".h5", h5_file)]:
    med, worst = median_ms(path)
    print(f"load {label}: median {med:.2f} ms, worst {worst:.2f} ms")
ballast = np.ones(2 * 1024**3 // 8)  # 2 GB, touched: resident
for label, path in [(".keras", model_file), (".h5", h5_file)]:
    med, worst = median_ms(path)
    print(f"load {label}, host holding 2 GB more: median {med:.2f} ms, worst {worst:.2f} ms")
del ballast
total, worst = concurrent()
print(f"4 threads x 10 loads while 2 threads save: {total:.2f} s in all, slowest load {worst:.1f} ms")
