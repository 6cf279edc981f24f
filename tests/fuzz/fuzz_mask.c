/* fuzz_mask: masking pooled secrets in upstream bytes (src/call/mask.c).  Oracles: no pooled
 * key survives, in a buffer or a stream cut anywhere; lengths never change (framing); a stream's
 * output does not depend on its pieces. */
#include "fuzz.h"

#include "call/mask.h"

static keypool *kp;
static const char *const KEYS[] = { "AIzaSyFuzzKey0000000000000000000000001", "AQ.FuzzKey_x-1.zz", "AIzaB" };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  kp_config c = { .strategy = KP_ROUND_ROBIN, .cooldown_base_ms = 1000, .cooldown_max_ms = 1000,
                  .max_failures = 5, .recheck_interval_ms = 1000, .rotation_interval_ms = 1000 };
  kp = kp_new(&c);
  kp_set_keys(kp, KEYS, 3);
  return 0;
}

typedef struct sink { char *b; size_t n; } sink;

static void collect(void *ctx, const char *p, size_t n)
{
  sink *s = ctx;
  CHECK(n > 0);
  memcpy(s->b + s->n, p, n);
  s->n += n;
}

static void clean(const char *p, size_t n)
{
  for(size_t i = 0; i < 2; i++) CHECK(!memmem(p, n, KEYS[i], strlen(KEYS[i])));
}

static void stream(const char *p, size_t n, size_t step, const char *own, sink *s)
{
  mask_stream m;
  mask_stream_init(&m);
  for(size_t i = 0; i < n; i += step) mask_feed(&m, kp, own, p + i, n - i < step ? n - i : step, collect, s);
  mask_flush(&m, kp, own, collect, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  const char *own = sel & 1 ? "AIzaSyOwnKeyOfTheCall000000000000000009" : NULL;
  char *buf = malloc(n + 1);
  memcpy(buf, p, n);
  mask_buf(kp, own, buf, n, true);
  clean(buf, n);
  if(own) CHECK(!memmem(buf, n, own, strlen(own)));
  sink a = { malloc(n + 1), 0 }, b = { malloc(n + 1), 0 };
  stream(p, n, n ? n : 1, own, &a);
  stream(p, n, 1 + (sel >> 1) % 53, own, &b);
  CHECK(a.n == n && b.n == n);
  clean(a.b, n);
  clean(b.b, n);
  CHECK(!memcmp(a.b, b.b, n));
  free(a.b); free(b.b); free(buf);
  return 0;
}
