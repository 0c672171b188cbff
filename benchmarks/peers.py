"""W1-W5 on liblstm and, when installed, PyTorch, ONNX Runtime and Keras, in one run; prints one
table with each time and the ratio peer / liblstm (> 1: liblstm is faster).

    python benchmarks/peers.py build/bench        (make bench-peers installs the peers)

The machine is shared and noisy: compare within one run only.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench")
THREADS = 2


def median_time(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def sine_data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    starts = rng.random(n)
    seqs = np.sin(np.linspace(starts, starts + 2 * np.pi, 50, axis=1)).astype(np.float32)
    return seqs[:, :-1, None], seqs[:, -1:]


def ours():
    out = subprocess.run([BENCH], capture_output=True, text=True, check=True).stdout
    r = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, value, unit = line.split()
            scale = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "loss": 1}[unit]
            r[name] = float(value) * scale
    return r


def torch_results():
    import torch
    from torch import nn
    torch.set_num_threads(THREADS)

    class Net(nn.Module):
        def __init__(self, features, units):
            super().__init__()
            self.lstm = nn.LSTM(features, units, batch_first=True)
            self.dense = nn.Linear(units, 1)

        def forward(self, x):
            return self.dense(self.lstm(x)[0][:, -1])

    r = {}
    x, y = sine_data()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    net = Net(1, 50)
    opt = torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7)
    t0 = time.perf_counter()
    for _ in range(20):
        perm = torch.randperm(1000)
        for s in range(0, 1000, 32):
            idx = perm[s:s + 32]
            opt.zero_grad()
            loss = ((net(xt[idx]) - yt[idx]) ** 2).mean()
            loss.backward()
            opt.step()
    r["W1_fit"] = time.perf_counter() - t0
    # W4's model and data are made outside inference mode: the same weights then train below
    # (tensors made in inference mode cannot be saved for backward).
    big, xb = Net(32, 256).eval(), torch.randn(64, 100, 32)
    with torch.inference_mode():
        frozen = torch.jit.freeze(torch.jit.script(net.eval()))
        one = xt[:1]
        r["W2_predict_1"] = median_time(lambda: frozen(one), 500, 20)
        r["W3_predict_1000"] = median_time(lambda: frozen(xt), 20)
        r["W4_forward"] = median_time(lambda: big(xb), 5)
    big.train()
    opt = torch.optim.Adam(big.parameters())
    yb = torch.randn(64, 1)

    def step():
        opt.zero_grad()
        ((big(xb) - yb) ** 2).mean().backward()
        opt.step()
    r["W4_train_step"] = median_time(step, 5)
    return r


def onnx_results():
    """The same LSTM -> Dense graph built directly with onnx.helper (no exporter needed)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    r = {}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    rng = np.random.default_rng(0)

    def session(features, units):
        def const(name, shape):
            return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.uniform(-0.1, 0.1, shape).astype(np.float32).ravel())
        inits = [const("W", [1, 4 * units, features]), const("R", [1, 4 * units, units]), const("B", [1, 8 * units]),
                 const("Wd", [units, 1]), const("bd", [1]),
                 helper.make_tensor("axes", TensorProto.INT64, [1], [0])]
        nodes = [helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Yh"], hidden_size=units),
                 helper.make_node("Squeeze", ["Yh", "axes"], ["h"]),
                 helper.make_node("MatMul", ["h", "Wd"], ["hw"]),
                 helper.make_node("Add", ["hw", "bd"], ["y"])]
        graph = helper.make_graph(nodes, "lstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["t", "b", features])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 1])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    # ONNX Runtime's LSTM is time-major (layout 0): inputs are transposed once, outside the timing.
    s = session(1, 50)
    x, _ = sine_data()
    x = np.ascontiguousarray(x.transpose(1, 0, 2))
    one = np.ascontiguousarray(x[:, :1])
    r["W2_predict_1"] = median_time(lambda: s.run(None, {"x": one}), 500, 20)
    r["W3_predict_1000"] = median_time(lambda: s.run(None, {"x": x}), 20)
    s = session(32, 256)
    xb = rng.standard_normal((100, 64, 32)).astype(np.float32)
    r["W4_forward"] = median_time(lambda: s.run(None, {"x": xb}), 5)
    return r


def keras_results():
    import keras
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    r = {}
    x, y = sine_data()
    m = keras.Sequential([keras.Input(shape=(49, 1)), keras.layers.LSTM(50), keras.layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    t0 = time.perf_counter()
    h = m.fit(x, y, epochs=20, batch_size=32, verbose=0)
    r["W1_fit"] = time.perf_counter() - t0
    r["W1_final_loss"] = h.history["loss"][-1]
    one = x[:1]
    r["W2_predict_1"] = median_time(lambda: m(one, training=False), 200, 20)
    r["W3_predict_1000"] = median_time(lambda: m.predict(x, batch_size=1000, verbose=0), 10)
    big = keras.Sequential([keras.Input(shape=(100, 32)), keras.layers.LSTM(256), keras.layers.Dense(1)])
    big.compile(optimizer="adam", loss="mse")
    xb = np.random.default_rng(0).standard_normal((64, 100, 32)).astype(np.float32)
    yb = np.zeros((64, 1), np.float32)
    r["W4_forward"] = median_time(lambda: big(xb, training=False), 5)
    r["W4_train_step"] = median_time(lambda: big.train_on_batch(xb, yb), 5)
    return r


def main():
    results = {"liblstm": ours()}
    for name, fn in (("ONNX Runtime", onnx_results), ("Keras", keras_results), ("PyTorch", torch_results)):
        try:
            results[name] = fn()
        except ImportError as e:
            print(f"({name} not installed: {e})")
        except Exception as e:  # noqa: BLE001 - a peer failing must not hide the others
            print(f"({name} failed: {type(e).__name__}: {e})")
    rows = ["W1_fit", "W1_final_loss", "W2_predict_1", "W3_predict_1000", "W4_forward", "W4_train_step"] + \
        sorted(k for k in results["liblstm"] if k.startswith("W5"))
    peers = [p for p in results if p != "liblstm"]

    def fmt(name, v):
        if v is None:
            return "-"
        if name == "W1_final_loss":
            return f"{v:.2e}"
        for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
            if v >= scale or unit == "ns":
                return f"{v / scale:.3g} {unit}"

    header = f"{'workload':<22}{'liblstm':>12}" + "".join(f"{p:>14}{'ratio':>8}" for p in peers)
    print(header)
    for row in rows:
        ours_v = results["liblstm"].get(row)
        line = f"{row:<22}{fmt(row, ours_v):>12}"
        for p in peers:
            v = results[p].get(row)
            ratio = f"{v / ours_v:.2f}x" if v and ours_v and row != "W1_final_loss" else "-"
            line += f"{fmt(row, v):>14}{ratio:>8}"
        print(line)
    print("ratio = peer time / liblstm time: above 1, liblstm is faster.")


if __name__ == "__main__":
    main()
