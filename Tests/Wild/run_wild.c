/* One real user's model file through the C API (make test-wild): load it — a whole model, or an
   architecture JSON plus a weights file — run it on reference inputs (.npy), and print the
   largest difference from each reference output (.npy) on one line, or the error that stopped
   it ("refused: <status>: <message>").

   Usage: run_wild MODEL_OR_WEIGHTS [--arch ARCH.json] [--outputs LAYER ...] --in X0.npy [X1.npy ...]
                   --out Y0.npy [...]   (--outputs: the part of the graph computing those layers' outputs)
   Exit status: 0 when it ran (whatever the differences: the caller judges them), 2 when the
   library refused the file, 1 on a usage or reference-file problem. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lstm.h"

enum { MAX_ARRAYS = 8 };

typedef struct {
    float *data;
    size_t rank, shape[LSTM_MAX_RANK + 1], count;
} array;

static char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = '\0'; *size = (size_t)n; }
    return buf;
}

/* A version 1 .npy of little-endian float32 or int32 (converted to float, as the C API takes
   token ids), C order. */
static int read_npy(const char *path, array *a) {
    size_t size = 0;
    char *buf = read_file(path, &size);
    if (!buf || size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) { free(buf); return 0; }
    size_t header = (size_t)(unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
    if (10 + header > size) { free(buf); return 0; }
    char dict[1024] = {0};
    memcpy(dict, buf + 10, header < sizeof dict - 1 ? header : sizeof dict - 1);
    int is_float = strstr(dict, "'<f4'") != NULL, is_int = strstr(dict, "'<i4'") != NULL;
    char *shape = strstr(dict, "'shape': (");
    if ((!is_float && !is_int) || strstr(dict, "'fortran_order': True") || !shape) { free(buf); return 0; }
    a->rank = 0;
    a->count = 1;
    for (char *p = shape + 10; *p && *p != ')' && a->rank <= LSTM_MAX_RANK;) {
        char *end;
        unsigned long d = strtoul(p, &end, 10);
        if (end == p) break;
        a->shape[a->rank++] = d;
        a->count *= d;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    if (10 + header + 4 * a->count != size) { free(buf); return 0; }
    a->data = malloc(4 * a->count + 4);
    const unsigned char *v = (const unsigned char *)buf + 10 + header;
    for (size_t i = 0; i < a->count; i++) {
        uint32_t bits = (uint32_t)v[4 * i] | (uint32_t)v[4 * i + 1] << 8 | (uint32_t)v[4 * i + 2] << 16 | (uint32_t)v[4 * i + 3] << 24;
        if (is_float) {
            memcpy(&a->data[i], &bits, 4);
        } else {
            a->data[i] = (float)(int32_t)bits;
        }
    }
    free(buf);
    return 1;
}

static int refused(lstm_status s) {
    printf("refused: %s: %s\n", lstm_status_name(s), lstm_last_error());
    return 2;
}

int main(int argc, char **argv) {
    const char *path = NULL, *arch = NULL;
    const char *ins[MAX_ARRAYS], *outs[MAX_ARRAYS], *wanted[MAX_ARRAYS];
    size_t nin = 0, nout = 0, nwanted = 0;
    int mode = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--arch") == 0 && i + 1 < argc) arch = argv[++i];
        else if (strcmp(argv[i], "--in") == 0) mode = 1;
        else if (strcmp(argv[i], "--out") == 0) mode = 2;
        else if (strcmp(argv[i], "--outputs") == 0) mode = 3;
        else if (mode == 3 && nwanted < MAX_ARRAYS) wanted[nwanted++] = argv[i];
        else if (mode == 1 && nin < MAX_ARRAYS) ins[nin++] = argv[i];
        else if (mode == 2 && nout < MAX_ARRAYS) outs[nout++] = argv[i];
        else if (mode == 0 && !path) path = argv[i];
        else { fprintf(stderr, "run_wild: bad argument %s\n", argv[i]); return 1; }
    }
    if (!path || nin == 0 || nout == 0) { fprintf(stderr, "usage: run_wild FILE [--arch JSON] --in X.npy... --out Y.npy...\n"); return 1; }

    lstm_model *m = NULL;
    lstm_status s;
    if (arch) {
        size_t size = 0;
        char *json = read_file(arch, &size);
        if (!json) { fprintf(stderr, "run_wild: cannot read %s\n", arch); return 1; }
        s = lstm_model_from_json(json, 1, &m);
        free(json);
        if (s != LSTM_OK) return refused(s);
        s = lstm_model_load_weights(m, path);
    } else if (nwanted > 0) {
        s = lstm_model_load_outputs(path, wanted, nwanted, &m);
    } else {
        s = lstm_model_load(path, &m);
    }
    if (s != LSTM_OK) { lstm_model_free(m); return refused(s); }

    array x[MAX_ARRAYS], want[MAX_ARRAYS];
    lstm_tensor tx[MAX_ARRAYS];
    lstm_tensor_out ty[MAX_ARRAYS];
    for (size_t k = 0; k < nin; k++) {
        if (!read_npy(ins[k], &x[k])) { fprintf(stderr, "run_wild: cannot read %s\n", ins[k]); return 1; }
        if (x[k].rank > LSTM_MAX_RANK) {
            printf("refused: input %zu has rank %zu; the C API's tensors have at most %d\n", k, x[k].rank, LSTM_MAX_RANK);
            return 2;
        }
        tx[k].data = x[k].data;
        tx[k].rank = x[k].rank;
        for (size_t d = 0; d < x[k].rank; d++) tx[k].shape[d] = x[k].shape[d];
    }
    for (size_t k = 0; k < nout; k++) {
        if (!read_npy(outs[k], &want[k])) { fprintf(stderr, "run_wild: cannot read %s\n", outs[k]); return 1; }
        ty[k].data = calloc(want[k].count + 1, sizeof(float));
        ty[k].cap = want[k].count;
    }
    s = lstm_model_run(m, tx, nin, ty, nout);
    if (s != LSTM_OK) { lstm_model_free(m); return refused(s); }
    double worst = 0;
    for (size_t k = 0; k < nout; k++) {
        size_t count = 1;
        for (size_t d = 0; d < ty[k].rank; d++) count *= ty[k].shape[d];
        if (count != want[k].count) { printf("shape: output %zu holds %zu values, the reference %zu\n", k, count, want[k].count); return 0; }
        for (size_t i = 0; i < count; i++) {
            double diff = ty[k].data[i] - want[k].data[i];
            if (diff < 0) diff = -diff;
            if (diff > worst || diff != diff) worst = diff != diff ? 1e30 : diff;
        }
    }
    printf("ran: max |diff| %.3g\n", worst);
    lstm_model_free(m);
    return 0;
}
