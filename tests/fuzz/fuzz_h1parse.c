/* fuzz_h1parse: the upstream response parser (src/upstream/h1parse.c): a head, then its body's
 * framing.  Oracles: every header handed on is a token name with a CTL-free value inside the
 * input (so it can go into a client's head as it is), and the body decodes to the same bytes
 * and the same end whatever the pacing. */
#include "fuzz.h"

#include "upstream/h1parse.h"

typedef struct outcome { h1_step last; size_t outn, consumed; } outcome;

static outcome decode(const h1_head *h, bool head_req, const char *m, size_t n, size_t step, char *out)
{
  h1_body b;
  h1_body_init(&b, h, head_req);
  char *buf = malloc(n + 1);
  size_t have = 0, fed = 0, used = 0;
  outcome o = { H1_NEED, 0, 0 };
  for(;;) {
    size_t skip, len;
    h1_step s = h1_body_step(&b, buf, have, &skip, &len);
    CHECK(skip <= have);
    memmove(buf, buf + skip, have - skip);
    have -= skip;
    used += skip;
    if(s == H1_DATA) {
      CHECK(len > 0 && len <= have);
      memcpy(out + o.outn, buf, len);
      o.outn += len;
      h1_body_take(&b, len);
      memmove(buf, buf + len, have - len);
      have -= len;
      used += len;
      continue;
    }
    if(s != H1_NEED || fed == n) { o.last = s; o.consumed = used; free(buf); return o; }
    size_t k = n - fed < step ? n - fed : step;
    memcpy(buf + have, m + fed, k);
    have += k;
    fed += k;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  h1_head h;
  http_header hdr[H1_MAX_HEADERS];
  long len = h1_parse_head(p, n, &h, hdr, H1_MAX_HEADERS);
  CHECK(len >= -1 && len <= (long)n);
  if(len <= 0) return 0;
  CHECK(h.status >= 100 && h.status <= 999 && h.nhdr <= H1_MAX_HEADERS);
  for(size_t i = 0; i < h.nhdr; i++) {
    CHECK(hdr[i].name.p >= p && hdr[i].name.p + hdr[i].name.n <= p + len);
    CHECK(hdr[i].value.p >= p && hdr[i].value.p + hdr[i].value.n <= p + len);
    CHECK(h1_field_ok(hdr[i].name.p, hdr[i].name.n, hdr[i].value.p, hdr[i].value.n));
  }
  (void)h1_head_keep_alive(&h);
  const char *rest = p + len;
  size_t rn = n - (size_t)len;
  char *o1 = malloc(rn + 1), *o2 = malloc(rn + 1), *o3 = malloc(rn + 1);
  bool head_req = sel & 1;
  outcome a = decode(&h, head_req, rest, rn, rn ? rn : 1, o1), b = decode(&h, head_req, rest, rn, 1, o2),
          c = decode(&h, head_req, rest, rn, 2 + (sel >> 1) % 61, o3);
  CHECK(a.last == b.last && a.last == c.last);
  CHECK(a.outn == b.outn && a.outn == c.outn && !memcmp(o1, o2, a.outn) && !memcmp(o1, o3, a.outn));
  if(a.last == H1_END) CHECK(a.consumed == b.consumed && a.consumed == c.consumed);
  free(o1); free(o2); free(o3);
  return 0;
}
