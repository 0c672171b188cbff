"""Data-parallel fit over MPI, through mpi4py, as Horovod and PyTorch's DDP do it.

    # train.py, run with: mpirun -np 4 python train.py
    model.fit(x, y, epochs=20, batch_size=32, distributed=True)

Every process (an MPI rank) runs the same script on the same data; `fit(..., distributed=True)`
(or `distributed=MPIStrategy(comm)`) then:
- copies rank 0's weights to every rank;
- gives each rank its shard: sample i goes to rank i % size (the validation split is made
  before, on the whole data, and sharded the same way);
- trains with `batch_size` samples per rank, summing every step's gradients, losses and metric
  sums over the ranks (the library's gradient reducer, lstm_fit_options.reducer, over
  mpi4py's Iallreduce), so that each update is the one a single process would make on the
  union of the ranks' batches and every rank holds the same weights;
- logs the global loss and metrics; only rank 0 prints the progress log and runs
  ModelCheckpoint, CSVLogger and BackupAndRestore; the others run every other callback, and
  EarlyStopping decides the same everywhere since the logs are the same;
- validation: each rank evaluates its shard, and the values are averaged weighted by the
  shards' sizes (exact for the loss and the mean metrics; root_mean_squared_error is averaged
  as the other means are).

A rank that gets no answer from the others within the timeout ($LSTM_MPI_TIMEOUT, 300 s)
raises OSError; mpirun itself ends the job when one of its processes dies.
"""
import ctypes
import os
import time

import numpy as np

from . import _lib

__all__ = ["MPIStrategy"]

# The callbacks that write files or print: rank 0's alone.
_ROOT_ONLY = ("ModelCheckpoint", "CSVLogger", "BackupAndRestore", "ProgbarLogger", "TensorBoard")


class MPIStrategy:
    """Data-parallel training over an MPI communicator (MPI.COMM_WORLD by default)."""

    def __init__(self, comm=None, timeout=None):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError("distributed fit needs mpi4py (pip install mpi4py, with an MPI library such as "
                              "Debian's libopenmpi-dev installed)") from e
        self._mpi = MPI
        # A duplicate, so that the library's collectives never mix with the program's.
        self.comm = (comm if comm is not None else MPI.COMM_WORLD).Dup()
        self.comm.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = float(timeout if timeout is not None else os.environ.get("LSTM_MPI_TIMEOUT", 300))
        self._error = ctypes.create_string_buffer(512)
        self._sum_callback = _lib.SUM_CALLBACK(self._sum)
        self._error_callback = _lib.ERROR_CALLBACK(lambda _user: ctypes.addressof(self._error))
        self.reducer = _lib.GradientReducer(struct_size=ctypes.sizeof(_lib.GradientReducer), rank=self.rank,
                                            workers=self.size, sum=self._sum_callback,
                                            last_error=self._error_callback, user=None)

    @property
    def is_root(self):
        return self.rank == 0

    def _sum(self, _user, values, n, stats, m):
        """The library's sum: in place over the ranks, within the timeout; 0 on success."""
        MPI = self._mpi
        try:
            requests = []
            if n:
                a = np.ctypeslib.as_array(values, shape=(n,))
                requests.append(self.comm.Iallreduce(MPI.IN_PLACE, [a, MPI.FLOAT], op=MPI.SUM))
            if m:
                b = np.ctypeslib.as_array(stats, shape=(m,))
                requests.append(self.comm.Iallreduce(MPI.IN_PLACE, [b, MPI.DOUBLE], op=MPI.SUM))
            start = time.monotonic()
            while not MPI.Request.Testall(requests):
                waited = time.monotonic() - start
                if waited > self.timeout:
                    raise TimeoutError(f"rank {self.rank} of {self.size}: no answer from the other ranks within "
                                       f"{self.timeout:.0f} s (a rank died, hangs or was stopped); set "
                                       "LSTM_MPI_TIMEOUT to wait longer")
                if waited > 1e-3:
                    time.sleep(5e-5)
            return 0
        except BaseException as e:  # noqa: BLE001 - reported through last_error; fit raises OSError
            self._error.value = str(e).encode("utf-8", "replace")[:511]
            return 1

    def shard(self, a):
        """This rank's samples of `a` (sample i on rank i % size), or None for None."""
        return None if a is None else np.ascontiguousarray(np.asarray(a)[self.rank::self.size])

    def broadcast_weights(self, model):
        """Rank 0's weights on every rank."""
        model.set_weights(self.comm.bcast(model.get_weights() if self.is_root else None, root=0))

    def mean_logs(self, logs, count):
        """Logs of `count` samples on each rank, averaged over the ranks weighted by count."""
        keys = sorted(logs)
        values = np.array([logs[k] * count for k in keys] + [count], dtype=np.float64)
        self.comm.Allreduce(self._mpi.IN_PLACE, values, op=self._mpi.SUM)
        return {k: float(values[i] / max(values[-1], 1)) for i, k in enumerate(keys)}

    def batches(self, n, batch_size):
        """The batches each rank runs per epoch (n: this rank's samples): the largest shard's."""
        return self.comm.allreduce(-(-n // batch_size), op=self._mpi.MAX)


def strategy_for(distributed):
    """fit's `distributed` argument: None/False, True (MPI.COMM_WORLD) or an MPIStrategy."""
    if distributed is None or distributed is False:
        return None
    if distributed is True:
        return MPIStrategy()
    if isinstance(distributed, MPIStrategy):
        return distributed
    raise ValueError(f"fit: distributed must be True, False or an lstm.distributed.MPIStrategy, got {distributed!r}")


def prepare(strategy, model, train, validation, verbose, callbacks):
    """What a distributed fit changes before the library's fit: rank 0's weights everywhere,
    this rank's shard of every training and validation array, the progress log and the file
    writers on rank 0 only. Returns (train, validation, verbose, callbacks)."""
    strategy.broadcast_weights(model)
    train = [strategy.shard(a) for a in train]
    validation = None if validation is None else [strategy.shard(a) for a in validation]
    if not strategy.is_root:
        verbose = 0
        callbacks = [cb for cb in (callbacks or []) if type(cb).__name__ not in _ROOT_ONLY]
    return train, validation, verbose, callbacks
