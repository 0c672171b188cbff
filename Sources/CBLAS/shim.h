/* CBLAS from the system's OpenBLAS (Debian: libopenblas-dev), for the large matrix products. */
#ifndef LSTM_CBLAS_SHIM_H
#define LSTM_CBLAS_SHIM_H
#include <cblas.h>
#endif
