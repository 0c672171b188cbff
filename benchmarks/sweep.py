"""How cost grows: LSTM(units) -> Dense(1) over `steps` steps of 32 features, `batch` sequences,
forward and one training step, on liblstm (build/bench SWEEP), PyTorch and ONNX Runtime (forward
only: it does not train), on 1 and 2 threads. One parameter moves at a time around W4's point
(100 steps, 256 units, batch 64). Writes benchmarks/scaling.md (the table) and
benchmarks/scaling.svg (GFLOP/s against each parameter, the measured FMA peak drawn across).

    python benchmarks/sweep.py build/bench        (make bench-plot installs the peers and matplotlib)

The machine is shared and noisy: compare within one run only.
"""
import os
import subprocess
import sys

import numpy as np

from peers import OnnxGraphs, median_time, torch_recurrent, torch_train_step

BENCH = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench")
HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = 32
BASE = {"steps": 100, "units": 256, "batch": 64}
AXES = {"steps": [10, 30, 100, 300, 1000], "units": [16, 64, 256, 1024], "batch": [1, 8, 64, 256]}
THREADS = [1, 2]


def points():
    seen = []
    for axis, values in AXES.items():
        for v in values:
            p = dict(BASE, **{axis: v})
            if p not in seen:
                seen.append(p)
    return seen


def forward_flop(p):
    """2 x the multiply-adds of the forward products (bench.c's recurrent_flop)."""
    return 2.0 * p["batch"] * p["steps"] * (FEATURES + p["units"]) * 4 * p["units"]


def reps_for(p):
    """Fewer repetitions for the largest points (seconds each), more for the small ones."""
    return 3 if forward_flop(p) > 2e10 else 5 if forward_flop(p) > 2e9 else 20


def ours(p, threads):
    env = dict(os.environ, LSTM_NUM_THREADS=str(threads))
    out = subprocess.run([BENCH, "SWEEP", str(p["steps"]), str(p["units"]), str(p["batch"])],
                         capture_output=True, text=True, check=True, env=env).stdout.split()
    return float(out[1]), float(out[2])


def peak():
    out = subprocess.run([BENCH, "PEAK"], capture_output=True, text=True, check=True).stdout
    return {int(line.split()[1]): float(line.split()[2]) for line in out.splitlines() if line.startswith("PEAK ")}


def torch_point(p, threads):
    import torch
    torch.set_num_threads(threads)
    net = torch_recurrent(FEATURES, p["units"])
    x, y = torch.randn(p["batch"], p["steps"], FEATURES), torch.randn(p["batch"], 1)
    with torch.inference_mode():
        forward = median_time(lambda: net(x), reps_for(p), 1)
    return forward, median_time(torch_train_step(net, x, y), reps_for(p), 1)


def onnx_point(p, threads):
    s = OnnxGraphs(threads).recurrent(FEATURES, p["units"])
    x = np.random.default_rng(0).standard_normal((p["steps"], p["batch"], FEATURES)).astype(np.float32)
    return median_time(lambda: s.run(None, {"x": x}), reps_for(p), 1)


def measure():
    rows = []
    for p in points():
        for t in THREADS:
            row = dict(p, threads=t)
            row["ours_forward"], row["ours_train"] = ours(p, t)
            for name, fn in (("torch", torch_point), ("onnx", onnx_point)):
                try:
                    got = fn(p, t)
                except Exception as e:  # noqa: BLE001 - a missing peer leaves its columns empty
                    print(f"({name} at {p}, {t} threads: {type(e).__name__}: {e})")
                    continue
                if name == "torch":
                    row["torch_forward"], row["torch_train"] = got
                else:
                    row["onnx_forward"] = got
            rows.append(row)
            print(row, flush=True)
    return rows


def ms(v):
    return f"{v * 1e3:.3g}" if v is not None else "-"


def table(rows, fma):
    lines = ["| steps | units | batch | threads | forward: liblstm ms (GFLOP/s) | PyTorch ms | ONNX Runtime ms | "
             "train step: liblstm ms (GFLOP/s) | PyTorch ms |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = forward_flop(r)
        lines.append(f"| {r['steps']} | {r['units']} | {r['batch']} | {r['threads']} | "
                     f"{ms(r['ours_forward'])} ({f / r['ours_forward'] * 1e-9:.0f}) | {ms(r.get('torch_forward'))} | "
                     f"{ms(r.get('onnx_forward'))} | {ms(r['ours_train'])} ({3 * f / r['ours_train'] * 1e-9:.0f}) | "
                     f"{ms(r.get('torch_train'))} |")
    lines.append("")
    lines.append("Measured FMA peak: " + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.0f} GFLOP/s" for t, g in sorted(fma.items())) +
                 ". GFLOP/s counts the products' multiply-adds (x 2; training: 3 x the forward's).")
    return "\n".join(lines) + "\n"


def plot(rows, fma, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), sharey="row")
    styles = {"ours": ("liblstm", "C0"), "torch": ("PyTorch", "C1"), "onnx": ("ONNX Runtime", "C2")}
    for col, axis in enumerate(AXES):
        for row, mode in enumerate(("forward", "train")):
            ax = axes[row][col]
            for t in THREADS:
                sel = [r for r in rows if r["threads"] == t and all(r[k] == BASE[k] for k in BASE if k != axis)]
                sel.sort(key=lambda r: r[axis])
                for who, (label, color) in styles.items():
                    key = f"{who}_{mode}"
                    xs = [r[axis] for r in sel if r.get(key)]
                    ys = [(3 if mode == "train" else 1) * forward_flop(r) / r[key] * 1e-9 for r in sel if r.get(key)]
                    if xs:
                        ax.plot(xs, ys, marker="o", color=color, linestyle="-" if t == 2 else "--",
                                label=f"{label}, {t} thread{'s' if t > 1 else ''}")
            for t, g in fma.items():
                ax.axhline(g, color="grey", linewidth=0.8, linestyle="-" if t == 2 else "--")
            ax.set_xscale("log")
            ax.set_xlabel(axis + (" (others: " + ", ".join(f"{k} {v}" for k, v in BASE.items() if k != axis) + ")"))
            ax.set_title(f"{'forward' if mode == 'forward' else 'training step'} vs {axis}")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("GFLOP/s (forward)")
        axes[1][0].set_ylabel("GFLOP/s (training step)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("LSTM(units) -> Dense(1), 32 features: achieved GFLOP/s (grey: measured FMA peak, 1 and 2 threads)")
    fig.tight_layout()
    fig.savefig(path)


def main():
    fma = peak()
    rows = measure()
    with open(os.path.join(HERE, "scaling.md"), "w") as f:
        f.write(table(rows, fma))
    plot(rows, fma, os.path.join(HERE, "scaling.svg"))
    print(table(rows, fma))


if __name__ == "__main__":
    main()
