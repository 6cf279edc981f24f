/* h1parse — response heads and body framing; contract in h1parse.h. */
#include "upstream/h1parse.h"

#include <stdint.h>
#include <string.h>

enum { CH_SIZE, CH_DATA, CH_CRLF, CH_TRAILER };

/* Optional whitespace (SP, HTAB). */
static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* ASCII lower case. */
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* ASCII case-insensitive equality of p[0..n) with the lower-case literal lit. */
static bool ieq(const char *p, size_t n, const char *lit)
{
  size_t i = 0;
  for(; i < n && lit[i]; i++)
    if(lower(p[i]) != lit[i]) return false;
  return i == n && !lit[i];
}

/* RFC 9110 tchar, as a table: every byte of every upstream header name passes here. */
static const bool TCHAR[256] = {
  ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
  ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true, ['*'] = true,
  ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true,
  ['~'] = true,
};
static bool is_tchar(unsigned char c) { return TCHAR[c]; }

/* No CTL but HTAB: NUL, a bare CR and DEL are refused (a bare LF already ended the line).
 * Eight bytes at a time: a word with no byte below 0x20 and none equal to 0x7f passes without
 * looking at its bytes (bytes from 0x80 up are obs-text, allowed). */
static bool text_ok(const char *p, size_t n)
{
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  size_t i = 0;
  for(; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    uint64_t low = (x - 0x20 * ones) & ~x & highs, del = ((x ^ 0x7f * ones) - ones) & ~(x ^ 0x7f * ones) & highs;
    if(low | del) break;                              /* the byte loop below decides */
  }
  for(; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool h1_field_ok(const char *name, size_t nn, const char *value, size_t vn)
{
  if(nn == 0) return false;
  for(size_t i = 0; i < nn; i++) if(!is_tchar((unsigned char)name[i])) return false;
  return text_ok(value, vn);
}

/* Calls fn on each comma-separated, trimmed token of v[0..n). */
static void tokens(const char *v, size_t n, h1_head *h, void (*fn)(h1_head *, const char *, size_t))
{
  const char *p = v, *end = v + n;
  while(p < end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    const char *s = p;
    while(s < e && is_space(*s)) s++;
    const char *t = e;
    while(t > s && is_space(t[-1])) t--;
    if(t > s) fn(h, s, (size_t)(t - s));
    p = e + 1;
  }
}

/* One Transfer-Encoding coding.  Only the last decides: "gzip, chunked" is chunked,
 * "chunked, gzip" is not (its body runs until close). */
static void te_token(h1_head *h, const char *t, size_t n)
{
  h->chunked = ieq(t, n, "chunked");
  h->other_te = !h->chunked;
}

/* One Connection option. */
static void conn_token(h1_head *h, const char *t, size_t n)
{
  if(ieq(t, n, "close")) h->conn_close = true;
  else if(ieq(t, n, "keep-alive")) h->conn_keep_alive = true;
}

/* Content-Length: digits only; a repeat must agree.  False when malformed. */
static bool content_length(h1_head *h, const char *v, size_t n)
{
  if(n == 0 || n > 18) return false;
  int64_t x = 0;
  for(size_t i = 0; i < n; i++) {
    if(v[i] < '0' || v[i] > '9') return false;
    x = x * 10 + (v[i] - '0');
  }
  if(h->content_length >= 0 && h->content_length != x) return false;
  h->content_length = x;
  return true;
}

/* The status line "HTTP/1.x SSS reason".  False when malformed. */
static bool status_line(h1_head *h, const char *p, size_t n)
{
  if(n < 12 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' || p[8] != ' ') return false;
  for(int i = 9; i < 12; i++)
    if(p[i] < '0' || p[i] > '9') return false;
  if(n > 12 && (p[12] != ' ' || !text_ok(p + 13, n - 13))) return false;   /* the reason, too */
  h->minor = p[7] - '0';
  h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  return h->status >= 100;
}

long h1_parse_head(const char *p, size_t n, h1_head *h, http_header *hdr, size_t cap)
{
  *h = (h1_head){ .content_length = -1 };
  const char *s = p, *end = p + n;
  bool first = true;
  while(s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if(!nl) return 0;
    const char *e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
    size_t len = (size_t)(e - s);
    if(first) {
      if(!status_line(h, s, len)) return -1;
      first = false;
    } else if(len == 0) {
      return (long)(nl + 1 - p);                         /* the blank line: complete */
    } else if(!is_space(*s)) {                           /* obs-fold continuations are dropped */
      const char *colon = memchr(s, ':', len);
      if(!colon) return -1;
      const char *v = colon + 1, *ve = e;
      while(v < ve && is_space(*v)) v++;
      while(ve > v && is_space(ve[-1])) ve--;
      size_t nn = (size_t)(colon - s), vn = (size_t)(ve - v);
      /* What is stored here is forwarded to a client: a name that is no token or a value
       * with a CTL (NUL, a bare CR) would break the client's head, so the head is refused. */
      if(!h1_field_ok(s, nn, v, vn)) return -1;
      /* Only three names matter here; their lengths rule out most headers at once. */
      if(nn == 14 && ieq(s, nn, "content-length")) {
        if(!content_length(h, v, vn)) return -1;
      } else if(nn == 17 && ieq(s, nn, "transfer-encoding")) {
        tokens(v, vn, h, te_token);
      } else if(nn == 10 && ieq(s, nn, "connection")) {
        tokens(v, vn, h, conn_token);
      }
      if(h->nhdr < cap) hdr[h->nhdr++] = (http_header){ { s, nn }, { v, vn } };
    }
    s = nl + 1;
  }
  return 0;
}

bool h1_head_keep_alive(const h1_head *h)
{
  if(h->conn_close || h->other_te) return false;
  if(h->chunked && h->content_length >= 0) return false;   /* both framings: trust neither after */
  return h->minor >= 1 || h->conn_keep_alive;
}

void h1_body_init(h1_body *b, const h1_head *h, bool head_request)
{
  *b = (h1_body){ .mode = H1B_NONE };
  if(head_request || h->status < 200 || h->status == 204 || h->status == 304) return;
  if(h->chunked) { b->mode = H1B_CHUNKED; b->state = CH_SIZE; }
  else if(h->other_te) b->mode = H1B_CLOSE;
  else if(h->content_length >= 0) { b->mode = H1B_LENGTH; b->left = (uint64_t)h->content_length; }
  else b->mode = H1B_CLOSE;
}

/* A chunk-size line "1a2b[;ext]".  False when malformed. */
static bool chunk_size(const char *s, const char *e, uint64_t *out)
{
  uint64_t x = 0;
  const char *p = s;
  for(; p < e; p++) {
    char c = lower(*p);
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if(d < 0) break;
    if(x >> 59) return false;                           /* would overflow */
    x = x << 4 | (uint64_t)d;
  }
  if(p == s) return false;
  while(p < e && is_space(*p)) p++;
  if(p < e && *p != ';') return false;
  *out = x;
  return true;
}

h1_step h1_body_step(h1_body *b, const char *p, size_t n, size_t *skip, size_t *len)
{
  size_t i = 0;
  *len = 0;
  for(;;) {
    *skip = i;
    switch(b->mode) {
    case H1B_NONE:
      return H1_END;
    case H1B_CLOSE:
      if(i == n) return H1_NEED;
      *len = n - i;
      return H1_DATA;
    case H1B_LENGTH:
      if(b->left == 0) return H1_END;
      if(i == n) return H1_NEED;
      *len = n - i < b->left ? n - i : (size_t)b->left;
      return H1_DATA;
    case H1B_CHUNKED:
      break;
    }
    if(b->state == CH_DATA) {
      if(i == n) return H1_NEED;
      *len = n - i < b->left ? n - i : (size_t)b->left;
      return H1_DATA;
    }
    /* A line: the chunk size, the CRLF after a chunk's data, or a trailer. */
    const char *s = p + i;
    if(b->state == CH_CRLF && i < n && (*s != '\r' || (i + 1 < n && s[1] != '\n')) && *s != '\n')
      return H1_BAD;                                     /* data longer than its chunk size */
    const char *nl = memchr(s, '\n', n - i);
    if(!nl) return H1_NEED;
    const char *e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
    i = (size_t)(nl + 1 - p);
    if(b->state == CH_CRLF) {
      if(e != s) return H1_BAD;
      b->state = CH_SIZE;
    } else if(b->state == CH_SIZE) {
      if(!chunk_size(s, e, &b->left)) return H1_BAD;
      b->state = b->left ? CH_DATA : CH_TRAILER;
    } else if(e == s) {                                  /* the blank line after the trailers */
      *skip = i;
      b->mode = H1B_NONE;
      return H1_END;
    }
  }
}

void h1_body_take(h1_body *b, size_t len)
{
  if(b->mode == H1B_CLOSE) return;
  b->left -= len;
  if(b->mode == H1B_CHUNKED && b->left == 0) b->state = CH_CRLF;
}
