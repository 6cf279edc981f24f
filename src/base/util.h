/* util — small helpers shared by every module: length+pointer strings, clocks, parsing. */
#ifndef GEMGATE_UTIL_H
#define GEMGATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte range; never owns its memory, not NUL-terminated. */
typedef struct str { const char *p; size_t n; } str;

/* One header field of an HTTP message, borrowed from the message's bytes.  Both sides use it:
 * the server's requests (http/) and the upstream client's responses (upstream/). */
typedef struct http_header { str name, value; } http_header;

#define STR(lit) ((str){ (lit), sizeof(lit) - 1 })
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* a + b, saturated to INT64_MIN..INT64_MAX: every sum of counts and money goes through it. */
static inline int64_t i64_add(int64_t a, int64_t b)
{
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static inline str str_c(const char *s) { return (str){ s, s ? strlen(s) : 0 }; }
static inline bool str_eq(str a, str b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }
bool str_ieq_bytes(const char *a, const char *b, size_t n);   /* ASCII case-insensitive, n bytes */
/* ASCII case-insensitive equality.  Inline for the length test: most header-name comparisons
 * fail on it, and they are many per request. */
static inline bool str_ieq(str a, str b) { return a.n == b.n && str_ieq_bytes(a.p, b.p, a.n); }
bool str_starts(str s, str prefix);
char *str_dup(str s);                        /* malloc'ed NUL-terminated copy; caller frees */

int64_t now_ms(void);                        /* wall clock, ms since the epoch */
int64_t mono_us(void);                       /* monotonic clock, µs */

/* Parse a duration: "10" (seconds), "1.5s", "500ms", "2m", "1h".  -1 on bad input. */
int64_t parse_duration_ms(const char *s);
/* Parse a size: "1048576", "64k", "20m" (KiB/MiB).  -1 on bad input. */
int64_t parse_size(const char *s);
/* Parse a non-negative integer; -1 on bad input. */
int64_t parse_int(const char *s);

/* Constant-time comparison of two secrets (length leaks, content does not). */
bool secret_eq(const char *a, size_t an, const char *b, size_t bn);

/* A bounded append buffer on caller-owned memory: writes past cap are dropped and flagged. */
typedef struct sbuf { char *p; size_t n, cap; bool full; } sbuf;

static inline void sb_put(sbuf *b, const char *s, size_t n)
{
  if(b->n + n > b->cap) { b->full = true; return; }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
#define SB_LIT(b, lit) sb_put((b), (lit), sizeof(lit) - 1)
static inline void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
void sb_u64(sbuf *b, uint64_t v);            /* decimal */
void sb_hex(sbuf *b, uint64_t v);            /* lower-case hex, no prefix */

/* 64-bit FNV-1a, for stable hashing (proxy pinning). */
uint64_t hash64(const char *p, size_t n);

#endif
