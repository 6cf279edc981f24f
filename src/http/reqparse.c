/* reqparse — request heads and chunked framing, pure; contract in reqparse.h. */
#include "http/reqparse.h"

#include <string.h>

/* RFC 9110 tchar, exactly: ALPHA / DIGIT / "!#$%&'*+-.^_`|~" (no NUL, no locale). */
static bool is_tchar(unsigned char ch)
{
  if((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return true;
  return ch && memchr("!#$%&'*+-.^_`|~", ch, 15) != NULL;
}

static bool is_token(const char *p, const char *e)
{
  if(p == e) return false;
  for(; p < e; p++) if(!is_tchar((unsigned char)*p)) return false;
  return true;
}

/* field-vchar / SP / HTAB: every byte but the CTLs (0x00-0x1f, 0x7f), tab aside. */
static bool is_field_value(const char *p, const char *e)
{
  for(; p < e; p++) {
    unsigned char ch = (unsigned char)*p;
    if((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
  }
  return true;
}

static int hexval(unsigned char ch)
{
  if(ch >= '0' && ch <= '9') return ch - '0';
  if(ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if(ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static const char *skip_ows(const char *p, const char *e)
{
  while(p < e && (*p == ' ' || *p == '\t')) p++;
  return p;
}

/* One header (or trailer) field line p[0..eol): name ":" OWS value OWS, the name a token,
 * the value free of CTLs.  false for anything else, obs-fold included. */
static bool field_line(const char *p, const char *eol, http_header *out)
{
  const char *colon = memchr(p, ':', (size_t)(eol - p));
  if(!colon || !is_token(p, colon)) return false;       /* also rejects obs-fold lines */
  const char *v = skip_ows(colon + 1, eol), *ve = eol;
  while(ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
  if(!is_field_value(v, ve)) return false;
  *out = (http_header){ { p, (size_t)(colon - p) }, { v, (size_t)(ve - v) } };
  return true;
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2): reg-name, IPv4 or an IP-literal in brackets,
 * maybe empty; nothing that could pass for userinfo, a path or whitespace. */
static bool host_ok(str v)
{
  for(size_t i = 0; i < v.n; i++) {
    unsigned char ch = (unsigned char)v.p[i];
    if(!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         memchr("-._~!$&'()*+,;=%:[]", ch, 19))) return false;
  }
  return true;
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

/* A Transfer-Encoding value (RFC 9112 6.1, 6.3): 0 when it is a list of codings whose last
 * is "chunked"; 400 when chunked is not last, appears twice, or the list is malformed (the
 * length cannot be known); 501 for a coding before it that the gateway does not decode. */
static int te_status(str te)
{
  const char *p = te.p, *e = te.p + te.n;
  int unknown = 0, chunked = 0;
  bool last_chunked = false;
  while(p < e) {
    const char *c = memchr(p, ',', (size_t)(e - p));
    const char *ie = c ? c : e, *i = skip_ows(p, ie), *ie2 = ie;
    while(ie2 > i && (ie2[-1] == ' ' || ie2[-1] == '\t')) ie2--;
    p = c ? c + 1 : e;
    if(i == ie2) continue;                                    /* empty list elements are fine */
    const char *semi = memchr(i, ';', (size_t)(ie2 - i));    /* a coding's parameters */
    const char *ne = semi ? semi : ie2;
    while(ne > i && (ne[-1] == ' ' || ne[-1] == '\t')) ne--;
    if(!is_token(i, ne)) return 400;
    last_chunked = (size_t)(ne - i) == 7 && str_ieq((str){ i, 7 }, STR("chunked")) && !semi;
    if(last_chunked) chunked++;
    else unknown++;
  }
  if(!last_chunked || chunked > 1) return 400;
  return unknown ? 501 : 0;
}

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
  if(!is_token(p, sp1)) return malformed(h);
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
    http_header f;
    if(!field_line(p, eol, &f)) return malformed(h);
    if(h->nhdr == cap) return fail(h, 431, "too many headers");
    hdr[h->nhdr++] = f;
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
  /* Host (RFC 9112 3.2): required of HTTP/1.1, at most one, a valid value. */
  size_t nhost = 0;
  for(size_t i = 0; i < h->nhdr; i++)
    if(str_ieq(hdr[i].name, STR("Host")) && (++nhost > 1 || !host_ok(hdr[i].value))) return malformed(h);
  if(!nhost && h->minor == 1) return malformed(h);
  str te = { NULL, 0 };
  for(size_t i = 0; i < h->nhdr; i++) {
    if(!str_ieq(hdr[i].name, STR("Transfer-Encoding"))) continue;
    if(te.p) return malformed(h);                             /* one Transfer-Encoding line */
    te = hdr[i].value;
  }
  if(te.p) {
    if(have_cl || h->minor == 0) return malformed(h);         /* smuggling guards (RFC 9112 6.1) */
    int st = te_status(te);
    if(st) return st == 501 ? fail(h, 501, "unsupported transfer encoding") : malformed(h);
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
  *error = s == 413 ? "request body too large" : s == 431 ? "too many trailers" : "malformed chunked body";
  return -1;
}

/* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val a token or a
 * quoted-string (RFC 9112 7.1.1).  p[0..e) is what follows the size's digits. */
static bool chunk_ext_ok(const char *p, const char *e)
{
  while(p < e) {
    p = skip_ows(p, e);
    if(p == e || *p++ != ';') return false;      /* BWS only before a ";" */
    p = skip_ows(p, e);
    const char *name = p;
    while(p < e && is_tchar((unsigned char)*p)) p++;
    if(p == name) return false;
    const char *q = skip_ows(p, e);
    if(q == e || *q != '=') continue;
    p = skip_ows(q + 1, e);
    if(p < e && *p == '"') {                     /* quoted-string */
      for(p++;; p++) {
        if(p == e) return false;
        unsigned char ch = (unsigned char)*p;
        if(ch == '"') { p++; break; }
        if(ch == '\\') { if(++p == e) return false; ch = (unsigned char)*p; }
        if((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
      }
    } else {
      const char *v = p;
      while(p < e && is_tchar((unsigned char)*p)) p++;
      if(p == v) return false;
    }
  }
  return true;
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

  /* A CRLF-terminated line shorter than RP_CHUNK_LINE_MAX.  Malformed only once the whole
   * window is in without a CRLF: so the verdict on a line does not depend on how its bytes
   * arrive (255 bytes and a CR may still be followed by the LF). */
  size_t w = n < RP_CHUNK_WINDOW ? n : RP_CHUNK_WINDOW;
  const char *eol = w >= 2 ? memmem(p, w, "\r\n", 2) : NULL;
  if(!eol) return w >= RP_CHUNK_WINDOW ? chunk_fail(status, error, 400) : 0;
  size_t len = (size_t)(eol - p);
  if(d->state == RP_CHUNK_TRAILER) {
    if(len == 0) { d->state = RP_CHUNK_END; return 2; }
    http_header f;
    if(!field_line(p, eol, &f)) return chunk_fail(status, error, 400);
    if(++d->trailers > RP_TRAILERS_MAX) return chunk_fail(status, error, 431);
    return (long)len + 2;
  }
  /* chunk-size = 1*HEXDIG: no sign, no 0x, no blanks before it */
  uint64_t sz = 0;
  size_t i = 0;
  for(; i < len && hexval((unsigned char)p[i]) >= 0; i++) {
    if(sz >> 60) return chunk_fail(status, error, 400);      /* past 64 bits */
    sz = sz << 4 | (uint64_t)hexval((unsigned char)p[i]);
  }
  if(i == 0 || !chunk_ext_ok(p + i, eol)) return chunk_fail(status, error, 400);
  if(sz == 0) { d->state = RP_CHUNK_TRAILER; return (long)len + 2; }
  if(sz > (uint64_t)d->max_body || d->total + sz > (uint64_t)d->max_body)
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
