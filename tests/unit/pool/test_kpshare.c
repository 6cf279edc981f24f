/* Unit tests of the key pool's shared-state hooks (kp_set_observer, kp_apply_mark,
 * kp_marks_each): what one instance's pool tells, another's takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pool/keypool.h"

#define T0 1700000000000LL
#define MODEL "gemini-2.5-flash"

static const char *const KEYS[] = {"AIzaSyAAAA1111111111111111aaaa", "AIzaSyBBBB2222222222222222bbbb"};

typedef struct seen { kp_mark m[16]; int n; } seen;

static void record(void *ctx, const kp_mark *m)
{
  seen *s = ctx;
  if(s->n < 16) s->m[s->n++] = *m;
}

static keypool *two_keys(void)
{
  kp_config c = {.strategy = KP_ROUND_ROBIN, .cooldown_base_ms = 10000, .cooldown_max_ms = 900000, .max_failures = 2,
                 .recheck_interval_ms = 60000, .rotation_interval_ms = 300000};
  keypool *kp = kp_new(&c);
  assert_non_null(kp);
  assert_int_equal(kp_set_keys(kp, KEYS, 2), 2);
  return kp;
}

/* Acquires for model at now and says which key (1-based), 0 for none. */
static int which(keypool *kp, const char *model, int64_t now)
{
  kp_key *k = kp_acquire(kp, model, now, NULL, 0, NULL);
  if(!k) return 0;
  int id = kp_key_id(k);
  kp_release(kp, k);
  return id;
}

static void test_a_per_day_429_is_told_with_its_reason_and_taken_by_another_pool(void **state)
{
  keypool *a = two_keys(), *b = two_keys();
  seen s = {0};
  kp_set_observer(a, record, &s);
  kp_key *k = kp_acquire(a, MODEL, T0, NULL, 0, NULL);
  kp_result r = {.outcome = KP_RATE_LIMITED, .retry_delay_ms = -1, .period = QUOTA_PER_DAY};
  char hash[65];
  kp_key_hash(a, k, hash);
  kp_report(a, k, MODEL, T0, &r);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.m[0].kind, KP_MARK_COOL);
  assert_int_equal(s.m[0].reason, QUOTA_PER_DAY);
  assert_string_equal(s.m[0].model, MODEL);
  assert_string_equal(s.m[0].key_hash, hash);
  assert_true(s.m[0].until_ms > T0 + 3600000);            /* the next Pacific midnight, not seconds */
  assert_null(strstr(s.m[0].key_hash, "AIza"));            /* a hash, never the secret */
  /* b had never seen the model: after the mark only the other key serves it, both serve others. */
  assert_int_equal(kp_apply_mark(b, &s.m[0]), 1);
  for(int i = 0; i < 4; i++) assert_int_equal(which(b, MODEL, T0 + 1000), 2);
  int seen1 = 0;
  for(int i = 0; i < 4; i++) seen1 |= which(b, "gemini-2.0-flash", T0 + 1000) == 1;
  assert_true(seen1);
  json_t *st = kp_status_keys(b, T0 + 1000);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(st, 0), "cooldown_reasons"), MODEL)), "per_day");
  json_decref(st);
  /* A shorter cooldown does not shorten it; applying it again changes nothing. */
  kp_mark shorter = s.m[0];
  shorter.until_ms = T0 + 5000;
  assert_int_equal(kp_apply_mark(b, &shorter), 0);
  assert_int_equal(which(b, MODEL, T0 + 6000), 2);
  kp_free(a);
  kp_free(b);
}

static void test_invalid_disabled_and_clear_travel_and_local_marks_are_listed(void **state)
{
  keypool *a = two_keys(), *b = two_keys();
  seen s = {0};
  kp_set_observer(a, record, &s);
  kp_key *k = kp_acquire(a, MODEL, T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);
  kp_result bad = {.outcome = KP_INVALID, .retry_delay_ms = -1};
  kp_report(a, k, MODEL, T0, &bad);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.m[0].kind, KP_MARK_INVALID);
  assert_int_equal(kp_apply_mark(b, &s.m[0]), 1);
  assert_int_equal(kp_available(b, T0), 1);
  for(int i = 0; i < 3; i++) assert_int_equal(which(b, "any-model", T0), 2);
  /* Two failures disable key 2 (max_failures 2). */
  for(int i = 0; i < 2; i++) {
    kp_key *k2 = kp_acquire(a, MODEL, T0, NULL, 0, NULL);
    assert_non_null(k2);
    kp_result down = {.outcome = KP_SERVER_ERROR, .retry_delay_ms = -1};
    kp_report(a, k2, MODEL, T0, &down);
  }
  assert_int_equal(s.n, 2);
  assert_int_equal(s.m[1].kind, KP_MARK_DISABLED);
  /* What a reconnection pushes: both key marks (no cooldown is under way). */
  seen all = {0};
  assert_int_equal(kp_marks_each(a, T0, record, &all), 2);
  kp_set_observer(a, NULL, NULL);
  /* The re-check brings key 1 back on a: CLEAR, which b takes. */
  kp_set_observer(a, record, &s);
  kp_key *due[2];
  assert_int_equal(kp_due_rechecks(a, T0 + 60000, due, 2), 2);
  kp_recheck_done(a, due[0], T0 + 60000, KP_CHECK_OK);
  kp_recheck_done(a, due[1], T0 + 60000, KP_CHECK_UNKNOWN);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.m[2].kind, KP_MARK_CLEAR);
  assert_int_equal(kp_apply_mark(b, &s.m[2]), 1);
  assert_int_equal(kp_available(b, T0), 2);
  /* A mark for a key b does not have is ignored. */
  kp_mark other = s.m[2];
  memset(other.key_hash, 'f', 64);
  assert_int_equal(kp_apply_mark(b, &other), 0);
  kp_free(a);
  kp_free(b);
}

static void test_applied_marks_are_not_told_again(void **state)
{
  keypool *a = two_keys();
  seen s = {0};
  kp_set_observer(a, record, &s);
  kp_mark m = {.kind = KP_MARK_COOL, .until_ms = T0 + 30000, .reason = QUOTA_PER_MINUTE};
  snprintf(m.model, sizeof m.model, "%s", MODEL);
  kp_key *k = kp_acquire(a, MODEL, T0, NULL, 0, NULL);
  kp_key_hash(a, k, m.key_hash);
  kp_release(a, k);
  assert_int_equal(kp_apply_mark(a, &m), 1);
  assert_int_equal(s.n, 0);                               /* no echo back to Redis */
  seen all = {0};
  assert_int_equal(kp_marks_each(a, T0 + 1000, record, &all), 1);
  assert_int_equal(all.m[0].reason, QUOTA_PER_MINUTE);
  assert_int_equal(kp_marks_each(a, T0 + 31000, record, &all), 0);   /* over: nothing to push */
  kp_free(a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_a_per_day_429_is_told_with_its_reason_and_taken_by_another_pool),
    cmocka_unit_test(test_invalid_disabled_and_clear_travel_and_local_marks_are_listed),
    cmocka_unit_test(test_applied_marks_are_not_told_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
