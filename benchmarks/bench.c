/*
 * liblstm benchmarks W1-W7 (benchmarks/README.md), through the public C API.
 *
 *   build/bench            full sizes; prints a table and one "RESULT name value unit [flop]"
 *                          line each (flop: the multiply-adds x 2 the workload needs, so that
 *                          time gives GFLOP/s), and "PEAK threads GFLOP/s" for this machine's
 *                          measured FMA peak
 *   build/bench --tiny     every workload once at a tiny size (CI runs this so it cannot rot)
 *   build/bench SWEEP steps units batch
 *                          one point of the scaling sweep (benchmarks/sweep.py)
 *   build/bench W4         one workload (W1 ... W7, PEAK, or W4_memory / W6_memory: peak memory
 *                          of training, which the full run measures in fresh processes)
 *
 * Times are medians of repeated runs, wall clock (CLOCK_MONOTONIC). Peak memory is the rise of
 * the process's resident set (VmHWM, reset through /proc/self/clear_refs) over what it held
 * before the first training step, so it counts what fit allocates and what it keeps.
 */
#include "lstm.h"
#include "sine_data.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int tiny;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check(lstm_status s, const char *what) {
    if (s != LSTM_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, lstm_status_name(s), lstm_last_error());
        exit(1);
    }
}

static lstm_model *compiled(const char *json, const char *compile, uint64_t seed) {
    lstm_model *m = NULL;
    check(lstm_model_from_json(json, seed, &m), "lstm_model_from_json");
    check(lstm_model_compile(m, compile), "compile");
    return m;
}

/* Sequential: input [steps (0: any), features] -> `layer` (a Keras layer's JSON) -> Dense(1). */
static lstm_model *recurrent_model(size_t steps, size_t features, const char *layer, uint64_t seed) {
    char json[1024];
    char t[32];
    if (steps) snprintf(t, sizeof t, "%zu", steps); else snprintf(t, sizeof t, "null");
    snprintf(json, sizeof json,
             "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %s, %zu]}},"
             "%s, {\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}",
             t, features, layer);
    return compiled(json, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}", seed);
}

static lstm_model *model(size_t steps, size_t features, size_t units, uint64_t seed) {
    char layer[96];
    snprintf(layer, sizeof layer, "{\"class_name\": \"LSTM\", \"config\": {\"units\": %zu}}", units);
    return recurrent_model(steps, features, layer, seed);
}

/* Floating-point operations (2 per multiply-add) of the matrix products of a recurrent layer's
   forward pass: every step multiplies [batch, features] and [batch, units] by weights of
   `gates` * units columns. Elementwise work is left out: it is a few percent. Training (forward,
   input and state gradients, weight gradients) is three times this. */
static double recurrent_flop(size_t batch, size_t steps, size_t features, size_t units, size_t gates) {
    return 2.0 * batch * steps * (features + units) * gates * units;
}

static double unit_seconds(const char *unit) {
    return strcmp(unit, "s") == 0 ? 1 : strcmp(unit, "ms") == 0 ? 1e-3 : strcmp(unit, "us") == 0 ? 1e-6 : 1e-9;
}

/* flop 0: not a product-bound workload (no GFLOP/s shown). */
static void result_flop(const char *name, double value, const char *unit, double flop, const char *what) {
    if (flop > 0) {
        char rate[160];
        snprintf(rate, sizeof rate, "%s; %.1f GFLOP/s", what, flop / (value * unit_seconds(unit)) * 1e-9);
        printf("%-28s %12.3f %-4s  %s\n", name, value, unit, rate);
        printf("RESULT %s %.6g %s %.6g\n", name, value, unit, flop);
    } else {
        printf("%-28s %12.3f %-4s  %s\n", name, value, unit, what);
        printf("RESULT %s %.6g %s\n", name, value, unit);
    }
}

static void result(const char *name, double value, const char *unit, const char *what) {
    result_flop(name, value, unit, 0, what);
}

static float *random_floats(size_t n, uint64_t seed) {
    float *v = malloc(n * sizeof *v);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) v[i] = (float)(2 * sine_uniform01(&s) - 1);
    return v;
}

/* kB in a /proc/self/status line ("VmHWM:   1234 kB"); 0 when absent. */
static double status_kb(const char *field) {
    char line[256];
    double kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0) kb = atof(line + strlen(field) + 1);
    if (f) fclose(f);
    return kb;
}

static double memory_base_kb;

/* Resets the peak resident set to the current one (Linux >= 4.0) and remembers it. */
static void peak_memory_start(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) { fputs("5", f); fclose(f); }
    memory_base_kb = status_kb("VmRSS:");
}

static double peak_memory_mb(void) { return (status_kb("VmHWM:") - memory_base_kb) / 1024; }

/* The machine's FMA peak, measured: independent multiply-add chains (enough to cover the FMA
   latency on both pipes) in the widest vectors the CPU has, on 1 and on 2 threads. */
#define FMA_CHAINS 12
#define FMA_ITERS 20000000L
/* Twelve named accumulators (an array would live in memory at -O2). */
#define FMA_BODY(V, SET1, FMADD, STORE, LANES)                                                  \
    V mul = SET1(0.999999f), add = SET1(1e-7f);                                              \
    V a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);     \
    V a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11); \
    for (long i = 0; i < FMA_ITERS; i++) {                                                     \
        a0 = FMADD(a0, mul, add); a1 = FMADD(a1, mul, add); a2 = FMADD(a2, mul, add);         \
        a3 = FMADD(a3, mul, add); a4 = FMADD(a4, mul, add); a5 = FMADD(a5, mul, add);         \
        a6 = FMADD(a6, mul, add); a7 = FMADD(a7, mul, add); a8 = FMADD(a8, mul, add);         \
        a9 = FMADD(a9, mul, add); a10 = FMADD(a10, mul, add); a11 = FMADD(a11, mul, add);     \
    }                                                                                          \
    float lanes[LANES];                                                                        \
    STORE(lanes, a0); float sum = lanes[0];                                                    \
    V all[11] = {a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};                                \
    for (int k = 0; k < 11; k++) { STORE(lanes, all[k]); sum += lanes[0]; }                    \
    return sum;
__attribute__((target("avx512f"))) static double fma_chains_512(void) {
    FMA_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16)
}
__attribute__((target("avx2,fma"))) static double fma_chains_256(void) {
    FMA_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8)
}
static int fma_lanes(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("fma") ? 8 : 0;
}
static volatile double fma_sink;
static void *fma_thread(void *arg) {
    (void)arg;
    fma_sink = fma_lanes() == 16 ? fma_chains_512() : fma_chains_256();
    return NULL;
}
static void fma_peak(void) {
    int lanes = fma_lanes();
    if (lanes == 0 || tiny) return;
    double per_thread = 2.0 * lanes * FMA_CHAINS * FMA_ITERS;
    for (int threads = 1; threads <= 2; threads++) {
        pthread_t th[2];
        double t0 = now();
        for (int k = 0; k < threads; k++) pthread_create(&th[k], NULL, fma_thread, NULL);
        for (int k = 0; k < threads; k++) pthread_join(th[k], NULL);
        double gflops = per_thread * threads / (now() - t0) * 1e-9;
        printf("%-28s %12.1f %-4s  %d-lane FMA chains on %d thread%s\n", threads == 1 ? "PEAK_fma_1_thread" : "PEAK_fma_2_threads",
               gflops, "GF/s", lanes, threads, threads == 1 ? "" : "s");
        printf("PEAK %d %.6g\n", threads, gflops);
    }
}

/* W1: the user's sine job, a full fit. */
static void w1(void) {
    int n = tiny ? 64 : 1000, epochs = tiny ? 1 : 20;
    float *x = malloc((size_t)n * 49 * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    uint64_t s = 42;
    sine_generate(x, y, n, &s);
    lstm_model *m = model(49, 1, 50, 1);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = (size_t)epochs;
    o.batch_size = 32;
    double hist[20];
    double t0 = now();
    check(lstm_model_fit(m, x, y, (size_t)n, 49, &o, hist, 20, NULL), "fit");
    double t = now() - t0;
    char what[128];
    snprintf(what, sizeof what, "sine fit, %d x 49 x 1, LSTM(50), %d epochs; final loss %.2e", n, epochs, hist[epochs - 1]);
    result("W1_fit", t, "s", what);
    printf("RESULT W1_final_loss %.6g loss\n", hist[epochs - 1]);
    lstm_model_free(m);
    free(x); free(y);
}

/* W2: one sequence, one prediction. W3: 1000 sequences in one call. */
static void w2_w3(void) {
    lstm_model *m = model(49, 1, 50, 2);
    int n3 = tiny ? 10 : 1000;
    float *x = random_floats((size_t)n3 * 49, 3), *y = malloc((size_t)n3 * sizeof *y);
    int reps = tiny ? 3 : 2000;
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_predict(m, x, 1, 49, y, 1), "predict");
        t[r] = now() - t0;
    }
    result("W2_predict_1", median(t, reps) * 1e6, "us", "batch 1 x 49 steps, LSTM(50) -> Dense(1)");
    reps = tiny ? 1 : 30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_predict(m, x, (size_t)n3, 49, y, (size_t)n3), "predict");
        t[r] = now() - t0;
    }
    result("W3_predict_1000", median(t, reps) * 1e3, "ms", "1000 x 49 steps in one predict call");
    lstm_model_free(m);
    free(x); free(y); free(t);
}

/* W4 and W7: a recurrent layer over 100 steps of 32 features, batch 64 -> Dense(1): forward
   (predict) and one training step (a fit of one batch), as "<name>_forward" and
   "<name>_train_step". */
static void forward_and_train(const char *name, const char *kind, size_t units, size_t gates, uint64_t seed) {
    size_t b = tiny ? 4 : 64, steps = tiny ? 5 : 100;
    units = tiny ? 8 : units;
    char layer[96], row[64], what[96];
    snprintf(layer, sizeof layer, "{\"class_name\": \"%s\", \"config\": {\"units\": %zu}}", kind, units);
    lstm_model *m = recurrent_model(steps, 32, layer, seed);
    float *x = random_floats(b * steps * 32, seed + 1), *y = random_floats(b, seed + 2);
    int reps = tiny ? 1 : 10;
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_predict(m, x, b, steps, y, b), "predict");
        t[r] = now() - t0;
    }
    double flop = recurrent_flop(b, steps, 32, units, gates);
    snprintf(row, sizeof row, "%s_forward", name);
    snprintf(what, sizeof what, "%s(%zu), 100 x 32, batch 64: forward", kind, units);
    result_flop(row, median(t, reps) * 1e3, "ms", flop, what);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = b;
    o.shuffle = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_fit(m, x, y, b, steps, &o, NULL, 0, NULL), "fit");
        t[r] = now() - t0;
    }
    snprintf(row, sizeof row, "%s_train_step", name);
    result_flop(row, median(t, reps) * 1e3, "ms", 3 * flop, "one training step (forward, backward, Adam)");
    lstm_model_free(m);
    free(x); free(y);
}

/* W6: a text classifier, Embedding(20000, 128) -> Bidirectional(LSTM(64)) -> Dense(1, sigmoid)
   over 200 tokens: fit of 100 steps of 32 reviews (an epoch of 25,000 reviews is 7.8 times
   that), and predict of 1000 reviews. */
#define W6_VOCAB 20000
static lstm_model *text_model(size_t steps, uint64_t seed) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %zu]}},"
             "{\"class_name\": \"Embedding\", \"config\": {\"input_dim\": %d, \"output_dim\": 128}},"
             "{\"class_name\": \"Bidirectional\", \"config\": {\"layer\": {\"class_name\": \"LSTM\", \"config\": {\"units\": 64}}}},"
             "{\"class_name\": \"Dense\", \"config\": {\"units\": 1, \"activation\": \"sigmoid\"}}]}}",
             steps, W6_VOCAB);
    return compiled(json, "{\"optimizer\": \"adam\", \"loss\": \"binary_crossentropy\"}", seed);
}

static void w6(void) {
    size_t steps = tiny ? 10 : 200, vocab = W6_VOCAB, fit_n = tiny ? 64 : 3200, predict_n = tiny ? 16 : 1000;
    lstm_model *m = text_model(steps, 11);
    size_t n = fit_n > predict_n ? fit_n : predict_n;
    float *x = malloc(n * steps * sizeof *x), *y = malloc(n * sizeof *y);
    uint64_t s = 12;
    for (size_t i = 0; i < n * steps; i++) x[i] = (float)(1 + (size_t)(sine_uniform01(&s) * (vocab - 1)));
    for (size_t i = 0; i < n; i++) y[i] = sine_uniform01(&s) < 0.5 ? 0.0f : 1.0f;
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = 32;
    check(lstm_model_fit(m, x, y, 64, steps, &o, NULL, 0, NULL), "fit"); /* warm-up: 2 steps */
    double t0 = now();
    check(lstm_model_fit(m, x, y, fit_n, steps, &o, NULL, 0, NULL), "fit");
    double fit = now() - t0;
    double batches = (double)((fit_n + 31) / 32);
    double step_flop = 2 * recurrent_flop(32, steps, 128, 64, 4);
    result_flop("W6_fit_100_steps", fit, "s", 3 * step_flop * batches,
                "Embedding(20000, 128) -> Bidirectional(LSTM(64)) -> Dense(1, sigmoid), 200 tokens: fit, 3200 reviews");
    int reps = tiny ? 1 : 5;
    double t[8];
    for (int r = 0; r < reps; r++) {
        t0 = now();
        check(lstm_model_predict(m, x, predict_n, steps, y, predict_n), "predict");
        t[r] = now() - t0;
    }
    result_flop("W6_predict_1000", median(t, reps) * 1e3, "ms", 2 * recurrent_flop(predict_n, steps, 128, 64, 4),
                "predict, 1000 reviews of 200 tokens");
    lstm_model_free(m);
    free(x); free(y);
}

/* Peak memory of training, each in a process of its own (what earlier workloads freed would
   otherwise hide in the allocator's pool): the model and data are made, then the peak resident
   set is reset and three training steps run. W4: batch 64 of LSTM(256); W6: three batches of 32
   reviews through the text classifier. */
static void train_memory(const char *which) {
    int w6 = strcmp(which, "W6") == 0;
    size_t b = tiny ? 4 : w6 ? 96 : 64, steps = tiny ? 5 : w6 ? 200 : 100;
    lstm_model *m;
    float *x = random_floats(b * steps * 32, 16), *y = random_floats(b, 17);
    if (w6) {
        m = text_model(steps, 18);
        uint64_t s = 19;
        for (size_t i = 0; i < b * steps; i++) x[i] = (float)(1 + (size_t)(sine_uniform01(&s) * (W6_VOCAB - 1)));
        for (size_t i = 0; i < b; i++) y[i] = y[i] < 0 ? 0.0f : 1.0f;
    } else {
        m = model(steps, 32, tiny ? 8 : 256, 4);
    }
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = w6 ? 32 : b;
    o.epochs = w6 ? 1 : 3;
    peak_memory_start();
    check(lstm_model_fit(m, x, y, b, steps, &o, NULL, 0, NULL), "fit");
    char name[64];
    snprintf(name, sizeof name, "%s_train_peak_memory", which);
    result(name, peak_memory_mb(), "MB", "resident memory three training steps added (peak), in a fresh process");
    lstm_model_free(m);
    free(x); free(y);
}

/* Median time of fn over at least 3 runs and about 0.3 s, after one warm-up run. */
static double timed(void (*fn)(void *), void *arg) {
    double t[64];
    int n = 0;
    fn(arg);
    double start = now();
    while (n < 64 && (n < 3 || now() - start < 0.3)) {
        double t0 = now();
        fn(arg);
        t[n++] = now() - t0;
    }
    return median(t, n);
}

struct sweep_point { lstm_model *m; float *x, *y; size_t batch, steps; };

static void sweep_forward(void *arg) {
    struct sweep_point *p = arg;
    check(lstm_model_predict(p->m, p->x, p->batch, p->steps, p->y, p->batch), "predict");
}

static void sweep_train(void *arg) {
    struct sweep_point *p = arg;
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = p->batch;
    o.shuffle = 0;
    check(lstm_model_fit(p->m, p->x, p->y, p->batch, p->steps, &o, NULL, 0, NULL), "fit");
}

/* One point of the scaling sweep (benchmarks/sweep.py): LSTM(units) -> Dense(1) over `steps`
   steps of 32 features, `batch` sequences; prints "SWEEP forward_s train_s flop" (flop: of the
   forward products). Threads: LSTM_NUM_THREADS. */
static void sweep(size_t steps, size_t units, size_t batch) {
    struct sweep_point p = {model(steps, 32, units, 21), random_floats(batch * steps * 32, 22), NULL, batch, steps};
    p.y = random_floats(batch, 23);
    double forward = timed(sweep_forward, &p), train = timed(sweep_train, &p);
    printf("SWEEP %.6g %.6g %.6g\n", forward, train, recurrent_flop(batch, steps, 32, units, 4));
    lstm_model_free(p.m);
    free(p.x); free(p.y);
}

/* Runs this program again for one workload (a fresh process); the child's lines are ours. */
static void in_fresh_process(const char *self, const char *workload) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' %s%s", self, tiny ? "--tiny " : "", workload);
    fflush(stdout);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s failed\n", cmd);
        exit(1);
    }
}

/* W5: streaming, ns per lstm_step. */
static void w5_one(size_t units, size_t features) {
    lstm_model *m = model(0, features, units, 7);
    lstm_state *s = NULL;
    check(lstm_state_new(m, &s), "state");
    float *x = random_floats(features, 8), y;
    int steps = tiny ? 10 : 200000, reps = tiny ? 1 : 5;
    double t[8];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int k = 0; k < steps; k++) check(lstm_step(m, s, x, &y, 1), "step");
        t[r] = (now() - t0) / steps;
    }
    char name[64], what[96];
    snprintf(name, sizeof name, "W5_step_H%zu_in%zu", units, features);
    snprintf(what, sizeof what, "lstm_step, LSTM(%zu) -> Dense(1), %zu inputs", units, features);
    result(name, median(t, reps) * 1e9, "ns", what);
    lstm_state_free(s);
    lstm_model_free(m);
    free(x);
}

/* The machine, as benchmark figures need it: the CPU model and kernel release, and the kernel
   build the library picks (LSTM_KERNELS, else the best this CPU's flags allow). */
static void print_machine(void) {
    char line[4096], model[256] = "unknown CPU";
    int avx2 = 0, avx512 = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
        }
        if (strncmp(line, "flags", 5) == 0) {
            avx2 = strstr(line, " avx2 ") && strstr(line, " fma ");
            avx512 = avx2 && strstr(line, " avx512f ") && strstr(line, " avx512bw ") && strstr(line, " avx512dq ") &&
                     strstr(line, " avx512vl ");
        }
    }
    if (f) fclose(f);
    char kernel[256] = "";
    FILE *v = fopen("/proc/sys/kernel/osrelease", "r");
    if (v && fgets(kernel, sizeof kernel, v)) kernel[strcspn(kernel, "\n")] = 0;
    if (v) fclose(v);
    const char *forced = getenv("LSTM_KERNELS");
    printf("CPU: %s (%s), Linux %s; kernels: %s\n", model, avx512 ? "AVX-512" : avx2 ? "AVX2 + FMA" : "baseline x86-64",
           kernel, forced ? forced : avx512 ? "avx512" : avx2 ? "avx2-fma" : "baseline");
}

int main(int argc, char **argv) {
    const char *only = NULL;
    if (argc == 5 && strcmp(argv[1], "SWEEP") == 0) {
        sweep((size_t)atol(argv[2]), (size_t)atol(argv[3]), (size_t)atol(argv[4]));
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tiny") == 0) tiny = 1;
        else only = argv[i];
    }
    int child = only && strstr(only, "_memory") != NULL;  /* a fresh process of the full run: no header */
    if (!child) {
        printf("liblstm %s benchmarks%s\n%-28s %12s %-4s  %s\n", lstm_version_string(), tiny ? " (tiny sizes)" : "",
               "workload", "time", "unit", "what");
        print_machine();
    }
    if (!only || strcmp(only, "PEAK") == 0) fma_peak();
    if (!only || strcmp(only, "W1") == 0) w1();
    if (!only || strcmp(only, "W2") == 0 || strcmp(only, "W3") == 0) w2_w3();
    if (!only || strcmp(only, "W4") == 0) forward_and_train("W4", "LSTM", 256, 4, 4);
    if (!only || strcmp(only, "W5") == 0) {
        size_t hs[5] = {8, 16, 32, 64, 128};
        for (int k = 0; k < 5; k++) w5_one(hs[k], hs[k]);
        w5_one(50, 1);
    }
    if (!only || strcmp(only, "W6") == 0) w6();
    if (!only || strcmp(only, "W7") == 0) forward_and_train("W7", "GRU", 128, 3, 13);
    if (only && strcmp(only, "W4_memory") == 0) train_memory("W4");
    if (only && strcmp(only, "W6_memory") == 0) train_memory("W6");
    if (!only) {
        in_fresh_process(argv[0], "W4_memory");
        in_fresh_process(argv[0], "W6_memory");
    }
    return 0;
}
