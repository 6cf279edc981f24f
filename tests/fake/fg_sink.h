/* fg_sink — a request body that streams instead of being buffered (Files API upload
 * continuations): its bytes are counted and hashed as they arrive, then dropped. */
#ifndef FG_SINK_H
#define FG_SINK_H

/* SHA256_CTX is a plain struct that can be copied between requests (an upload sent in several
 * chunks keeps one running hash); EVP contexts cannot.  OpenSSL 3 only marks it deprecated. */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>

typedef struct fg_sink {
    int on;           /* this request's body streams through the sink */
    long long bytes;  /* body bytes seen in this request */
    SHA256_CTX sha;   /* running hash, seeded by the hook that turned the sink on */
} fg_sink;

#endif
