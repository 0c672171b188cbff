/* Data-parallel fit over MPI (run by Tests/MPI/test_mpi.sh under mpirun -np 2 and -np 3):
   - every rank ends with bit-identical weights;
   - the N-rank fit with batch b per rank equals one process fitting the same samples with
     batch N*b (rank 0 runs that reference itself), for Adam and SGD with momentum, with a
     validation split whose val_loss is the global one;
   - one rank's callback stopping (after an epoch, or at a batch) stops every rank together;
   - options that cannot be split over ranks are refused by name on every rank.
   Modes for the failure tests: --die (rank 1 kills itself during fit: mpirun must end the job),
   --stall (rank 1 stops itself: rank 0's sum must time out with a clear error).
   Tolerance of the equivalence: the same sums in another order. One process adds a batch's
   per-sample gradients in one pass; N ranks add their own rows, then MPI adds the N partial
   sums. float32 rounding (relative 6e-8 per addition) then differs by ~1e-7 relative per step;
   over 3 epochs of ~10 updates Adam's normalization keeps the weights within ~1e-6 of each
   other, so 2e-5 absolute on weights of size ~0.5 is a margin of 10, and losses agree to 1e-5
   relative. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lstm_mpi.h"

static int passed, failed, rank;
#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (cond) passed++;                                                           \
        else {                                                                        \
            failed++;                                                                 \
            fprintf(stderr, "FAIL rank %d line %d: %s: ", rank, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
        }                                                                             \
    } while (0)
#define MUST(call)                                                                    \
    do {                                                                              \
        lstm_status s_ = (call);                                                      \
        if (s_ != LSTM_OK) {                                                          \
            fprintf(stderr, "rank %d line %d: %s: %s: %s\n", rank, __LINE__, #call,   \
                    lstm_status_name(s_), lstm_last_error());                         \
            MPI_Abort(MPI_COMM_WORLD, 2);                                             \
        }                                                                             \
    } while (0)

enum { N = 103, T = 6, F = 2, EPOCHS = 3, B = 4 };

static const char *MODEL =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6, 2]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 8}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 1}}]}}";

static float x[N * T * F], y[N];
static const char *checkpoint; /* the failure modes: rank 0 saves the model here after each epoch */
static lstm_model *training;

static lstm_model *model(uint64_t seed, const char *optimizer) {
    lstm_model *m = NULL;
    MUST(lstm_model_from_json(MODEL, seed, &m));
    char compile[256];
    snprintf(compile, sizeof compile, "{\"optimizer\": %s, \"loss\": \"mse\", \"metrics\": [\"mae\"]}", optimizer);
    MUST(lstm_model_compile(m, compile));
    return m;
}

static float *weights(lstm_model *m, size_t *count) {
    MUST(lstm_model_param_count(m, count));
    float *w = malloc(*count * sizeof *w);
    MUST(lstm_model_get_weights(m, w, *count));
    return w;
}

/* Whether every rank holds exactly rank 0's weights. */
static int same_everywhere(lstm_mpi *mpi, lstm_model *m) {
    size_t n = 0;
    float *w = weights(m, &n), *root = malloc(n * sizeof *root);
    memcpy(root, w, n * sizeof *w);
    MPI_Bcast(root, (int)n, MPI_FLOAT, 0, mpi->comm);
    int same = memcmp(root, w, n * sizeof *w) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, mpi->comm);
    free(w);
    free(root);
    return all;
}

typedef struct { int stop_rank, stop_epoch, stop_batch; double val_loss[EPOCHS]; } callbacks;

static int on_epoch(void *user, size_t epoch, double loss, double val_loss) {
    callbacks *c = user;
    (void)loss;
    if (epoch < EPOCHS) c->val_loss[epoch] = val_loss;
    if (checkpoint && rank == 0 && lstm_model_save(training, checkpoint) != LSTM_OK)
        fprintf(stderr, "checkpoint: %s\n", lstm_last_error());
    if (getenv("TEST_MPI_DIE") && rank == 1 && epoch == 0) raise(SIGKILL);
    if (getenv("TEST_MPI_STALL") && rank == 1 && epoch == 0) raise(SIGSTOP);
    return c->stop_rank == rank && (int)epoch == c->stop_epoch;
}

static int on_batch(void *user, size_t epoch, size_t batch, size_t batches, double loss) {
    callbacks *c = user;
    (void)batches; (void)loss;
    return c->stop_rank == rank && c->stop_batch >= 0 && epoch == 0 && (int)batch == c->stop_batch;
}

/* The one-process reference on rank 0: the samples the ranks trained on, ordered so that its
   batches of size*B are the union of the ranks' batches (strided shards, no shuffle), and the
   union of the ranks' validation parts. */
static void reference(lstm_mpi *mpi, const char *optimizer, size_t *train_rows, float *want_w, double *want_loss,
                      double *want_val) {
    int p = mpi->size;
    size_t shard[16], train[16], total_train = 0, total_val = 0;
    for (int r = 0; r < p; r++) {
        shard[r] = N > r ? (size_t)(N - r + p - 1) / (size_t)p : 0;
        train[r] = (size_t)floor((double)shard[r] * (1 - 0.2));
        total_train += train[r];
        total_val += shard[r] - train[r];
    }
    float *rx = malloc(total_train * T * F * sizeof *rx), *ry = malloc(total_train * sizeof *ry);
    float *vx = malloc(total_val * T * F * sizeof *vx), *vy = malloc(total_val * sizeof *vy);
    size_t k = 0, v = 0;
    for (size_t batch = 0; k < total_train; batch++)
        for (int r = 0; r < p; r++)
            for (size_t j = batch * B; j < (batch + 1) * B && j < train[r]; j++, k++) {
                size_t i = j * (size_t)p + (size_t)r; /* rank r's local row j is sample i */
                memcpy(rx + k * T * F, x + i * T * F, T * F * sizeof *x);
                ry[k] = y[i];
            }
    for (int r = 0; r < p; r++)
        for (size_t j = train[r]; j < shard[r]; j++, v++) {
            size_t i = j * (size_t)p + (size_t)r;
            memcpy(vx + v * T * F, x + i * T * F, T * F * sizeof *x);
            vy[v] = y[i];
        }
    lstm_model *m = model(7, optimizer);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = EPOCHS;
    o.batch_size = (size_t)p * B;
    o.shuffle = 0;
    MUST(lstm_model_fit(m, rx, ry, total_train, T, &o, want_loss, EPOCHS, NULL));
    MUST(lstm_model_evaluate(m, vx, vy, total_val, T, want_val));
    size_t n = 0;
    float *w = weights(m, &n);
    memcpy(want_w, w, n * sizeof *w);
    *train_rows = total_train;
    free(w); free(rx); free(ry); free(vx); free(vy);
    lstm_model_free(m);
}

static void equivalence(lstm_mpi *mpi, const char *optimizer) {
    /* Different seeds on each rank, then rank 0's weights everywhere. */
    lstm_model *m = model(rank == 0 ? 7 : 1000 + (uint64_t)rank, optimizer);
    MUST(lstm_mpi_broadcast_weights(mpi, m));
    CHECK(same_everywhere(mpi, m), "broadcast: all ranks start from rank 0's weights");
    size_t local = lstm_mpi_shard_size(mpi, N);
    float *lx = malloc(local * T * F * sizeof *lx), *ly = malloc(local * sizeof *ly);
    lstm_mpi_shard(mpi, x, N, T * F, lx);
    lstm_mpi_shard(mpi, y, N, 1, ly);
    callbacks c = {-1, -1, -1, {0}};
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = EPOCHS;
    o.batch_size = B;
    o.shuffle = 0;
    o.validation_split = 0.2f;
    o.on_epoch = on_epoch;
    o.user = &c;
    o.reducer = &mpi->reducer;
    double history[EPOCHS];
    size_t run = 0;
    MUST(lstm_model_fit(m, lx, ly, local, T, &o, history, EPOCHS, &run));
    CHECK(run == EPOCHS, "%zu epochs", run);
    CHECK(same_everywhere(mpi, m), "%s: every rank holds the same weights after fit", optimizer);
    if (rank == 0) {
        size_t n = 0, rows = 0;
        float *got = weights(m, &n), *want = malloc(n * sizeof *want);
        double want_loss[EPOCHS], want_val = 0;
        reference(mpi, optimizer, &rows, want, want_loss, &want_val);
        double worst = 0, worst_loss = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
        for (int e = 0; e < EPOCHS; e++) worst_loss = fmax(worst_loss, fabs(history[e] - want_loss[e]) / want_loss[e]);
        CHECK(worst < 2e-5, "%s: weights differ from one process's by %.2e", optimizer, worst);
        CHECK(worst_loss < 1e-5, "%s: epoch losses differ by %.2e relative", optimizer, worst_loss);
        CHECK(fabs(c.val_loss[EPOCHS - 1] - want_val) < 1e-5 * want_val, "%s: val_loss %.8f vs one process's %.8f",
              optimizer, c.val_loss[EPOCHS - 1], want_val);
        CHECK(history[EPOCHS - 1] < history[0], "%s: the loss goes down", optimizer);
        printf("%d ranks, %s: %zu training samples in batches of %d x %d; weights within %.1e of one process "
               "with batch %d, epoch losses within %.1e relative, val_loss %.6f vs %.6f\n",
               mpi->size, optimizer, rows, mpi->size, B, worst, mpi->size * B, worst_loss, c.val_loss[EPOCHS - 1],
               want_val);
        free(got);
        free(want);
    }
    free(lx);
    free(ly);
    lstm_model_free(m);
}

/* One rank's callback asks to stop: every rank stops at the same point. */
static void stopping(lstm_mpi *mpi) {
    size_t local = lstm_mpi_shard_size(mpi, N);
    float *lx = malloc(local * T * F * sizeof *lx), *ly = malloc(local * sizeof *ly);
    lstm_mpi_shard(mpi, x, N, T * F, lx);
    lstm_mpi_shard(mpi, y, N, 1, ly);
    lstm_model *m = model(7, "\"adam\"");
    callbacks c = {mpi->size - 1, 1, -1, {0}};
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 5;
    o.batch_size = B;
    o.on_epoch = on_epoch;
    o.on_batch = on_batch;
    o.user = &c;
    o.reducer = &mpi->reducer;
    size_t run = 0;
    double history[5];
    MUST(lstm_model_fit(m, lx, ly, local, T, &o, history, 5, &run));
    CHECK(run == 2, "the last rank's epoch callback stops after epoch 2: %zu epochs on rank %d", run, rank);
    c.stop_epoch = -1;
    c.stop_rank = 0;
    c.stop_batch = 2;
    lstm_status s = lstm_model_fit(m, lx, ly, local, T, &o, history, 5, &run);
    CHECK(s == LSTM_ERROR_CANCELLED && strstr(lstm_last_error(), "worker's batch callback"),
          "rank 0's batch callback stops every rank: %s %s", lstm_status_name(s), lstm_last_error());
    CHECK(same_everywhere(mpi, m), "after the stop every rank holds the same weights");
    /* Refused by name, on every rank, before any rank waits for another. */
    o.steps_per_epoch = 2;
    s = lstm_model_fit(m, lx, ly, local, T, &o, history, 5, &run);
    CHECK(s == LSTM_ERROR_UNSUPPORTED && strstr(lstm_last_error(), "steps_per_epoch"), "%s", lstm_last_error());
    free(lx);
    free(ly);
    lstm_model_free(m);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    lstm_mpi mpi;
    if (lstm_mpi_init(&mpi, MPI_COMM_WORLD, 0) != MPI_SUCCESS) {
        fprintf(stderr, "%s\n", mpi.error);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    rank = mpi.rank;
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++) {
                float v = (float)sin(0.3 * i + 0.7 * t + 1.3 * f);
                x[(i * T + t) * F + f] = v;
                s += v * (f ? -0.5 : 1.0);
            }
        y[i] = (float)tanh(s / T);
    }
    if (getenv("TEST_MPI_DIE") || getenv("TEST_MPI_STALL")) {
        /* The failure modes: rank 0 saves a checkpoint, then trains until rank 1 goes away. */
        lstm_model *m = model(7, "\"adam\"");
        size_t local = lstm_mpi_shard_size(&mpi, N);
        float *lx = malloc(local * T * F * sizeof *lx), *ly = malloc(local * sizeof *ly);
        lstm_mpi_shard(&mpi, x, N, T * F, lx);
        lstm_mpi_shard(&mpi, y, N, 1, ly);
        checkpoint = argc > 1 ? argv[1] : NULL;
        training = m;
        callbacks c = {-1, -1, -1, {0}};
        lstm_fit_options o;
        lstm_fit_options_init(&o);
        o.epochs = 1000;
        o.batch_size = B;
        o.on_epoch = on_epoch;
        o.user = &c;
        o.reducer = &mpi.reducer;
        lstm_status s = lstm_model_fit(m, lx, ly, local, T, &o, NULL, 0, NULL);
        printf("rank %d: fit returned %s: %s\n", rank, lstm_status_name(s), lstm_last_error());
        fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    /* NULLs are refused, never dereferenced. */
    CHECK(lstm_mpi_init(NULL, MPI_COMM_WORLD, 0) == MPI_ERR_ARG, "init(NULL)");
    CHECK(lstm_mpi_broadcast_weights(NULL, NULL) == LSTM_ERROR_ARGUMENT, "broadcast(NULL)");
    CHECK(lstm_mpi_broadcast_weights(&mpi, NULL) == LSTM_ERROR_ARGUMENT, "broadcast(mpi, NULL)");
    CHECK(lstm_mpi_shard_size(NULL, N) == 0, "shard_size(NULL)");
    lstm_mpi_shard(NULL, x, N, 1, y);
    lstm_mpi_shard(&mpi, NULL, N, 1, y);
    lstm_mpi_free(NULL);
    equivalence(&mpi, "\"adam\"");
    equivalence(&mpi, "{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 0.05, \"momentum\": 0.9}}");
    stopping(&mpi);
    int all_failed = 0, all_passed = 0;
    MPI_Reduce(&failed, &all_failed, 1, MPI_INT, MPI_SUM, 0, mpi.comm);
    MPI_Reduce(&passed, &all_passed, 1, MPI_INT, MPI_SUM, 0, mpi.comm);
    if (rank == 0) printf("MPI (%d ranks): %d passed, %d failed\n", mpi.size, all_passed, all_failed);
    lstm_mpi_free(&mpi);
    MPI_Finalize();
    return all_failed == 0 ? 0 : 1;
}
