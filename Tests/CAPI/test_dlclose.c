/* The library unloads cleanly: dlopen, a call that starts the helper threads, dlclose, many
   times over. Without the library's destructor stopping its helpers, the parked threads would
   be left in unmapped code and crash the process. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lstm.h"

typedef lstm_status (*from_json_fn)(const char *, uint64_t, lstm_model **);
typedef lstm_status (*predict_fn)(const lstm_model *, const float *, size_t, size_t, float *, size_t);
typedef void (*free_fn)(lstm_model *);

static const char *MODEL =
    "{\"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20, 8]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 64}}, {\"class_name\": \"Dense\", \"config\": {\"units\": 1}}]}}";

/* dlsym returns an object pointer; ISO C has no cast to a function pointer, POSIX guarantees
   the bytes are one. */
static void symbol(void *lib, const char *name, void *fn, size_t size) {
    void *p = dlsym(lib, name);
    memcpy(fn, &p, size);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/liblstm.so";
    enum { BATCH = 256, T = 20, F = 8, ROUNDS = 25 };
    float *x = malloc(sizeof(float) * BATCH * T * F), y[BATCH];
    for (int k = 0; k < BATCH * T * F; k++) x[k] = (float)((k * 37) % 101) / 101.0f;
    int unloaded = 0;
    for (int round = 0; round < ROUNDS; round++) {
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!lib) { fprintf(stderr, "FAIL: dlopen: %s\n", dlerror()); return 1; }
        from_json_fn from_json;
        predict_fn predict;
        free_fn model_free;
        symbol(lib, "lstm_model_from_json", &from_json, sizeof from_json);
        symbol(lib, "lstm_model_predict", &predict, sizeof predict);
        symbol(lib, "lstm_model_free", &model_free, sizeof model_free);
        lstm_model *m = NULL;
        if (!from_json || !predict || !model_free || from_json(MODEL, 1, &m) != LSTM_OK) {
            fprintf(stderr, "FAIL: round %d: cannot build the model\n", round);
            return 1;
        }
        /* 256 sequences of LSTM(64): far above the threading threshold. */
        if (predict(m, x, BATCH, T, y, BATCH) != LSTM_OK) { fprintf(stderr, "FAIL: predict\n"); return 1; }
        model_free(m);
        if (dlclose(lib) != 0) { fprintf(stderr, "FAIL: dlclose: %s\n", dlerror()); return 1; }
        void *still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        if (still) dlclose(still); else unloaded++;
    }
    free(x);
    printf("dlclose: %d rounds of dlopen/predict/dlclose, library unmapped after %d of them\n", ROUNDS, unloaded);
    return 0;
}
