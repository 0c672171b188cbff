/* zlib for Swift: inflate for deflated .keras members, crc32 for the zip entries we write. */
#ifndef LSTM_CZLIB_SHIM_H
#define LSTM_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro; raw deflate streams (zip members) use windowBits -15. */
static inline int lstm_inflate_init_raw(z_stream *s) { return inflateInit2(s, -15); }
#endif
