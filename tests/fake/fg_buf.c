/* fg_buf — growable byte buffers and appenders. */
#include "fg_buf.h"

#include <stdio.h>
#include <stdlib.h>

/* Aborts with a message; used when memory runs out. */
static void oom(void)
{
    fputs("fakegemini: out of memory\n", stderr);
    abort();
}

void *fg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *fg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *fg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *fg_xstrndup(const char *s, size_t n)
{
    char *d = fg_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void buf_free(fg_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_reserve(fg_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 256;
    /* +1 keeps room for buf_cstr's terminator without another realloc. */
    while (cap - b->len < extra + 1)
        cap *= 2;
    b->p = fg_xrealloc(b->p, cap);
    b->cap = cap;
}

void buf_add(fg_buf *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void buf_adds(fg_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addu(fg_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_add(b, tmp + i, sizeof tmp - i);
}

void buf_addhex(fg_buf *b, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = hex[v & 15];
        v >>= 4;
    } while (v);
    buf_add(b, tmp + i, sizeof tmp - i);
}

void buf_addjson(fg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0; /* start of the current run of bytes that need no escaping */
    buf_reserve(b, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_add(b, s + run, i - run);
        run = i + 1;
        buf_addc(b, '\\');
        switch (c) {
        case '"': buf_addc(b, '"'); break;
        case '\\': buf_addc(b, '\\'); break;
        case '\n': buf_addc(b, 'n'); break;
        case '\r': buf_addc(b, 'r'); break;
        case '\t': buf_addc(b, 't'); break;
        default:
            BUF_LIT(b, "u00");
            buf_addc(b, hex[c >> 4]);
            buf_addc(b, hex[c & 15]);
        }
    }
    buf_add(b, s + run, n - run);
}

void buf_fill(fg_buf *b, char c, size_t n)
{
    buf_reserve(b, n);
    memset(b->p + b->len, c, n);
    b->len += n;
}

void buf_consume(fg_buf *b, size_t n)
{
    if (n == 0)
        return;
    if (n < b->len)
        memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

const char *buf_cstr(fg_buf *b)
{
    buf_reserve(b, 1);
    b->p[b->len] = '\0';
    return b->p;
}
