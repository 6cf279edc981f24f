/* reqparse — request heads and chunked framing, pure; contract in reqparse.h. */
#include "http/reqparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9110 tchar.  (strchr also finds the terminating NUL: a NUL byte passes as a tchar.) */
static bool is_tchar(unsigned char ch)
{
  return isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch);
}

static str header_get(const http_header *hdr, size_t n, str name)
{
  for(size_t i = 0; i < n; i++)
    if(str_ieq(hdr[i].name, name)) return hdr[i].value;
  return (str){ NULL, 0 };
}

static rp_step fail(rp_head *h, int status, const char *error)
{
  h->status = status;
  h->error = error;
  return RP_ERROR;
}

static rp_step malformed(rp_head *h) { return fail(h, 400, "malformed request"); }

static rp_step too_large(rp_head *h) { return fail(h, 431, "request head too large"); }

rp_step rp_head_parse(const char *p, size_t n, const rp_limits *lim, rp_head *h,
                      http_header *hdr, size_t cap)
{
  const char *blank = memmem(p, n, "\r\n\r\n", 4);
  if(!blank) {
    memset(h, 0, sizeof *h);
    h->minor = 1;
    return n > lim->max_header ? too_large(h) : RP_NEED;
  }
  return rp_head_parse_complete(p, (size_t)(blank - p) + 4, lim, h, hdr, cap);
}

rp_step rp_head_parse_complete(const char *p0, size_t n, const rp_limits *lim, rp_head *h,
                               http_header *hdr, size_t cap)
{
  memset(h, 0, sizeof *h);
  h->minor = 1;
  if(n > lim->max_header) return too_large(h);
  const char *p = p0, *end = p0 + n;
  const char *eol = memchr(p, '\r', (size_t)(end - p));
  if(!eol || eol[1] != '\n') return malformed(h);

  /* request line: METHOD SP target SP HTTP/1.x */
  const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
  if(!sp1 || sp1 == p) return malformed(h);
  for(const char *q = p; q < sp1; q++) if(!is_tchar((unsigned char)*q)) return malformed(h);
  const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
  if(!sp2 || sp2 == sp1 + 1 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
     (sp2[8] != '0' && sp2[8] != '1')) return malformed(h);
  h->method = (str){ p, (size_t)(sp1 - p) };
  h->target = (str){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
  for(size_t i = 0; i < h->target.n; i++)
    if((unsigned char)h->target.p[i] <= ' ' || h->target.p[i] == 0x7f) return malformed(h);
  if(h->target.p[0] != '/' && !str_eq(h->method, STR("OPTIONS"))) return malformed(h);
  h->minor = sp2[8] - '0';
  const char *qm = memchr(h->target.p, '?', h->target.n);
  h->path = (str){ h->target.p, qm ? (size_t)(qm - h->target.p) : h->target.n };
  h->query = qm ? (str){ qm + 1, h->target.n - h->path.n - 1 } : (str){ NULL, 0 };

  /* header lines */
  for(p = eol + 2; p < end - 2; p = eol + 2) {
    eol = memchr(p, '\r', (size_t)(end - p));
    if(!eol || eol[1] != '\n') return malformed(h);
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if(!colon || colon == p) return malformed(h);            /* also rejects obs-fold lines */
    for(const char *q = p; q < colon; q++) if(!is_tchar((unsigned char)*q)) return malformed(h);
    const char *v = colon + 1, *ve = eol;
    while(v < ve && (*v == ' ' || *v == '\t')) v++;
    while(ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for(const char *q = v; q < ve; q++) if((unsigned char)*q < 0x20 && *q != '\t') return malformed(h);
    if(h->nhdr == cap) return fail(h, 431, "too many headers");
    hdr[h->nhdr++] = (http_header){ { p, (size_t)(colon - p) }, { v, (size_t)(ve - v) } };
  }

  /* framing and connection handling */
  str conn_h = header_get(hdr, h->nhdr, STR("Connection"));
  h->keep_alive = h->minor == 1 ? !str_ieq(conn_h, STR("close")) : str_ieq(conn_h, STR("keep-alive"));
  bool have_cl = false;
  for(size_t i = 0; i < h->nhdr; i++) {
    if(!str_ieq(hdr[i].name, STR("Content-Length"))) continue;
    char num[24];
    if(hdr[i].value.n == 0 || hdr[i].value.n >= sizeof num) return malformed(h);
    memcpy(num, hdr[i].value.p, hdr[i].value.n);
    num[hdr[i].value.n] = '\0';
    int64_t v = parse_int(num);
    if(v < 0 || (have_cl && v != h->content_length)) return malformed(h);
    h->content_length = v;
    have_cl = true;
  }
  str te = header_get(hdr, h->nhdr, STR("Transfer-Encoding"));
  if(te.p) {
    if(have_cl) return malformed(h);                          /* request smuggling guard */
    if(!str_ieq(te, STR("chunked"))) return fail(h, 501, "unsupported transfer encoding");
    h->framing = RP_BODY_CHUNKED;
  } else {
    if(h->content_length > lim->max_body) return fail(h, 413, "request body too large");
    h->framing = have_cl ? RP_BODY_LENGTH : RP_BODY_NONE;
  }
  str expect = header_get(hdr, h->nhdr, STR("Expect"));
  h->expect_continue = expect.p && str_ieq(expect, STR("100-continue")) && h->minor == 1 &&
                       (h->framing == RP_BODY_CHUNKED || h->content_length > 0);
  h->len = n;
  return RP_DONE;
}

/* ---------- chunked ---------- */

void rp_chunked_init(rp_chunked *d, int64_t max_body)
{
  memset(d, 0, sizeof *d);
  d->state = RP_CHUNK_SIZE;
  d->max_body = max_body;
}

static long chunk_fail(int *status, const char **error, int s)
{
  *status = s;
  *error = s == 413 ? "request body too large" : "malformed chunked body";
  return -1;
}

long rp_chunked_frame(rp_chunked *d, const char *p, size_t n, int *status, const char **error)
{
  if(d->state == RP_CHUNK_CRLF) {
    if(n < 2) return 0;
    if(p[0] != '\r' || p[1] != '\n') return chunk_fail(status, error, 400);
    d->state = RP_CHUNK_SIZE;
    return 2;
  }
  if(d->state != RP_CHUNK_SIZE && d->state != RP_CHUNK_TRAILER) return 0;

  /* A CRLF-terminated line shorter than RP_CHUNK_LINE_MAX; a longer one is malformed, as is
   * RP_CHUNK_LINE_MAX bytes without a CRLF. */
  size_t w = n < RP_CHUNK_WINDOW ? n : RP_CHUNK_WINDOW;
  const char *eol = w >= 2 ? memmem(p, w, "\r\n", 2) : NULL;
  if(!eol) return n >= RP_CHUNK_LINE_MAX ? chunk_fail(status, error, 400) : 0;
  size_t len = (size_t)(eol - p);
  char line[RP_CHUNK_LINE_MAX];
  memcpy(line, p, len);
  line[len] = '\0';                 /* a NUL in the line ends it here, as strtoull sees it */
  if(d->state == RP_CHUNK_TRAILER) {
    if(!line[0]) d->state = RP_CHUNK_END;
    return (long)len + 2;
  }
  char *e;
  errno = 0;
  unsigned long long sz = strtoull(line, &e, 16);
  if(e == line || errno || (*e && *e != ';' && *e != ' ')) return chunk_fail(status, error, 400);
  if(sz == 0) { d->state = RP_CHUNK_TRAILER; return (long)len + 2; }
  if(sz > (unsigned long long)d->max_body || d->total + sz > (uint64_t)d->max_body)
    return chunk_fail(status, error, 413);
  d->total += sz;
  d->left = sz;
  d->state = RP_CHUNK_DATA;
  return (long)len + 2;
}

size_t rp_chunked_data(rp_chunked *d, size_t avail)
{
  if(d->state != RP_CHUNK_DATA) return 0;
  size_t n = avail < d->left ? avail : (size_t)d->left;
  if((d->left -= n) == 0) d->state = RP_CHUNK_CRLF;
  return n;
}
