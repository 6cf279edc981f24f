/* mask: pooled secrets out of upstream bytes — in a buffer, and in a stream cut at every byte
 * (a key split across two pieces), with the call's own key, keys cut off by the end, and text
 * that only looks like a key left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "call/mask.h"

static const char *const KEYS[] = { "AIzaSyAAAA1111111111111111111111aaaaaaa", "AQ.Ab8RN6LfakeKey_x-ok-aq.zz9" };
#define K0 "AIzaSyAAAA1111111111111111111111aaaaaaa"
#define K1 "AQ.Ab8RN6LfakeKey_x-ok-aq.zz9"
#define OWN "AIzaSyOWNKEYremovedFromThePool00000zzzz"

static keypool *kp;

static int setup(void **state)
{
  kp_config c = { .strategy = KP_ROUND_ROBIN, .cooldown_base_ms = 1000, .cooldown_max_ms = 10000,
                  .max_failures = 5, .recheck_interval_ms = 60000, .rotation_interval_ms = 300000 };
  kp = kp_new(&c);
  assert_int_equal(kp_set_keys(kp, KEYS, 2), 2);
  return 0;
}

static int teardown(void **state)
{
  kp_free(kp);
  return 0;
}

/* No secret, of the pool or the call, anywhere in p[0..n). */
static void assert_clean(const char *p, size_t n)
{
  const char *secrets[] = { K0, K1, OWN };
  for(size_t i = 0; i < 3; i++) if(memmem(p, n, secrets[i], strlen(secrets[i]))) fail_msg("%s leaked", secrets[i]);
  /* nor a long enough piece of one: the middle 16 bytes of each */
  for(size_t i = 0; i < 3; i++) if(memmem(p, n, secrets[i] + 6, 16)) fail_msg("part of %s leaked", secrets[i]);
}

static void test_buffer(void **state)
{
  char b[512];
  snprintf(b, sizeof b, "{\"message\": \"API key " K0 " not valid\", \"k\": \"" K1 ".\", \"own\": \"" OWN "\"}");
  size_t n = strlen(b);
  char orig[512];
  memcpy(orig, b, n + 1);
  assert_int_equal(mask_buf(kp, OWN, b, n, true), 3);
  assert_int_equal(strlen(b), n);                                 /* same length: framing holds */
  assert_clean(b, n);
  /* the kp_mask form, padded with '*' to the secret's length */
  assert_non_null(strstr(b, "API key AIza\xe2\x80\xa6****************************aaaa not valid"));
  assert_non_null(strstr(b, "\"AQ.A\xe2\x80\xa6******************.zz9.\""));   /* a key and a full stop */
  /* masked text scanned again changes nothing */
  memcpy(orig, b, n + 1);
  assert_int_equal(mask_buf(kp, OWN, b, n, true), 0);
  assert_string_equal(b, orig);
  /* the call's own key is not in the pool: without it, it stays */
  snprintf(b, sizeof b, "x" OWN "y");
  assert_int_equal(mask_buf(kp, NULL, b, strlen(b), true), 0);
  assert_int_equal(mask_buf(NULL, OWN, b, strlen(b), true), 1);
}

/* What looks like a key but is none stays as it is: other keys, a pooled key's beginning
 * followed by more text, the prefixes alone. */
static void test_lookalikes_untouched(void **state)
{
  const char *cases[] = {
    "AIzaSyNOTAPOOLEDKEY0000000000000000000000",
    "AIza AQ. AIzaSyAAAA1111 and then more",
    "AIzaSyAAAA111111111111111111111", "xAQ.Ab8RN6Lfake y",
    "AIzaSyAAAA1111111111111111111111aaaaaa!",                /* one byte short of K0 */
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char b[128];
    snprintf(b, sizeof b, "%s", cases[i]);
    assert_int_equal(mask_buf(kp, OWN, b, strlen(b), false), 0);
    assert_string_equal(b, cases[i]);
  }
  /* a pooled key's beginning at the very end is masked only when the end is final */
  char b[64] = "cut here: AIzaSyAAAA1111";
  assert_int_equal(mask_buf(kp, NULL, b, strlen(b), false), 0);
  assert_int_equal(mask_buf(kp, NULL, b, strlen(b), true), 1);
  assert_string_equal(b, "cut here: **************");
}

typedef struct sink { char b[4096]; size_t n; int calls; } sink;

static void collect(void *ctx, const char *p, size_t n)
{
  sink *s = ctx;
  assert_true(n > 0);
  assert_true(s->n + n < sizeof s->b);
  memcpy(s->b + s->n, p, n);
  s->n += n;
  s->calls++;
}

/* A body in two pieces, cut at every byte, and byte by byte: the same output as masking it
 * whole, with no secret in it (a key split across pieces included). */
static void test_stream_every_cut(void **state)
{
  char body[1024];
  snprintf(body, sizeof body, "data: {\"text\":\"" K0 "\"}\r\n\r\ndata: {\"x\":\"AIza\",\"k\":\"" K1
           "\",\"own\":\"" OWN "\"}\r\n\r\nAQ.Ab8 end " K0);
  size_t n = strlen(body);
  char want[1024];
  memcpy(want, body, n + 1);
  mask_buf(kp, OWN, want, n, true);
  assert_clean(want, n);
  for(size_t cut = 0; cut <= n; cut++) {
    mask_stream m;
    mask_stream_init(&m);
    sink s = { .n = 0 };
    mask_feed(&m, kp, OWN, body, cut, collect, &s);
    assert_clean(s.b, s.n);                                     /* nothing leaks from the first piece */
    mask_feed(&m, kp, OWN, body + cut, n - cut, collect, &s);
    mask_flush(&m, kp, OWN, collect, &s);
    if(s.n != n || memcmp(s.b, want, n)) fail_msg("cut at %zu: %.*s", cut, (int)s.n, s.b);
  }
  mask_stream m;
  mask_stream_init(&m);
  sink s = { .n = 0 };
  for(size_t i = 0; i < n; i++) mask_feed(&m, kp, OWN, body + i, 1, collect, &s);
  mask_flush(&m, kp, OWN, collect, &s);
  assert_int_equal(s.n, n);
  assert_memory_equal(s.b, want, n);
}

/* A stream that ends in the middle of a key: what was held back goes out as '*'. */
static void test_stream_cut_key(void **state)
{
  static const char body[] = "the key is AIzaSyAAAA11111111";
  mask_stream m;
  mask_stream_init(&m);
  sink s = { .n = 0 };
  mask_feed(&m, kp, NULL, body, sizeof body - 1, collect, &s);
  assert_int_equal(s.n, 11);                                    /* "the key is " out, the rest held */
  mask_flush(&m, kp, NULL, collect, &s);
  assert_int_equal(s.n, sizeof body - 1);
  assert_memory_equal(s.b, "the key is ******************", sizeof body - 1);
}

/* The hot path: a piece with no prefix goes out as it is, in one call, nothing held. */
static void test_plain_piece_passes_whole(void **state)
{
  static const char body[] = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello\"}]}}]}\r\n\r\n";
  mask_stream m;
  mask_stream_init(&m);
  sink s = { .n = 0 };
  mask_feed(&m, kp, OWN, body, sizeof body - 1, collect, &s);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.n, sizeof body - 1);
  assert_int_equal(m.nhold, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_buffer),
    cmocka_unit_test(test_lookalikes_untouched),
    cmocka_unit_test(test_stream_every_cut),
    cmocka_unit_test(test_stream_cut_key),
    cmocka_unit_test(test_plain_piece_passes_whole),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
