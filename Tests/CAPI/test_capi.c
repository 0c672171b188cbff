/*
 * Tests of liblstm through its C API, as a C program sees it: every exported function with
 * NULL pointers, zero and wrong sizes, bad JSON and bad data (each must return its documented
 * status and a message, never crash), thread-local errors, concurrent use, streaming, and the
 * user's sine job trained to Keras's loss level.
 */
#include "lstm.h"
#include "sine_data.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) { passed++; }                                                \
        else {                                                                 \
            failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

/* A call must fail with `want` and leave a message. */
#define EXPECT_STATUS(call, want)                                                          \
    do {                                                                                   \
        lstm_status got_ = (call);                                                         \
        CHECK(got_ == (want) && (want == LSTM_OK) == (lstm_last_error()[0] == '\0'),       \
              "%s returned %s (message \"%s\"), expected %s", #call, lstm_status_name(got_), \
              lstm_last_error(), lstm_status_name(want));                                  \
    } while (0)

/* A call whose success the test relies on (without counting it as a check): a failure is one. */
#define EXPECT_OK(call)                                                                       \
    do {                                                                                      \
        lstm_status ok_ = (call);                                                             \
        if (ok_ != LSTM_OK) {                                                                 \
            failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call,     \
                    lstm_status_name(ok_), lstm_last_error());                                \
        }                                                                                     \
    } while (0)

/* The message must mention `text`. */
#define EXPECT_MESSAGE(text) \
    CHECK(strstr(lstm_last_error(), text) != NULL, "message \"%s\" lacks \"%s\"", lstm_last_error(), text)

static const char *SINE_JSON =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 50, \"activation\": \"tanh\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}";

/* Any length, stacked, returns sequences: for streaming. */
static const char *STACKED_JSON =
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, null, 3]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 8, \"return_sequences\": true}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 6, \"return_sequences\": true}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 2, \"activation\": \"tanh\"}}]}}";

#define PI SINE_PI

/* ------------------------------------------------------------------------------------------ */

static void test_version_and_status_names(void) {
    CHECK(lstm_version_number() == LSTM_VERSION_NUMBER, "version %u vs %d", lstm_version_number(), LSTM_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LSTM_VERSION_MAJOR, LSTM_VERSION_MINOR, LSTM_VERSION_PATCH);
    CHECK(strcmp(lstm_version_string(), want) == 0, "version string %s", lstm_version_string());
    CHECK(strcmp(lstm_status_name(LSTM_OK), "LSTM_OK") == 0, "%s", lstm_status_name(LSTM_OK));
    CHECK(strcmp(lstm_status_name(LSTM_ERROR_SHAPE), "LSTM_ERROR_SHAPE") == 0, "%s", lstm_status_name(LSTM_ERROR_SHAPE));
    CHECK(strcmp(lstm_status_name(LSTM_ERROR_INTERNAL), "LSTM_ERROR_INTERNAL") == 0, "internal");
    CHECK(strcmp(lstm_status_name((lstm_status)999), "LSTM_ERROR_UNKNOWN") == 0, "%s", lstm_status_name((lstm_status)999));
    CHECK(lstm_last_error() != NULL, "last_error is never NULL");
}

/* Writes `text` as the whole file at `path`. */
static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot create %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static lstm_model *make(const char *json, uint64_t seed) {
    lstm_model *m = NULL;
    lstm_status s = lstm_model_from_json(json, seed, &m);
    if (s != LSTM_OK) {
        fprintf(stderr, "cannot build model: %s\n", lstm_last_error());
        exit(1);
    }
    return m;
}

static void test_null_arguments(void) {
    lstm_model *m = make(SINE_JSON, 1);
    lstm_model *out = NULL;
    lstm_state *st = NULL;
    float x[49] = {0}, y[1] = {0};
    size_t n = 0;
    double d = 0;
    char buf[8];
    lstm_fit_options o;
    lstm_fit_options_init(&o);

    EXPECT_STATUS(lstm_model_from_json(NULL, 0, &out), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("keras_json");
    EXPECT_STATUS(lstm_model_from_json(SINE_JSON, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load(NULL, &out), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_to_json(NULL, buf, sizeof buf, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_to_json(m, buf, sizeof buf, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_to_json(m, NULL, 5, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_shape(NULL, &n, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_size(NULL, 49, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_size(m, 49, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_weights(NULL, "w.h5"), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_weights(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_save_weights(NULL, "w.h5"), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_save_weights(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_save(NULL, "m.keras"), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_save(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_export_onnx(NULL, "m.onnx"), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_export_onnx(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_param_count(NULL, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_param_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_get_weights(NULL, x, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_get_weights(m, NULL, 10451), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_set_weights(NULL, x, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_set_weights(m, NULL, 10451), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(NULL, x, 1, 49, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(m, NULL, 1, 49, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("x is NULL");
    EXPECT_STATUS(lstm_model_predict(m, x, 1, 49, NULL, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_new(NULL, &st), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_new(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_reset(NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_step(NULL, NULL, x, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_compile(NULL, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_compile(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_learning_rate(NULL, &d), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_learning_rate(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_learning_rate(m, &d), LSTM_ERROR_STATE);
    EXPECT_STATUS(lstm_model_set_learning_rate(NULL, 0.1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_release_training_memory(NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_OK(lstm_model_release_training_memory(m));  /* nothing kept yet */
    EXPECT_STATUS(lstm_model_set_learning_rate(m, 0.1), LSTM_ERROR_STATE);
    EXPECT_STATUS(lstm_model_fit(NULL, x, y, 1, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_fit(m, NULL, y, 1, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_fit(m, x, NULL, 1, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate(NULL, x, y, 1, 49, &d), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, 1, 49, NULL), LSTM_ERROR_ARGUMENT);
    /* Freeing NULL does nothing; init of NULL does nothing. */
    lstm_model_free(NULL);
    lstm_state_free(NULL);
    lstm_fit_options_init(NULL);
    size_t shape[2];
    EXPECT_STATUS(lstm_model_weight_count(NULL, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_info(NULL, 0, buf, sizeof buf, &n, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_info(m, 0, NULL, 5, &n, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_info(m, 0, buf, sizeof buf, NULL, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_info(m, 0, buf, sizeof buf, &n, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_weight_info(m, 5, buf, sizeof buf, &n, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("out of range");
    EXPECT_STATUS(lstm_model_weight_info(m, (size_t)-1, buf, sizeof buf, &n, shape), LSTM_ERROR_ARGUMENT);
    /* A successful call clears the message. */
    EXPECT_STATUS(lstm_model_param_count(m, &n), LSTM_OK);
    CHECK(n == 49 * 0 + 1 * 200 + 50 * 200 + 200 + 50 + 1, "sine model has %zu params, Keras says 10451", n);
    lstm_model_free(m);
}

static void test_bad_json(void) {
    lstm_model *m = NULL;
    EXPECT_STATUS(lstm_model_from_json("", 0, &m), LSTM_ERROR_FORMAT);
    EXPECT_STATUS(lstm_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [", 0, &m), LSTM_ERROR_FORMAT);
    EXPECT_MESSAGE("malformed JSON");
    EXPECT_STATUS(lstm_model_from_json("[1, 2, 3]", 0, &m), LSTM_ERROR_FORMAT);
    EXPECT_STATUS(lstm_model_from_json("{\"class_name\": \"MyModel\", \"config\": {}}", 0, &m), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("MyModel");
    EXPECT_STATUS(lstm_model_from_json("{\"class_name\": \"Functional\", \"config\": {}}", 0, &m), LSTM_ERROR_FORMAT);
    EXPECT_MESSAGE("layers");
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 1]}},"
        "{\"class_name\": \"ConvLSTM1D\", \"config\": {\"name\": \"conv\", \"filters\": 3}}]}}", 0, &m), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("ConvLSTM1D");
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"l\", \"units\": 3, \"recurrent_dropout\": 1.5}}]}}", 0, &m),
        LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("recurrent_dropout");
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"l\", \"units\": 0}}]}}", 0, &m), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("units");
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"a\", \"units\": 3}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"b\", \"units\": 3}}]}}", 0, &m), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("return_sequences");
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 1000000]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"a\", \"units\": 1000000}}]}}", 0, &m), LSTM_ERROR_MEMORY);
    /* Deep nesting must not overflow the stack. */
    size_t deep = 200000;
    char *nested = malloc(deep + 1);
    memset(nested, '[', deep);
    nested[deep] = '\0';
    EXPECT_STATUS(lstm_model_from_json(nested, 0, &m), LSTM_ERROR_FORMAT);
    free(nested);
    CHECK(m == NULL, "a failed call writes nothing to *out");
}

static void test_shapes_and_json(void) {
    lstm_model *m = make(SINE_JSON, 3);
    size_t t = 99, f = 99, n = 0;
    EXPECT_STATUS(lstm_model_input_shape(m, &t, &f), LSTM_OK);
    CHECK(t == 49 && f == 1, "input shape (%zu, %zu)", t, f);
    EXPECT_STATUS(lstm_model_input_shape(m, NULL, NULL), LSTM_OK);
    EXPECT_STATUS(lstm_model_output_size(m, 0, &n), LSTM_OK);
    CHECK(n == 1, "output size %zu", n);
    EXPECT_STATUS(lstm_model_output_size(m, 48, &n), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("49");

    lstm_model *s = make(STACKED_JSON, 3);
    EXPECT_STATUS(lstm_model_input_shape(s, &t, &f), LSTM_OK);
    CHECK(t == 0 && f == 3, "any-length input shape (%zu, %zu)", t, f);
    EXPECT_STATUS(lstm_model_output_size(s, 7, &n), LSTM_OK);
    CHECK(n == 14, "7 steps x 2 units = %zu", n);
    EXPECT_STATUS(lstm_model_output_size(s, 0, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_size(s, (size_t)-1, &n), LSTM_ERROR_ARGUMENT);

    /* to_json: size query, truncation, and a round trip to the same architecture. */
    size_t len = 0;
    EXPECT_STATUS(lstm_model_to_json(m, NULL, 0, &len), LSTM_OK);
    CHECK(len > 100, "json length %zu", len);
    char small[16];
    size_t len2 = 0;
    EXPECT_STATUS(lstm_model_to_json(m, small, sizeof small, &len2), LSTM_OK);
    CHECK(len2 == len && strlen(small) == sizeof small - 1, "truncated to %zu of %zu", strlen(small), len2);
    char *json = malloc(len + 1);
    EXPECT_STATUS(lstm_model_to_json(m, json, len + 1, &len2), LSTM_OK);
    CHECK(strlen(json) == len, "full text");
    CHECK(strstr(json, "\"class_name\": \"LSTM\"") && strstr(json, "\"batch_shape\": [null, 49, 1]"), "%s", json);
    lstm_model *again = make(json, 3);
    size_t p1 = 0, p2 = 0;
    EXPECT_OK(lstm_model_param_count(m, &p1));
    EXPECT_OK(lstm_model_param_count(again, &p2));
    CHECK(p1 == p2 && p1 == 10451, "round trip params %zu vs %zu", p1, p2);
    /* Same seed, same architecture: same initial weights. */
    float *w1 = malloc(p1 * sizeof *w1), *w2 = malloc(p1 * sizeof *w2);
    EXPECT_OK(lstm_model_get_weights(m, w1, p1));
    EXPECT_OK(lstm_model_get_weights(again, w2, p2));
    CHECK(memcmp(w1, w2, p1 * sizeof *w1) == 0, "same seed gives the same weights");
    /* Weight names and shapes, as Keras lists them. */
    size_t count = 0, ndim = 0, shape[2] = {0, 0};
    char name[64];
    EXPECT_STATUS(lstm_model_weight_count(m, &count), LSTM_OK);
    CHECK(count == 5, "%zu weight arrays", count);
    const char *names[5] = {"lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "dense/kernel", "dense/bias"};
    const size_t shapes[5][3] = {{2, 1, 200}, {2, 50, 200}, {1, 200, 0}, {2, 50, 1}, {1, 1, 0}};
    for (size_t k = 0; k < 5; k++) {
        EXPECT_STATUS(lstm_model_weight_info(m, k, name, sizeof name, &ndim, shape), LSTM_OK);
        CHECK(strcmp(name, names[k]) == 0 && ndim == shapes[k][0] && shape[0] == shapes[k][1] &&
              (ndim == 1 || shape[1] == shapes[k][2]), "weight %zu: %s ndim %zu shape %zu x %zu", k, name, ndim,
              shape[0], shape[1]);
    }
    EXPECT_STATUS(lstm_model_weight_info(m, 1, name, 5, &ndim, shape), LSTM_OK);
    CHECK(strcmp(name, "lstm") == 0, "name cut to cap: %s", name);
    EXPECT_STATUS(lstm_model_weight_info(m, 1, NULL, 0, &ndim, shape), LSTM_OK);
    /* Compiled models carry their compile config. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 0.05}}, \"loss\": \"mae\"}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_to_json(m, NULL, 0, &len), LSTM_OK);
    json = realloc(json, len + 1);
    EXPECT_STATUS(lstm_model_to_json(m, json, len + 1, &len), LSTM_OK);
    CHECK(strstr(json, "\"compile_config\": {\"optimizer\"") && strstr(json, "\"loss\": \"mae\""), "compile config in %s", json);
    lstm_model *compiled = make(json, 3);
    float x[49], y[1] = {0.5f};
    for (int i = 0; i < 49; i++) x[i] = (float)sin(i * 0.1);
    double loss = 0;
    EXPECT_STATUS(lstm_model_evaluate(compiled, x, y, 1, 49, &loss), LSTM_OK);
    lstm_model_free(compiled);
    free(json); free(w1); free(w2);
    lstm_model_free(again);
    lstm_model_free(s);
    lstm_model_free(m);
}

/* ------------------------------------------------------------------------------------------ */
/* An independent forward pass of LSTM(50) -> Dense(1) in double, from Keras's equations.      */

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

static double reference_sine(const float *w, const float *x, int steps, int units) {
    const float *W = w, *U = w + 4 * units, *b = U + units * 4 * units, *Wd = b + 4 * units, *bd = Wd + units;
    double h[64] = {0}, c[64] = {0}, z[256];
    for (int t = 0; t < steps; t++) {
        for (int col = 0; col < 4 * units; col++) {
            double acc = b[col] + x[t] * W[col];
            for (int k = 0; k < units; k++) acc += h[k] * U[k * 4 * units + col];
            z[col] = acc;
        }
        for (int j = 0; j < units; j++) {
            double i = sigm(z[j]), f = sigm(z[units + j]), g = tanh(z[2 * units + j]), o = sigm(z[3 * units + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * tanh(c[j]);
        }
    }
    double out = bd[0];
    for (int k = 0; k < units; k++) out += h[k] * Wd[k];
    return out;
}

static void test_predict_against_reference_and_bad_sizes(void) {
    lstm_model *m = make(SINE_JSON, 5);
    size_t np = 0;
    EXPECT_OK(lstm_model_param_count(m, &np));
    float *w = malloc(np * sizeof *w);
    EXPECT_STATUS(lstm_model_get_weights(m, w, np), LSTM_OK);
    /* Random biases, so that a gate-order mistake shows. */
    srand(7);
    for (int k = 0; k < 200; k++) w[49 * 0 + 200 + 50 * 200 + k] = (float)rand() / RAND_MAX - 0.5f;
    w[np - 1] = 0.3f;
    EXPECT_STATUS(lstm_model_set_weights(m, w, np), LSTM_OK);
    enum { B = 5 };
    float x[B * 49], y[B];
    for (int k = 0; k < B * 49; k++) x[k] = (float)sin(k * 0.37) * 1.3f;
    EXPECT_STATUS(lstm_model_predict(m, x, B, 49, y, B), LSTM_OK);
    double worst = 0;
    for (int b = 0; b < B; b++) {
        double want = reference_sine(w, x + b * 49, 49, 50);
        if (fabs(y[b] - want) > worst) worst = fabs(y[b] - want);
    }
    CHECK(worst < 1e-5, "predict vs double reference: max |diff| %.3g", worst);

    EXPECT_STATUS(lstm_model_predict(m, x, B, 49, y, B - 1), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("y_len");
    EXPECT_STATUS(lstm_model_predict(m, x, B, 48, y, B), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_model_predict(m, x, 0, 49, y, 0), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(m, x, 1, 0, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(m, x, (size_t)-1, 49, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(m, x, (size_t)1 << 39, 49, y, 1), LSTM_ERROR_MEMORY);
    EXPECT_STATUS(lstm_model_predict(m, x, (size_t)1 << 39, 49, y, (size_t)1 << 39), LSTM_ERROR_MEMORY);
    x[3] = NAN;
    EXPECT_STATUS(lstm_model_predict(m, x, B, 49, y, B), LSTM_ERROR_NUMERIC);
    EXPECT_MESSAGE("x[3]");
    x[3] = INFINITY;
    EXPECT_STATUS(lstm_model_predict(m, x, B, 49, y, B), LSTM_ERROR_NUMERIC);

    /* set_weights validates before it changes anything. */
    float *w2 = malloc(np * sizeof *w2);
    memcpy(w2, w, np * sizeof *w);
    w2[10] = NAN;
    EXPECT_STATUS(lstm_model_set_weights(m, w2, np), LSTM_ERROR_NUMERIC);
    EXPECT_STATUS(lstm_model_set_weights(m, w2, np - 1), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_model_get_weights(m, w2, np + 1), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_model_get_weights(m, w2, np), LSTM_OK);
    CHECK(memcmp(w, w2, np * sizeof *w) == 0, "weights unchanged by failed set_weights");
    free(w); free(w2);

    lstm_model_free(m);
}

/* ------------------------------------------------------------------------------------------ */

/* Files: save and load through every format, bad paths and files, mismatches. */
static void test_files(void) {
    char dir[] = "/tmp/lstm-capi-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    lstm_model *m = make(STACKED_JSON, 21), *back = NULL;
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);
    size_t np = 0;
    EXPECT_OK(lstm_model_param_count(m, &np));
    float *w = malloc(np * sizeof *w), *w2 = malloc(np * sizeof *w2);
    EXPECT_OK(lstm_model_get_weights(m, w, np));
    const char *models[2] = {"m.keras", "m.h5"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, models[k]);
        EXPECT_STATUS(lstm_model_save(m, path), LSTM_OK);
        back = NULL;
        EXPECT_STATUS(lstm_model_load(path, &back), LSTM_OK);
        if (back) {
            EXPECT_STATUS(lstm_model_get_weights(back, w2, np), LSTM_OK);
            CHECK(memcmp(w, w2, np * sizeof *w) == 0, "%s round trip", models[k]);
            double loss;
            float x[3 * 4] = {0}, y[4 * 2] = {0};
            EXPECT_STATUS(lstm_model_evaluate(back, x, y, 1, 4, &loss), LSTM_OK); /* compiled */
            lstm_model_free(back);
        }
    }
    /* An HDF5 model file under a .keras name (older tf.keras wrote these) loads by its content,
       with a note in lstm_last_warning; the next call clears it, as a well-named load leaves none. */
    char renamed[256];
    snprintf(path, sizeof path, "%s/m.h5", dir);
    snprintf(renamed, sizeof renamed, "%s/h5.keras", dir);
    CHECK(rename(path, renamed) == 0, "rename");
    back = NULL;
    EXPECT_STATUS(lstm_model_load(renamed, &back), LSTM_OK);
    CHECK(strstr(lstm_last_warning(), "is an HDF5 file") != NULL && strstr(lstm_last_warning(), "read by its content") != NULL,
          "warning \"%s\"", lstm_last_warning());
    size_t count = 0;
    EXPECT_STATUS(lstm_model_param_count(back, &count), LSTM_OK);
    CHECK(lstm_last_warning()[0] == '\0' && count == np, "the next call clears the note: \"%s\"", lstm_last_warning());
    lstm_model_free(back);
    snprintf(path, sizeof path, "%s/m.keras", dir);
    back = NULL;
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_OK);
    CHECK(lstm_last_warning()[0] == '\0', "a well-named file leaves no note: \"%s\"", lstm_last_warning());
    lstm_model_free(back);
    unlink(renamed);
    const char *weights[2] = {"w.weights.h5", "w_legacy.h5"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, weights[k]);
        EXPECT_STATUS(lstm_model_save_weights(m, path), LSTM_OK);
        lstm_model *other = make(STACKED_JSON, 22);
        EXPECT_STATUS(lstm_model_load_weights(other, path), LSTM_OK);
        EXPECT_OK(lstm_model_get_weights(other, w2, np));
        CHECK(memcmp(w, w2, np * sizeof *w) == 0, "%s round trip", weights[k]);
        lstm_model_free(other);
    }
    /* A weights-only file is not a model. */
    snprintf(path, sizeof path, "%s/w.weights.h5", dir);
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_FORMAT);
    /* Another model's weights: SHAPE, and the model keeps its weights. */
    lstm_model *sine = make(SINE_JSON, 3);
    size_t sp = 0;
    EXPECT_OK(lstm_model_param_count(sine, &sp));
    float *sw = malloc(sp * sizeof *sw), *sw2 = malloc(sp * sizeof *sw2);
    EXPECT_OK(lstm_model_get_weights(sine, sw, sp));
    EXPECT_STATUS(lstm_model_load_weights(sine, path), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("layer 'lstm'");
    EXPECT_OK(lstm_model_get_weights(sine, sw2, sp));
    CHECK(memcmp(sw, sw2, sp * sizeof *sw) == 0, "model unchanged after a mismatch");
    /* Missing, unreadable and non-Keras files. */
    EXPECT_STATUS(lstm_model_load("/nonexistent/dir/m.keras", &back), LSTM_ERROR_IO);
    EXPECT_STATUS(lstm_model_load_weights(sine, "/nonexistent/w.weights.h5"), LSTM_ERROR_IO);
    snprintf(path, sizeof path, "%s/text.h5", dir);
    write_text(path, "this is not HDF5");
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_FORMAT);
    EXPECT_STATUS(lstm_model_load_weights(sine, path), LSTM_ERROR_FORMAT);
    /* Truncated: FORMAT, never a crash. */
    snprintf(path, sizeof path, "%s/m.keras", dir);
    char cut[300];
    snprintf(cut, sizeof cut, "%s/cut.keras", dir);
    FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n / 2, out);
    fclose(in);
    fclose(out);
    back = NULL;
    EXPECT_STATUS(lstm_model_load(cut, &back), LSTM_ERROR_FORMAT);
    CHECK(back == NULL, "nothing returned for a damaged file");
    /* Saves: a bad suffix or folder fails; the old file stays. */
    snprintf(path, sizeof path, "%s/m.txt", dir);
    EXPECT_STATUS(lstm_model_save(m, path), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE(".keras, .weights.h5, .h5");
    EXPECT_STATUS(lstm_model_save(m, "/nonexistent/dir/m.keras"), LSTM_ERROR_IO);
    /* One suffix rule for saves and loads, in any case. */
    snprintf(path, sizeof path, "%s/w.bin", dir);
    EXPECT_STATUS(lstm_model_save_weights(m, path), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("cannot tell the format");
    snprintf(path, sizeof path, "%s/w.keras", dir);
    EXPECT_STATUS(lstm_model_save_weights(m, path), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("whole model");
    snprintf(path, sizeof path, "%s/m.weights.h5", dir);
    EXPECT_STATUS(lstm_model_save(m, path), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("weights only");
    snprintf(path, sizeof path, "%s/UPPER.KERAS", dir);
    EXPECT_STATUS(lstm_model_save(m, path), LSTM_OK);
    back = NULL;
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_OK);
    lstm_model_free(back);
    snprintf(path, sizeof path, "%s/W.WEIGHTS.H5", dir);
    EXPECT_STATUS(lstm_model_save_weights(m, path), LSTM_OK);
    EXPECT_STATUS(lstm_model_load_weights(m, path), LSTM_OK);
    /* Files that are not what their names say are described. */
    snprintf(path, sizeof path, "%s/text.keras", dir);
    write_text(path, "hello, model");
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_FORMAT);
    EXPECT_MESSAGE("a .keras file is a zip archive; this one is text starting with \"hello, model\"");
    snprintf(path, sizeof path, "%s/config.h5", dir);
    write_text(path, "  {\"class_name\": \"Sequential\"}");
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_FORMAT);
    EXPECT_MESSAGE("is not an HDF5 file: it is JSON text");
    snprintf(path, sizeof path, "%s/zip.h5", dir);
    char src[300];
    snprintf(src, sizeof src, "%s/m.keras", dir);
    in = fopen(src, "rb");
    out = fopen(path, "wb");
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    /* A .keras archive under an .h5 name is read by its content, with a note. */
    back = NULL;
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_OK);
    CHECK(back != NULL && strstr(lstm_last_warning(), "a .keras zip archive under an HDF5 name") != NULL,
          "warning \"%s\"", lstm_last_warning());
    lstm_model_free(back);
    back = NULL;
    snprintf(path, sizeof path, "%s/empty.keras", dir);
    write_text(path, "");
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_FORMAT);
    EXPECT_MESSAGE("is empty (0 bytes)");
    EXPECT_STATUS(lstm_model_load(dir, &back), LSTM_ERROR_IO);
    EXPECT_MESSAGE("is a directory");
    snprintf(path, sizeof path, "%s/m.pkl", dir);
    EXPECT_STATUS(lstm_model_load(path, &back), LSTM_ERROR_IO); /* missing: said before the suffix */
    /* A Keras 2.0-era model_config (the Sequential's config a bare list of layers) loads and
       predicts what the same model in tf-keras's layout does. */
    lstm_model *old = NULL, *new_style = NULL;
    EXPECT_STATUS(lstm_model_load("Tests/Fixtures/files/keras2_sine_keras20_config.h5", &old), LSTM_OK);
    EXPECT_STATUS(lstm_model_load("Tests/Fixtures/files/keras2_sine.h5", &new_style), LSTM_OK);
    if (old && new_style) {
        float xs[12], y_old[1], y_new[1];
        for (int k = 0; k < 12; k++) xs[k] = (float)sin(k * 0.5);
        EXPECT_STATUS(lstm_model_predict(old, xs, 1, 12, y_old, 1), LSTM_OK);
        EXPECT_STATUS(lstm_model_predict(new_style, xs, 1, 12, y_new, 1), LSTM_OK);
        CHECK(y_old[0] == y_new[0], "Keras 2.0 config: %g vs %g", y_old[0], y_new[0]);
    }
    lstm_model_free(old);
    lstm_model_free(new_style);
    /* The first unsupported thing of a model, a layer, is named with its class. */
    lstm_model *conv = NULL;
    EXPECT_STATUS(lstm_model_from_json(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20, 3]}},"
        "{\"class_name\": \"ConvLSTM1D\", \"config\": {\"name\": \"conv\", \"filters\": 4, \"kernel_size\": 3}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 4}}]}}", 1, &conv), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("layer 'conv': layer class 'ConvLSTM1D' is not supported");
    /* A metric the library lacks is refused by name, not dropped. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\", \"metrics\": [\"r2_score\"]}"),
                  LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("metric 'r2_score' is not supported yet");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\", \"metrics\": []}"), LSTM_OK);
    lstm_model_free(sine);
    lstm_model_free(m);
    free(w); free(w2); free(sw); free(sw2);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* ONNX export from C: the file is an ONNX ModelProto (ir_version 8 first, the producer named);
   a wrong suffix, a missing folder and a model ONNX cannot express fail and leave nothing.
   The graphs' outputs against ONNX Runtime are checked in Python (test_onnx_export.py). */
static void test_onnx_export(void) {
    char dir[] = "/tmp/lstm-onnx-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    lstm_model *m = make(STACKED_JSON, 5);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    EXPECT_STATUS(lstm_model_export_onnx(m, path), LSTM_OK);
    FILE *f = fopen(path, "rb");
    unsigned char head[64] = {0};
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    /* field 1 (ir_version) = 8, then field 2 (producer_name) = "liblstm" */
    CHECK(got == sizeof head && head[0] == 0x08 && head[1] == 8 && head[2] == 0x12 && head[3] == 7 &&
          memcmp(head + 4, "liblstm", 7) == 0, "ONNX header bytes %02x %02x %02x %02x", head[0], head[1], head[2], head[3]);
    snprintf(path, sizeof path, "%s/m.keras", dir);
    EXPECT_STATUS(lstm_model_export_onnx(m, path), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("ending in .onnx");
    EXPECT_STATUS(lstm_model_export_onnx(m, "/nonexistent/dir/m.onnx"), LSTM_ERROR_IO);
    lstm_model_free(m);
    /* Stateful layers export with their state as extra inputs and outputs (Python checks the values). */
    m = make("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [2, 5, 3]}},"
             "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 4, \"stateful\": true}}]}}", 5);
    snprintf(path, sizeof path, "%s/stateful.onnx", dir);
    EXPECT_STATUS(lstm_model_export_onnx(m, path), LSTM_OK);
    CHECK(access(path, F_OK) == 0, "the stateful model's file is written");
    unlink(path);
    lstm_model_free(m);
    /* A refused export leaves no file: an activation ONNX's recurrent operators lack. */
    m = make("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 3]}},"
             "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 4, \"activation\": \"relu6\"}}]}}", 5);
    EXPECT_STATUS(lstm_model_export_onnx(m, path), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("layer 'lstm' (LSTM): activation 'relu6' inside the LSTM operator");
    CHECK(access(path, F_OK) != 0, "a refused export leaves no file");
    lstm_model_free(m);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    unlink(path);
    rmdir(dir);
}

static void test_streaming_equals_predict(void) {
    lstm_model *m = make(STACKED_JSON, 9);
    lstm_state *s = NULL;
    EXPECT_STATUS(lstm_state_new(m, &s), LSTM_OK);
    enum { T = 12, F = 3, O = 2 };
    float x[T * F], y[O], full[T * O];
    for (int k = 0; k < T * F; k++) x[k] = (float)cos(k * 0.71) * 1.5f;
    for (int pass = 0; pass < 2; pass++) {
        double worst = 0;
        for (int t = 1; t <= T; t++) {
            EXPECT_STATUS(lstm_step(m, s, x + (t - 1) * F, y, O), LSTM_OK);
            EXPECT_STATUS(lstm_model_predict(m, x, 1, (size_t)t, full, (size_t)t * O), LSTM_OK);
            for (int j = 0; j < O; j++) {
                double d = fabs(y[j] - full[(t - 1) * O + j]);
                if (d > worst) worst = d;
            }
        }
        CHECK(worst <= 1e-6, "pass %d: step vs predict of the prefix, max |diff| %.3g", pass, worst);
        EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    }
    /* Bad calls leave the state as it was. */
    float before[O], after[O];
    EXPECT_STATUS(lstm_step(m, s, x, before, O), LSTM_OK);
    EXPECT_STATUS(lstm_step(m, s, x, y, O + 1), LSTM_ERROR_SHAPE);
    float bad[F] = {0, NAN, 0};
    EXPECT_STATUS(lstm_step(m, s, bad, y, O), LSTM_ERROR_NUMERIC);
    lstm_model *other = make(STACKED_JSON, 9);
    EXPECT_STATUS(lstm_step(other, s, x, y, O), LSTM_ERROR_STATE);
    EXPECT_STATUS(lstm_step(m, s, x + F, after, O), LSTM_OK);
    EXPECT_STATUS(lstm_model_predict(m, x, 1, 2, full, 2 * O), LSTM_OK);
    CHECK(fabs(after[0] - full[2]) <= 1e-6 && fabs(after[1] - full[3]) <= 1e-6, "state intact after failed steps");
    lstm_state_free(s);
    lstm_model_free(other);

    lstm_model *back = make(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, null, 3]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 4, \"go_backwards\": true}}]}}", 1);
    s = NULL;
    EXPECT_STATUS(lstm_state_new(back, &s), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("go_backwards");
    CHECK(s == NULL, "no state on failure");
    lstm_model_free(back);

    /* A model freed before its state: the state keeps what it needs, a call through the freed
       model is refused, and freeing the state afterwards is safe. */
    EXPECT_STATUS(lstm_state_new(m, &s), LSTM_OK);
    EXPECT_STATUS(lstm_step(m, s, x, y, O), LSTM_OK);
    lstm_model_free(m);
    EXPECT_STATUS(lstm_step(m, s, x, y, O), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("was freed");
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    lstm_state_free(s);
}

/* The step's own sizes for a fixed-length model that returns sequences, where
   lstm_model_output_size answers only for whole sequences; stepping past the fixed length goes
   on, as Keras's stateful layers do. */
static void test_step_sizes_and_fixed_lengths(void) {
    lstm_model *m = make(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6, 2]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 3, \"return_sequences\": true}}]}}", 4);
    size_t in = 0, out = 0, whole = 0;
    EXPECT_STATUS(lstm_step_sizes(m, &in, &out), LSTM_OK);
    CHECK(in == 2 && out == 3, "step sizes %zu, %zu", in, out);
    EXPECT_STATUS(lstm_model_output_size(m, 6, &whole), LSTM_OK);
    CHECK(whole == 18, "whole-sequence output size %zu", whole);
    EXPECT_STATUS(lstm_model_output_size(m, 1, &whole), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("6 timesteps");
    enum { T = 6, F = 2, O = 3 };
    float x[T * F], full[T * O], y[O];
    for (int k = 0; k < T * F; k++) x[k] = (float)sin(k * 0.9);
    EXPECT_STATUS(lstm_model_predict(m, x, 1, T, full, T * O), LSTM_OK);
    lstm_state *s = NULL;
    EXPECT_STATUS(lstm_state_new(m, &s), LSTM_OK);
    double worst = 0;
    for (int t = 0; t < 10; t++) {  /* 4 steps past the model's 6 */
        EXPECT_STATUS(lstm_step(m, s, x + (t % T) * F, y, out), LSTM_OK);
        for (int j = 0; t < T && j < O; j++) worst = fmax(worst, fabs(y[j] - full[t * O + j]));
    }
    CHECK(worst <= 1e-6, "steps vs predict's rows: %.3g", worst);
    EXPECT_STATUS(lstm_step(m, s, x, y, whole), LSTM_ERROR_SHAPE);
    lstm_state_free(s);
    lstm_model_free(m);
}

/* ------------------------------------------------------------------------------------------ */

static void *error_in_thread(void *arg) {
    (void)arg;
    lstm_model *m = NULL;
    lstm_status s = lstm_model_from_json("{not json", 0, &m);
    static char copy[256];
    snprintf(copy, sizeof copy, "%d %s", (int)s, lstm_last_error());
    return copy;
}

struct predict_job { lstm_model *m; const float *x; float *y; size_t batch; lstm_status status; };

static void *predict_in_thread(void *arg) {
    struct predict_job *j = arg;
    for (int r = 0; r < 5 && j->status == LSTM_OK; r++) j->status = lstm_model_predict(j->m, j->x, j->batch, 49, j->y, j->batch);
    return NULL;
}

static void test_threads(void) {
    /* lstm_last_error is per thread. */
    lstm_model *m = NULL;
    EXPECT_STATUS(lstm_model_from_json(NULL, 0, &m), LSTM_ERROR_ARGUMENT);
    pthread_t th;
    void *result = NULL;
    pthread_create(&th, NULL, error_in_thread, NULL);
    pthread_join(th, &result);
    CHECK(strstr((char *)result, "malformed JSON") != NULL, "other thread's message: %s", (char *)result);
    CHECK(strstr(lstm_last_error(), "keras_json") != NULL, "this thread keeps its own message: %s", lstm_last_error());

    /* Concurrent predicts on one model agree with a single-threaded one. */
    m = make(SINE_JSON, 11);
    enum { B = 64 };
    static float x[B * 49], y0[B], y1[B], y2[B];
    for (int k = 0; k < B * 49; k++) x[k] = (float)sin(k * 0.05);
    EXPECT_STATUS(lstm_model_predict(m, x, B, 49, y0, B), LSTM_OK);
    struct predict_job a = {m, x, y1, B, LSTM_OK}, b = {m, x, y2, B, LSTM_OK};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, predict_in_thread, &a);
    pthread_create(&tb, NULL, predict_in_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.status == LSTM_OK && b.status == LSTM_OK, "threads' status %d %d", (int)a.status, (int)b.status);
    CHECK(memcmp(y0, y1, sizeof y0) == 0 && memcmp(y0, y2, sizeof y0) == 0, "concurrent predictions identical");
    lstm_model_free(m);
}

/* ------------------------------------------------------------------------------------------ */

struct stop_after { size_t epochs; size_t calls; double last_val; };

static int stop_cb(void *user, size_t epoch, double loss, double val_loss) {
    struct stop_after *s = user;
    s->calls++;
    s->last_val = val_loss;
    (void)loss;
    return epoch + 1 >= s->epochs;
}

struct batch_log { size_t calls, batches, stop_at; double last_loss; };

static int batch_cb(void *user, size_t epoch, size_t batch, size_t batches, double loss) {
    struct batch_log *b = user;
    (void)epoch; (void)batch;
    b->calls++;
    b->batches = batches;
    b->last_loss = loss;
    return b->calls >= b->stop_at;
}

static void sine_data(float *x, float *y, int n, uint64_t seed) { sine_generate(x, y, n, &seed); }

static void test_training_errors_and_callbacks(void) {
    enum { N = 64 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 1);
    lstm_model *m = make(SINE_JSON, 2);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.epochs == 1 && o.batch_size == 32 && o.shuffle == 1 &&
          o.validation_split == 0 && o.on_epoch == NULL, "Keras's defaults");
    double hist[8];
    size_t ran = 99;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_STATE);
    EXPECT_MESSAGE("compile");
    double loss;
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, N, 49, &loss), LSTM_ERROR_STATE);

    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\""), LSTM_ERROR_FORMAT);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"ftrl\", \"loss\": \"mse\"}"), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("ftrl");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"clipnorm\": 1, \"clipvalue\": 1}}, \"loss\": \"mse\"}"), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("clipvalue");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"binary_focal\"}"), LSTM_ERROR_UNSUPPORTED);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"dice\"}"), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("not supported yet");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": {\"class_name\": \"Huber\", \"config\": {\"delta\": -1}}}"), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("delta");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": {\"class_name\": \"Huber\", \"config\": {\"delta\": 2}}}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"log_cosh\"}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"beta_1\": 1.5}}, \"loss\": \"mse\"}"), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("beta_1");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);

    o.validation_split = 1.0f;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("validation_split");
    o.validation_split = NAN;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    lstm_fit_options_init(&o);
    o.batch_size = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    lstm_fit_options_init(&o);
    o.epochs = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    lstm_fit_options_init(&o);
    o.struct_size = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("struct_size");
    /* A struct from a newer header, with options this library does not know: refused. */
    o.struct_size = sizeof o + 16;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("newer lstm.h");
    lstm_fit_options_init(&o);
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 48, &o, hist, 8, &ran), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_model_fit(m, x, y, 0, 49, &o, hist, 8, &ran), LSTM_ERROR_ARGUMENT);
    y[5] = NAN;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_NUMERIC);
    EXPECT_MESSAGE("y[5]");
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, N, 49, &loss), LSTM_ERROR_NUMERIC);
    y[5] = 0.5f;

    /* The callback stops after 2 of 10 epochs: success, 2 epochs run, 2 history entries. */
    struct stop_after stop = {2, 0, 0};
    o.epochs = 10;
    o.validation_split = 0.25f;
    o.on_epoch = stop_cb;
    o.user = &stop;
    for (int k = 0; k < 8; k++) hist[k] = -1;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_OK);
    CHECK(ran == 2 && stop.calls == 2, "ran %zu epochs, %zu callbacks", ran, stop.calls);
    CHECK(hist[0] > 0 && hist[1] > 0 && hist[2] == -1, "history %g %g %g", hist[0], hist[1], hist[2]);
    CHECK(!isnan(stop.last_val) && stop.last_val > 0, "val_loss %g", stop.last_val);
    /* history_cap smaller than the epochs: only that many are written. */
    stop.epochs = 3;
    stop.calls = 0;
    for (int k = 0; k < 8; k++) hist[k] = -1;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 1, &ran), LSTM_OK);
    CHECK(ran == 3 && hist[0] > 0 && hist[1] == -1, "history_cap 1: %g %g", hist[0], hist[1]);

    /* on_batch sees every batch with the running loss, and can cancel mid-epoch. */
    struct batch_log bl = {0, 0, 0, 0};
    lstm_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = 10;
    o.on_batch = batch_cb;
    o.user = &bl;
    bl.stop_at = 1000;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_OK);
    CHECK(bl.calls == 3 * 7 && bl.batches == 7 && bl.last_loss > 0, "%zu batch callbacks of %zu", bl.calls, bl.batches);
    bl.calls = 0;
    bl.stop_at = 9; /* 7 batches in epoch 1, then the 2nd batch of epoch 2 */
    ran = 99;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_CANCELLED);
    EXPECT_MESSAGE("batch 2 of 7 in epoch 2");
    CHECK(ran == 1 && bl.calls == 9, "cancelled after %zu epochs, %zu batches", ran, bl.calls);
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, N, 49, &loss), LSTM_OK);

    /* An older, shorter options struct: fields past its struct_size keep their defaults. */
    lstm_fit_options_init(&o);
    o.struct_size = offsetof(lstm_fit_options, shuffle);
    o.epochs = 2;
    o.validation_split = 0.9f; /* past struct_size: must be ignored */
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_OK);
    CHECK(ran == 2, "short struct ran %zu epochs", ran);
    /* NULL options: Keras's defaults (1 epoch). */
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, NULL, NULL, 0, &ran), LSTM_OK);
    CHECK(ran == 1, "defaults ran %zu epochs", ran);
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, N, 49, &loss), LSTM_OK);
    CHECK(loss > 0 && loss < 1, "evaluate %g", loss);

    /* A divergent learning rate: NUMERIC, weights stay finite. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 1e38}}, \"loss\": \"mse\"}"), LSTM_OK);
    lstm_fit_options_init(&o);
    o.epochs = 20;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 8, &ran), LSTM_ERROR_NUMERIC);
    EXPECT_MESSAGE("diverged");
    size_t np = 0;
    EXPECT_OK(lstm_model_param_count(m, &np));
    float *w = malloc(np * sizeof *w);
    EXPECT_OK(lstm_model_get_weights(m, w, np));
    int finite = 1;
    for (size_t k = 0; k < np; k++) finite &= isfinite(w[k]) != 0;
    CHECK(finite, "weights finite after divergence");
    free(w);
    lstm_model_free(m);
}

/* A fresh Adam-compiled sine model (seed `seed`) fitted `calls` times with `o` on n samples
   (freeing fit's kept memory after each call when `release`): the last call's epoch losses
   into `history` (o->epochs of them), the weights returned (malloc'd, *np floats). */
static float *fitted_sine_weights_in(int calls, int release, uint64_t seed, const lstm_fit_options *o, const float *x,
                                     const float *y, size_t n, double *history, size_t *np) {
    lstm_model *m = make(SINE_JSON, seed);
    EXPECT_OK(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"));
    for (int c = 0; c < calls; c++) {
        EXPECT_STATUS(lstm_model_fit(m, x, y, n, 49, o, history, o->epochs, NULL), LSTM_OK);
        if (release) EXPECT_OK(lstm_model_release_training_memory(m));
    }
    EXPECT_OK(lstm_model_param_count(m, np));
    float *w = malloc(*np * sizeof(float));
    EXPECT_OK(lstm_model_get_weights(m, w, *np));
    lstm_model_free(m);
    return w;
}

static float *fitted_sine_weights(uint64_t seed, const lstm_fit_options *o, const float *x, const float *y, size_t n,
                                  double *history, size_t *np) {
    return fitted_sine_weights_in(1, 0, seed, o, x, y, n, history, np);
}

/* Same seed, same data: bit-identical training. */
static void test_training_is_deterministic(void) {
    enum { N = 100 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 3);
    double h[2][3];
    float *w[2];
    size_t np = 0;
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 3;
    o.seed = 5;
    for (int r = 0; r < 2; r++) w[r] = fitted_sine_weights(77, &o, x, y, N, h[r], &np);
    CHECK(memcmp(h[0], h[1], sizeof h[0]) == 0 && memcmp(w[0], w[1], np * sizeof(float)) == 0, "deterministic");
    free(w[0]); free(w[1]);
    /* fit called once per epoch keeps its working memory between the calls; releasing it
       between them changes nothing but the allocations. */
    o.epochs = 1;
    float *after[2];
    for (int r = 0; r < 2; r++) after[r] = fitted_sine_weights_in(3, r, 78, &o, x, y, N, h[r], &np);
    CHECK(memcmp(after[0], after[1], np * sizeof(float)) == 0, "kept or released fit memory: the same weights");
    free(after[0]); free(after[1]);
}

/* A gradient reducer in-process: "workers" 1 sums nothing away (the sum is the values), so the
   fit must equal a plain one; a reducer that fails, or is described wrongly, is refused. The
   reducer over MPI is tested under mpirun (Tests/MPI). */
typedef struct { int calls, fail_at; } fake_reducer;
static int fake_sum(void *user, float *values, size_t n, double *stats, size_t m) {
    fake_reducer *r = user;
    (void)values; (void)n; (void)stats; (void)m;
    return ++r->calls == r->fail_at ? 7 : 0;
}
static const char *fake_error(void *user) { (void)user; return "the network is down"; }

static void test_gradient_reducer(void) {
    enum { N = 40 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 4);
    double h[2][2];
    float *w[2];
    size_t np = 0;
    fake_reducer fake = {0, 0};
    lstm_gradient_reducer r = {sizeof r, 0, 1, fake_sum, fake_error, &fake};
    for (int k = 0; k < 2; k++) {
        lstm_fit_options o;
        lstm_fit_options_init(&o);
        o.epochs = 2;
        o.batch_size = 8;
        o.seed = 3;
        o.reducer = k ? &r : NULL;
        w[k] = fitted_sine_weights(78, &o, x, y, N, h[k], &np);
    }
    CHECK(memcmp(h[0], h[1], sizeof h[0]) == 0 && memcmp(w[0], w[1], np * sizeof(float)) == 0,
          "one worker with a reducer trains as a plain fit");
    /* 2 epochs of 5 batches: 2 sums at the start, 2 per batch, 2 after each epoch (3 with
       validation). */
    CHECK(fake.calls == 2 + 2 * 10 + 2 * 2, "the reducer was called %d times", fake.calls);
    free(w[0]); free(w[1]);

    lstm_model *m = make(SINE_JSON, 78);
    EXPECT_OK(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"));
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.reducer = &r;
    fake.calls = 0;
    fake.fail_at = 5;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_IO);
    EXPECT_MESSAGE("the network is down");
    EXPECT_MESSAGE("returned 7");
    fake.fail_at = 0;
    lstm_gradient_reducer bad = r;
    bad.struct_size = 8;
    o.reducer = &bad;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("struct_size");
    bad = r;
    bad.sum = NULL;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("sum is NULL");
    bad = r;
    bad.rank = 2;
    bad.workers = 2;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("rank 2 of 2");
    bad.rank = 0;
    bad.workers = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    bad.workers = (size_t)-1;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("between 1 and 2^20");
    o.reducer = &r;
    o.steps_per_epoch = 2;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, NULL, 0, NULL), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("steps_per_epoch");
    lstm_model_free(m);
}

/* The user's job: 1000 sequences, LSTM(50) -> Dense(1), Adam, MSE, 20 epochs of batch 32.
   Keras reaches a training MSE of about 5e-6 to 1.3e-5; we require <= 5e-5 on the training
   data and on 1000 held-out sequences. */
static void test_sine_job_reaches_keras_loss(void) {
    enum { N = 1000 };
    static float x[N * 49], y[N], xv[N * 49], yv[N];
    sine_data(x, y, N, 2026);
    sine_data(xv, yv, N, 4242);
    lstm_model *m = make(SINE_JSON, 2026);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 20;
    o.batch_size = 32;
    o.seed = 2026;
    double hist[20];
    size_t ran = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, hist, 20, &ran), LSTM_OK);
    double train = 0, held = 0;
    EXPECT_STATUS(lstm_model_evaluate(m, x, y, N, 49, &train), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate(m, xv, yv, N, 49, &held), LSTM_OK);
    printf("sine job: epoch losses %.3e -> %.3e; training MSE %.3e, held-out MSE %.3e\n", hist[0], hist[19], train, held);
    CHECK(ran == 20, "%zu epochs", ran);
    CHECK(hist[19] <= 5e-5 && train <= 5e-5, "training MSE %.3e / last epoch %.3e above 5e-5", train, hist[19]);
    CHECK(held <= 5e-5, "held-out MSE %.3e above 5e-5", held);
    float test[49], pred = 0;
    for (int i = 0; i < 49; i++) test[i] = (float)sin(2 * PI * i / 48);
    EXPECT_STATUS(lstm_model_predict(m, test, 1, 49, &pred, 1), LSTM_OK);
    /* The test grid's next value is sin(2pi/48) = 0.13; Keras predicts about 0.11. */
    CHECK(pred > 0.05 && pred < 0.2, "prediction %.4f", pred);
    lstm_model_free(m);
}

/* ------------------------------------------------------------------------------------------ */

/* The tensor functions on a functional model Keras wrote (two inputs, two outputs), and on a
   Sequential one (where they must agree with predict exactly). */
static const char *GRAPH_FILE = "Tests/Fixtures/files/keras3_graph_two_inputs_two_outputs.keras";

/* The part of a graph that computes named layers' outputs: its inputs are those the part reads,
   and it gives the whole model's values for them. */
static void test_load_outputs(void) {
    lstm_model *whole = NULL, *part = NULL;
    EXPECT_STATUS(lstm_model_load(GRAPH_FILE, &whole), LSTM_OK);
    const char *aux[] = {"aux", "lstm"};
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, aux, 2, &part), LSTM_OK);
    if (!whole || !part) { lstm_model_free(whole); lstm_model_free(part); return; }
    size_t n = 0;
    EXPECT_STATUS(lstm_model_input_count(part, &n), LSTM_OK);
    CHECK(n == 1, "the part reads only 'seq': %zu inputs", n);
    EXPECT_STATUS(lstm_model_output_count(part, &n), LSTM_OK);
    CHECK(n == 2, "outputs %zu", n);
    enum { B = 2 };
    float seq[B * 5 * 3], stat[B * 4] = {0}, main_out[B * 2], whole_aux[B], part_aux[B], part_lstm[B * 5 * 6];
    for (int k = 0; k < B * 15; k++) seq[k] = (float)sin(k * 0.3);
    lstm_tensor x[2] = {{seq, 3, {B, 5, 3, 0}}, {stat, 2, {B, 4, 0, 0}}};
    lstm_tensor_out y[2] = {{main_out, B * 2, 0, {0}}, {whole_aux, B, 0, {0}}};
    lstm_tensor_out py[2] = {{part_aux, B, 0, {0}}, {part_lstm, B * 5 * 6, 0, {0}}};
    EXPECT_STATUS(lstm_model_run(whole, x, 2, y, 2), LSTM_OK);
    EXPECT_STATUS(lstm_model_run(part, x, 1, py, 2), LSTM_OK);
    CHECK(memcmp(whole_aux, part_aux, sizeof part_aux) == 0 && py[1].rank == 3 && py[1].shape[2] == 6, "the part's aux equals the model's");
    lstm_model_free(part);
    part = NULL;
    EXPECT_STATUS(lstm_model_load_outputs(NULL, aux, 1, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, NULL, 1, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, aux, 0, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, aux, (size_t)-1, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, aux, 1, NULL), LSTM_ERROR_ARGUMENT);
    const char *nope[] = {"nope"}, *bad_index[] = {"aux:3"}, *null_name[] = {NULL};
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, nope, 1, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("no layer named 'nope'");
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, bad_index, 1, &part), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_load_outputs(GRAPH_FILE, null_name, 1, &part), LSTM_ERROR_ARGUMENT);
    /* Bad files: missing, not a model, damaged (cut short). */
    EXPECT_STATUS(lstm_model_load_outputs("/nonexistent/m.keras", aux, 1, &part), LSTM_ERROR_IO);
    char dir[] = "/tmp/lstm-outputs-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/junk.keras", dir);
    write_text(path, "not a model at all");
    EXPECT_STATUS(lstm_model_load_outputs(path, aux, 1, &part), LSTM_ERROR_FORMAT);
    FILE *in = fopen(GRAPH_FILE, "rb");
    char buf[4096];
    size_t got = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (in) fclose(in);
    snprintf(path, sizeof path, "%s/cut.keras", dir);
    FILE *cut = fopen(path, "wb");
    if (cut) { fwrite(buf, 1, got / 2, cut); fclose(cut); }
    EXPECT_STATUS(lstm_model_load_outputs(path, aux, 1, &part), LSTM_ERROR_FORMAT);
    CHECK(part == NULL, "nothing returned on failure");
    unlink(path);
    snprintf(path, sizeof path, "%s/junk.keras", dir);
    unlink(path);
    rmdir(dir);
    lstm_model_free(whole);
}

static void test_graph_tensors(void) {
    lstm_model *m = NULL;
    EXPECT_STATUS(lstm_model_load(GRAPH_FILE, &m), LSTM_OK);
    if (!m) return;
    size_t n = 0, rank = 0, shape[LSTM_MAX_RANK];
    char name[64];
    EXPECT_STATUS(lstm_model_input_count(m, &n), LSTM_OK);
    CHECK(n == 2, "inputs %zu", n);
    EXPECT_STATUS(lstm_model_output_count(m, &n), LSTM_OK);
    CHECK(n == 2, "outputs %zu", n);
    EXPECT_STATUS(lstm_model_input_info(m, 0, name, sizeof name, &rank, shape), LSTM_OK);
    CHECK(strcmp(name, "seq") == 0 && rank == 3 && shape[0] == 0 && shape[1] == 5 && shape[2] == 3, "input 0: %s rank %zu", name, rank);
    EXPECT_STATUS(lstm_model_input_info(m, 1, name, sizeof name, &rank, shape), LSTM_OK);
    CHECK(strcmp(name, "static") == 0 && rank == 2 && shape[1] == 4, "input 1: %s rank %zu", name, rank);
    EXPECT_STATUS(lstm_model_output_info(m, 1, name, sizeof name, &rank, shape), LSTM_OK);
    CHECK(strcmp(name, "aux") == 0 && rank == 2 && shape[1] == 1, "output 1: %s rank %zu", name, rank);
    EXPECT_STATUS(lstm_model_input_info(m, 2, name, sizeof name, &rank, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("out of range");

    enum { B = 3 };
    float seq[B * 5 * 3], stat[B * 4];
    for (int k = 0; k < B * 15; k++) seq[k] = (float)sin(k * 0.7);
    for (int k = 0; k < B * 4; k++) stat[k] = (float)cos(k * 0.3);
    lstm_tensor x[2] = {{seq, 3, {B, 5, 3, 0}}, {stat, 2, {B, 4, 0, 0}}};
    float main_out[B * 2], aux[B];
    lstm_tensor_out y[2] = {{main_out, B * 2, 0, {0}}, {aux, B, 0, {0}}};
    EXPECT_STATUS(lstm_model_output_shapes(m, x, 2, y, 2), LSTM_OK);
    CHECK(y[0].rank == 2 && y[0].shape[0] == B && y[0].shape[1] == 2 && y[1].shape[1] == 1, "output shapes");
    EXPECT_STATUS(lstm_model_run(m, x, 2, y, 2), LSTM_OK);
    /* Each sample alone gives the same rows. */
    double worst = 0;
    for (int b = 0; b < B; b++) {
        float m1[2], a1[1];
        lstm_tensor x1[2] = {{seq + b * 15, 3, {1, 5, 3, 0}}, {stat + b * 4, 2, {1, 4, 0, 0}}};
        lstm_tensor_out y1[2] = {{m1, 2, 0, {0}}, {a1, 1, 0, {0}}};
        EXPECT_STATUS(lstm_model_run(m, x1, 2, y1, 2), LSTM_OK);
        for (int j = 0; j < 2; j++) worst = fmax(worst, fabs(m1[j] - main_out[b * 2 + j]));
        worst = fmax(worst, fabs(a1[0] - aux[b]));
    }
    CHECK(worst < 1e-6, "batch vs one by one: %.3g", worst);

    /* Bad calls: each with its status, nothing written. */
    float sentinel = 12345.0f;
    aux[0] = sentinel;
    y[1].cap = B - 1;
    EXPECT_STATUS(lstm_model_run(m, x, 2, y, 2), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("aux");
    CHECK(aux[0] == sentinel, "nothing written when a cap is too small");
    y[1].cap = B;
    EXPECT_STATUS(lstm_model_run(m, x, 1, y, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("2 inputs");
    EXPECT_STATUS(lstm_model_run(m, x, 2, y, 1), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_run(m, NULL, 2, y, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_run(m, x, 2, NULL, 2), LSTM_ERROR_ARGUMENT);
    lstm_tensor swapped[2] = {x[1], x[0]};
    EXPECT_STATUS(lstm_model_run(m, swapped, 2, y, 2), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("rank");
    lstm_tensor bad[2] = {x[0], x[1]};
    bad[1].shape[1] = 5;
    EXPECT_STATUS(lstm_model_run(m, bad, 2, y, 2), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("static");
    bad[1] = x[1];
    bad[1].shape[0] = 2;
    EXPECT_STATUS(lstm_model_run(m, bad, 2, y, 2), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("same number");
    bad[1] = x[1];
    bad[1].rank = 7;
    EXPECT_STATUS(lstm_model_run(m, bad, 2, y, 2), LSTM_ERROR_ARGUMENT);
    bad[1] = x[1];
    bad[1].data = NULL;
    EXPECT_STATUS(lstm_model_run(m, bad, 2, y, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("x[1].data");
    bad[1] = x[1];
    bad[1].shape[0] = (size_t)1 << 39;
    bad[0].shape[0] = (size_t)1 << 39;
    EXPECT_STATUS(lstm_model_run(m, bad, 2, y, 2), LSTM_ERROR_MEMORY);
    stat[2] = NAN;
    EXPECT_STATUS(lstm_model_run(m, x, 2, y, 2), LSTM_ERROR_NUMERIC);
    stat[2] = 0.5f;
    /* The single-input functions say what to use instead. */
    size_t size = 0;
    EXPECT_STATUS(lstm_model_output_size(m, 5, &size), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("lstm_model_run");

    /* Layers, in Keras's order, inputs included. */
    EXPECT_STATUS(lstm_model_layer_count(m, &n), LSTM_OK);
    CHECK(n == 8, "layers %zu", n);
    lstm_layer_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    int found_concat = 0;
    for (size_t i = 0; i < n; i++) {
        EXPECT_STATUS(lstm_model_layer_info(m, i, &info), LSTM_OK);
        if (strcmp(info.class_name, "Concatenate") == 0) {
            found_concat = 1;
            CHECK(info.param_count == 0 && info.call_count == 1 && info.output_rank[0] == 2 && info.output_shape[0][1] == 8,
                  "concatenate info");
            CHECK(strcmp(info.connected_to, "lstm_1[0][0], dense[0][0]") == 0, "connected_to %s", info.connected_to);
        }
        if (i == 0) CHECK(strcmp(info.class_name, "InputLayer") == 0, "first layer %s", info.class_name);
    }
    CHECK(found_concat, "a Concatenate layer is listed");
    info.struct_size = 8;
    EXPECT_STATUS(lstm_model_layer_info(m, 0, &info), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("struct_size");
    info.struct_size = sizeof info;
    EXPECT_STATUS(lstm_model_layer_info(m, n, &info), LSTM_ERROR_ARGUMENT);

    /* Training on tensors: the summed loss falls, evaluate agrees with a fresh computation. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.01}}, \"loss\": \"mse\"}"), LSTM_OK);
    float t_main[B * 2], t_aux[B];
    for (int k = 0; k < B * 2; k++) t_main[k] = 0.5f;
    for (int k = 0; k < B; k++) t_aux[k] = -0.5f;
    lstm_tensor targets[2] = {{t_main, 2, {B, 2, 0, 0}}, {t_aux, 2, {B, 1, 0, 0}}};
    double before = 0, after = 0, history[20];
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, x, 2, targets, 2, &before), LSTM_OK);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 20;
    size_t ran = 0;
    EXPECT_STATUS(lstm_model_fit_tensors(m, x, 2, targets, 2, &o, history, 20, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, x, 2, targets, 2, &after), LSTM_OK);
    CHECK(ran == 20 && after < before * 0.5 && history[0] > history[19], "loss %.4g -> %.4g", before, after);
    lstm_tensor wrong[2] = {targets[1], targets[0]};
    EXPECT_STATUS(lstm_model_fit_tensors(m, x, 2, wrong, 2, &o, NULL, 0, NULL), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, x, 2, targets, 1, &after), LSTM_ERROR_ARGUMENT);
    lstm_state *st = NULL;
    EXPECT_STATUS(lstm_state_new(m, &st), LSTM_ERROR_UNSUPPORTED);
    EXPECT_STATUS(lstm_step_sizes(m, NULL, NULL), LSTM_ERROR_UNSUPPORTED);
    /* NULL models and out-pointers are refused, never dereferenced. */
    EXPECT_STATUS(lstm_model_input_count(NULL, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_count(NULL, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_info(NULL, 0, name, sizeof name, &rank, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_info(m, 0, NULL, 8, &rank, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_info(m, 0, name, sizeof name, NULL, shape), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_input_info(m, 0, name, sizeof name, &rank, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_info(m, 0, name, sizeof name, NULL, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_shapes(NULL, x, 2, y, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_shapes(m, NULL, 2, y, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_output_shapes(m, x, 2, NULL, 2), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate_tensors(NULL, x, 2, targets, 2, &after), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, NULL, 2, targets, 2, &after), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, x, 2, NULL, 2, &after), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, x, 2, targets, 2, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_layer_count(NULL, &n), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_layer_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_layer_info(NULL, 0, &info), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_layer_info(m, 0, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_new_batch(NULL, 2, &st), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_new_batch(m, 2, NULL), LSTM_ERROR_ARGUMENT);
    lstm_model_free(m);

    /* Every describing call on every kind of layer Keras wrote (Embedding, Bidirectional, GRU,
       SimpleRNN) answers without harm. */
    const char *files[] = {"Tests/Fixtures/files/keras3_graph_text_classifier.keras",
                           "Tests/Fixtures/files/keras2_graph_text_classifier.h5",
                           "Tests/Fixtures/files/keras3_graph_recurrent_layers.keras",
                           "Tests/Fixtures/files/keras2_graph_recurrent_layers.h5"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        lstm_model *g = NULL;
        EXPECT_STATUS(lstm_model_load(files[f], &g), LSTM_OK);
        if (!g) continue;
        size_t layers = 0, len = 0;
        EXPECT_STATUS(lstm_model_layer_count(g, &layers), LSTM_OK);
        CHECK(layers >= 4, "%s: %zu layers", files[f], layers);
        for (size_t i = 0; i < layers; i++) {
            lstm_layer_info li;
            memset(&li, 0, sizeof li);
            li.struct_size = sizeof li;
            EXPECT_STATUS(lstm_model_layer_info(g, i, &li), LSTM_OK);
            CHECK(li.class_name[0] != 0 && li.name[0] != 0 && li.output_count >= 1, "%s layer %zu", files[f], i);
        }
        EXPECT_STATUS(lstm_model_to_json(g, NULL, 0, &len), LSTM_OK);
        CHECK(len > 100, "%s: JSON of %zu bytes", files[f], len);
        EXPECT_STATUS(lstm_model_output_info(g, 0, name, sizeof name, &rank, shape), LSTM_OK);
        lstm_model_free(g);
    }

    /* A Sequential model: run equals predict, and step sizes are the streaming contract. */
    m = make(STACKED_JSON, 3);
    float xs[2 * 4 * 3], yp[2 * 4 * 2], yr[2 * 4 * 2];
    for (int k = 0; k < 24; k++) xs[k] = (float)sin(k * 1.1);
    EXPECT_STATUS(lstm_model_predict(m, xs, 2, 4, yp, 16), LSTM_OK);
    lstm_tensor xt = {xs, 3, {2, 4, 3, 0}};
    lstm_tensor_out yt = {yr, 16, 0, {0}};
    EXPECT_STATUS(lstm_model_run(m, &xt, 1, &yt, 1), LSTM_OK);
    CHECK(memcmp(yp, yr, sizeof yp) == 0 && yt.rank == 3 && yt.shape[1] == 4 && yt.shape[2] == 2, "run == predict");
    size_t in = 0, out = 0;
    EXPECT_STATUS(lstm_step_sizes(m, &in, &out), LSTM_OK);
    CHECK(in == 3 && out == 2, "step sizes %zu %zu", in, out);
    lstm_model_free(m);
}

/* Stateful layers through a caller's batch state: two calls carry the state (equal to one call
   over both halves by the same model without state), a reset starts again, misuse is refused. */
static void test_stateful_batches(void) {
    const char *stateful =
        "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [2, null, 2]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 3, \"stateful\": true, \"return_sequences\": true}},"
        "{\"class_name\": \"GRU\", \"config\": {\"units\": 2, \"stateful\": true}}]}}";
    const char *plain =
        "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, null, 2]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"units\": 3, \"return_sequences\": true}},"
        "{\"class_name\": \"GRU\", \"config\": {\"units\": 2}}]}}";
    lstm_model *m = make(stateful, 4), *p = make(plain, 4);
    float x[2 * 6 * 2], first[2 * 3 * 2], second[2 * 3 * 2];
    for (int k = 0; k < 24; k++) x[k] = (float)sin(k * 0.9);
    for (int r = 0; r < 2; r++) {
        memcpy(first + r * 6, x + r * 12, 6 * sizeof(float));
        memcpy(second + r * 6, x + r * 12 + 6, 6 * sizeof(float));
    }
    lstm_state *s = NULL;
    EXPECT_STATUS(lstm_state_new_batch(m, 2, &s), LSTM_OK);
    float y1[4], y2[4], yw[4], y3[4];
    lstm_tensor t1 = {first, 3, {2, 3, 2, 0}}, t2 = {second, 3, {2, 3, 2, 0}}, tw = {x, 3, {2, 6, 2, 0}};
    lstm_tensor_out o1 = {y1, 4, 0, {0}}, o2 = {y2, 4, 0, {0}}, ow = {yw, 4, 0, {0}}, o3 = {y3, 4, 0, {0}};
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o1, 1), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t2, 1, &o2, 1), LSTM_OK);
    EXPECT_STATUS(lstm_model_run(p, &tw, 1, &ow, 1), LSTM_OK);
    double worst = 0;
    for (int k = 0; k < 4; k++) worst = fmax(worst, fabs(y2[k] - yw[k]));
    CHECK(worst < 1e-6, "two stateful calls vs one over both halves: %.3g", worst);
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o3, 1), LSTM_OK);
    CHECK(memcmp(y1, y3, sizeof y1) == 0, "after reset the first call repeats");
    /* Misuse. */
    lstm_tensor bad = {x, 3, {1, 3, 2, 0}};
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &bad, 1, &o1, 1), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("batch");
    EXPECT_STATUS(lstm_model_run(m, &t1, 1, &o1, 1), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("stateful");
    lstm_state *other = NULL;
    EXPECT_STATUS(lstm_state_new_batch(m, 3, &other), LSTM_ERROR_SHAPE);
    EXPECT_STATUS(lstm_state_new_batch(p, 2, &other), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_state_new_batch(m, 0, &other), LSTM_ERROR_ARGUMENT);
    float yt[2];
    EXPECT_STATUS(lstm_step(m, s, x, yt, 2), LSTM_ERROR_STATE);
    EXPECT_MESSAGE("lstm_state_new_batch");
    EXPECT_STATUS(lstm_model_run_stateful(m, NULL, &t1, 1, &o1, 1), LSTM_ERROR_ARGUMENT);
    /* fit carries the states through opts->state; without one a stateful model is refused. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);
    float yfit[4] = {0.1f, -0.2f, 0.3f, -0.4f};
    lstm_tensor ty = {yfit, 2, {2, 2, 0, 0}};
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = 2;
    o.shuffle = 0;
    double before = 0, after = 0;
    EXPECT_STATUS(lstm_model_fit_tensors(m, &t1, 1, &ty, 1, &o, NULL, 0, NULL), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("stateful");
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o1, 1), LSTM_OK);
    for (int k = 0; k < 4; k++) before += (y1[k] - yfit[k]) * (y1[k] - yfit[k]);
    o.state = s;
    o.epochs = 30;
    EXPECT_STATUS(lstm_model_fit_tensors(m, &t1, 1, &ty, 1, &o, NULL, 0, NULL), LSTM_OK);
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o1, 1), LSTM_OK);
    for (int k = 0; k < 4; k++) after += (y1[k] - yfit[k]) * (y1[k] - yfit[k]);
    CHECK(after < before, "stateful fit lowers the loss: %.4g -> %.4g", before, after);
    o.batch_size = 1;
    EXPECT_STATUS(lstm_model_fit_tensors(m, &t1, 1, &ty, 1, &o, NULL, 0, NULL), LSTM_ERROR_SHAPE);
    lstm_state *stream = NULL;
    EXPECT_STATUS(lstm_state_new(p, &stream), LSTM_OK);
    o.batch_size = 2;
    o.state = stream;
    EXPECT_STATUS(lstm_model_fit_tensors(m, &t1, 1, &ty, 1, &o, NULL, 0, NULL), LSTM_ERROR_STATE);
    /* One layer's state reset: the GRU starts over, the LSTM keeps its. */
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o1, 1), LSTM_OK);
    EXPECT_STATUS(lstm_state_reset_layer(s, "gru"), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t2, 1, &o2, 1), LSTM_OK);
    EXPECT_STATUS(lstm_state_reset(s), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t1, 1, &o3, 1), LSTM_OK);
    EXPECT_STATUS(lstm_model_run_stateful(m, s, &t2, 1, &o3, 1), LSTM_OK);
    CHECK(memcmp(y2, y3, sizeof y2) != 0, "a layer reset changes the next output");
    EXPECT_STATUS(lstm_state_reset_layer(s, "bogus"), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("gru");
    EXPECT_STATUS(lstm_state_reset_layer(stream, "gru"), LSTM_ERROR_STATE);
    EXPECT_STATUS(lstm_state_reset_layer(s, NULL), LSTM_ERROR_ARGUMENT);
    lstm_state_free(stream);
    lstm_state_free(s);
    lstm_model_free(m);
    lstm_model_free(p);
}

/* The layers around the recurrent ones, in the three models of Keras's own files: described by
   class, their non-trainable weights (BatchNormalization's moving statistics) counted apart, the
   encoder-decoder's output steps set by RepeatVector, saved and reloaded to the same outputs;
   fit trains them, the recurrent layers' recurrent_dropout included. */
static void test_layers_around_the_recurrent_ones(void) {
    const char *files[] = {"Tests/Fixtures/files/keras3_layers_cnn_lstm.keras",
                           "Tests/Fixtures/files/keras3_layers_encoder_decoder.keras",
                           "Tests/Fixtures/files/keras3_layers_regularised.keras"};
    const char *classes[] = {"Conv1D MaxPooling1D LSTM Dense", "LSTM RepeatVector LSTM TimeDistributed",
                             "LSTM Dropout LSTM BatchNormalization Dense"};
    const size_t steps[] = {12, 8, 7}, features[] = {3, 2, 3}, outputs[] = {1, 8, 1}, non_trainable[] = {0, 0, 8};
    char dir[] = "/tmp/lstm-capi-layers-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    for (size_t f = 0; f < 3; f++) {
        lstm_model *m = NULL;
        EXPECT_STATUS(lstm_model_load(files[f], &m), LSTM_OK);
        if (!m) continue;
        char seen[256] = "";
        size_t layers = 0;
        EXPECT_STATUS(lstm_model_layer_count(m, &layers), LSTM_OK);
        for (size_t i = 0; i < layers; i++) {
            lstm_layer_info li;
            memset(&li, 0, sizeof li);
            li.struct_size = sizeof li;
            EXPECT_STATUS(lstm_model_layer_info(m, i, &li), LSTM_OK);
            if (seen[0]) strcat(seen, " ");
            strcat(seen, li.class_name);
        }
        CHECK(strcmp(seen, classes[f]) == 0, "%s: layers %s", files[f], seen);
        size_t total = 0, trainable = 0, weights = 0, counted = 0;
        EXPECT_STATUS(lstm_model_param_count(m, &total), LSTM_OK);
        EXPECT_STATUS(lstm_model_trainable_param_count(m, &trainable), LSTM_OK);
        CHECK(total - trainable == non_trainable[f], "%s: %zu total, %zu trainable", files[f], total, trainable);
        EXPECT_STATUS(lstm_model_weight_count(m, &weights), LSTM_OK);
        for (size_t k = 0; k < weights; k++) {
            int t = -1;
            char name[128];
            size_t ndim = 0, shape[LSTM_MAX_RANK] = {0};
            EXPECT_STATUS(lstm_model_weight_trainable(m, k, &t), LSTM_OK);
            EXPECT_STATUS(lstm_model_weight_info(m, k, name, sizeof name, &ndim, shape), LSTM_OK);
            CHECK(t == (strstr(name, "moving_") == NULL), "%s: %s trainable %d", files[f], name, t);
            size_t n = 1;
            for (size_t d = 0; d < ndim; d++) n *= shape[d];
            if (t) counted += n;
        }
        CHECK(counted == trainable, "%s: trainable weights hold %zu, count says %zu", files[f], counted, trainable);
        /* Freezing the first layer (Keras's layer.trainable = False) takes its floats out of the
           trainable count; unfreezing puts them back. */
        lstm_layer_info first;
        memset(&first, 0, sizeof first);
        first.struct_size = sizeof first;
        EXPECT_STATUS(lstm_model_layer_info(m, 0, &first), LSTM_OK);
        size_t frozen = 0, thawed = 0;
        EXPECT_STATUS(lstm_model_set_layer_trainable(m, first.name, 0), LSTM_OK);
        EXPECT_STATUS(lstm_model_trainable_param_count(m, &frozen), LSTM_OK);
        EXPECT_STATUS(lstm_model_set_layer_trainable(m, first.name, 1), LSTM_OK);
        EXPECT_STATUS(lstm_model_trainable_param_count(m, &thawed), LSTM_OK);
        CHECK(frozen == trainable - first.param_count && thawed == trainable, "%s: freezing %s: %zu, %zu of %zu",
              files[f], first.name, frozen, thawed, trainable);
        EXPECT_STATUS(lstm_model_set_layer_trainable(m, "no_such_layer", 0), LSTM_ERROR_ARGUMENT);
        EXPECT_MESSAGE("no_such_layer");
        EXPECT_STATUS(lstm_model_set_layer_trainable(m, NULL, 0), LSTM_ERROR_ARGUMENT);
        EXPECT_STATUS(lstm_model_set_layer_trainable(NULL, first.name, 0), LSTM_ERROR_ARGUMENT);
        int t = 0;
        EXPECT_STATUS(lstm_model_weight_trainable(m, weights, &t), LSTM_ERROR_ARGUMENT);
        EXPECT_STATUS(lstm_model_weight_trainable(m, 0, NULL), LSTM_ERROR_ARGUMENT);
        EXPECT_STATUS(lstm_model_trainable_param_count(NULL, &total), LSTM_ERROR_ARGUMENT);
        EXPECT_STATUS(lstm_model_trainable_param_count(m, NULL), LSTM_ERROR_ARGUMENT);
        EXPECT_STATUS(lstm_model_weight_trainable(NULL, 0, &t), LSTM_ERROR_ARGUMENT);
        size_t out = 0;
        EXPECT_STATUS(lstm_model_output_size(m, steps[f], &out), LSTM_OK);
        CHECK(out == outputs[f], "%s: output size %zu", files[f], out);
        float x[4 * 12 * 3], y[4 * 8], back[4 * 8];
        for (size_t k = 0; k < 4 * steps[f] * features[f]; k++) x[k] = (float)sin(0.37 * (double)k);
        EXPECT_STATUS(lstm_model_predict(m, x, 4, steps[f], y, 4 * out), LSTM_OK);
        char path[256];
        snprintf(path, sizeof path, "%s/model_%zu.keras", dir, f);
        EXPECT_STATUS(lstm_model_save(m, path), LSTM_OK);
        lstm_model *again = NULL;
        EXPECT_STATUS(lstm_model_load(path, &again), LSTM_OK);
        if (again) {
            EXPECT_STATUS(lstm_model_predict(again, x, 4, steps[f], back, 4 * out), LSTM_OK);
            CHECK(memcmp(y, back, 4 * out * sizeof(float)) == 0, "%s: saved and reloaded, same outputs", files[f]);
            lstm_model_free(again);
        }
        remove(path);
        EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);
        float target[4 * 8];
        for (size_t k = 0; k < 4 * out; k++) target[k] = 0.1f * (float)k;
        double history[2];
        size_t ran = 0;
        lstm_fit_options opts;
        lstm_fit_options_init(&opts);
        opts.epochs = 2;
        opts.batch_size = 2;
        EXPECT_STATUS(lstm_model_fit(m, x, target, 4, steps[f], &opts, history, 2, &ran), LSTM_OK);
        /* The regularised stack's dropout makes its loss noisy: finite is what two epochs show. */
        CHECK(ran == 2 && isfinite(history[1]) && (f == 2 || history[1] < history[0]),
              "%s: fit ran %zu epochs, loss %g -> %g", files[f], ran, history[0], history[1]);
        lstm_model_free(m);
    }
    rmdir(dir);
    /* A layer that grows its input past the element limit (UpSampling1D by 2^30, a pooling after
       it): predict and fit refuse with MEMORY before the pass instead of failing to allocate. */
    lstm_model *grow = make("{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, null, 3]}},"
                            "{\"class_name\": \"UpSampling1D\", \"config\": {\"name\": \"up\", \"size\": 1073741824}},"
                            "{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {\"name\": \"g\"}}]}}", 2);
    if (grow) {
        float gx[2 * 5 * 3] = {0}, gy[2 * 3] = {0};
        double h[1];
        size_t ran = 0;
        EXPECT_STATUS(lstm_model_predict(grow, gx, 2, 5, gy, 6), LSTM_ERROR_MEMORY);
        EXPECT_MESSAGE("'up'");
        EXPECT_STATUS(lstm_model_compile(grow, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"), LSTM_OK);
        EXPECT_STATUS(lstm_model_fit(grow, gx, gy, 2, 5, NULL, h, 1, &ran), LSTM_ERROR_MEMORY);
        EXPECT_STATUS(lstm_model_evaluate(grow, gx, gy, 2, 5, h), LSTM_ERROR_MEMORY);
        lstm_model_free(grow);
    }
    /* GRU's and SimpleRNN's recurrent_dropout train (Keras's per-gate masks in fit); predict
       is unaffected by them: the same output twice. */
    const char *recurrent[] = {"GRU", "SimpleRNN"};
    for (int k = 0; k < 2; k++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 2]}},"
                 "{\"class_name\": \"%s\", \"config\": {\"name\": \"rec\", \"units\": 4, \"dropout\": 0.1, \"recurrent_dropout\": 0.3}},"
                 "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1}}]}}", recurrent[k]);
        lstm_model *rec = make(json, 1);
        float rx[8 * 3 * 2], ry[8], first[8], second[8];
        for (int i = 0; i < 8 * 3 * 2; i++) rx[i] = (float)((i * 37 % 17) - 8) / 8.0f;
        for (int i = 0; i < 8; i++) ry[i] = rx[i * 6 + 4] > 0 ? 1.0f : -1.0f;
        double h[40];
        size_t ran = 0;
        EXPECT_STATUS(lstm_model_compile(rec, "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.03}}, \"loss\": \"mse\"}"), LSTM_OK);
        lstm_fit_options o;
        lstm_fit_options_init(&o);
        o.epochs = 40;
        o.batch_size = 8;
        EXPECT_STATUS(lstm_model_fit(rec, rx, ry, 8, 3, &o, h, 40, &ran), LSTM_OK);
        CHECK(ran == 40 && h[39] < 0.5 * h[0], "%s with recurrent_dropout trains: loss %g -> %g", recurrent[k], h[0], h[39]);
        EXPECT_STATUS(lstm_model_predict(rec, rx, 8, 3, first, 8), LSTM_OK);
        EXPECT_STATUS(lstm_model_predict(rec, rx, 8, 3, second, 8), LSTM_OK);
        CHECK(memcmp(first, second, sizeof first) == 0, "%s: predict draws no masks", recurrent[k]);
        lstm_model_free(rec);
    }
}

/* Every Keras optimizer by its compile config: trains a small sine model, and a save to .keras
   and a load carry its state, so one more epoch of the loaded model equals one more epoch of
   the original, bit for bit. */
static void test_every_optimizer(void) {
    enum { N = 32 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 3);
    const char *model_json =
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 4}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1}}]}}";
    const char *compiles[] = {
        "{\"loss\": \"mse\"}", /* Keras's default optimizer, RMSprop */
        "{\"optimizer\": {\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": 0.01, \"momentum\": 0.5, \"centered\": true}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"AdamW\", \"config\": {\"learning_rate\": 0.01, \"amsgrad\": true}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"Adagrad\", \"config\": {\"learning_rate\": 0.1, \"clipnorm\": 1.0}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"Adadelta\", \"config\": {\"learning_rate\": 1.0}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"Adamax\", \"config\": {\"learning_rate\": 0.02, \"clipvalue\": 0.5}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"Nadam\", \"config\": {\"learning_rate\": 0.01, \"global_clipnorm\": 1.0}}, \"loss\": \"mse\"}",
        "{\"optimizer\": {\"class_name\": \"Lion\", \"config\": {\"learning_rate\": 0.002, \"weight_decay\": 0.01}}, \"loss\": \"mse\"}",
    };
    char dir[] = "/tmp/lstm-capi-optimizers-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/model.keras", dir);
    for (size_t k = 0; k < sizeof compiles / sizeof *compiles; k++) {
        lstm_model *m = make(model_json, 5);
        EXPECT_STATUS(lstm_model_compile(m, compiles[k]), LSTM_OK);
        lstm_fit_options o;
        lstm_fit_options_init(&o);
        o.epochs = 8;
        o.batch_size = 8;
        o.shuffle = 0;
        double h[8];
        size_t ran = 0;
        EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, h, 8, &ran), LSTM_OK);
        CHECK(ran == 8 && h[7] < 0.7 * h[0], "%s trains: loss %g -> %g", compiles[k], h[0], h[7]);
        EXPECT_STATUS(lstm_model_save(m, path), LSTM_OK);
        lstm_model *loaded = NULL;
        EXPECT_STATUS(lstm_model_load(path, &loaded), LSTM_OK);
        if (!loaded) { lstm_model_free(m); continue; }
        o.epochs = 1;
        EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, h, 1, &ran), LSTM_OK);
        EXPECT_STATUS(lstm_model_fit(loaded, x, y, N, 49, &o, h, 1, &ran), LSTM_OK);
        size_t count = 0;
        EXPECT_STATUS(lstm_model_param_count(m, &count), LSTM_OK);
        float *a = calloc(count, sizeof *a), *b = calloc(count, sizeof *b);
        EXPECT_STATUS(lstm_model_get_weights(m, a, count), LSTM_OK);
        EXPECT_STATUS(lstm_model_get_weights(loaded, b, count), LSTM_OK);
        CHECK(count > 0 && memcmp(a, b, count * sizeof *a) == 0, "%s: the loaded model resumes as the original", compiles[k]);
        free(a);
        free(b);
        lstm_model_free(loaded);
        lstm_model_free(m);
    }
    remove(path);
    rmdir(dir);
}

/* The learning rate read and set from C, also from fit's epoch callback (as ReduceLROnPlateau
   does): halving it after every epoch leaves initial / 2^epochs; out-of-range values and a
   schedule's rate are refused. */
static int halve_learning_rate(void *user, size_t epoch, double loss, double val_loss) {
    (void)epoch; (void)loss; (void)val_loss;
    lstm_model *m = user;
    double rate = 0;
    if (lstm_model_learning_rate(m, &rate) != LSTM_OK) return 1;
    return lstm_model_set_learning_rate(m, rate / 2) == LSTM_OK ? 0 : 1;
}

static void test_learning_rate(void) {
    enum { N = 16 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 5);
    lstm_model *m = make("{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"
                         "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 3}},"
                         "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1}}]}}", 2);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": 0.016}}, \"loss\": \"mse\"}"), LSTM_OK);
    double rate = 0;
    EXPECT_STATUS(lstm_model_learning_rate(m, &rate), LSTM_OK);
    CHECK(fabs(rate - 0.016) < 1e-9, "learning rate %g, expected 0.016", rate);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = 8;
    o.on_epoch = halve_learning_rate;
    o.user = m;
    double h[3];
    size_t ran = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, h, 3, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_learning_rate(m, &rate), LSTM_OK);
    CHECK(ran == 3 && fabs(rate - 0.002) < 1e-9, "after 3 halvings: %g", rate);
    EXPECT_STATUS(lstm_model_set_learning_rate(m, 0), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_set_learning_rate(m, NAN), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
                                        "{\"class_name\": \"InverseTimeDecay\", \"config\": {\"initial_learning_rate\": 0.5, \"decay_steps\": 1, \"decay_rate\": 1}}}}, \"loss\": \"mse\"}"), LSTM_OK);
    o.on_epoch = NULL;
    o.epochs = 1;
    EXPECT_STATUS(lstm_model_fit(m, x, y, N, 49, &o, h, 1, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_learning_rate(m, &rate), LSTM_OK);
    CHECK(fabs(rate - 0.5 / 3) < 1e-7, "InverseTimeDecay after 2 updates: %g, expected %g", rate, 0.5 / 3);
    EXPECT_STATUS(lstm_model_set_learning_rate(m, 0.1), LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("InverseTimeDecay");
    lstm_model_free(m);
}

/* The crossentropies from C: sparse targets are one class id per sample (n values, not n x
   classes); evaluate's loss is the mean of -log p[label] over lstm_model_predict's softmax
   outputs (computed here), a binary one the mean of Keras's BCE; fit lowers both; class ids out
   of range or not whole are refused before anything trains. */
/* What the logs callbacks saw: the names of the last call, and every epoch's accuracy. */
struct logs_seen {
    size_t calls, batches, n;
    char names[8][64];
    double accuracy[4], val_accuracy[4], last_loss;
};

static int record_epoch_logs(void *user, size_t epoch, size_t batch, size_t n, const char *const *names,
                             const double *values) {
    struct logs_seen *s = user;
    s->calls++;
    s->batches = batch;
    s->n = n;
    for (size_t k = 0; k < n && k < 8; k++) {
        snprintf(s->names[k], sizeof s->names[k], "%s", names[k]);
        if (strcmp(names[k], "accuracy") == 0 && epoch < 4) s->accuracy[epoch] = values[k];
        if (strcmp(names[k], "val_accuracy") == 0 && epoch < 4) s->val_accuracy[epoch] = values[k];
        if (strcmp(names[k], "loss") == 0) s->last_loss = values[k];
    }
    return 0;
}

static int count_batch_logs(void *user, size_t epoch, size_t batch, size_t n, const char *const *names,
                            const double *values) {
    (void)epoch; (void)batch; (void)values;
    size_t *seen = user;
    if (n == 3 && strcmp(names[1], "accuracy") == 0) seen[0]++;
    return 0;
}

/* evaluate's batch logs: how many came, the last running loss, and whether to stop at batch 1. */
struct eval_seen { size_t calls, n; double last_loss; int stop_at_1; };

static int record_eval_batch(void *user, size_t epoch, size_t batch, size_t n, const char *const *names,
                             const double *values) {
    struct eval_seen *s = user;
    (void)epoch;
    s->calls++;
    s->n = n;
    if (strcmp(names[0], "loss") == 0) s->last_loss = values[0];
    return s->stop_at_1 && batch == 1;
}

/* The batches each epoch ran (steps_per_epoch). */
static int record_epoch_batches(void *user, size_t epoch, size_t batch, size_t n, const char *const *names,
                                const double *values) {
    (void)n; (void)names; (void)values;
    if (epoch < 8) ((size_t *)user)[epoch] = batch;
    return 0;
}

static void test_metrics(void) {
    enum { N = 20, T = 5, C = 3 };
    static float x[N * T * 2], ids[N], p[N * C];
    for (int i = 0; i < N * T * 2; i++) x[i] = (float)cos(0.29 * i) * 0.9f;
    for (int i = 0; i < N; i++) ids[i] = (float)(i % C);
    lstm_model *m = make(
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 2]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 4}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 3, \"activation\": \"softmax\"}}]}}", 6);
    size_t count = 9;
    EXPECT_STATUS(lstm_model_metric_count(m, &count), LSTM_OK);
    CHECK(count == 0, "an uncompiled model has no metrics, got %zu", count);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"sparse_categorical_crossentropy\", "
                                        "\"metrics\": [\"accuracy\", {\"class_name\": \"SparseTopKCategoricalAccuracy\", "
                                        "\"config\": {\"k\": 2, \"name\": \"top2\"}}]}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_metric_count(m, &count), LSTM_OK);
    CHECK(count == 2, "two metrics, got %zu", count);
    char name[32];
    EXPECT_STATUS(lstm_model_metric_name(m, 1, name, sizeof name), LSTM_OK);
    CHECK(strcmp(name, "top2") == 0, "metric 1 is top2, got '%s'", name);
    EXPECT_STATUS(lstm_model_metric_name(m, 2, name, sizeof name), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_metric_count(m, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_metric_name(NULL, 0, name, sizeof name), LSTM_ERROR_ARGUMENT);

    /* evaluate's metrics equal the ones counted from the predictions. */
    EXPECT_STATUS(lstm_model_predict(m, x, N, T, p, N * C), LSTM_OK);
    double hits = 0, top2 = 0;
    for (int i = 0; i < N; i++) {
        int best = 0, above = 0, c = (int)ids[i];
        for (int j = 1; j < C; j++) if (p[i * C + j] > p[i * C + best]) best = j;
        for (int j = 0; j < C; j++) if (p[i * C + j] > p[i * C + c]) above++;
        hits += best == c;
        top2 += above < 2;
    }
    lstm_tensor tx = {x, 3, {N, T, 2}}, ty = {ids, 1, {N}};
    double loss = 0, values[2] = {-1, -1}, plain = 0;
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 0, &loss, values, 2, NULL, NULL), LSTM_OK);
    CHECK(values[0] == hits / N && values[1] == top2 / N, "accuracy %.4f and top-2 %.4f, counted %.4f and %.4f",
          values[0], values[1], hits / N, top2 / N);
    EXPECT_STATUS(lstm_model_evaluate_tensors(m, &tx, 1, &ty, 1, &plain), LSTM_OK);
    CHECK(fabs(loss - plain) < 1e-12, "the loss %.8f is evaluate's %.8f", loss, plain);
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 0, &loss, values, 1, NULL, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("metrics_cap");
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 0, &loss, NULL, 2, NULL, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 0, NULL, values, 2, NULL, NULL), LSTM_ERROR_ARGUMENT);
    /* Bad input to evaluate_metrics: no model, a target of the wrong size, sample weights of the
       wrong size or not finite; each refused with nothing written. */
    EXPECT_STATUS(lstm_model_evaluate_metrics(NULL, &tx, 1, &ty, 1, NULL, 0, &loss, values, 2, NULL, NULL), LSTM_ERROR_ARGUMENT);
    lstm_tensor short_y = {ids, 1, {N - 1}}, nan_w = {NULL, 1, {N}}, long_w = {NULL, 1, {N + 1}};
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &short_y, 1, NULL, 0, &loss, values, 2, NULL, NULL), LSTM_ERROR_SHAPE);
    static float nan_weights[N + 1];
    for (int i = 0; i <= N; i++) nan_weights[i] = 1;
    nan_weights[3] = NAN;
    nan_w.data = nan_weights;
    long_w.data = nan_weights;
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, &nan_w, 0, &loss, values, 2, NULL, NULL), LSTM_ERROR_NUMERIC);
    EXPECT_MESSAGE("sample_weight");
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, &long_w, 0, &loss, values, 2, NULL, NULL), LSTM_ERROR_SHAPE);
    long_w.data = NULL;
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, &long_w, 0, &loss, values, 2, NULL, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_metric_name(m, 0, NULL, 0), LSTM_OK);
    struct eval_seen es = {0, 0, 0, 0};
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 8, &loss, values, 2, record_eval_batch, &es), LSTM_OK);
    CHECK(es.calls == 3 && es.n == 3 && fabs(es.last_loss - loss) < 1e-12,
          "3 batches of 8 of 20 samples with 3 running values, the last the result: %zu, %zu, %.6f vs %.6f",
          es.calls, es.n, es.last_loss, loss);
    es.stop_at_1 = 1;
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 8, &loss, values, 2, record_eval_batch, &es),
                  LSTM_ERROR_CANCELLED);

    /* fit's logs callbacks: every value by name, val_ after the split; on_epoch still called. */
    struct logs_seen seen = {0};
    size_t batch_logs[1] = {0};
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = 4;
    o.validation_split = 0.2f;
    o.user = &seen;
    o.on_epoch_logs = record_epoch_logs;
    double h[3];
    size_t ran = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_OK);
    CHECK(seen.calls == 3 && seen.n == 6 && seen.batches == 4, "3 epochs of 4 batches with 6 log values, got %zu, %zu, %zu",
          seen.calls, seen.batches, seen.n);
    const char *want[6] = {"loss", "accuracy", "top2", "val_loss", "val_accuracy", "val_top2"};
    for (int k = 0; k < 6; k++) CHECK(strcmp(seen.names[k], want[k]) == 0, "log %d is '%s', got '%s'", k, want[k], seen.names[k]);
    CHECK(seen.last_loss == h[2], "the logs' loss %.6f is the history's %.6f", seen.last_loss, h[2]);
    for (int e = 0; e < 3; e++) {
        /* 16 training samples, 4 held out (Keras's split of 20 at 0.2). */
        CHECK(seen.accuracy[e] * 16 == round(seen.accuracy[e] * 16) && seen.val_accuracy[e] * 4 == round(seen.val_accuracy[e] * 4),
              "epoch %d: accuracy %.4f over 16 and %.4f over 4 samples", e, seen.accuracy[e], seen.val_accuracy[e]);
    }
    o.on_epoch_logs = NULL;
    o.on_batch_logs = count_batch_logs;
    o.user = batch_logs;
    o.validation_split = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_OK);
    CHECK(batch_logs[0] == 15, "5 batches x 3 epochs of batch logs, got %zu", batch_logs[0]);

    /* steps_per_epoch 2 over 5 batches: epochs of 2, 2, then the 1 left, then 2 of a new pass. */
    size_t per_epoch[8] = {0};
    lstm_fit_options_init(&o);
    o.epochs = 4;
    o.batch_size = 4;
    o.steps_per_epoch = 2;
    o.user = per_epoch;
    o.on_epoch_logs = record_epoch_batches;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_OK);
    CHECK(ran == 4 && per_epoch[0] == 2 && per_epoch[1] == 2 && per_epoch[2] == 1 && per_epoch[3] == 2,
          "epochs of 2, 2, 1, 2 batches, got %zu, %zu, %zu, %zu", per_epoch[0], per_epoch[1], per_epoch[2], per_epoch[3]);

    /* Sample and class weights: doubled weights double the loss; all-zero weights train nothing. */
    static float twos[N], zeros[N];
    for (int i = 0; i < N; i++) { twos[i] = 2.0f; zeros[i] = 0.0f; }
    lstm_tensor tw = {twos, 1, {N}}, tz = {zeros, 1, {N}};
    double doubled = 0;
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, NULL, 0, &loss, values, 2, NULL, NULL), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate_metrics(m, &tx, 1, &ty, 1, &tw, 0, &doubled, values, 2, NULL, NULL), LSTM_OK);
    CHECK(fabs(doubled - 2 * loss) < 1e-9 * loss, "weights of 2 double the loss: %.8f vs %.8f", doubled, loss);
    size_t params = 0;
    EXPECT_STATUS(lstm_model_param_count(m, &params), LSTM_OK);
    /* SGD without momentum: a zero gradient moves nothing (Adam's moments from the fits above would). */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"sgd\", \"loss\": \"sparse_categorical_crossentropy\", "
                                        "\"metrics\": [\"accuracy\", \"sparse_top_k_categorical_accuracy\"]}"), LSTM_OK);
    float *before_w = malloc(params * sizeof(float)), *after_w = malloc(params * sizeof(float));
    EXPECT_STATUS(lstm_model_get_weights(m, before_w, params), LSTM_OK);
    lstm_fit_options_init(&o);
    o.batch_size = 4;
    o.sample_weight = &tz;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_OK);
    o.sample_weight = NULL;
    float no_class[3] = {0, 0, 0};
    o.class_weight = no_class;
    o.class_weight_count = 3;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_get_weights(m, after_w, params), LSTM_OK);
    CHECK(memcmp(before_w, after_w, params * sizeof(float)) == 0, "zero sample and class weights leave the weights as they were");
    o.sample_weight = &tw;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("class_weight and sample_weight");
    o.sample_weight = NULL;
    o.class_weight_count = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("class_weight_count");
    o.class_weight_count = 3;
    no_class[1] = INFINITY;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_ERROR_NUMERIC);
    EXPECT_MESSAGE("class_weight");
    o.class_weight = NULL;
    lstm_tensor short_w = {twos, 1, {N - 1}};
    o.sample_weight = &short_w;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 3, &ran), LSTM_ERROR_SHAPE);
    EXPECT_MESSAGE("sample_weight has shape");
    free(before_w); free(after_w);

    /* A metric that does not fit the loss's targets is refused and the model keeps its compile. */
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"sparse_categorical_crossentropy\", "
                                        "\"metrics\": [\"categorical_accuracy\"]}"), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("categorical_accuracy");
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"mse\", \"metrics\": [\"AUC\"]}"),
                  LSTM_ERROR_UNSUPPORTED);
    EXPECT_MESSAGE("not supported yet");
    EXPECT_STATUS(lstm_model_metric_count(m, &count), LSTM_OK);
    CHECK(count == 2, "the refused compiles left the two metrics, got %zu", count);
    lstm_model_free(m);
}

static void test_crossentropy(void) {
    enum { N = 24, T = 5, C = 3 };
    static float x[N * T * 2], ids[N], p[N * C], bits[N * C];
    for (int i = 0; i < N * T * 2; i++) x[i] = (float)sin(0.37 * i) * 0.8f;
    /* The class follows the last step's first feature: low, middle or high. */
    for (int i = 0; i < N; i++) {
        float last = x[i * T * 2 + (T - 1) * 2];
        ids[i] = last < -0.3f ? 0.0f : (last < 0.3f ? 1.0f : 2.0f);
    }
    for (int i = 0; i < N * C; i++) bits[i] = (float)((i * 5) % 3 == 0);
    const char *classifier =
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 2]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 4}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 3, \"activation\": \"%s\"}}]}}";
    char json[1024];
    snprintf(json, sizeof json, classifier, "softmax");
    lstm_model *m = make(json, 3);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.05}}, \"loss\": \"sparse_categorical_crossentropy\"}"), LSTM_OK);
    size_t per = 0;
    EXPECT_STATUS(lstm_model_target_size(m, T, &per), LSTM_OK);
    CHECK(per == 1, "a sparse target is one class id per sample, got %zu", per);
    EXPECT_STATUS(lstm_model_output_size(m, T, &per), LSTM_OK);
    CHECK(per == C, "the output is %d probabilities, got %zu", C, per);
    EXPECT_STATUS(lstm_model_target_size(NULL, T, &per), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_target_size(m, T, NULL), LSTM_ERROR_ARGUMENT);
    EXPECT_STATUS(lstm_model_predict(m, x, N, T, p, N * C), LSTM_OK);
    double want = 0, before = 0, after = 0;
    for (int i = 0; i < N; i++) want -= log(p[i * C + (int)ids[i]]) / N;
    EXPECT_STATUS(lstm_model_evaluate(m, x, ids, N, T, &before), LSTM_OK);
    CHECK(fabs(before - want) < 1e-5, "sparse crossentropy %.7f, expected %.7f from the predictions", before, want);
    lstm_fit_options o;
    lstm_fit_options_init(&o);
    o.epochs = 10;
    o.batch_size = 8;
    double h[10];
    size_t ran = 0;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 10, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate(m, x, ids, N, T, &after), LSTM_OK);
    CHECK(ran == 10 && after < before * 0.9, "sparse crossentropy fell from %.4f to %.4f", before, after);
    ids[5] = 3;
    EXPECT_STATUS(lstm_model_fit(m, x, ids, N, T, &o, h, 10, &ran), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("class id");
    ids[5] = 1.5f;
    EXPECT_STATUS(lstm_model_evaluate(m, x, ids, N, T, &after), LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("whole number");
    lstm_model_free(m);

    snprintf(json, sizeof json, classifier, "sigmoid");
    m = make(json, 4);
    EXPECT_STATUS(lstm_model_compile(m, "{\"optimizer\": \"adam\", \"loss\": \"binary_crossentropy\"}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_predict(m, x, N, T, p, N * C), LSTM_OK);
    want = 0;
    for (int i = 0; i < N * C; i++) want -= (bits[i] * log(p[i]) + (1 - bits[i]) * log(1 - p[i])) / (N * C);
    EXPECT_STATUS(lstm_model_evaluate(m, x, bits, N, T, &before), LSTM_OK);
    CHECK(fabs(before - want) < 1e-5, "binary crossentropy %.7f, expected %.7f from the predictions", before, want);
    EXPECT_STATUS(lstm_model_fit(m, x, bits, N, T, &o, h, 10, &ran), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate(m, x, bits, N, T, &after), LSTM_OK);
    CHECK(after < before, "binary crossentropy fell from %.4f to %.4f", before, after);
    lstm_model_free(m);
}

/* Regularizers from the model's Keras JSON: evaluate adds Keras's penalties (here computed in C
   from the weights) to the loss of the same model without them. */
static void test_regularizers(void) {
    enum { N = 8 };
    static float x[N * 49], y[N];
    sine_data(x, y, N, 7);
    const char *layers[] = {
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 2}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1}}]}}",
        "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 2, \"bias_regularizer\": {\"class_name\": \"L1\", \"config\": {\"l1\": 0.25}}}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1, \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}}}]}}",
    };
    lstm_model *plain = make(layers[0], 1), *regularized = make(layers[1], 1);
    float w[35];
    size_t count = 0;
    EXPECT_STATUS(lstm_model_param_count(plain, &count), LSTM_OK);
    CHECK(count == 35, "LSTM(2) -> Dense(1) on one feature has 35 weights, got %zu", count);
    EXPECT_STATUS(lstm_model_get_weights(plain, w, 35), LSTM_OK);
    for (int i = 24; i < 32; i++) w[i] = (float)(i % 3) - 1.0f; /* the LSTM's bias: some zero, some negative */
    EXPECT_STATUS(lstm_model_set_weights(plain, w, 35), LSTM_OK);
    EXPECT_STATUS(lstm_model_set_weights(regularized, w, 35), LSTM_OK);
    double penalty = 0;
    for (int i = 24; i < 32; i++) penalty += 0.25 * fabs(w[i]);
    for (int i = 32; i < 34; i++) penalty += 0.5 * (double)w[i] * w[i];
    double a = 0, b = 0;
    EXPECT_STATUS(lstm_model_compile(plain, "{\"optimizer\": \"sgd\", \"loss\": \"mse\"}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_compile(regularized, "{\"optimizer\": \"sgd\", \"loss\": \"mse\"}"), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate(plain, x, y, N, 49, &a), LSTM_OK);
    EXPECT_STATUS(lstm_model_evaluate(regularized, x, y, N, 49, &b), LSTM_OK);
    CHECK(fabs((b - a) - penalty) < 1e-5 * (1 + penalty), "evaluate adds the penalties: %g, expected %g", b - a, penalty);
    lstm_model_free(plain);
    lstm_model_free(regularized);
    lstm_model *bad = NULL;
    EXPECT_STATUS(lstm_model_from_json("{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 1]}},"
                                       "{\"class_name\": \"Dense\", \"config\": {\"units\": 1, \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": -1}}}}]}}", 0, &bad),
                  LSTM_ERROR_ARGUMENT);
    EXPECT_MESSAGE("l2");
    CHECK(bad == NULL, "no model on error");
}

int main(void) {
    /* LSTM_TEST_LIGHT=1 (the valgrind run) leaves out the tests that train for seconds: under
       valgrind they would take hours, and they call nothing the others do not. */
    const char *light = getenv("LSTM_TEST_LIGHT");
    int heavy = !(light && strcmp(light, "1") == 0);
    test_version_and_status_names();
    test_null_arguments();
    test_bad_json();
    test_shapes_and_json();
    test_predict_against_reference_and_bad_sizes();
    test_streaming_equals_predict();
    test_step_sizes_and_fixed_lengths();
    test_files();
    test_onnx_export();
    test_load_outputs();
    if (heavy) test_threads();
    if (heavy) test_training_errors_and_callbacks();
    if (heavy) test_training_is_deterministic();
    if (heavy) test_sine_job_reaches_keras_loss();
    test_gradient_reducer();
    test_graph_tensors();
    test_stateful_batches();
    test_layers_around_the_recurrent_ones();
    test_every_optimizer();
    test_regularizers();
    test_learning_rate();
    test_crossentropy();
    test_metrics();
    printf("C API: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
