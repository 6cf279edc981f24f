/* fuzz_reqparse: the request head parser and the chunked body framing (src/http/reqparse.c).
 * Oracles beyond "no crash": a parsed head lies inside the input, ends in its blank line, and
 * holds only token names and CTL-free values; it parses the same through rp_head_parse_complete;
 * a chunked body gets the same verdict, body and framing length whatever the bytes' pacing. */
#include "fuzz.h"

#include "http/reqparse.h"

static bool tchar(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void head(const char *p, size_t n, size_t max_header)
{
  rp_limits lim = { max_header, 1 << 20 };
  rp_head h, h2;
  http_header hdr[16], hdr2[16];
  rp_step st = rp_head_parse(p, n, &lim, &h, hdr, 16);
  if(st == RP_ERROR) {
    CHECK(h.status == 400 || h.status == 413 || h.status == 431 || h.status == 501);
    CHECK(h.error && *h.error);
    return;
  }
  if(st == RP_NEED) { CHECK(n <= max_header); return; }
  CHECK(h.len >= 4 && h.len <= n && h.len <= max_header && !memcmp(p + h.len - 4, "\r\n\r\n", 4));
  CHECK(!memmem(p, h.len - 2, "\r\n\r\n", 4));               /* the first blank line */
  CHECK(h.method.p == p && h.method.n > 0);
  for(size_t i = 0; i < h.method.n; i++) CHECK(tchar((unsigned char)h.method.p[i]));
  CHECK(h.minor == 0 || h.minor == 1);
  CHECK(h.nhdr <= 16);
  for(size_t i = 0; i < h.nhdr; i++) {
    CHECK(hdr[i].name.p > p && hdr[i].name.p + hdr[i].name.n <= p + h.len && hdr[i].name.n > 0);
    CHECK(hdr[i].value.p >= hdr[i].name.p && hdr[i].value.p + hdr[i].value.n <= p + h.len);
    for(size_t j = 0; j < hdr[i].name.n; j++) CHECK(tchar((unsigned char)hdr[i].name.p[j]));
    for(size_t j = 0; j < hdr[i].value.n; j++) {
      unsigned char c = (unsigned char)hdr[i].value.p[j];
      CHECK(c >= 0x20 ? c != 0x7f : c == '\t');
    }
  }
  CHECK(h.framing != RP_BODY_LENGTH || (h.content_length >= 0 && h.content_length <= lim.max_body));
  CHECK(rp_head_parse_complete(p, h.len, &lim, &h2, hdr2, 16) == RP_DONE);
  CHECK(h2.len == h.len && h2.nhdr == h.nhdr && h2.framing == h.framing && h2.content_length == h.content_length &&
        h2.keep_alive == h.keep_alive && h2.expect_continue == h.expect_continue);
  CHECK(rp_head_parse(p, h.len - 1, &lim, &h2, hdr2, 16) != RP_DONE);   /* one byte short: not yet */
}

typedef struct outcome { rp_step st; int status; size_t used, blen; } outcome;

/* Decodes in[0..n) the way http.c does, `step` bytes arriving at a time. */
static outcome chunked(const char *in, size_t n, size_t step, int64_t max_body, char *body)
{
  rp_chunked d;
  rp_chunked_init(&d, max_body);
  size_t pos = 0, have = step < n ? step : n;
  outcome o = { RP_NEED, 0, 0, 0 };
  for(;;) {
    size_t avail = have - pos;
    long k;
    if(d.state == RP_CHUNK_DATA) {
      k = (long)rp_chunked_data(&d, avail);
      memcpy(body + o.blen, in + pos, (size_t)k);
      o.blen += (size_t)k;
    } else {
      const char *err;
      k = rp_chunked_frame(&d, in + pos, avail < RP_CHUNK_WINDOW ? avail : RP_CHUNK_WINDOW, &o.status, &err);
      if(k < 0) {
        CHECK(o.status == 400 || o.status == 413 || o.status == 431);
        o.st = RP_ERROR;
        return o;
      }
    }
    pos += (size_t)k;
    CHECK(pos <= have);
    if(d.state == RP_CHUNK_END) { o.st = RP_DONE; o.used = pos; return o; }
    if(k == 0) {
      if(have == n) return o;
      have = have + step < n ? have + step : n;
    }
  }
}

static void body(const char *p, size_t n, size_t step)
{
  char *b1 = malloc(n + 1), *b2 = malloc(n + 1), *b3 = malloc(n + 1);
  outcome a = chunked(p, n, n ? n : 1, 4096, b1), b = chunked(p, n, 1, 4096, b2), c = chunked(p, n, step, 4096, b3);
  CHECK(a.st == b.st && a.st == c.st);
  CHECK(a.status == b.status && a.status == c.status);
  if(a.st == RP_DONE) {
    CHECK(a.used == b.used && a.used == c.used && a.blen == b.blen && a.blen == c.blen);
    CHECK(!memcmp(b1, b2, a.blen) && !memcmp(b1, b3, a.blen));
  }
  free(b1); free(b2); free(b3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  if(sel & 1) body(p, n, 2 + (sel >> 1) % 31);
  else head(p, n, sel & 2 ? 256 : 8192);
  return 0;
}
