"""fit(distributed=True) over mpi4py, run by Tests/MPI/test_mpi.sh under mpirun -np 2 and 3:
- every rank ends with the same weights, equal to one process fitting the same samples with
  batch size * ranks (rank 0 computes that reference), within float32 summation-order error
  (see Tests/MPI/test_mpi.c for the tolerance);
- the History (loss, metrics, val_loss) is the global one;
- EarlyStopping stops every rank at the same epoch; ModelCheckpoint writes on rank 0 only;
- the user's sine job trains to the one-process loss level.
Prints "python MPI (N ranks): P passed, F failed" on rank 0."""
import os
import sys
import tempfile

import numpy as np
from mpi4py import MPI

import lstm
from lstm import layers
from lstm.callbacks import EarlyStopping, ModelCheckpoint

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL rank {rank}: {what}", file=sys.stderr, flush=True)


def same_everywhere(model):
    w = np.concatenate([a.ravel() for a in model.get_weights()])
    root = comm.bcast(w if rank == 0 else None, root=0)
    return comm.allreduce(bool(np.array_equal(w, root)), op=MPI.LAND)


def build(seed):
    lstm.utils.set_random_seed(seed)
    m = lstm.Sequential([layers.Input(shape=(6, 2)), layers.LSTM(8), layers.Dense(1)])
    m.compile(optimizer=lstm.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return m


if os.environ.get("TEST_MPI_STALL"):
    # Rank 1 stops itself after its first epoch: rank 0's next sum must time out with a clear error.
    import signal
    from lstm.callbacks import LambdaCallback
    m = build(seed=1)
    stall = LambdaCallback(on_epoch_end=lambda epoch, logs: rank == 1 and os.kill(os.getpid(), signal.SIGSTOP))
    try:
        m.fit(np.zeros((40, 6, 2), np.float32), np.zeros((40, 1), np.float32), epochs=100, verbose=0,
              callbacks=[stall], distributed=True)
    except OSError as e:
        print(f"rank {rank}: fit raised {type(e).__name__}: {e}", flush=True)
    comm.Abort(3)

n, b, epochs = 101, 4, 3
i = np.arange(n)[:, None, None]
x = np.sin(0.3 * i + 0.7 * np.arange(6)[None, :, None] + 1.3 * np.arange(2)[None, None, :]).astype(np.float32)
y = np.tanh(x[:, :, 0].mean(axis=1) - 0.5 * x[:, :, 1].mean(axis=1)).astype(np.float32)[:, None]
xv, yv = x[::7] * 0.9, y[::7]

# 1. Equivalence with one process (shuffle off, validation data sharded as the training data).
model = build(seed=1 + rank)  # different weights everywhere: fit starts from rank 0's
history = model.fit(x, y, batch_size=b, epochs=epochs, shuffle=False, validation_data=(xv, yv), verbose=0,
                    distributed=True)
check(same_everywhere(model), "every rank holds the same weights")
if rank == 0:
    # The samples in the order whose batches of size * b are the union of the ranks' batches.
    shards = [np.arange(r, n, size) for r in range(size)]
    order = np.concatenate([s[k * b:(k + 1) * b] for k in range(-(-len(shards[0]) // b)) for s in shards])
    reference = build(seed=1)
    want = reference.fit(x[order], y[order], batch_size=size * b, epochs=epochs, shuffle=False,
                         validation_data=(xv, yv), verbose=0)
    worst = max(np.abs(g - w).max() for g, w in zip(model.get_weights(), reference.get_weights()))
    check(worst < 2e-5, f"weights within {worst:.1e} of one process's")
    for key in ("loss", "mae", "val_loss", "val_mae"):
        got, exp = np.array(history.history[key]), np.array(want.history[key])
        check(np.allclose(got, exp, rtol=1e-5, atol=1e-7), f"{key}: {got} vs one process's {exp}")
    print(f"python, {size} ranks: weights within {worst:.1e} of one process with batch {size * b}; "
          f"loss {history.history['loss'][-1]:.6f} vs {want.history['loss'][-1]:.6f}, "
          f"val_loss {history.history['val_loss'][-1]:.6f} vs {want.history['val_loss'][-1]:.6f}", flush=True)

# 2. EarlyStopping decides the same everywhere; ModelCheckpoint on rank 0 only.
folder = comm.bcast(tempfile.mkdtemp() if rank == 0 else None, root=0)
path = os.path.join(folder, f"rank{rank}.keras")
model = build(seed=3)
h = model.fit(x, y, batch_size=b, epochs=40, validation_data=(xv, yv), verbose=0, distributed=True,
              callbacks=[EarlyStopping(monitor="val_loss", patience=1, min_delta=1e-2),
                         ModelCheckpoint(path)])
ran = comm.allgather(len(h.history["loss"]))
check(len(set(ran)) == 1 and ran[0] < 40, f"EarlyStopping stopped every rank at the same epoch: {ran}")
comm.Barrier()
written = sorted(f for f in os.listdir(folder))
check(written == ["rank0.keras"], f"ModelCheckpoint wrote on rank 0 only: {written}")

# 3. The user's sine job, data-parallel: the global batch is Keras's 32.
rng = np.random.default_rng(42)
starts = rng.random(1000)
seq = np.sin(np.linspace(starts, starts + 2 * np.pi, 50).T).astype(np.float32)
sx, sy = seq[:, :-1, None], seq[:, -1:]
lstm.utils.set_random_seed(42)
sine = lstm.Sequential([layers.Input(shape=(49, 1)), layers.LSTM(50, activation="tanh"), layers.Dense(1)])
sine.compile(optimizer="adam", loss="mse")
h = sine.fit(sx, sy, epochs=20, batch_size=-(-32 // size), verbose=2 if os.environ.get("SHOW") else 0,
             distributed=True)
check(h.history["loss"][-1] < 1e-4, f"the sine job's final loss {h.history['loss'][-1]:.2e} is at Keras's level")
check(same_everywhere(sine), "sine: every rank holds the same weights")
if rank == 0:
    print(f"python, {size} ranks: sine job final loss {h.history['loss'][-1]:.3e}", flush=True)

# 4. A W4-sized model (LSTM(256) over 100 steps of 32 features): two global batches of 64, equal
# to one process's.
b4 = -(-64 // size)
rng4 = np.random.default_rng(4)
x4 = rng4.uniform(-1, 1, (2 * b4 * size, 100, 32)).astype(np.float32)
y4 = rng4.uniform(-1, 1, (2 * b4 * size, 1)).astype(np.float32)


def w4():
    lstm.utils.set_random_seed(4)
    m = lstm.Sequential([layers.Input(shape=(100, 32)), layers.LSTM(256), layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


big = w4()
h4 = big.fit(x4, y4, batch_size=b4, epochs=1, shuffle=False, verbose=0, distributed=True)
check(same_everywhere(big), "W4: every rank holds the same weights")
if rank == 0:
    order4 = np.concatenate([np.arange(r, len(x4), size)[k * b4:(k + 1) * b4] for k in range(2) for r in range(size)])
    ref4 = w4()
    want4 = ref4.fit(x4[order4], y4[order4], batch_size=b4 * size, epochs=1, shuffle=False, verbose=0)
    worst4 = max(np.abs(g - w).max() for g, w in zip(big.get_weights(), ref4.get_weights()))
    check(worst4 < 2e-5, f"W4: weights within {worst4:.1e} of one process's")
    check(abs(h4.history["loss"][0] - want4.history["loss"][0]) < 1e-5 * want4.history["loss"][0], "W4: the loss")
    print(f"python, {size} ranks: W4-sized LSTM(256), 2 global batches of {b4 * size}: weights within {worst4:.1e} "
          f"of one process's, loss {h4.history['loss'][0]:.6f} vs {want4.history['loss'][0]:.6f}", flush=True)

total = comm.reduce(np.array([passed, failed]), op=MPI.SUM, root=0)
if rank == 0:
    print(f"python MPI ({size} ranks): {total[0]} passed, {total[1]} failed", flush=True)
sys.exit(0 if comm.allreduce(failed) == 0 else 1)
