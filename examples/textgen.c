/*
 * A character-level language model from C, the same as examples/textgen.py:
 *   Embedding(vocabulary, 32) -> LSTM(192, return_sequences) -> Dense(vocabulary, softmax),
 *   sparse categorical crossentropy with accuracy, trained to predict each next character of a
 *   plain text (by default the GNU GPL's, which every Debian machine has: read at run time).
 *   After every epoch it prints a sample drawn one character at a time through the streaming
 *   API (lstm_step) with a temperature; at the end it saves a .keras file that Keras loads.
 *
 * Build:  cc -O2 -Iinclude examples/textgen.c -Lbuild -llstm -Wl,-rpath,'$ORIGIN' -lm -o build/textgen
 * Run:    build/textgen [epochs] [model.keras] [corpus.txt]
 */
#include "lstm.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 64      /* characters per training sequence */
#define STRIDE 8       /* windows start every STRIDE characters */
#define BATCH 64
#define SAMPLE_LENGTH 240
#define TEMPERATURE 0.5
static const char *SEED_TEXT = "the program ";

static int fail(const char *what, lstm_status s) {
    fprintf(stderr, "%s failed: %s: %s\n", what, lstm_status_name(s), lstm_last_error());
    return 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The corpus in lower case, its whitespace collapsed to single spaces (as textgen.py). */
static char *load_text(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    int c, space = 1;
    while (text && (c = fgetc(f)) != EOF) {
        if (isspace(c)) {
            if (space) continue;
            c = ' ';
            space = 1;
        } else {
            space = 0;
            c = tolower(c);
        }
        if (n + 1 >= cap) {
            char *grown = realloc(text, cap *= 2);
            if (!grown) { free(text); text = NULL; break; }
            text = grown;
        }
        text[n++] = (char)c;
    }
    fclose(f);
    if (!text) return NULL;
    while (n > 0 && text[n - 1] == ' ') n--;
    text[n] = '\0';
    *length = n;
    return text;
}

/* xorshift64*: a small seeded generator for the samples. */
static double uniform(uint64_t *s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* A character drawn from p^(1/temperature), renormalised. */
static int draw(const float *p, int classes, uint64_t *rng) {
    double w[256], total = 0, top = -INFINITY;
    for (int k = 0; k < classes; k++) {
        w[k] = log(p[k] > 1e-12f ? p[k] : 1e-12) / TEMPERATURE;
        if (w[k] > top) top = w[k];
    }
    for (int k = 0; k < classes; k++) total += (w[k] = exp(w[k] - top));
    double u = uniform(rng) * total;
    for (int k = 0; k < classes; k++) {
        if ((u -= w[k]) <= 0) return k;
    }
    return classes - 1;
}

/* Keras's epoch log line, from every value fit reports by name ("loss", "accuracy"). */
static int print_logs(void *user, size_t epoch, size_t batch, size_t n, const char *const *names, const double *values) {
    (void)epoch;
    printf("%zu/%zu - %.0f s", batch, batch, now() - *(double *)user);
    for (size_t k = 0; k < n; k++) printf(" - %s: %.4f", names[k], values[k]);
    printf("\n");
    return 0;
}

/* SEED_TEXT fed one character at a time, then SAMPLE_LENGTH characters from the model. */
static int generate(const lstm_model *m, const char *alphabet, const int *index, int classes, uint64_t seed) {
    lstm_state *state = NULL;
    lstm_status s = lstm_state_new(m, &state);
    if (s != LSTM_OK) return fail("lstm_state_new", s);
    float *p = malloc(classes * sizeof(float)), id = 0;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    printf("%s", SEED_TEXT);
    for (const char *c = SEED_TEXT; *c && s == LSTM_OK; c++) {
        id = (float)index[(unsigned char)*c];
        s = lstm_step(m, state, &id, p, classes);
    }
    for (int i = 0; i < SAMPLE_LENGTH && s == LSTM_OK; i++) {
        int k = draw(p, classes, &rng);
        putchar(alphabet[k]);
        id = (float)k;
        s = lstm_step(m, state, &id, p, classes);
    }
    printf("\n");
    free(p);
    lstm_state_free(state);
    return s == LSTM_OK ? 0 : fail("lstm_step", s);
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 12;
    const char *out_path = argc > 2 ? argv[2] : "textgen.keras";
    const char *corpus = argc > 3 ? argv[3] : "/usr/share/common-licenses/GPL-3";
    if (epochs < 1) { fprintf(stderr, "epochs must be >= 1\n"); return 2; }
    size_t length = 0;
    char *text = load_text(corpus, &length);
    if (!text || length < WINDOW + 2) { fprintf(stderr, "%s: no text to learn from\n", corpus); return 1; }

    /* The alphabet: the distinct characters, sorted (as textgen.py's sorted(set(text))). */
    int index[256], classes = 0;
    char alphabet[257];
    int seen[256] = {0};
    for (size_t i = 0; i < length; i++) seen[(unsigned char)text[i]] = 1;
    for (int c = 0; c < 256; c++) {
        index[c] = -1;
        if (seen[c]) { index[c] = classes; alphabet[classes++] = (char)c; }
    }
    alphabet[classes] = '\0';

    /* Windows ids[i .. i+WINDOW) and, one step ahead, their targets. */
    size_t n = (length - WINDOW - 1 + STRIDE - 1) / STRIDE;
    float *x = malloc(n * WINDOW * sizeof(float)), *y = malloc(n * WINDOW * sizeof(float));
    if (!x || !y) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t w = 0; w < n; w++) {
        for (int t = 0; t < WINDOW; t++) {
            x[w * WINDOW + t] = (float)index[(unsigned char)text[w * STRIDE + t]];
            y[w * WINDOW + t] = (float)index[(unsigned char)text[w * STRIDE + t + 1]];
        }
    }
    printf("corpus %s: %zu characters, %d distinct; %zu windows of %d\n", corpus, length, classes, n, WINDOW);

    char json[1024];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"textgen\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, null]}},"
             "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"embedding\", \"input_dim\": %d, \"output_dim\": 32}},"
             "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 192, \"return_sequences\": true}},"
             "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": %d, \"activation\": \"softmax\"}}]}}",
             classes, classes);
    lstm_model *m = NULL;
    lstm_status s = lstm_model_from_json(json, 1, &m);
    if (s != LSTM_OK) return fail("lstm_model_from_json", s);
    s = lstm_model_compile(m, "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.005}}, "
                              "\"loss\": \"sparse_categorical_crossentropy\", \"metrics\": [\"accuracy\"]}");
    if (s != LSTM_OK) return fail("lstm_model_compile", s);

    lstm_fit_options opts;
    lstm_fit_options_init(&opts);
    opts.epochs = 1;
    opts.batch_size = BATCH;
    lstm_tensor tx = {x, 2, {n, WINDOW}}, ty = {y, 2, {n, WINDOW}};
    double started = now();
    for (int epoch = 0; epoch < epochs; epoch++) {
        /* One epoch per call (the optimizer state carries over), so that the sample below reads
           the model between epochs, when nothing trains. */
        opts.seed = (uint64_t)epoch + 1;
        printf("Epoch %d/%d\n", epoch + 1, epochs);
        double epoch_started = now();
        opts.user = &epoch_started;
        opts.on_epoch_logs = print_logs;
        s = lstm_model_fit_tensors(m, &tx, 1, &ty, 1, &opts, NULL, 0, NULL);
        if (s != LSTM_OK) return fail("lstm_model_fit_tensors", s);
        printf("--- after epoch %d (%.0f s), temperature %.1f:\n", epoch + 1, now() - started, TEMPERATURE);
        if (generate(m, alphabet, index, classes, (uint64_t)epoch)) return 1;
        fflush(stdout);
    }
    s = lstm_model_save(m, out_path);
    if (s != LSTM_OK) return fail("lstm_model_save", s);
    printf("saved %s; Keras loads it with keras.saving.load_model\n", out_path);
    lstm_model_free(m);
    free(x); free(y); free(text);
    return 0;
}
