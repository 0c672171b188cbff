/*
 * lstm_mpi.h -- data-parallel training of liblstm models over MPI (liblstm_mpi.so).
 *
 * liblstm's fit takes a gradient reducer (lstm_gradient_reducer in lstm.h); this small library
 * is one over MPI, as Horovod's and PyTorch DDP's are: each process (an MPI rank) trains on its
 * shard of the data, and every step's gradients, losses and counts are summed over all ranks
 * with MPI_Allreduce (in place, MPI_FLOAT and MPI_DOUBLE), so every rank applies the same
 * update and holds the same weights. Run with mpirun:
 *
 *     mpirun -np 4 ./my_training_program
 *
 *     lstm_mpi mpi;
 *     lstm_mpi_init(&mpi, MPI_COMM_WORLD, 0);            (after MPI_Init)
 *     lstm_mpi_broadcast_weights(&mpi, model);            (rank 0's weights everywhere)
 *     size_t n_local = lstm_mpi_shard_size(&mpi, n);      (sample i goes to rank i % size)
 *     lstm_mpi_shard(&mpi, x, n, timesteps * features, x_local);
 *     lstm_mpi_shard(&mpi, y, n, outputs, y_local);
 *     opts.reducer = &mpi.reducer;
 *     lstm_model_fit(model, x_local, y_local, n_local, timesteps, &opts, ...);
 *     lstm_mpi_free(&mpi);
 *
 * batch_size is per rank: np ranks with batch_size b train as one process with np * b would.
 *
 * Failures: a sum that gets no answer from the other ranks within the timeout (a rank that
 * died, hangs or was stopped) fails, and fit returns LSTM_ERROR_IO naming the timeout. The
 * communicator is then unusable: end the job with MPI_Abort. (mpirun itself also ends the job
 * when one of its processes dies, usually within a second.)
 */
#ifndef LSTM_MPI_H
#define LSTM_MPI_H

#include <mpi.h>
#include <stddef.h>

#include "lstm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lstm_mpi {
    lstm_gradient_reducer reducer; /* pass &mpi.reducer as lstm_fit_options.reducer */
    MPI_Comm comm;                 /* a duplicate of the communicator given, errors returned */
    int rank, size;
    double timeout;                /* seconds a sum waits for the other ranks */
    char error[512];               /* why the last call failed */
} lstm_mpi;

/* Sets up `mpi` over `comm` (MPI must be initialized): duplicates comm (so that the library's
   collectives never mix with the program's) with MPI_ERRORS_RETURN, and fills the reducer.
   timeout_seconds <= 0 takes $LSTM_MPI_TIMEOUT, else 300. Collective: every rank calls it.
   Returns MPI_SUCCESS or an MPI error code (mpi->error says what failed; MPI_ERR_ARG for a NULL
   mpi). lstm_mpi_free(NULL) does nothing. */
LSTM_NODISCARD int lstm_mpi_init(lstm_mpi *mpi, MPI_Comm comm, double timeout_seconds);
/* Frees the duplicated communicator. Collective. */
void lstm_mpi_free(lstm_mpi *mpi);

/* Copies rank 0's weights to every rank, so that all start from the same model (fit checks
   that they do). Collective. Errors: ARGUMENT (mpi or m NULL), the lstm_status of getting or
   setting the weights, or LSTM_ERROR_IO when MPI fails (mpi->error). */
LSTM_NODISCARD lstm_status lstm_mpi_broadcast_weights(lstm_mpi *mpi, lstm_model *m);

/* Strided sharding: sample i of n goes to rank i % size. The samples this rank holds, and
   those rows (floats_per_sample floats each) copied from `all` into `out`. Over a shuffle-free
   fit, rank r's batch k then holds samples k*b*size + r, + r + size, ...: the union of the
   ranks' batches k is exactly batch k of one process with batch b * size. A NULL mpi holds
   nothing (0); lstm_mpi_shard copies nothing when a pointer is NULL. */
size_t lstm_mpi_shard_size(const lstm_mpi *mpi, size_t n);
void lstm_mpi_shard(const lstm_mpi *mpi, const float *all, size_t n, size_t floats_per_sample, float *out);

#ifdef __cplusplus
}
#endif

#endif /* LSTM_MPI_H */
