/*
 * liblstm benchmarks W1-W5 (benchmarks/README.md), through the public C API.
 *
 *   build/bench            full sizes; prints a table and one "RESULT name value unit" line each
 *   build/bench --tiny     every workload once at a tiny size (CI runs this so it cannot rot)
 *
 * Times are medians of repeated runs, wall clock (CLOCK_MONOTONIC).
 */
#include "lstm.h"
#include "sine_data.h"

#include <math.h>
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

static lstm_model *model(size_t steps, size_t features, size_t units, uint64_t seed) {
    char json[512];
    char t[32];
    if (steps) snprintf(t, sizeof t, "%zu", steps); else snprintf(t, sizeof t, "null");
    snprintf(json, sizeof json,
             "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %s, %zu]}},"
             "{\"class_name\": \"LSTM\", \"config\": {\"units\": %zu}}, {\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}",
             t, features, units);
    lstm_model *m = NULL;
    check(lstm_model_from_json(json, seed, &m), "lstm_model_from_json");
    check(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), "compile");
    return m;
}

static void result(const char *name, double value, const char *unit, const char *what) {
    printf("%-28s %12.3f %-4s  %s\n", name, value, unit, what);
    printf("RESULT %s %.6g %s\n", name, value, unit);
}

static float *random_floats(size_t n, uint64_t seed) {
    float *v = malloc(n * sizeof *v);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) v[i] = (float)(2 * sine_uniform01(&s) - 1);
    return v;
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

/* W4: LSTM(256) over 100 steps of 32 features, batch 64: forward, and one training step. */
static void w4(void) {
    size_t b = tiny ? 4 : 64, steps = tiny ? 5 : 100, units = tiny ? 8 : 256;
    lstm_model *m = model(steps, 32, units, 4);
    float *x = random_floats(b * steps * 32, 5), *y = random_floats(b, 6);
    int reps = tiny ? 1 : 10;
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_predict(m, x, b, steps, y, b), "predict");
        t[r] = now() - t0;
    }
    result("W4_forward", median(t, reps) * 1e3, "ms", "LSTM(256), 100 x 32, batch 64: forward");
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.batch_size = b;
    o.shuffle = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        check(lstm_model_fit(m, x, y, b, steps, &o, NULL, 0, NULL), "fit");
        t[r] = now() - t0;
    }
    result("W4_train_step", median(t, reps) * 1e3, "ms", "one training step (forward, backward, Adam)");
    lstm_model_free(m);
    free(x); free(y);
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
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tiny") == 0) tiny = 1;
        else only = argv[i];
    }
    printf("liblstm %s benchmarks%s\n%-28s %12s %-4s  %s\n", lstm_version_string(), tiny ? " (tiny sizes)" : "",
           "workload", "time", "unit", "what");
    print_machine();
    if (!only || strcmp(only, "W1") == 0) w1();
    if (!only || strcmp(only, "W2") == 0 || strcmp(only, "W3") == 0) w2_w3();
    if (!only || strcmp(only, "W4") == 0) w4();
    if (!only || strcmp(only, "W5") == 0) {
        size_t hs[5] = {8, 16, 32, 64, 128};
        for (int k = 0; k < 5; k++) w5_one(hs[k], hs[k]);
        w5_one(50, 1);
    }
    return 0;
}
