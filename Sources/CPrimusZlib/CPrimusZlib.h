#ifndef C_PRIMUS_ZLIB_H
#define C_PRIMUS_ZLIB_H

// The system zlib, for permessage-deflate (RFC 7692). deflateInit2 and inflateInit2 are macros
// in zlib.h, which Swift cannot call: these wrappers pass the version and struct size for them.

#include <zlib.h>

static inline int CPrimusZlib_deflateInit2(z_streamp stream, int level, int windowBits, int memLevel, int strategy) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, strategy);
}

static inline int CPrimusZlib_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
