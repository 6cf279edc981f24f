/* fg_buf — growable byte buffers and the appenders fakegemini builds its output with. */
#ifndef FG_BUF_H
#define FG_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A byte buffer; {0} is a valid empty buffer.  p is not NUL-terminated unless buf_cstr is
 * called.  Allocation failure aborts: a test fake has no better answer to OOM. */
typedef struct fg_buf {
    char *p;
    size_t len, cap;
} fg_buf;

/* A borrowed, not NUL-terminated slice of someone else's bytes. */
typedef struct fg_str {
    const char *p;
    size_t n;
} fg_str;

/* Releases b's memory and leaves it empty. */
void buf_free(fg_buf *b);
/* Makes room for at least extra more bytes past len. */
void buf_reserve(fg_buf *b, size_t extra);
/* Appends n bytes. */
void buf_add(fg_buf *b, const void *src, size_t n);
/* Appends a C string. */
void buf_adds(fg_buf *b, const char *s);
/* Appends v in decimal. */
void buf_addu(fg_buf *b, uint64_t v);
/* Appends v in lower-case hex without leading zeros (HTTP chunk sizes). */
void buf_addhex(fg_buf *b, uint64_t v);
/* Appends s as the inside of a JSON string literal (quotes not added). */
void buf_addjson(fg_buf *b, const char *s, size_t n);
/* Appends n copies of c. */
void buf_fill(fg_buf *b, char c, size_t n);
/* Drops the first n (<= len) bytes, moving the rest to the front. */
void buf_consume(fg_buf *b, size_t n);
/* NUL-terminates (without counting the NUL in len) and returns p. */
const char *buf_cstr(fg_buf *b);

/* Appends one byte. */
static inline void buf_addc(fg_buf *b, char c)
{
    if (b->len + 1 > b->cap)
        buf_reserve(b, 1);
    b->p[b->len++] = c;
}

/* Appends a string literal without a strlen at run time. */
#define BUF_LIT(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/* True when s equals the C string lit. */
static inline int str_eq(fg_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Allocation helpers that abort on failure. */
void *fg_xmalloc(size_t n);
void *fg_xcalloc(size_t n, size_t size);
void *fg_xrealloc(void *p, size_t n);
char *fg_xstrndup(const char *s, size_t n);

#endif
