/* fuzz_usage: the usage scanner (src/call/usage.c) over plain JSON, SSE and JSON-array streams
 * alike.  Oracle: the counts it ends with do not depend on where the stream was cut. */
#include "fuzz.h"

#include "call/usage.h"

static void feed_steps(usage_scan *s, const char *p, size_t n, size_t step)
{
  for(size_t i = 0; i < n; i += step) usage_feed(s, p + i, n - i < step ? n - i : step);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 2) return 0;
  size_t cut = data[0] | (size_t)data[1] << 8;
  const char *p = (const char *)data + 2;
  size_t n = size - 2;
  if(cut > n) cut = n ? cut % (n + 1) : 0;
  usage_scan *a = malloc(sizeof *a), *b = malloc(sizeof *b), *c = malloc(sizeof *c);
  usage_init(a);
  usage_init(b);
  usage_init(c);
  usage_feed(a, p, n);
  usage_feed(b, p, cut);
  usage_feed(b, p + cut, n - cut);
  feed_steps(c, p, n, 1 + data[0] % 7);
  CHECK(a->u.seen == b->u.seen && a->u.seen == c->u.seen);
  CHECK(!memcmp(&a->u, &b->u, offsetof(usage, seen)) && !memcmp(&a->u, &c->u, offsetof(usage, seen)));
  free(a); free(b); free(c);
  return 0;
}
