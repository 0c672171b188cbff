/* The user's sine data, shared by examples/sine.c and the C-API tests:
   seq = sin(linspace(start, start + 2*pi, 50)) with start uniform in [0, 1) (np.random.rand in
   the Keras script); X = seq[:-1] (49 steps of 1 feature), y = seq[-1]. */
#ifndef SINE_DATA_H
#define SINE_DATA_H

#include <math.h>
#include <stdint.h>

#define SINE_SEQ_LENGTH 50
#define SINE_STEPS (SINE_SEQ_LENGTH - 1)

static const double SINE_PI = 3.14159265358979323846;

/* The script's model: Sequential([LSTM(50, activation='tanh', input_shape=(49, 1)), Dense(1)]). */
#define SINE_KERAS_JSON                                                                        \
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["    \
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 49, 1]}},"            \
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 50, \"activation\": \"tanh\"}},"        \
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}"

/* splitmix64, seeded: the same data for the same seed on every machine. */
static double sine_uniform01(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* numpy.linspace(a, b, n)[i] */
static double sine_linspace(double a, double b, int n, int i) {
    return i == n - 1 ? b : a + (b - a) * i / (n - 1);
}

/* x: samples * 49 floats, y: samples floats. */
static void sine_generate(float *x, float *y, int samples, uint64_t *state) {
    for (int s = 0; s < samples; s++) {
        double start = sine_uniform01(state);
        for (int i = 0; i < SINE_SEQ_LENGTH; i++) {
            float v = (float)sin(sine_linspace(start, start + 2 * SINE_PI, SINE_SEQ_LENGTH, i));
            if (i < SINE_STEPS) x[s * SINE_STEPS + i] = v; else y[s] = v;
        }
    }
}

#endif
