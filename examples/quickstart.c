/* The README's C example: a model from Keras JSON, trained, asked for a prediction and saved
   as a .keras file that Keras loads. Every call's status is checked. */
#include <math.h>
#include <stdio.h>

#include "lstm.h"

/* On failure: say which call failed and why, free the model, exit with 1. */
#define CHECK(call)                                                                   \
    do {                                                                              \
        lstm_status status_ = (call);                                                 \
        if (status_ != LSTM_OK) {                                                     \
            fprintf(stderr, "%s: %s: %s\n", #call, lstm_status_name(status_),        \
                    lstm_last_error());                                               \
            lstm_model_free(model);                                                   \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static const char *KERAS_JSON =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"forecaster\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20, 1]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 16}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 1}}]}}";

enum { SAMPLES = 256, STEPS = 20, EPOCHS = 10 };

int main(void) {
    /* A program may run with another build of the library than its header's. */
    if (lstm_version_number() != LSTM_VERSION_NUMBER) {
        fprintf(stderr, "built for liblstm %s, running %s\n", LSTM_VERSION_STRING, lstm_version_string());
        return 1;
    }
    /* Windows of a sine wave; the target is the value after each window. */
    static float x[SAMPLES * STEPS], y[SAMPLES];
    for (int i = 0; i < SAMPLES; i++) {
        for (int t = 0; t < STEPS; t++) x[i * STEPS + t] = sinf(0.1f * (float)(i + t));
        y[i] = sinf(0.1f * (float)(i + STEPS));
    }

    lstm_model *model = NULL;
    CHECK(lstm_model_from_json(KERAS_JSON, /* seed */ 42, &model));
    CHECK(lstm_model_compile(model, "{\"optimizer\": \"adam\", \"loss\": \"mse\"}"));

    lstm_fit_options options;
    lstm_fit_options_init(&options); /* Keras's defaults */
    options.epochs = EPOCHS;
    options.batch_size = 32;
    double history[EPOCHS];
    size_t epochs_run = 0;
    CHECK(lstm_model_fit(model, x, y, SAMPLES, STEPS, &options, history, EPOCHS, &epochs_run));

    float predicted = 0;
    CHECK(lstm_model_predict(model, x, 1, STEPS, &predicted, 1));
    printf("loss %.4f after epoch 1, %.4f after epoch %zu; predicted %.3f for %.3f\n", history[0],
           history[epochs_run - 1], epochs_run, predicted, y[0]);

    CHECK(lstm_model_save(model, "my_model.keras"));
    lstm_model_free(model);
    return history[epochs_run - 1] < history[0] ? 0 : 1;
}
