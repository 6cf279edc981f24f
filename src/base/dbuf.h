/* dbuf — a growable byte buffer.  Zero-initialise it; the owner frees it with dbuf_free.  Drain
 * it by sending p[0..n) and setting n = 0 (the memory is kept for reuse). */
#ifndef GEMGATE_DBUF_H
#define GEMGATE_DBUF_H

#include <stddef.h>

typedef struct dbuf { char *p; size_t n, cap; } dbuf;

/* Append n bytes: 0, or -1 when out of memory (the buffer is unchanged then). */
int dbuf_add(dbuf *b, const void *p, size_t n);
/* Append a NUL-terminated string. */
int dbuf_str(dbuf *b, const char *s);
#define DBUF_LIT(b, lit) dbuf_add((b), (lit), sizeof(lit) - 1)
/* Release the memory; the buffer is empty and reusable afterwards. */
void dbuf_free(dbuf *b);

#endif
