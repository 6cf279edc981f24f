/* Unit tests of the shared state (src/shared/rshare.c): the URL is checked, and — against a
 * real redis-server when GEMGATE_TEST_REDIS names one (make test-pg starts it) — two instances'
 * pools share a cooldown through it within a second, and a notice reaches the other instance
 * only.  Without GEMGATE_TEST_REDIS the Redis tests are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "base/util.h"
#include "pool/keypool.h"
#include "shared/rshare.h"

#define MODEL "gemini-2.5-flash"
static const char *const KEYS[] = {"AIzaSyAAAA1111111111111111aaaa", "AIzaSyBBBB2222222222222222bbbb"};

static keypool *two_keys(void)
{
  kp_config c = {.strategy = KP_ROUND_ROBIN, .cooldown_base_ms = 10000, .cooldown_max_ms = 900000, .max_failures = 5,
                 .recheck_interval_ms = 60000, .rotation_interval_ms = 300000};
  keypool *kp = kp_new(&c);
  assert_non_null(kp);
  assert_int_equal(kp_set_keys(kp, KEYS, 2), 2);
  return kp;
}

static atomic_int notices[2];
static void on_change(void *ctx, rshare_topic t) { if(t == RSHARE_SETTINGS) atomic_fetch_add(&notices[(intptr_t)ctx], 1); }

static bool wait_for(bool (*cond)(void *), void *arg, int ms)
{
  for(int i = 0; i < ms / 10; i++) { if(cond(arg)) return true; usleep(10000); }
  return cond(arg);
}
static bool is_up(void *r) { return rshare_up(r); }

static void test_bad_urls_are_refused_with_a_reason(void **state)
{
  keypool *kp = two_keys();
  char err[256];
  static const char *const bad[] = { "http://x", "redis://host:0", "redis://host:99999", "redis://host:12ab", "redis://host/x", "redis://[::1" };
  for(size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    assert_null(rshare_start(bad[i], kp, NULL, NULL, err, sizeof err));
    assert_true(strlen(err) > 0);
  }
  kp_free(kp);
}

static void test_nothing_listening_is_down_not_an_error(void **state)
{
  keypool *kp = two_keys();
  char err[256];
  rshare *r = rshare_start("redis://:s3cret@127.0.0.1:1/2", kp, NULL, NULL, err, sizeof err);
  assert_non_null(r);
  usleep(300000);
  assert_false(rshare_up(r));
  json_t *j = rshare_json(r);
  char *text = json_dumps(j, 0);
  assert_null(strstr(text, "s3cret"));                    /* the password is never shown */
  assert_string_equal(json_string_value(json_object_get(j, "state")), "down");
  free(text);
  json_decref(j);
  rshare_stop(r);
  kp_free(kp);
}

typedef struct probe { keypool *kp; } probe;
static bool only_key2(void *arg)
{
  keypool *kp = ((probe *)arg)->kp;
  for(int i = 0; i < 2; i++) {
    kp_key *k = kp_acquire(kp, MODEL, now_ms(), NULL, 0, NULL);
    if(!k) return false;
    int id = kp_key_id(k);
    kp_release(kp, k);
    if(id != 2) return false;
  }
  return true;
}
static bool notice_b(void *arg) { return atomic_load(&notices[1]) > 0; }

static void test_a_cooldown_and_a_notice_reach_the_other_instance(void **state)
{
  const char *base = getenv("GEMGATE_TEST_REDIS");
  if(!base || !*base) { skip(); return; }
  char url[512], err[256];
  snprintf(url, sizeof url, "%s/998", base);
  /* A clean database: marks a previous run left would decide the test. */
  int port = atoi(strrchr(base, ':') + 1);
  redisContext *sync = redisConnect("127.0.0.1", port);
  assert_true(sync && !sync->err);
  freeReplyObject(redisCommand(sync, "SELECT 998"));
  freeReplyObject(redisCommand(sync, "FLUSHDB"));
  redisFree(sync);
  keypool *a = two_keys(), *b = two_keys();
  rshare *ra = rshare_start(url, a, on_change, (void *)(intptr_t)0, err, sizeof err);
  rshare *rb = rshare_start(url, b, on_change, (void *)(intptr_t)1, err, sizeof err);
  assert_non_null(ra);
  assert_non_null(rb);
  assert_true(wait_for(is_up, ra, 2000));
  assert_true(wait_for(is_up, rb, 2000));
  kp_key *k = kp_acquire(a, MODEL, now_ms(), NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);
  kp_result r = {.outcome = KP_RATE_LIMITED, .retry_delay_ms = 30000, .period = QUOTA_PER_MINUTE};
  kp_report(a, k, MODEL, now_ms(), &r);
  probe pb = { b };
  int64_t t0 = now_ms();
  assert_true(wait_for(only_key2, &pb, 1000));            /* b skips key 1 for the model */
  assert_true(now_ms() - t0 < 1000);
  rshare_publish(ra, RSHARE_SETTINGS);
  assert_true(wait_for(notice_b, NULL, 1000));
  usleep(100000);
  assert_int_equal(atomic_load(&notices[0]), 0);          /* not its own notice */
  rshare_stop(rb);
  /* A third instance starting later finds the cooldown in the hash. */
  keypool *c = two_keys();
  rshare *rc = rshare_start(url, c, NULL, NULL, err, sizeof err);
  assert_true(wait_for(is_up, rc, 2000));
  probe pc = { c };
  assert_true(wait_for(only_key2, &pc, 1000));
  rshare_stop(rc);
  rshare_stop(ra);
  kp_free(a);
  kp_free(b);
  kp_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_urls_are_refused_with_a_reason),
    cmocka_unit_test(test_nothing_listening_is_down_not_an_error),
    cmocka_unit_test(test_a_cooldown_and_a_notice_reach_the_other_instance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
