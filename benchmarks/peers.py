"""W1-W7 on liblstm and, when installed, PyTorch, ONNX Runtime and Keras, in one run; prints one
table with each time, the ratio peer / liblstm (> 1: liblstm is faster), our GFLOP/s beside the
machine's measured FMA peak, and whether issue 13's goal for the row is met.

    python benchmarks/peers.py build/bench        (make bench-peers installs the peers)

The machine is shared and noisy: compare within one run only.
"""
import os
import subprocess
import sys
import time

import numpy as np

BENCH = sys.argv[1] if len(sys.argv) == 2 else os.path.join("build", "bench")
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


# Text-classifier data (W6): 200 tokens of a 20,000-word vocabulary, binary labels.
W6_STEPS, W6_VOCAB, W6_FIT_N, W6_PREDICT_N = 200, 20000, 3200, 1000


def text_data(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(1, W6_VOCAB, (n, W6_STEPS)), rng.integers(0, 2, (n, 1)).astype(np.float32)


def resident_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return float(line.split()[1])
    return 0.0


def peak_memory(fn):
    """MB by which the resident set's peak rose over its size before fn (VmHWM reset first)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = resident_kb("VmRSS:")
    fn()
    return (resident_kb("VmHWM:") - base) / 1024


def ours():
    """Our times (s), the work of each timed row (flop), and the measured FMA peak (GFLOP/s)."""
    out = subprocess.run([BENCH], capture_output=True, text=True, check=True).stdout
    r, flop, peak = {}, {}, {}
    print(out.splitlines()[2])  # the CPU model, kernel release and kernel build
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, value, unit, *work = line.split()
            scale = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "loss": 1, "MB": 1}[unit]
            r[name] = float(value) * scale
            if work:
                flop[name] = float(work[0])
        elif line.startswith("PEAK "):
            _, threads, gflops = line.split()
            peak[int(threads)] = float(gflops)
    return r, flop, peak


def torch_recurrent(features, units, cell="LSTM"):
    """An LSTM or GRU(units) -> Dense(1) on its last output, batch-first, in PyTorch."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = (nn.LSTM if cell == "LSTM" else nn.GRU)(features, units, batch_first=True)
            self.dense = nn.Linear(units, 1)

        def forward(self, x):
            return self.dense(self.rnn(x)[0][:, -1])
    return Net()


def torch_train_step(net, x, y):
    """One Adam step of the MSE of net(x) against y, as a function."""
    import torch
    opt = torch.optim.Adam(net.parameters())

    def step():
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
    return step


def torch_text_classifier():
    """W6 in PyTorch: the model and a fit(n) over the first n reviews in batches of 32."""
    import torch
    from torch import nn

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(W6_VOCAB, 128)
            self.lstm = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
            self.dense = nn.Linear(128, 1)

        def forward(self, x):
            h = self.lstm(self.embedding(x))[1][0]  # [2, batch, 64]: forward's and backward's last
            return torch.sigmoid(self.dense(torch.cat([h[0], h[1]], 1)))

    text = Text()
    opt = torch.optim.Adam(text.parameters(), lr=0.001, eps=1e-7)
    tx, ty = (torch.from_numpy(a) for a in text_data(W6_FIT_N))

    def fit(n):
        perm = torch.randperm(n)
        for s in range(0, n, 32):
            idx = perm[s:s + 32]
            opt.zero_grad()
            nn.functional.binary_cross_entropy(text(tx[idx]), ty[idx]).backward()
            opt.step()
    return text, fit


def torch_memory(which):
    """MB by which three training steps raise PyTorch's peak resident set (run in a fresh
    process, as bench does for ours): W4's LSTM(256) at batch 64, or W6 on three batches of 32."""
    import torch
    torch.set_num_threads(THREADS)
    if which == "W6":
        _, fit = torch_text_classifier()
        return peak_memory(lambda: fit(96))
    step = torch_train_step(torch_recurrent(32, 256), torch.randn(64, 100, 32), torch.randn(64, 1))
    return peak_memory(lambda: [step() for _ in range(3)])


def torch_memory_in_fresh_process(which):
    out = subprocess.run([sys.executable, __file__, "--torch-memory", which], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def torch_results():
    import torch
    torch.set_num_threads(THREADS)
    r = {}
    x, y = sine_data()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    net = torch_recurrent(1, 50)
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
    big, xb = torch_recurrent(32, 256).eval(), torch.randn(64, 100, 32)
    with torch.inference_mode():
        frozen = torch.jit.freeze(torch.jit.script(net.eval()))
        one = xt[:1]
        r["W2_predict_1"] = median_time(lambda: frozen(one), 500, 20)
        r["W3_predict_1000"] = median_time(lambda: frozen(xt), 20)
        r["W4_forward"] = median_time(lambda: big(xb), 5)
    big.train()
    yb = torch.randn(64, 1)
    r["W4_train_step"] = median_time(torch_train_step(big, xb, yb), 5)

    text, text_fit = torch_text_classifier()
    text_fit(64)
    t0 = time.perf_counter()
    text_fit(W6_FIT_N)
    r["W6_fit_100_steps"] = time.perf_counter() - t0
    tx = torch.from_numpy(text_data(W6_PREDICT_N)[0])
    with torch.inference_mode():
        r["W6_predict_1000"] = median_time(lambda: text(tx), 5, 1)

    for which in ("W4", "W6"):
        r[f"{which}_train_peak_memory"] = torch_memory_in_fresh_process(which)

    gru = torch_recurrent(32, 128, "GRU")
    with torch.inference_mode():
        r["W7_forward"] = median_time(lambda: gru(xb), 10)
    r["W7_train_step"] = median_time(torch_train_step(gru, xb, yb), 10)
    return r


class OnnxGraphs:
    """Graphs built directly with onnx.helper (no exporter needed), run on `threads` threads, their
    weights uniform in [-0.1, 0.1] from `seed`. ONNX Runtime's recurrent ops are time-major."""

    def __init__(self, threads, seed=0):
        import onnxruntime as ort
        self.ort = ort
        self.opts = ort.SessionOptions()
        self.opts.intra_op_num_threads = threads
        self.rng = np.random.default_rng(seed)

    def const(self, name, shape):
        from onnx import TensorProto, helper
        return helper.make_tensor(name, TensorProto.FLOAT, shape, self.rng.uniform(-0.1, 0.1, shape).astype(np.float32).ravel())

    def session(self, nodes, inits, x):
        from onnx import TensorProto, helper
        graph = helper.make_graph(nodes, "rnn", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 1])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        return self.ort.InferenceSession(model.SerializeToString(), self.opts, providers=["CPUExecutionProvider"])

    def recurrent(self, features, units, cell="LSTM"):
        """LSTM or GRU(units) -> Dense(1) on the last state; input [steps, batch, features]."""
        from onnx import TensorProto, helper
        gates = 4 if cell == "LSTM" else 3
        inits = [self.const("W", [1, gates * units, features]), self.const("R", [1, gates * units, units]),
                 self.const("B", [1, 2 * gates * units]), self.const("Wd", [units, 1]), self.const("bd", [1]),
                 helper.make_tensor("axes", TensorProto.INT64, [1], [0])]
        # linear_before_reset: Keras's GRU default (reset_after=True), and PyTorch's GRU.
        extra = {} if cell == "LSTM" else {"linear_before_reset": 1}
        nodes = [helper.make_node(cell, ["x", "W", "R", "B"], ["Y", "Yh"], hidden_size=units, **extra),
                 helper.make_node("Squeeze", ["Yh", "axes"], ["h"]),
                 helper.make_node("MatMul", ["h", "Wd"], ["hw"]),
                 helper.make_node("Add", ["hw", "bd"], ["y"])]
        return self.session(nodes, inits, helper.make_tensor_value_info("x", TensorProto.FLOAT, ["t", "b", features]))

    def text_classifier(self):
        """W6: Embedding(20000, 128) -> Bidirectional(LSTM(64)) -> Dense(1, sigmoid); token ids [batch, steps]."""
        from onnx import TensorProto, helper
        inits = [self.const("E", [W6_VOCAB, 128]), self.const("W", [2, 256, 128]), self.const("R", [2, 256, 64]),
                 self.const("B", [2, 512]), self.const("Wd", [128, 1]), self.const("bd", [1]),
                 helper.make_tensor("shape", TensorProto.INT64, [2], [0, 128])]
        nodes = [helper.make_node("Gather", ["E", "x"], ["e"]),  # [b, t, 128]
                 helper.make_node("Transpose", ["e"], ["et"], perm=[1, 0, 2]),
                 helper.make_node("LSTM", ["et", "W", "R", "B"], ["Y", "Yh"], hidden_size=64, direction="bidirectional"),
                 helper.make_node("Transpose", ["Yh"], ["hb"], perm=[1, 0, 2]),  # [b, 2, 64]
                 helper.make_node("Reshape", ["hb", "shape"], ["h"]),
                 helper.make_node("MatMul", ["h", "Wd"], ["hw"]),
                 helper.make_node("Add", ["hw", "bd"], ["z"]),
                 helper.make_node("Sigmoid", ["z"], ["y"])]
        return self.session(nodes, inits, helper.make_tensor_value_info("x", TensorProto.INT64, ["b", "t"]))


def onnx_results():
    r = {}
    graphs = OnnxGraphs(THREADS)
    rng = np.random.default_rng(0)
    # ONNX Runtime's LSTM is time-major (layout 0): inputs are transposed once, outside the timing.
    s = graphs.recurrent(1, 50)
    x, _ = sine_data()
    x = np.ascontiguousarray(x.transpose(1, 0, 2))
    one = np.ascontiguousarray(x[:, :1])
    r["W2_predict_1"] = median_time(lambda: s.run(None, {"x": one}), 500, 20)
    r["W3_predict_1000"] = median_time(lambda: s.run(None, {"x": x}), 20)
    s = graphs.recurrent(32, 256)
    xb = rng.standard_normal((100, 64, 32)).astype(np.float32)
    r["W4_forward"] = median_time(lambda: s.run(None, {"x": xb}), 5)
    tokens = text_data(W6_PREDICT_N)[0]
    s = graphs.text_classifier()
    r["W6_predict_1000"] = median_time(lambda: s.run(None, {"x": tokens}), 5, 1)
    s = graphs.recurrent(32, 128, "GRU")
    r["W7_forward"] = median_time(lambda: s.run(None, {"x": xb}), 10)
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
    text = keras.Sequential([keras.Input(shape=(W6_STEPS,)), keras.layers.Embedding(W6_VOCAB, 128),
                             keras.layers.Bidirectional(keras.layers.LSTM(64)), keras.layers.Dense(1, activation="sigmoid")])
    text.compile(optimizer="adam", loss="binary_crossentropy")
    tx, ty = text_data(W6_FIT_N)
    text.fit(tx[:64], ty[:64], batch_size=32, verbose=0)
    t0 = time.perf_counter()
    text.fit(tx, ty, batch_size=32, verbose=0)
    r["W6_fit_100_steps"] = time.perf_counter() - t0
    r["W6_predict_1000"] = median_time(lambda: text.predict(tx[:W6_PREDICT_N], batch_size=W6_PREDICT_N, verbose=0), 3, 1)
    gru = keras.Sequential([keras.Input(shape=(100, 32)), keras.layers.GRU(128), keras.layers.Dense(1)])
    gru.compile(optimizer="adam", loss="mse")
    r["W7_forward"] = median_time(lambda: gru(xb, training=False), 10)
    r["W7_train_step"] = median_time(lambda: gru.train_on_batch(xb, yb), 10)
    return r


# RTNeural's published streaming figures (i7-8700B, compile-time sizes), s per step.
RTNEURAL = {"W5_step_H16_in16": 320e-9, "W5_step_H32_in32": 884e-9, "W5_step_H64_in64": 3220e-9}


def goal(row, ours_v, results):
    """Issue 13's goal for a row and whether this run meets it ("" when the row has none)."""
    def best(*peers):
        times = [results[p][row] for p in peers if p in results and results[p].get(row)]
        return min(times) if times else None

    def check(text, ok):
        return f"{text}: {'met' if ok else 'NOT met'}" if ok is not None else f"{text}: no peer"
    faster = best("ONNX Runtime", "PyTorch")
    torch_v = best("PyTorch")
    if row == "W1_fit":
        keras_v = best("Keras")
        ok = None if keras_v is None or torch_v is None else keras_v >= 10 * ours_v and torch_v >= 4 * ours_v
        return check("<= 1/10 Keras, 1/4 PyTorch", ok)
    if row in ("W2_predict_1", "W3_predict_1000"):
        return check("<= 1/2 faster peer", None if faster is None else faster >= 2 * ours_v)
    if row in ("W4_forward", "W6_predict_1000", "W7_forward"):
        return check("<= faster peer", None if faster is None else faster >= ours_v)
    if row in ("W4_train_step", "W6_fit_100_steps", "W7_train_step"):
        return check("<= 2/3 PyTorch", None if torch_v is None else torch_v >= 1.5 * ours_v)
    if row.endswith("_peak_memory"):
        return check("<= PyTorch", None if torch_v is None else torch_v >= ours_v)
    if row in RTNEURAL:
        return check(f"<= RTNeural {RTNEURAL[row] * 1e9:.0f} ns", ours_v <= RTNEURAL[row])
    return ""


def main():
    mine, flop, peak = ours()
    results = {"liblstm": mine}
    for name, fn in (("ONNX Runtime", onnx_results), ("Keras", keras_results), ("PyTorch", torch_results)):
        try:
            results[name] = fn()
        except ImportError as e:
            print(f"({name} not installed: {e})")
        except Exception as e:  # noqa: BLE001 - a peer failing must not hide the others
            print(f"({name} failed: {type(e).__name__}: {e})")
    rows = ["W1_fit", "W1_final_loss", "W2_predict_1", "W3_predict_1000", "W4_forward", "W4_train_step",
            "W4_train_peak_memory"] + sorted((k for k in mine if k.startswith("W5")), key=lambda k: int(k.split("_H")[1].split("_")[0])) + \
        ["W6_fit_100_steps", "W6_train_peak_memory", "W6_predict_1000", "W7_forward", "W7_train_step"]
    peers = [p for p in results if p != "liblstm"]

    def fmt(name, v):
        if v is None:
            return "-"
        if name == "W1_final_loss":
            return f"{v:.2e}"
        if name.endswith("_peak_memory"):
            return f"{v:.0f} MB"
        for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
            if v >= scale or unit == "ns":
                return f"{v / scale:.3g} {unit}"

    header = f"{'workload':<22}{'liblstm':>10}{'GF/s':>7}" + "".join(f"{p:>14}{'ratio':>9}" for p in peers) + "  goal"
    print(header)
    met = missed = 0
    for row in rows:
        ours_v = mine.get(row)
        if ours_v is None:
            continue
        rate = f"{flop[row] / ours_v * 1e-9:.0f}" if row in flop else ""
        line = f"{row:<22}{fmt(row, ours_v):>10}{rate:>7}"
        for p in peers:
            v = results[p].get(row)
            ratio = f"{v / ours_v:.2f}x" if v and ours_v and row != "W1_final_loss" else "-"
            line += f"{fmt(row, v):>14}{ratio:>9}"
        g = goal(row, ours_v, results)
        met += g.endswith(": met")
        missed += g.endswith("NOT met")
        print(line + (f"  {g}" if g else ""))
    print("ratio = peer time / liblstm time: above 1, liblstm is faster. GF/s: our multiply-add rate in the products.")
    if peak:
        print("measured FMA peak: " + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.0f} GFLOP/s" for t, g in sorted(peak.items())))
    print(f"goals: {met} met, {missed} not met")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--torch-memory":
        print(torch_memory(sys.argv[2]))
    else:
        main()
