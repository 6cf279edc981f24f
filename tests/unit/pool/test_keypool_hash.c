/* keypool: keys by identity (kp_key_hash, kp_acquire_hash, kp_find_hash) for resources that live
 * on one key: the state each answer reports, counting like kp_acquire, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/crypto.h"
#include "pool/keypool.h"

#define T0 1700000000000LL

static const char *const KEYS[] = {"AIzaSyAAAA1111111111111111aaaa", "AIzaSyBBBB2222222222222222bbbb"};

static void hash_of(const char *secret, char out[65])
{
  uint8_t md[32];
  crypto_sha256(secret, strlen(secret), md);
  crypto_hex(md, 32, out);
}

static void test_acquire_by_hash(void **state)
{
  kp_config cfg = { .cooldown_base_ms = 10000, .cooldown_max_ms = 900000, .max_failures = 5,
                    .recheck_interval_ms = 60000, .rotation_interval_ms = 300000 };
  keypool *kp = kp_new(&cfg);
  kp_set_keys(kp, KEYS, 2);
  char h0[65], h1[65], got[65];
  hash_of(KEYS[0], h0);
  hash_of(KEYS[1], h1);
  int64_t ra = 0;
  kp_owner_state st;
  kp_key *k = kp_acquire_hash(kp, h1, "m", T0, &ra, &st);
  assert_non_null(k);
  assert_int_equal(st, KP_OWNER_OK);
  assert_string_equal(kp_key_secret(k), KEYS[1]);
  kp_key_hash(kp, k, got);
  assert_string_equal(got, h1);
  /* a 429 cools that key for that model only */
  kp_result r429 = { .outcome = KP_RATE_LIMITED, .retry_delay_ms = 30000 };
  kp_report(kp, k, "m", T0, &r429);
  assert_null(kp_acquire_hash(kp, h1, "m", T0 + 1000, &ra, &st));
  assert_int_equal(st, KP_OWNER_COOLING);
  assert_true(ra >= 28000 && ra <= 30000);
  k = kp_acquire_hash(kp, h1, "other", T0 + 1000, &ra, &st);
  assert_non_null(k);
  kp_release(kp, k);
  /* invalid: down until the re-check */
  k = kp_acquire_hash(kp, h0, "m", T0, &ra, &st);
  kp_result inv = { .outcome = KP_INVALID };
  kp_report(kp, k, "m", T0, &inv);
  assert_null(kp_acquire_hash(kp, h0, "m", T0 + 1, &ra, &st));
  assert_int_equal(st, KP_OWNER_DOWN);
  assert_int_equal(ra, 60000);
  /* ids and masks, and a key removed from the pool */
  char mask[32];
  assert_int_equal(kp_find_hash(kp, h1, mask, sizeof mask), 2);
  assert_string_equal(mask, "AIza\u2026bbbb");
  kp_set_keys(kp, KEYS, 1);
  assert_int_equal(kp_find_hash(kp, h1, NULL, 0), 0);
  assert_null(kp_acquire_hash(kp, h1, "other", T0 + 2000, &ra, &st));
  assert_int_equal(st, KP_OWNER_GONE);
  assert_int_equal(ra, -1);
  assert_null(kp_acquire_hash(kp, "", "m", T0, &ra, &st));
  assert_int_equal(st, KP_OWNER_GONE);
  kp_free(kp);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_acquire_by_hash) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
