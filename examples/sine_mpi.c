/*
 * The user's sine job, data-parallel over MPI (liblstm_mpi): every rank generates the same
 * 1000 windows, keeps its shard (sample i on rank i % ranks), and trains LSTM(50) -> Dense(1)
 * with Adam and MSE for 20 epochs; the global batch is 32 as in the Keras script (32 / ranks
 * rows on each rank). Only rank 0 prints and saves.
 *
 *     mpirun -np 2 build/sine_mpi [epochs] [model.keras]
 *     mpirun -np 2 build/sine_mpi w4 [steps]    the W4-sized model instead: LSTM(256) over 100
 *                                               steps of 32 features, global batch 64, timed
 *
 * Build: make mpi (needs libopenmpi-dev).
 */
#include "lstm_mpi.h"
#include "sine_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 1000
#define GLOBAL_BATCH 32

static int rank;

static int fail(lstm_mpi *mpi, const char *what, lstm_status s) {
    fprintf(stderr, "rank %d: %s failed: %s: %s\n", rank, what, lstm_status_name(s), lstm_last_error());
    MPI_Abort(mpi->comm, 1);
    return 1;
}

struct progress { double last; size_t epochs, steps; };

/* Keras's verbose=2 line, from rank 0 only: the loss is already the global one. */
static int on_epoch(void *user, size_t epoch, double loss, double val_loss) {
    struct progress *p = user;
    double t = MPI_Wtime();
    (void)val_loss;
    if (rank == 0) {
        printf("Epoch %zu/%zu\n%zu/%zu - %.2fs - %.0fms/step - loss: %.4e\n", epoch + 1, p->epochs, p->steps, p->steps,
               t - p->last, (t - p->last) * 1000 / (double)p->steps, loss);
        fflush(stdout);
    }
    p->last = t;
    return 0;
}

/* W4's shapes, data-parallel: the time of a global step of 64 samples. */
static int w4(lstm_mpi *mpi, size_t steps) {
    const size_t T = 100, F = 32, global = 64, local = global / (size_t)mpi->size;
    const char *json =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"w4\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 100, 32]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 256}},"
        "{\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}";
    lstm_model *m = NULL;
    lstm_status s = lstm_model_from_json(json, 1, &m);
    if (s != LSTM_OK) return fail(mpi, "lstm_model_from_json", s);
    if ((s = lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}")) != LSTM_OK)
        return fail(mpi, "lstm_model_compile", s);
    float *x = malloc(local * steps * T * F * sizeof *x), *y = malloc(local * steps * sizeof *y);
    uint64_t state = 7 + (uint64_t)mpi->rank;
    for (size_t i = 0; i < local * steps * T * F; i++) x[i] = (float)(2 * sine_uniform01(&state) - 1);
    for (size_t i = 0; i < local * steps; i++) y[i] = (float)(2 * sine_uniform01(&state) - 1);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = local;
    o.epochs = 1;
    o.reducer = &mpi->reducer;
    /* One step first, outside the timing (thread start-up, first allocations). */
    if ((s = lstm_model_fit(m, x, y, local, T, &o, NULL, 0, NULL)) != LSTM_OK) return fail(mpi, "lstm_model_fit", s);
    MPI_Barrier(mpi->comm);
    double t0 = MPI_Wtime();
    if ((s = lstm_model_fit(m, x, y, local * steps, T, &o, NULL, 0, NULL)) != LSTM_OK)
        return fail(mpi, "lstm_model_fit", s);
    double t = (MPI_Wtime() - t0) / (double)steps;
    if (rank == 0)
        printf("W4 data-parallel: %d ranks x %zu samples = global batch %zu, %.1f ms per step (%zu steps)\n",
               mpi->size, local, global, t * 1e3, steps);
    free(x);
    free(y);
    lstm_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    lstm_mpi mpi;
    if (lstm_mpi_init(&mpi, MPI_COMM_WORLD, 0) != MPI_SUCCESS) {
        fprintf(stderr, "%s\n", mpi.error);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    rank = mpi.rank;
    if (lstm_version_number() != LSTM_VERSION_NUMBER) {
        fprintf(stderr, "built for liblstm %s, running %s\n", LSTM_VERSION_STRING, lstm_version_string());
        MPI_Abort(mpi.comm, 1);
    }
    if (argc > 1 && strcmp(argv[1], "w4") == 0) {
        int rc = w4(&mpi, argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 10);
        lstm_mpi_free(&mpi);
        MPI_Finalize();
        return rc;
    }
    size_t epochs = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20;
    if (epochs < 1) epochs = 20;
    const char *save = argc > 2 ? argv[2] : NULL;

    /* The same data on every rank (the same seed), then this rank's shard. */
    static float x[SAMPLES * SINE_STEPS], y[SAMPLES];
    uint64_t rng = 42;
    sine_generate(x, y, SAMPLES, &rng);
    size_t local = lstm_mpi_shard_size(&mpi, SAMPLES);
    float *lx = malloc(local * SINE_STEPS * sizeof *lx), *ly = malloc(local * sizeof *ly);
    lstm_mpi_shard(&mpi, x, SAMPLES, SINE_STEPS, lx);
    lstm_mpi_shard(&mpi, y, SAMPLES, 1, ly);

    const char *json = SINE_KERAS_JSON;
    lstm_model *model = NULL;
    lstm_status s = lstm_model_from_json(json, 42, &model);
    if (s != LSTM_OK) return fail(&mpi, "lstm_model_from_json", s);
    if ((s = lstm_model_compile(model, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}")) != LSTM_OK)
        return fail(&mpi, "lstm_model_compile", s);
    if ((s = lstm_mpi_broadcast_weights(&mpi, model)) != LSTM_OK) return fail(&mpi, "lstm_mpi_broadcast_weights", s);

    lstm_fit_options opts;
    lstm_fit_options_init(&opts);
    opts.epochs = epochs;
    /* Keras's global batch of 32, split over the ranks (rounded up when it does not divide). */
    opts.batch_size = (GLOBAL_BATCH + (size_t)mpi.size - 1) / (size_t)mpi.size;
    opts.seed = 42;
    opts.reducer = &mpi.reducer;
    struct progress p = {MPI_Wtime(), epochs, (SAMPLES + GLOBAL_BATCH - 1) / GLOBAL_BATCH};
    opts.on_epoch = on_epoch;
    opts.user = &p;
    double history[64];
    size_t run = 0;
    double t0 = MPI_Wtime();
    s = lstm_model_fit(model, lx, ly, local, SINE_STEPS, &opts, history, 64, &run);
    if (s != LSTM_OK) return fail(&mpi, "lstm_model_fit", s);
    double seconds = MPI_Wtime() - t0;

    if (rank == 0) {
        float test_seq[SINE_STEPS], predicted = 0;
        for (int i = 0; i < SINE_STEPS; i++) test_seq[i] = (float)sin(sine_linspace(0, 2 * SINE_PI, SINE_STEPS, i));
        if ((s = lstm_model_predict(model, test_seq, 1, SINE_STEPS, &predicted, 1)) != LSTM_OK)
            return fail(&mpi, "lstm_model_predict", s);
        static float xv[SAMPLES * SINE_STEPS], yv[SAMPLES];
        sine_generate(xv, yv, SAMPLES, &rng);
        double held_out = 0;
        if ((s = lstm_model_evaluate(model, xv, yv, SAMPLES, SINE_STEPS, &held_out)) != LSTM_OK)
            return fail(&mpi, "lstm_model_evaluate", s);
        printf("sine job on %d ranks (batch %zu per rank): %zu epochs in %.2f s, final training loss %.3e, "
               "held-out MSE %.3e, prediction %.4f\n",
               mpi.size, opts.batch_size, run, seconds, history[run - 1], held_out, predicted);
        if (save) {
            if ((s = lstm_model_save(model, save)) != LSTM_OK) return fail(&mpi, "lstm_model_save", s);
            printf("saved %s\n", save);
        }
    }
    free(lx);
    free(ly);
    lstm_model_free(model);
    lstm_mpi_free(&mpi);
    MPI_Finalize();
    return 0;
}
