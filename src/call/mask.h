/* mask — no pooled secret in anything that comes from the upstream.
 *
 * Google can echo a key: in an error message, a header, an answer that quotes the request.
 * Before such bytes reach a client or a log, every pooled key in them is replaced by a masked
 * form of the same length, so that framing (a forwarded Content-Length) still holds:
 *   the first 4 bytes, "…", '*' up to the length, the last 4 (kp_mask's form, padded: 11+
 *   bytes); a shorter secret becomes all '*'.
 * Finding keys is cheap: one memchr per piece for the 'A' that both prefixes of Google's keys
 * ("AIza", "AQ.") begin with, and only on a hit is the candidate — the run of key characters
 * (A-Z a-z 0-9 - _ .) from there, at most MASK_MAX bytes — compared with the pool's secrets (kp_secret_match, one
 * pass under the pool's lock) and with the call's own key (the pool may have dropped it since).
 * A pooled key of another shape is not looked for. */
#ifndef GEMGATE_MASK_H
#define GEMGATE_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include "pool/keypool.h"

#define MASK_MAX 256          /* longest secret looked for; also the most bytes held back */

/* Masks p[0..n) in place; own: the call's key or NULL.  A candidate that runs into the end of
 * p is masked when it is a whole key; when final is set (p is all there will be), also when it
 * is the beginning of one (a key cut off), with '*'.  Returns how many were masked.  Scanning a
 * region again after more bytes joined it (from MASK_MAX before its old end) is safe: a masked
 * key matches nothing. */
size_t mask_buf(keypool *kp, const char *own, char *p, size_t n, bool final);

/* A stream of pieces, where a key may arrive split across two. */
typedef struct mask_stream {
  size_t nhold;               /* bytes held back: they may begin a key */
  char hold[MASK_MAX];
} mask_stream;

typedef void (*mask_emit)(void *ctx, const char *p, size_t n);

static inline void mask_stream_init(mask_stream *m) { m->nhold = 0; }

/* Passes p[0..n) to emit (in one or more pieces, never empty), masked.  Bytes at the end that
 * may begin a key are held back until the next piece shows how they go on.  p is not written;
 * masked bytes are emitted from a copy. */
void mask_feed(mask_stream *m, keypool *kp, const char *own, const char *p, size_t n, mask_emit emit,
               void *ctx);

/* The stream ended: the held bytes go out, masked when they are a key or the beginning of one. */
void mask_flush(mask_stream *m, keypool *kp, const char *own, mask_emit emit, void *ctx);

#endif
