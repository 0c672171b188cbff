#ifndef LSTM_UNLOAD_H
#define LSTM_UNLOAD_H
/* Defined by the Swift side of the library: stops its helper threads. */
void lstm_internal_unload(void);
#endif
