/*
 * The user's Keras sine job, step for step, from C:
 *   1000 sequences seq = sin(linspace(start, start + 2*pi, 50)), start uniform in [0, 1);
 *   X = seq[:-1] (49 steps, 1 feature), y = seq[-1];
 *   LSTM(50, tanh) -> Dense(1); Adam, MSE; fit 20 epochs, batch 32;
 *   predict sin(linspace(0, 2*pi, 49)) and draw true curve, input and prediction (SVG).
 *
 * Build:  cc -O2 -Iinclude examples/sine.c -Lbuild -llstm -Wl,-rpath,'$ORIGIN' -lm -o build/sine
 * Run:    build/sine [output.svg] [seed]
 */
#include "lstm.h"
#include "sine_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SEQ_LENGTH SINE_SEQ_LENGTH
#define STEPS SINE_STEPS
#define SAMPLES 1000
#define EPOCHS 20
#define BATCH 32
#define PI SINE_PI
#define linspace sine_linspace

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct progress { double t0; double last; size_t epochs; };

/* Keras's verbose=2 line for each epoch. */
static int on_epoch(void *user, size_t epoch, double loss, double val_loss) {
    struct progress *p = user;
    double t = now();
    const int steps = (SAMPLES + BATCH - 1) / BATCH;
    printf("Epoch %zu/%zu\n%d/%d - %.2fs - %.0fms/step - loss: %.4e", epoch + 1, p->epochs, steps, steps,
           t - p->last, (t - p->last) * 1000 / steps, loss);
    if (!isnan(val_loss)) printf(" - val_loss: %.4e", val_loss);
    printf("\n");
    fflush(stdout);
    p->last = t;
    return 0;
}

static int fail(const char *what, lstm_status s) {
    fprintf(stderr, "%s failed: %s: %s\n", what, lstm_status_name(s), lstm_last_error());
    return 1;
}

/* The picture the script draws with matplotlib: true curve, input, predicted point. */
static int write_svg(const char *path, const float *input, float predicted) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return 1; }
    const double W = 640, H = 400, L = 50, R = 20, T = 20, B = 40;
    const double xmax = 2 * PI * 1.05, ymin = -1.2, ymax = 1.2;
#define SX(v) (L + (v) / xmax * (W - L - R))
#define SY(v) (T + (ymax - (v)) / (ymax - ymin) * (H - T - B))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, SY(0.0), W - R, SY(0.0));
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, T, L, H - B);
    for (int k = 0; k <= 6; k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", SX((double)k), H - B + 16, k);
    for (int k = -1; k <= 1; k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", L - 6, SY((double)k) + 4, k);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"4\" points=\"");
    for (int i = 0; i < SEQ_LENGTH; i++) {
        double t = linspace(0, 2 * PI, SEQ_LENGTH, i);
        fprintf(f, "%.2f,%.2f ", SX(t), SY(sin(t)));
    }
    fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < STEPS; i++)
        fprintf(f, "%.2f,%.2f ", SX(linspace(0, 2 * PI, STEPS, i)), SY((double)input[i]));
    fprintf(f, "\"/>\n<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"red\"/>\n", SX(2 * PI), SY((double)predicted));
    const char *labels[3] = {"True", "Input", "Predicted"};
    const char *colors[3] = {"#1f77b4", "#ff7f0e", "red"};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "<rect x=\"%.0f\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>", W - 130, 32 + 18 * k, colors[k]);
        fprintf(f, "<text x=\"%.0f\" y=\"%d\">%s</text>\n", W - 110, 38 + 18 * k, labels[k]);
    }
    fprintf(f, "</svg>\n");
#undef SX
#undef SY
    return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *svg = argc > 1 ? argv[1] : "sine.svg";
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    /* A third argument trains fewer epochs (the valgrind run uses 1). */
    size_t epochs = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : EPOCHS;
    if (epochs < 1 || epochs > EPOCHS) epochs = EPOCHS;
    if (lstm_version_number() != LSTM_VERSION_NUMBER) {
        fprintf(stderr, "liblstm %s loaded, but this program was built for %d\n", lstm_version_string(),
                LSTM_VERSION_NUMBER);
        return 1;
    }

    static float x[SAMPLES * STEPS], y[SAMPLES];
    uint64_t rng = seed;
    sine_generate(x, y, SAMPLES, &rng);

    /* model = Sequential(); model.add(LSTM(50, activation='tanh', input_shape=(49, 1))); model.add(Dense(1)) */
    const char *json = SINE_KERAS_JSON;
    lstm_model *model = NULL;
    lstm_status s = lstm_model_from_json(json, seed, &model);
    if (s != LSTM_OK) return fail("lstm_model_from_json", s);

    /* model.compile(optimizer='adam', loss='mse') */
    s = lstm_model_compile(model, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}");
    if (s != LSTM_OK) return fail("lstm_model_compile", s);

    /* model.fit(X, y, epochs=20, batch_size=32) */
    lstm_fit_options opts;
    lstm_fit_options_init(&opts);
    opts.epochs = epochs;
    opts.batch_size = BATCH;
    opts.seed = seed;
    struct progress p;
    p.t0 = p.last = now();
    p.epochs = epochs;
    opts.on_epoch = on_epoch;
    opts.user = &p;
    double history[EPOCHS];
    size_t epochs_run = 0;
    s = lstm_model_fit(model, x, y, SAMPLES, STEPS, &opts, history, EPOCHS, &epochs_run);
    if (s != LSTM_OK) return fail("lstm_model_fit", s);
    double fit_seconds = now() - p.t0;

    /* test_seq = sin(linspace(0, 2*pi, 49)); predicted = model.predict(test_seq) */
    float test_seq[STEPS], predicted;
    for (int i = 0; i < STEPS; i++) test_seq[i] = (float)sin(linspace(0, 2 * PI, STEPS, i));
    s = lstm_model_predict(model, test_seq, 1, STEPS, &predicted, 1);
    if (s != LSTM_OK) return fail("lstm_model_predict", s);

    /* Held-out data from the same distribution: how well the fit generalises. */
    static float xv[SAMPLES * STEPS], yv[SAMPLES];
    sine_generate(xv, yv, SAMPLES, &rng);
    double held_out = 0;
    s = lstm_model_evaluate(model, xv, yv, SAMPLES, STEPS, &held_out);
    if (s != LSTM_OK) return fail("lstm_model_evaluate", s);

    printf("fit: %zu epochs in %.2f s, final training loss %.3e, held-out MSE %.3e\n", epochs_run, fit_seconds,
           history[epochs_run - 1], held_out);
    printf("prediction for sin(linspace(0, 2pi, 49)): %.4f (true next value of that grid: %.4f)\n", predicted,
           sin(2 * PI * STEPS / (STEPS - 1)));
    int rc = write_svg(svg, test_seq, predicted);
    if (rc == 0) printf("plot written to %s\n", svg);
    lstm_model_free(model);
    return rc;
}
