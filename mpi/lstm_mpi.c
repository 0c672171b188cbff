/* liblstm's gradient reducer over MPI: see lstm_mpi.h. */
#include "lstm_mpi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void describe(lstm_mpi *mpi, const char *what, int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(mpi->error, sizeof mpi->error, "%s failed on rank %d of %d: %s", what, mpi->rank, mpi->size, text);
}

/* Waits for the requests, driving MPI's progress, until they finish or the timeout passes. A
   rank that died or hangs never answers: without the timeout, every other rank would wait
   forever in the collective. */
static int wait_for(lstm_mpi *mpi, MPI_Request *requests, int count) {
    const double start = MPI_Wtime();
    for (long polls = 0;; polls++) {
        int done = 0;
        int rc = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) {
            describe(mpi, "MPI_Iallreduce", rc);
            return rc;
        }
        if (done) return MPI_SUCCESS;
        double waited = MPI_Wtime() - start;
        if (waited > mpi->timeout) {
            snprintf(mpi->error, sizeof mpi->error,
                     "rank %d of %d: no answer from the other ranks within %.0f s (a rank died, hangs or was "
                     "stopped); set LSTM_MPI_TIMEOUT to wait longer",
                     mpi->rank, mpi->size, mpi->timeout);
            return MPI_ERR_OTHER;
        }
        /* Spin for the first millisecond (a step's all-reduce usually takes microseconds),
           then give the core back between polls. */
        if (waited > 1e-3) {
            struct timespec pause = {0, polls < 10000 ? 50000 : 1000000};
            nanosleep(&pause, NULL);
        }
    }
}

static int sum(void *user, float *values, size_t n_values, double *stats, size_t n_stats) {
    lstm_mpi *mpi = user;
    if (n_values > INT_MAX || n_stats > INT_MAX) {
        snprintf(mpi->error, sizeof mpi->error, "%zu values are more than one MPI call carries (INT_MAX)",
                 n_values > n_stats ? n_values : n_stats);
        return MPI_ERR_COUNT;
    }
    MPI_Request requests[2];
    int count = 0, rc;
    if (n_values > 0) {
        rc = MPI_Iallreduce(MPI_IN_PLACE, values, (int)n_values, MPI_FLOAT, MPI_SUM, mpi->comm, &requests[count++]);
        if (rc != MPI_SUCCESS) { describe(mpi, "MPI_Iallreduce", rc); return rc; }
    }
    if (n_stats > 0) {
        rc = MPI_Iallreduce(MPI_IN_PLACE, stats, (int)n_stats, MPI_DOUBLE, MPI_SUM, mpi->comm, &requests[count++]);
        if (rc != MPI_SUCCESS) { describe(mpi, "MPI_Iallreduce", rc); return rc; }
    }
    return wait_for(mpi, requests, count);
}

static const char *last_error(void *user) { return ((lstm_mpi *)user)->error; }

int lstm_mpi_init(lstm_mpi *mpi, MPI_Comm comm, double timeout_seconds) {
    if (!mpi) return MPI_ERR_ARG;
    memset(mpi, 0, sizeof *mpi);
    mpi->comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &mpi->comm);
    if (rc != MPI_SUCCESS) { describe(mpi, "MPI_Comm_dup", rc); return rc; }
    MPI_Comm_set_errhandler(mpi->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(mpi->comm, &mpi->rank);
    MPI_Comm_size(mpi->comm, &mpi->size);
    const char *env = getenv("LSTM_MPI_TIMEOUT");
    mpi->timeout = timeout_seconds > 0 ? timeout_seconds : (env && atof(env) > 0 ? atof(env) : 300.0);
    mpi->reducer.struct_size = sizeof mpi->reducer;
    mpi->reducer.rank = (size_t)mpi->rank;
    mpi->reducer.workers = (size_t)mpi->size;
    mpi->reducer.sum = sum;
    mpi->reducer.last_error = last_error;
    mpi->reducer.user = mpi;
    return MPI_SUCCESS;
}

void lstm_mpi_free(lstm_mpi *mpi) {
    if (mpi && mpi->comm != MPI_COMM_NULL) MPI_Comm_free(&mpi->comm);
}

lstm_status lstm_mpi_broadcast_weights(lstm_mpi *mpi, lstm_model *m) {
    if (!mpi) return LSTM_ERROR_ARGUMENT;
    size_t count = 0;
    lstm_status s = lstm_model_param_count(m, &count);
    if (s != LSTM_OK) return s;
    if (count > INT_MAX) {
        snprintf(mpi->error, sizeof mpi->error, "%zu weights are more than one MPI_Bcast carries", count);
        return LSTM_ERROR_ARGUMENT;
    }
    float *w = malloc((count ? count : 1) * sizeof *w);
    if (!w) return LSTM_ERROR_MEMORY;
    s = mpi->rank == 0 ? lstm_model_get_weights(m, w, count) : LSTM_OK;
    /* Every rank takes part in the broadcast even when rank 0 failed: a flag goes first. */
    int ok = s == LSTM_OK;
    int rc = MPI_Bcast(&ok, 1, MPI_INT, 0, mpi->comm);
    if (rc == MPI_SUCCESS && ok) rc = MPI_Bcast(w, (int)count, MPI_FLOAT, 0, mpi->comm);
    if (rc != MPI_SUCCESS) {
        describe(mpi, "MPI_Bcast", rc);
        s = LSTM_ERROR_IO;
    } else if (!ok) {
        snprintf(mpi->error, sizeof mpi->error, "rank 0 could not read its weights");
        s = s != LSTM_OK ? s : LSTM_ERROR_STATE;
    } else if (mpi->rank != 0) {
        s = lstm_model_set_weights(m, w, count);
    }
    free(w);
    return s;
}

size_t lstm_mpi_shard_size(const lstm_mpi *mpi, size_t n) {
    if (!mpi || mpi->size < 1) return 0;
    size_t r = (size_t)mpi->rank, p = (size_t)mpi->size;
    return n > r ? (n - r + p - 1) / p : 0;
}

void lstm_mpi_shard(const lstm_mpi *mpi, const float *all, size_t n, size_t floats_per_sample, float *out) {
    if (!mpi || mpi->size < 1 || !all || !out) return;
    size_t k = 0;
    for (size_t i = (size_t)mpi->rank; i < n; i += (size_t)mpi->size, k++)
        memcpy(out + k * floats_per_sample, all + i * floats_per_sample, floats_per_sample * sizeof *out);
}
