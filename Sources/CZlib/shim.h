/* zlib for Swift: inflate for deflated .keras members and HDF5 chunks, crc32 for the zip entries we write. */
#ifndef LSTM_CZLIB_SHIM_H
#define LSTM_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro; raw deflate streams (zip members) use windowBits -15. */
static inline int lstm_inflate_init_raw(z_stream *s) { return inflateInit2(s, -15); }
/* HDF5's deflate filter stores zlib streams (a header and an Adler-32 check). */
static inline int lstm_inflate_init_zlib(z_stream *s) { return inflateInit(s); }
#endif
