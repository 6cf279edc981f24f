/* Unit tests of the key pool (src/keypool.c): key choice, cooldowns, marks, limits, reload,
 * statistics and their JSON views.  Time is driven by the tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "pool/keypool.h"
#include "pool/verdict.h"

#define T0 1700000000000LL           /* 2023-11-14 22:13:20 UTC, a whole second */
#define DAY_MS 86400000LL

static const char *const KEYS[] = {"AIzaSyAAAA1111111111111111aaaa", "AIzaSyBBBB2222222222222222bbbb",
                                   "AIzaSyCCCC3333333333333333cccc", "AIzaSyDDDD4444444444444444dddd"};

static kp_config base_cfg(kp_strategy s) {
  return (kp_config){.strategy = s, .cooldown_base_ms = 10000, .cooldown_max_ms = 900000,
                     .max_failures = 5, .recheck_interval_ms = 60000,
                     .rotation_interval_ms = 300000};
}

static keypool *pool_with(const kp_config *c, size_t nkeys) {
  keypool *kp = kp_new(c);
  assert_non_null(kp);
  assert_int_equal(kp_set_keys(kp, KEYS, nkeys), nkeys);
  return kp;
}

static void report(keypool *kp, kp_key *k, const char *model, int64_t now, kp_outcome o,
                   int64_t delay) {
  kp_result r = {.outcome = o, .retry_delay_ms = delay, .latency_ms = 100, .tokens = 10,
                 .error = o == KP_OK || o == KP_CLIENT_ERROR || o == KP_ABORTED ? NULL : "boom"};
  kp_report(kp, k, model, now, &r);
}

/* Acquires for model at now and reports o; returns the key's id (0 when none was free). */
static int use(keypool *kp, const char *model, int64_t now, kp_outcome o) {
  kp_key *k = kp_acquire(kp, model, now, NULL, 0, NULL);
  if (!k) return 0;
  int id = kp_key_id(k);
  report(kp, k, model, now, o, -1);
  return id;
}

/* Acquires the key with the given id for model, whatever the strategy would pick. */
static kp_key *grab(keypool *kp, const char *model, int64_t now, int id) {
  kp_key *skip[8];
  size_t n = 0;
  kp_key *k;
  while ((k = kp_acquire(kp, model, now, skip, n, NULL)) && kp_key_id(k) != id) skip[n++] = k;
  for (size_t i = 0; i < n; i++) kp_release(kp, skip[i]);
  assert_non_null(k);
  return k;
}

/* Acquire expected to fail; returns retry_after. */
static int64_t none_free(keypool *kp, const char *model, int64_t now) {
  int64_t ra = 12345;
  kp_key *k = kp_acquire(kp, model, now, NULL, 0, &ra);
  assert_null(k);
  return ra;
}

static json_t *status_of(keypool *kp, int64_t now, int id) {
  json_t *arr = kp_status_keys(kp, now);
  assert_non_null(arr);
  json_t *o = json_incref(json_array_get(arr, (size_t)id - 1));
  json_decref(arr);
  assert_non_null(o);
  return o;
}

static int64_t jint(json_t *o, const char *field) {
  json_t *v = json_object_get(o, field);
  assert_non_null(v);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static double jreal(json_t *o, const char *field) {
  json_t *v = json_object_get(o, field);
  assert_non_null(v);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static const char *jstr(json_t *o, const char *field) {
  json_t *v = json_object_get(o, field);
  assert_non_null(v);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

/* Asserts o has exactly the given field names. */
static void assert_fields(json_t *o, const char *const *names, size_t n) {
  assert_true(json_is_object(o));
  for (size_t i = 0; i < n; i++) {
    if (!json_object_get(o, names[i])) fail_msg("missing field %s", names[i]);
  }
  assert_int_equal(json_object_size(o), n);
}

/* ---- masks ---- */

static void test_mask(void **st) {
  char out[64];
  kp_mask("AIzaSyA1234567890abcdefwxyz", out, sizeof out);
  assert_string_equal(out, "AIza\u2026wxyz");
  kp_mask("abcdefghij", out, sizeof out);  /* 10 bytes: still first 4 + last 4 */
  assert_string_equal(out, "abcd\u2026ghij");
  kp_mask("secret78", out, sizeof out);
  assert_string_equal(out, "\u202678");
  kp_mask("abc", out, sizeof out);         /* too short to show anything */
  assert_string_equal(out, "\u2026");
  kp_mask("", out, sizeof out);
  assert_string_equal(out, "\u2026");
  kp_mask("AIzaSyA1234567890abcdefwxyz", out, 5);
  assert_true(strlen(out) <= 4);
  assert_null(strstr(out, "1234"));
}

/* ---- 429 cooldowns ---- */

static void test_429_retry_delay_cools_that_model_only(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 1);
  kp_key *k = kp_acquire(kp, "gemini-pro", T0, NULL, 0, NULL);
  assert_non_null(k);
  report(kp, k, "gemini-pro", T0, KP_RATE_LIMITED, 30000);
  assert_int_equal(none_free(kp, "gemini-pro", T0 + 1000), 29000);
  assert_int_equal(none_free(kp, "gemini-pro", T0 + 29999), 1000);  /* floor of 1 s */
  assert_int_equal(use(kp, "gemini-flash", T0 + 1000, KP_OK), 1);  /* other model unaffected */
  assert_int_equal(use(kp, NULL, T0 + 1000, KP_OK), 1);           /* and model-less calls */
  assert_int_equal(use(kp, "gemini-pro", T0 + 30000, KP_OK), 1);
  /* A RetryInfo delay above the cap is capped. */
  k = kp_acquire(kp, "gemini-pro", T0 + 40000, NULL, 0, NULL);
  report(kp, k, "gemini-pro", T0 + 40000, KP_RATE_LIMITED, 3600000);
  assert_int_equal(none_free(kp, "gemini-pro", T0 + 40000), 900000);
  kp_free(kp);
}

static void test_429_other_key_serves(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);
  report(kp, k, "m", T0, KP_RATE_LIMITED, 30000);
  for (int i = 0; i < 3; i++) assert_int_equal(use(kp, "m", T0 + 1000 * i, KP_OK), 2);
  kp_free(kp);
}

static void test_429_exponential_backoff_and_cap(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.cooldown_base_ms = 2000;
  c.cooldown_max_ms = 10000;
  keypool *kp = pool_with(&c, 1);
  const int64_t expect[] = {2000, 4000, 8000, 10000, 10000};
  int64_t now = T0;
  for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
    kp_key *k = kp_acquire(kp, "m", now, NULL, 0, NULL);
    assert_non_null(k);
    report(kp, k, "m", now, KP_RATE_LIMITED, -1);
    assert_int_equal(none_free(kp, "m", now), expect[i]);
    now += expect[i];
  }
  /* A success on the pair resets the run: the next 429 cools for the base again. */
  assert_int_equal(use(kp, "m", now, KP_OK), 1);
  kp_key *k = kp_acquire(kp, "m", now, NULL, 0, NULL);
  report(kp, k, "m", now, KP_RATE_LIMITED, -1);
  assert_int_equal(none_free(kp, "m", now), 2000);
  /* The run is per (key, model): another model starts at the base. */
  k = kp_acquire(kp, "other", now, NULL, 0, NULL);
  report(kp, k, "other", now, KP_RATE_LIMITED, -1);
  assert_int_equal(none_free(kp, "other", now), 2000);
  kp_free(kp);
}

static void test_all_cooling_retry_after_is_soonest(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  const int64_t delays[] = {30000, 10000, 20000};
  for (int i = 0; i < 3; i++) {
    kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
    report(kp, k, "m", T0, KP_RATE_LIMITED, delays[i]);
  }
  assert_int_equal(none_free(kp, "m", T0 + 500), 9500);
  assert_int_equal(use(kp, "m", T0 + 10000, KP_OK), 2);
  kp_free(kp);
}

/* ---- invalid and disabled keys ---- */

static void test_invalid_skipped_for_all_models_and_recheck(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  assert_int_equal(use(kp, "a", T0, KP_INVALID), 1);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(use(kp, "a", T0 + i, KP_OK), 2);
    assert_int_equal(use(kp, "b", T0 + i, KP_OK), 2);
    assert_int_equal(use(kp, NULL, T0 + i, KP_OK), 2);
  }
  assert_int_equal(kp_available(kp, T0), 1);
  json_t *s = status_of(kp, T0, 1);
  assert_string_equal(jstr(s, "state"), "invalid");
  assert_false(json_is_true(json_object_get(s, "available")));
  json_decref(s);

  kp_key *due[4];
  assert_int_equal(kp_due_rechecks(kp, T0 + 59999, due, 4), 0);  /* not within the interval */
  assert_int_equal(kp_due_rechecks(kp, T0 + 60000, due, 4), 1);
  assert_int_equal(kp_key_id(due[0]), 1);
  assert_int_equal(kp_due_rechecks(kp, T0 + 60001, due + 1, 3), 0);  /* probe in progress */
  kp_recheck_done(kp, due[0], T0 + 61000, 0);                        /* still bad */
  assert_int_equal(use(kp, "a", T0 + 61000, KP_OK), 2);
  assert_int_equal(use(kp, "a", T0 + 61001, KP_OK), 2);
  assert_int_equal(kp_due_rechecks(kp, T0 + 120999, due, 4), 0);
  assert_int_equal(kp_due_rechecks(kp, T0 + 121000, due, 4), 1);
  kp_recheck_done(kp, due[0], T0 + 121500, 1);                       /* answers again */
  assert_int_equal(kp_due_rechecks(kp, T0 + 999999, due, 4), 0);
  assert_int_equal(use(kp, "b", T0 + 122000, KP_OK), 1);
  assert_int_equal(kp_available(kp, T0 + 122000), 2);
  kp_free(kp);
}

static void test_all_invalid_or_empty_gives_minus_one(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = kp_new(&c);
  assert_int_equal(none_free(kp, "m", T0), -1);
  assert_int_equal(kp_set_keys(kp, KEYS, 2), 2);
  assert_int_equal(use(kp, "m", T0, KP_INVALID), 1);
  assert_int_equal(use(kp, "m", T0, KP_INVALID), 2);
  assert_int_equal(none_free(kp, "m", T0), -1);
  assert_int_equal(none_free(kp, "other", T0), -1);
  assert_int_equal(kp_available(kp, T0), 0);
  kp_free(kp);
}

static void test_failure_run_disables_at_max_failures(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.max_failures = 3;
  keypool *kp = pool_with(&c, 1);
  int64_t t = T0;
  /* Two failures, then a success: the run starts over. */
  assert_int_equal(use(kp, "m", t++, KP_SERVER_ERROR), 1);
  assert_int_equal(use(kp, "m", t++, KP_NETWORK_ERROR), 1);
  assert_int_equal(use(kp, "m", t++, KP_OK), 1);
  assert_int_equal(use(kp, "m", t++, KP_SERVER_ERROR), 1);
  assert_int_equal(use(kp, "m", t++, KP_SERVER_ERROR), 1);
  /* A client error counts as the key answering. */
  assert_int_equal(use(kp, "m", t++, KP_CLIENT_ERROR), 1);
  assert_int_equal(use(kp, "m", t++, KP_SERVER_ERROR), 1);
  assert_int_equal(use(kp, "m", t++, KP_NETWORK_ERROR), 1);
  json_t *s = status_of(kp, t, 1);
  assert_int_equal(jint(s, "failure_run"), 2);
  json_decref(s);
  /* A 429 neither extends nor resets the run (and is on another model, so "m" stays free). */
  kp_key *k = kp_acquire(kp, "x", t, NULL, 0, NULL);
  report(kp, k, "x", t++, KP_RATE_LIMITED, 1000);
  s = status_of(kp, t, 1);
  assert_int_equal(jint(s, "failure_run"), 2);
  json_decref(s);
  assert_int_equal(use(kp, "m", t++, KP_SERVER_ERROR), 1);  /* the third in a row */
  assert_int_equal(none_free(kp, "m", t), -1);
  assert_int_equal(none_free(kp, "y", t), -1);              /* disabled for every model */
  s = status_of(kp, t, 1);
  assert_string_equal(jstr(s, "state"), "disabled");
  assert_int_equal(jint(s, "failure_run"), 3);
  json_decref(s);
  /* The background check brings it back with a fresh run. */
  kp_key *due[2];
  assert_int_equal(kp_due_rechecks(kp, t + 60000, due, 2), 1);
  kp_recheck_done(kp, due[0], t + 60000, 1);
  s = status_of(kp, t + 60000, 1);
  assert_string_equal(jstr(s, "state"), "active");
  assert_int_equal(jint(s, "failure_run"), 0);
  json_decref(s);
  kp_free(kp);
}

static void test_aborted_changes_no_counters(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.max_failures = 2;
  keypool *kp = pool_with(&c, 2);
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  json_t *st1 = kp_status_keys(kp, T0), *ks1 = kp_key_stats(kp), *ps1 = kp_pool_stats(kp, T0);
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);
  kp_result r = {.outcome = KP_ABORTED, .retry_delay_ms = 5000, .latency_ms = 900,
                 .tokens = 500, .error = "client went away"};
  kp_report(kp, k, "m", T0, &r);
  json_t *st2 = kp_status_keys(kp, T0), *ks2 = kp_key_stats(kp), *ps2 = kp_pool_stats(kp, T0);
  assert_true(json_equal(st1, st2));
  assert_true(json_equal(ks1, ks2));
  assert_true(json_equal(ps1, ps2));
  /* Key 1's run is still 1 (not reset): one more failure disables it. */
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  json_decref(st1); json_decref(ks1); json_decref(ps1);
  json_decref(st2); json_decref(ks2); json_decref(ps2);
  kp_free(kp);
}

/* ---- strategies ---- */

static void test_round_robin_order(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  const int order[] = {1, 2, 3, 1, 2, 3, 1};
  for (size_t i = 0; i < sizeof order / sizeof *order; i++)
    assert_int_equal(use(kp, i % 2 ? "a" : "b", T0, KP_OK), order[i]);
  /* The last used was 1; with 2 cooling, the rotation goes 3, 1, 3, 1. */
  kp_key *k = kp_acquire(kp, "a", T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 2);
  report(kp, k, "a", T0, KP_RATE_LIMITED, 60000);
  const int order2[] = {3, 1, 3, 1};
  for (size_t i = 0; i < 4; i++) assert_int_equal(use(kp, "a", T0 + 1, KP_OK), order2[i]);
  /* Concurrent acquires (no report yet) rotate too. */
  kp_key *h[3];
  for (int i = 0; i < 3; i++) h[i] = kp_acquire(kp, "b", T0 + 2, NULL, 0, NULL);
  assert_int_equal(kp_key_id(h[0]), 2);
  assert_int_equal(kp_key_id(h[1]), 3);
  assert_int_equal(kp_key_id(h[2]), 1);
  for (int i = 0; i < 3; i++) kp_release(kp, h[i]);
  kp_free(kp);
}

static void test_least_used(void **st) {
  kp_config c = base_cfg(KP_LEAST_USED);
  keypool *kp = pool_with(&c, 3);
  /* Fewest requests on the model, ties by list order. */
  const int order[] = {1, 2, 3, 1, 2, 3};
  for (size_t i = 0; i < 6; i++) assert_int_equal(use(kp, "a", T0, KP_OK), order[i]);
  /* Key 1 gets a request on "c": equal on "a" (2 each), it is now ahead in total. */
  assert_int_equal(use(kp, "c", T0, KP_OK), 1);
  assert_int_equal(use(kp, "a", T0, KP_OK), 2);
  assert_int_equal(use(kp, "a", T0, KP_OK), 3);
  /* "b": nobody has used it; totals are 3, 3, 3: list order, then the fewer total. */
  assert_int_equal(use(kp, "b", T0, KP_OK), 1);
  assert_int_equal(use(kp, "b", T0, KP_OK), 2);
  /* "c": key 1 has 1 there, 2 and 3 none; 3 has fewer in total (3 vs 4). */
  assert_int_equal(use(kp, "c", T0, KP_OK), 3);
  /* In-flight requests count: concurrent acquires on a fresh model spread over the keys. */
  kp_key *h[3];
  for (int i = 0; i < 3; i++) h[i] = kp_acquire(kp, "d", T0, NULL, 0, NULL);
  assert_ptr_not_equal(h[0], h[1]);
  assert_ptr_not_equal(h[1], h[2]);
  assert_ptr_not_equal(h[0], h[2]);
  for (int i = 0; i < 3; i++) kp_release(kp, h[i]);
  kp_free(kp);

  /* The model's own count comes before the total: key 1, busy on "x", is the one for "y". */
  kp = pool_with(&c, 2);
  for (int i = 0; i < 3; i++) report(kp, grab(kp, "x", T0, 1), "x", T0, KP_OK, -1);
  report(kp, grab(kp, "y", T0, 2), "y", T0, KP_OK, -1);
  assert_int_equal(use(kp, "y", T0, KP_OK), 1);
  assert_int_equal(use(kp, "x", T0, KP_OK), 2);
  kp_free(kp);
}

static void test_health_prefers_lower_error_and_usage(void **st) {
  kp_config c = base_cfg(KP_HEALTH);
  keypool *kp = pool_with(&c, 2);
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);   /* fresh keys tie: list order */
  assert_int_equal(kp_key_id(k), 1);
  kp_release(kp, k);
  /* 4 requests each; key 1 with 2 errors. */
  for (int i = 0; i < 4; i++) {
    report(kp, grab(kp, "m", T0, 1), "m", T0, i < 2 ? KP_SERVER_ERROR : KP_OK, -1);
    report(kp, grab(kp, "m", T0, 2), "m", T0, KP_OK, -1);
  }
  /* Scores: key 1 (1/5)(1 − 2/5) = 0.12; key 2 1/(n+1) after n clean requests: 0.2, 0.167,
   * 0.143, 0.125 beat key 1, 0.111 does not.  Usage counts over all models. */
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  assert_int_equal(use(kp, "other", T0, KP_OK), 2);
  assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  assert_int_equal(use(kp, "other", T0, KP_OK), 2);
  assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  kp_free(kp);
}

/* ---- per-key per-model limits ---- */

static void test_limits_rpm(void **st) {
  kp_limit lim[] = {{.model = "m", .rpm = 2}, {.model = "*", .rpm = 1}};
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.limits = lim;
  c.nlimits = 2;
  keypool *kp = pool_with(&c, 1);
  assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  assert_int_equal(use(kp, "m", T0 + 10000, KP_OK), 1);
  assert_int_equal(none_free(kp, "m", T0 + 20000), 40000);      /* the T0 request leaves at T0+60 s */
  assert_int_equal(use(kp, "m", T0 + 60000, KP_OK), 1);
  assert_int_equal(none_free(kp, "m", T0 + 60000), 10000);
  /* "*" applies to models without their own entry: 1 per minute each. */
  assert_int_equal(use(kp, "x", T0, KP_OK), 1);
  assert_int_equal(none_free(kp, "x", T0 + 500), 59500);
  assert_int_equal(use(kp, "y", T0 + 500, KP_OK), 1);
  /* Model-less calls are not under per-model limits. */
  for (int i = 0; i < 5; i++) assert_int_equal(use(kp, NULL, T0, KP_OK), 1);
  /* Aborted requests still count in the window (the upstream saw them). */
  kp_key *k = kp_acquire(kp, "z", T0, NULL, 0, NULL);
  report(kp, k, "z", T0, KP_ABORTED, -1);
  assert_int_equal(none_free(kp, "z", T0), 60000);
  kp_free(kp);
}

/* Tests and tools may drive time from 0: the window must work there too. */
static void test_limits_near_time_zero(void **st) {
  kp_limit lim[] = {{.model = "*", .rpm = 1}};
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.limits = lim;
  c.nlimits = 1;
  keypool *kp = pool_with(&c, 1);
  assert_int_equal(use(kp, "m", 500, KP_OK), 1);
  assert_int_equal(none_free(kp, "m", 1500), 58500);
  assert_int_equal(use(kp, "m", 60000, KP_OK), 1);
  kp_free(kp);
}

static void test_limits_skip_key_without_headroom(void **st) {
  kp_limit lim[] = {{.model = "m", .rpm = 1}};
  kp_config c = base_cfg(KP_LEAST_USED);
  c.limits = lim;
  c.nlimits = 1;
  keypool *kp = pool_with(&c, 2);
  assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  assert_int_equal(use(kp, "m", T0 + 1000, KP_OK), 2);
  assert_int_equal(none_free(kp, "m", T0 + 2000), 58000);
  /* least_used would pick key 1 (fewer total) on "other", and it is free there. */
  assert_int_equal(use(kp, "other", T0 + 2000, KP_OK), 1);
  assert_int_equal(use(kp, "m", T0 + 60000, KP_OK), 1);
  json_t *ps = kp_pool_stats(kp, T0 + 61000);
  json_t *m = json_object_get(ps, "m");
  assert_int_equal(jint(m, "active_instances"), 1);  /* key 2 has headroom, key 1 not */
  assert_int_equal(jint(m, "error_instances"), 0);   /* a limit is not an error */
  json_decref(ps);
  kp_free(kp);
}

static void test_limits_tpm_and_rpd(void **st) {
  kp_limit lim[] = {{.model = "t", .tpm = 1000}, {.model = "d", .rpd = 2}};
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.limits = lim;
  c.nlimits = 2;
  keypool *kp = pool_with(&c, 1);
  kp_key *k = kp_acquire(kp, "t", T0, NULL, 0, NULL);
  kp_result r = {.outcome = KP_OK, .retry_delay_ms = -1, .tokens = 600};
  kp_report(kp, k, "t", T0, &r);
  k = kp_acquire(kp, "t", T0 + 5000, NULL, 0, NULL);  /* 600 < 1000: still room */
  assert_non_null(k);
  kp_report(kp, k, "t", T0 + 5000, &r);                /* 1200 in the window */
  assert_int_equal(none_free(kp, "t", T0 + 6000), 54000);  /* 600 left at T0+60 s: below */
  assert_non_null(k = kp_acquire(kp, "t", T0 + 60000, NULL, 0, NULL));
  kp_release(kp, k);

  /* RPD: two a UTC day; the next day starts at midnight. */
  int64_t midnight = (T0 / DAY_MS + 1) * DAY_MS;
  assert_int_equal(use(kp, "d", T0, KP_OK), 1);
  assert_int_equal(use(kp, "d", T0 + 120000, KP_OK), 1);
  assert_int_equal(none_free(kp, "d", T0 + 180000), midnight - (T0 + 180000));
  assert_int_equal(none_free(kp, "d", midnight - 1), 1000);
  assert_int_equal(use(kp, "d", midnight, KP_OK), 1);
  kp_free(kp);
}

/* ---- exclusion ---- */

static void test_exclude_list(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  kp_key *a = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  kp_key *tried[3] = {a};
  kp_key *b = kp_acquire(kp, "m", T0, tried, 1, NULL);
  tried[1] = b;
  kp_key *d = kp_acquire(kp, "m", T0, tried, 2, NULL);
  tried[2] = d;
  assert_int_equal(kp_key_id(a), 1);
  assert_int_equal(kp_key_id(b), 2);
  assert_int_equal(kp_key_id(d), 3);
  /* Every key tried: none for this request, but keys are fine, so not "never". */
  int64_t ra = 0;
  assert_null(kp_acquire(kp, "m", T0, tried, 3, &ra));
  assert_int_equal(ra, 1000);
  /* Exclusion is by identity and only for this call. */
  kp_key *again = kp_acquire(kp, "m", T0, tried, 2, NULL);
  assert_ptr_equal(again, d);
  kp_release(kp, again);
  report(kp, a, "m", T0, KP_OK, -1);
  report(kp, b, "m", T0, KP_OK, -1);
  report(kp, d, "m", T0, KP_OK, -1);
  kp_free(kp);
}

/* ---- reload ---- */

static void test_reload_keeps_state_and_detaches(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 2);
  kp_key *k3 = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  report(kp, k3, "m", T0, KP_RATE_LIMITED, 30000);       /* key 3 cools on "m" */
  kp_key *held = kp_acquire(kp, "m", T0, NULL, 0, NULL);  /* key 1, in flight */
  assert_int_equal(kp_key_id(held), 1);

  /* Drop key 1, reorder, add key 4; empties and duplicates are ignored. */
  const char *next[] = {KEYS[2], "", KEYS[1], KEYS[3], KEYS[2]};
  assert_int_equal(kp_set_keys(kp, next, 5), 3);
  assert_int_equal(kp_key_id(held), 0);
  assert_string_equal(kp_key_secret(held), KEYS[0]);     /* still valid while referenced */

  json_t *s = status_of(kp, T0, 1);                      /* old key 3 */
  assert_string_equal(jstr(s, "state"), "cooling");
  assert_int_equal(jint(json_object_get(s, "cooldowns"), "m"), 30);
  json_decref(s);
  s = status_of(kp, T0, 2);                              /* old key 2 */
  assert_int_equal(jint(s, "requests"), 1);
  assert_int_equal(jint(s, "errors"), 1);
  assert_int_equal(jint(s, "failure_run"), 1);
  json_decref(s);
  s = status_of(kp, T0, 3);                              /* new */
  assert_int_equal(jint(s, "requests"), 0);
  json_decref(s);
  json_t *ks = kp_key_stats(kp);
  assert_int_equal(jint(ks, "total_keys"), 3);
  assert_int_equal(jint(ks, "total_requests"), 2);       /* key 1's request left with it */
  json_decref(ks);

  /* Reporting on the removed key is harmless and frees it (ASan/LSan would tell). */
  report(kp, held, "m", T0, KP_OK, -1);
  /* The removed key is never handed out. */
  for (int i = 0; i < 4; i++) {
    kp_key *k = kp_acquire(kp, "x", T0, NULL, 0, NULL);
    assert_string_not_equal(kp_key_secret(k), KEYS[0]);
    kp_release(kp, k);
  }
  /* A key removed with no reference is freed at once; re-adding starts it fresh. */
  assert_int_equal(kp_set_keys(kp, KEYS, 1), 1);
  assert_int_equal(kp_set_keys(kp, KEYS, 4), 4);
  s = status_of(kp, T0, 2);
  assert_int_equal(jint(s, "requests"), 0);
  json_decref(s);
  kp_free(kp);
}

/* ---- issue 15: quotas as Google states them, learned limits, suspect keys, bounded models ---- */

static void rate_limited(keypool *kp, kp_key *k, const char *model, int64_t now, quota_period p,
                         quota_metric metric, int64_t value, int64_t delay) {
  kp_result r = {.outcome = KP_RATE_LIMITED, .retry_delay_ms = delay, .latency_ms = 10,
                 .period = p, .metric = metric, .quota_value = value};
  kp_report(kp, k, model, now, &r);
}

static void test_per_day_quota_cools_until_pacific_midnight(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  /* Google's per-day 429 carries a short retryDelay too: the period decides. */
  rate_limited(kp, grab(kp, "pro", T0, 1), "pro", T0, QUOTA_PER_DAY, QUOTA_REQUESTS, 100, 27000);
  int64_t reset = verdict_next_pacific_midnight(T0);
  assert_true(reset - T0 > 3600000);                     /* T0 is 14:13 PST: hours away */
  json_t *s = status_of(kp, T0 + 1000, 1);
  assert_int_equal(jint(json_object_get(s, "cooldowns"), "pro"), (reset - T0 - 1000 + 999) / 1000);
  assert_string_equal(jstr(json_object_get(s, "cooldown_reasons"), "pro"), "per_day");
  json_decref(s);
  /* Only that model: the key still serves another, and the other key serves "pro". */
  assert_int_equal(kp_key_id(grab(kp, "flash", T0 + 1000, 1)), 1);
  kp_release(kp, grab(kp, "flash", T0 + 1000, 1));
  kp_release(kp, grab(kp, "flash", T0 + 1000, 1));
  assert_int_equal(use(kp, "pro", T0 + 2000, KP_OK), 2);
  assert_int_equal(use(kp, "pro", reset - 1, KP_OK), 2);
  /* At the reset it is back. */
  kp_key *skip[1] = {NULL};
  kp_key *k = kp_acquire(kp, "pro", reset, NULL, 0, NULL);
  skip[0] = k;
  kp_key *k2 = kp_acquire(kp, "pro", reset, skip, 1, NULL);
  assert_non_null(k2);
  kp_release(kp, k);
  kp_release(kp, k2);
  kp_free(kp);
}

static void test_per_minute_quota_uses_retry_info_or_backoff(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 1);
  rate_limited(kp, grab(kp, "m", T0, 1), "m", T0, QUOTA_PER_MINUTE, QUOTA_REQUESTS, 5, 27000);
  json_t *s = status_of(kp, T0, 1);
  assert_int_equal(jint(json_object_get(s, "cooldowns"), "m"), 27);
  assert_string_equal(jstr(json_object_get(s, "cooldown_reasons"), "m"), "per_minute");
  json_decref(s);
  /* An absent or absurd delay (verdict gives -1) falls back to the configured backoff. */
  rate_limited(kp, grab(kp, "n", T0, 1), "n", T0, QUOTA_PER_MINUTE, QUOTA_REQUESTS, -1, -1);
  s = status_of(kp, T0, 1);
  assert_int_equal(jint(json_object_get(s, "cooldowns"), "n"), 10);
  json_decref(s);
  kp_free(kp);
}

static void test_learned_limits_route_like_configured_ones(void **st) {
  kp_limit lim[] = {{.model = "m", .rpm = 5}};
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.limits = lim;
  c.nlimits = 1;
  keypool *kp = pool_with(&c, 1);
  kp_learned row;
  kp_result r = {.outcome = KP_RATE_LIMITED, .retry_delay_ms = 1000, .period = QUOTA_PER_MINUTE,
                 .metric = QUOTA_REQUESTS, .quota_value = 2};
  assert_int_equal(kp_report_learn(kp, grab(kp, "m", T0, 1), "m", T0, &r, &row), 1);
  char hex[65];
  uint8_t h[32];
  crypto_sha256(KEYS[0], strlen(KEYS[0]), h);
  crypto_hex(h, 32, hex);
  assert_string_equal(row.key_hash, hex);
  assert_string_equal(row.model, "m");
  assert_int_equal(row.rpm, 2);
  assert_int_equal(row.rpd, 0);
  /* The same value again (a minute later: it is a limit now) teaches nothing to store. */
  assert_int_equal(kp_report_learn(kp, grab(kp, "m", T0 + 61000, 1), "m", T0 + 61000, &r, &row), 0);
  /* A quotaValue of 0 (no quota at all) or one without a known metric is not a limit. */
  kp_result zero = r;
  zero.quota_value = 0;
  assert_int_equal(kp_report_learn(kp, grab(kp, "m", T0 + 122000, 1), "m", T0 + 122000, &zero, &row), 0);
  kp_result other = r;
  other.metric = QUOTA_OTHER;
  other.quota_value = 7;
  assert_int_equal(kp_report_learn(kp, grab(kp, "m", T0 + 183000, 1), "m", T0 + 183000, &other, &row), 0);
  /* Status shows both kinds. */
  json_t *s = status_of(kp, T0 + 183000, 1);
  json_t *l = json_object_get(json_object_get(s, "limits"), "m");
  assert_non_null(l);
  assert_int_equal(jint(json_object_get(l, "configured"), "rpm"), 5);
  assert_int_equal(jint(json_object_get(l, "learned"), "rpm"), 2);
  assert_int_equal(jint(json_object_get(l, "learned"), "rpd"), 0);
  json_decref(s);
  /* The smaller wins: a new minute (cooldowns over) allows 2 requests, not 5. */
  int64_t t = T0 + 300000;
  assert_int_equal(use(kp, "m", t, KP_OK), 1);
  assert_int_equal(use(kp, "m", t, KP_OK), 1);
  assert_true(none_free(kp, "m", t) > 0);
  kp_free(kp);
}

static void test_learned_limits_load_by_hash(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  kp_learned row = {.model = "m", .rpd = 1};
  uint8_t h[32];
  crypto_sha256(KEYS[1], strlen(KEYS[1]), h);
  crypto_hex(h, 32, row.key_hash);
  assert_int_equal(kp_learn_load(kp, &row), 1);
  assert_true(kp_has_key_hash(kp, row.key_hash));
  json_t *s = status_of(kp, T0, 2);
  assert_int_equal(jint(json_object_get(json_object_get(json_object_get(s, "limits"), "m"), "learned"), "rpd"), 1);
  json_decref(s);
  /* Key 2 serves "m" once a day now. */
  assert_int_equal(kp_key_id(grab(kp, "m", T0, 2)), 2);   /* grab takes (and here keeps) one */
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);
  kp_release(kp, k);
  k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  assert_int_equal(kp_key_id(k), 1);                      /* 2 has no headroom left */
  kp_release(kp, k);
  memset(row.key_hash, 'a', 64);
  assert_int_equal(kp_learn_load(kp, &row), 0);           /* no such key */
  assert_false(kp_has_key_hash(kp, row.key_hash));
  /* A loaded model is known, not provisional: a few new names still get their own state and
   * ask for no model list. */
  size_t before = kp_tracked_models(kp);
  char name[16];
  for (int i = 0; i < 5; i++) {
    snprintf(name, sizeof name, "new-%d", i);
    use(kp, name, T0, KP_OK);
  }
  assert_int_equal(kp_tracked_models(kp), before + 5);
  assert_null(kp_catalog_begin(kp, T0));
  kp_free(kp);
}

static void test_unmark_makes_suspect_until_recheck(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  kp_key *k = grab(kp, "m", T0, 1);
  kp_key *held = kp_ref(kp, k);
  report(kp, k, "m", T0, KP_INVALID, -1);
  json_t *s = status_of(kp, T0, 1);
  assert_string_equal(jstr(s, "state"), "invalid");
  json_decref(s);
  kp_unmark(kp, held, T0);                              /* drops the extra reference */
  s = status_of(kp, T0, 1);
  assert_string_equal(jstr(s, "state"), "suspect");
  assert_true(json_is_true(json_object_get(s, "available")));
  json_decref(s);
  assert_int_equal(kp_available(kp, T0), 2);
  /* Usable, after the others: key 2 first, then key 1 when 2 is excluded or busy. */
  for (int i = 0; i < 3; i++) assert_int_equal(use(kp, "m", T0, KP_OK), 2);
  kp_key *two = grab(kp, "m", T0, 2), *ex[] = {two};
  kp_key *one = kp_acquire(kp, "m", T0, ex, 1, NULL);
  assert_non_null(one);
  assert_int_equal(kp_key_id(one), 1);
  kp_release(kp, one);
  kp_release(kp, two);
  /* Re-checked one interval after the mark: no verdict keeps it suspect, a refusal makes it
   * invalid, an answer active. */
  kp_key *due[4];
  assert_int_equal(kp_due_rechecks(kp, T0 + 1000, due, 4), 0);
  assert_int_equal(kp_due_rechecks(kp, T0 + 60000, due, 4), 1);
  kp_recheck_done(kp, due[0], T0 + 60000, KP_CHECK_UNKNOWN);
  s = status_of(kp, T0 + 60000, 1);
  assert_string_equal(jstr(s, "state"), "suspect");
  json_decref(s);
  assert_int_equal(kp_due_rechecks(kp, T0 + 120000, due, 4), 1);
  kp_recheck_done(kp, due[0], T0 + 120000, KP_CHECK_BAD);
  s = status_of(kp, T0 + 120000, 1);
  assert_string_equal(jstr(s, "state"), "invalid");
  json_decref(s);
  assert_int_equal(kp_due_rechecks(kp, T0 + 180000, due, 4), 1);
  kp_recheck_done(kp, due[0], T0 + 180000, KP_CHECK_OK);
  s = status_of(kp, T0 + 180000, 1);
  assert_string_equal(jstr(s, "state"), "active");
  json_decref(s);
  /* A key a re-check already brought back is left alone by a late unmark. */
  kp_unmark(kp, kp_ref(kp, grab(kp, "m", T0, 1)), T0);
  kp_release(kp, grab(kp, "m", T0, 1));
  s = status_of(kp, T0 + 180000, 1);
  assert_string_equal(jstr(s, "state"), "active");
  json_decref(s);
  kp_free(kp);
}

static void test_model_state_is_bounded(void **st) {
  kp_limit lim[] = {{.model = "configured", .rpm = 100}};
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.limits = lim;
  c.nlimits = 1;
  keypool *kp = pool_with(&c, 2);
  char name[64];
  assert_int_equal(use(kp, "gemini-2.5-flash", T0, KP_OK), 1);
  assert_int_equal(use(kp, "configured", T0, KP_OK), 2);
  for (int i = 0; i < 40000; i++) {
    snprintf(name, sizeof name, "made-up-%d", i);
    assert_true(use(kp, name, T0, KP_OK) > 0);
  }
  assert_true(kp_tracked_models(kp) <= KP_PROVISIONAL_MAX + 3);
  json_t *ps = kp_pool_stats(kp, T0);
  assert_true(json_object_size(ps) <= KP_PROVISIONAL_MAX + 3);
  assert_non_null(json_object_get(ps, KP_UNLISTED));   /* the rest shared one entry */
  assert_non_null(json_object_get(ps, "gemini-2.5-flash"));
  json_decref(ps);
  /* Many names without a list: the pool asks for the upstream's, once at a time. */
  kp_key *k = kp_catalog_begin(kp, T0);
  assert_non_null(k);
  assert_null(kp_catalog_begin(kp, T0));
  const char *listed[] = {"gemini-2.5-flash", "gemini-2.5-pro", "made-up-3"};
  kp_catalog_done(kp, k, T0, listed, 3, 1);
  ps = kp_pool_stats(kp, T0);
  assert_non_null(json_object_get(ps, "gemini-2.5-flash"));
  assert_non_null(json_object_get(ps, "configured"));  /* named in the limits: kept */
  assert_non_null(json_object_get(ps, "made-up-3"));   /* listed after all */
  assert_null(json_object_get(ps, "made-up-4"));       /* gone with its state */
  assert_int_equal(json_object_size(ps), 4);           /* + "(unlisted)" */
  json_decref(ps);
  /* From now on a name the list lacks shares "(unlisted)"; a listed one gets its own. */
  use(kp, "made-up-40001", T0, KP_OK);
  use(kp, "gemini-2.5-pro", T0, KP_OK);
  ps = kp_pool_stats(kp, T0);
  assert_null(json_object_get(ps, "made-up-40001"));
  assert_non_null(json_object_get(ps, "gemini-2.5-pro"));
  json_decref(ps);
  assert_null(kp_catalog_begin(kp, T0 + 60000));        /* fresh: no listing for an hour */
  k = kp_catalog_begin(kp, T0 + 3600000);               /* a name it lacked, an hour later */
  assert_non_null(k);
  kp_catalog_done(kp, k, T0 + 3600000, NULL, 0, 0);     /* failed: the old list stays */
  assert_null(kp_catalog_begin(kp, T0 + 3600000 + 1000));
  ps = kp_pool_stats(kp, T0);
  assert_non_null(json_object_get(ps, "gemini-2.5-pro"));
  json_decref(ps);
  kp_free(kp);
}

static void test_few_models_never_ask_for_a_list(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 1);
  char name[32];
  for (int i = 0; i < 15; i++) {
    snprintf(name, sizeof name, "model-%d", i);
    use(kp, name, T0, KP_OK);
  }
  assert_null(kp_catalog_begin(kp, T0));
  assert_int_equal(kp_tracked_models(kp), 15);
  kp_free(kp);
}

/* ---- JSON views ---- */

static void test_status_keys_shape_and_today(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  int64_t midnight = (T0 / DAY_MS + 1) * DAY_MS;
  kp_result r = {.outcome = KP_OK, .retry_delay_ms = -1, .latency_ms = 300, .tokens = 42};
  kp_report(kp, grab(kp, "gemini-pro", T0, 1), "gemini-pro", T0, &r);
  r = (kp_result){.outcome = KP_SERVER_ERROR, .retry_delay_ms = -1, .latency_ms = 101,
                  .error = "503 model overloaded"};
  kp_report(kp, grab(kp, "gemini-pro", T0, 1), "gemini-pro", T0 + 1000, &r);
  r = (kp_result){.outcome = KP_RATE_LIMITED, .retry_delay_ms = 12500, .latency_ms = 50};
  kp_report(kp, grab(kp, "gemini-pro", T0, 2), "gemini-pro", T0 + 1000, &r);

  json_t *arr = kp_status_keys(kp, T0 + 2000);
  assert_int_equal(json_array_size(arr), 2);
  static const char *const fields[] = {"id", "key", "state", "available", "healthy",
    "today_requests", "today_tokens", "requests", "errors", "error_rate", "avg_latency_ms",
    "failure_run", "last_error", "cooldowns", "cooldown_reasons", "limits"};
  json_t *s1 = json_array_get(arr, 0), *s2 = json_array_get(arr, 1);
  assert_fields(s1, fields, 16);
  assert_fields(s2, fields, 16);
  assert_int_equal(jint(s1, "id"), 1);
  assert_int_equal(jint(s2, "id"), 2);
  assert_string_equal(jstr(s1, "key"), "AIza\u2026aaaa");
  assert_string_equal(jstr(s1, "state"), "active");
  assert_true(json_is_true(json_object_get(s1, "available")));
  assert_true(json_is_true(json_object_get(s1, "healthy")));
  assert_int_equal(jint(s1, "today_requests"), 2);
  assert_int_equal(jint(s1, "today_tokens"), 42);
  assert_int_equal(jint(s1, "requests"), 2);
  assert_int_equal(jint(s1, "errors"), 1);
  assert_float_equal(jreal(s1, "error_rate"), 0.5, 1e-9);
  assert_float_equal(jreal(s1, "avg_latency_ms"), 200.5, 1e-9);
  assert_int_equal(jint(s1, "failure_run"), 1);
  assert_string_equal(jstr(s1, "last_error"), "503 model overloaded");
  assert_int_equal(json_object_size(json_object_get(s1, "cooldowns")), 0);
  assert_string_equal(jstr(s2, "state"), "cooling");
  assert_false(json_is_true(json_object_get(s2, "available")));  /* cooling on its only model */
  assert_int_equal(jint(json_object_get(s2, "cooldowns"), "gemini-pro"), 12);  /* 11.5 s, up */
  assert_string_equal(jstr(json_object_get(s2, "cooldown_reasons"), "gemini-pro"), "unstated");
  assert_int_equal(json_object_size(json_object_get(s1, "limits")), 0);
  assert_int_equal(kp_available(kp, T0 + 2000), 1);
  /* No secret beyond the mask anywhere. */
  char *dump = json_dumps(arr, 0);
  for (int i = 0; i < 2; i++) assert_null(strstr(dump, KEYS[i] + 4));
  free(dump);
  json_decref(arr);

  /* Error rate rounds to 4 decimals. */
  report(kp, grab(kp, "x", T0 + 2000, 1), "x", T0 + 2000, KP_OK, -1);  /* 1 error in 3 */
  json_t *s = status_of(kp, T0 + 2000, 1);
  assert_float_equal(jreal(s, "error_rate"), 0.3333, 1e-9);
  json_decref(s);

  /* Today resets at UTC midnight; the totals do not. */
  s = status_of(kp, midnight, 1);
  assert_int_equal(jint(s, "today_requests"), 0);
  assert_int_equal(jint(s, "today_tokens"), 0);
  assert_int_equal(jint(s, "requests"), 3);
  json_decref(s);
  report(kp, grab(kp, "gemini-pro", midnight + 5, 1), "gemini-pro", midnight + 5, KP_OK, -1);
  s = status_of(kp, midnight + 10, 1);
  assert_int_equal(jint(s, "today_requests"), 1);
  assert_int_equal(jint(s, "today_tokens"), 10);
  json_decref(s);
  kp_free(kp);
}

static void test_last_error_truncated_and_secret_scrubbed(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 1);
  char msg[600];
  snprintf(msg, sizeof msg, "bad key %s in request ", KEYS[0]);
  size_t l = strlen(msg);
  memset(msg + l, 'x', sizeof msg - l - 1);
  msg[sizeof msg - 1] = 0;
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  kp_result r = {.outcome = KP_SERVER_ERROR, .retry_delay_ms = -1, .error = msg};
  kp_report(kp, k, "m", T0, &r);
  json_t *s = status_of(kp, T0, 1);
  const char *le = jstr(s, "last_error");
  assert_true(strlen(le) <= 200);
  assert_true(strlen(le) >= 150);
  assert_null(strstr(le, KEYS[0] + 4));
  assert_non_null(strstr(le, "bad key AIza\u2026aaaa in request"));
  json_decref(s);
  /* Without a message the outcome is described. */
  k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  r = (kp_result){.outcome = KP_NETWORK_ERROR, .retry_delay_ms = -1};
  kp_report(kp, k, "m", T0, &r);
  s = status_of(kp, T0, 1);
  assert_string_equal(jstr(s, "last_error"), "network error");
  json_decref(s);
  kp_free(kp);
}

static void test_pool_stats_shape(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  assert_int_equal(use(kp, "a", T0, KP_OK), 1);
  assert_int_equal(use(kp, "a", T0, KP_SERVER_ERROR), 2);
  assert_int_equal(use(kp, "a", T0, KP_INVALID), 3);
  assert_int_equal(use(kp, "a", T0, KP_OK), 1);
  kp_key *k = kp_acquire(kp, "b", T0, NULL, 0, NULL);  /* key 2 */
  report(kp, k, "b", T0, KP_RATE_LIMITED, 60000);
  assert_int_equal(use(kp, NULL, T0, KP_OK), 1);      /* model-less: no entry */

  json_t *ps = kp_pool_stats(kp, T0 + 1000);
  assert_int_equal(json_object_size(ps), 2);
  static const char *const fields[] = {"pool_size", "active_instances", "error_instances",
                                       "total_usage", "usage_distribution", "key_distribution"};
  json_t *a = json_object_get(ps, "a"), *b = json_object_get(ps, "b");
  assert_fields(a, fields, 6);
  assert_fields(b, fields, 6);
  assert_int_equal(jint(a, "pool_size"), 3);
  assert_int_equal(jint(a, "active_instances"), 2);     /* key 3 invalid */
  assert_int_equal(jint(a, "error_instances"), 1);
  assert_int_equal(jint(a, "total_usage"), 4);
  json_t *ud = json_object_get(a, "usage_distribution"), *kd = json_object_get(a, "key_distribution");
  assert_int_equal(json_object_size(ud), 3);
  assert_int_equal(jint(ud, "Key #1"), 2);
  assert_int_equal(jint(ud, "Key #2"), 1);
  assert_int_equal(jint(ud, "Key #3"), 1);
  assert_int_equal(jint(kd, "Key #1"), 0);
  assert_int_equal(jint(kd, "Key #2"), 1);
  assert_int_equal(jint(kd, "Key #3"), 1);
  assert_int_equal(jint(b, "active_instances"), 1);     /* 2 cooling, 3 invalid */
  assert_int_equal(jint(b, "error_instances"), 2);
  assert_int_equal(jint(b, "total_usage"), 1);
  assert_int_equal(jint(json_object_get(b, "key_distribution"), "Key #2"), 1);
  char *dump = json_dumps(ps, 0);
  for (int i = 0; i < 3; i++) assert_null(strstr(dump, KEYS[i] + 4));
  free(dump);
  json_decref(ps);
  kp_free(kp);
}

static void test_key_stats_shape(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  kp_result ok = {.outcome = KP_OK, .retry_delay_ms = -1, .latency_ms = 1500};
  kp_result bad = {.outcome = KP_NETWORK_ERROR, .retry_delay_ms = -1, .latency_ms = 1000};
  for (int i = 0; i < 3; i++) {
    kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
    kp_report(kp, k, "m", T0, kp_key_id(k) == 1 || i == 1 ? &ok : &bad);
  }
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);   /* key 2 */
  kp_report(kp, k, "m", T0, &bad);
  json_t *ks = kp_key_stats(kp);
  static const char *const fields[] = {"total_keys", "total_requests", "failed_requests", "key_usage"};
  assert_fields(ks, fields, 4);
  assert_int_equal(jint(ks, "total_keys"), 2);
  assert_int_equal(jint(ks, "total_requests"), 4);
  assert_int_equal(jint(ks, "failed_requests"), 1);
  json_t *ku = json_object_get(ks, "key_usage");
  assert_int_equal(json_object_size(ku), 2);
  static const char *const kf[] = {"usage", "errors", "avg_time", "error_rate"};
  json_t *k1 = json_object_get(ku, "Key #1"), *k2 = json_object_get(ku, "Key #2");
  assert_fields(k1, kf, 4);
  assert_fields(k2, kf, 4);
  assert_int_equal(jint(k1, "usage"), 2);
  assert_int_equal(jint(k1, "errors"), 0);
  assert_float_equal(jreal(k1, "avg_time"), 1.5, 1e-9);   /* seconds */
  assert_float_equal(jreal(k1, "error_rate"), 0.0, 1e-9);
  assert_int_equal(jint(k2, "usage"), 2);
  assert_int_equal(jint(k2, "errors"), 1);
  assert_float_equal(jreal(k2, "avg_time"), 1.25, 1e-9);
  assert_float_equal(jreal(k2, "error_rate"), 0.5, 1e-9);
  char *dump = json_dumps(ks, 0);
  assert_null(strstr(dump, "AIza"));
  free(dump);
  json_decref(ks);
  kp_free(kp);
}

/* ---- rotation check ---- */

static void test_rotation_check(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 3);
  /* key 1: 4 requests, 1 error (25 % > 20 %); keys 2, 3: 4 clean requests each. */
  for (int i = 0; i < 4; i++) {
    assert_int_equal(use(kp, "m", T0, i == 0 ? KP_SERVER_ERROR : KP_OK), 1);
    assert_int_equal(use(kp, "m", T0, KP_OK), 2);
    assert_int_equal(use(kp, "m", T0, KP_OK), 3);
  }
  kp_rotation_check(kp, T0);
  json_t *s = status_of(kp, T0, 1);
  assert_false(json_is_true(json_object_get(s, "healthy")));
  json_decref(s);
  /* Healthy keys are preferred: round robin skips key 1 while 2 and 3 can serve ... */
  const int order[] = {2, 3, 2, 3};
  for (int i = 0; i < 4; i++) assert_int_equal(use(kp, "m", T0 + 1, KP_OK), order[i]);
  /* ... and it is still used when nothing healthy is left. */
  kp_key *ex[3];
  ex[0] = kp_acquire(kp, "x", T0 + 1, NULL, 0, NULL);
  ex[1] = kp_acquire(kp, "x", T0 + 1, ex, 1, NULL);
  assert_int_equal(kp_key_id(ex[0]) + kp_key_id(ex[1]), 5);
  ex[2] = kp_acquire(kp, "x", T0 + 1, ex, 2, NULL);
  assert_non_null(ex[2]);
  assert_int_equal(kp_key_id(ex[2]), 1);
  for (int i = 0; i < 3; i++) kp_release(kp, ex[i]);

  /* Zeroing the statistics drops the verdicts drawn from them. */
  kp_reset_stats(kp);
  s = status_of(kp, T0 + 2, 1);
  assert_true(json_is_true(json_object_get(s, "healthy")));
  json_decref(s);
  /* Key 1: one error in one request (100 %); key 2: 6 of 8 requests (> 50 %); key 3: fine. */
  report(kp, grab(kp, "m", T0 + 3, 1), "m", T0 + 3, KP_SERVER_ERROR, -1);
  for (int i = 0; i < 6; i++) report(kp, grab(kp, "m", T0 + 3, 2), "m", T0 + 3, KP_OK, -1);
  report(kp, grab(kp, "z", T0 + 3, 3), "z", T0 + 3, KP_OK, -1);
  kp_rotation_check(kp, T0 + 299999);  /* too soon after the last check: nothing changes */
  for (int id = 1; id <= 3; id++) {
    s = status_of(kp, T0 + 3, id);
    assert_true(json_is_true(json_object_get(s, "healthy")));
    json_decref(s);
  }
  kp_rotation_check(kp, T0 + 300000);
  const int healthy[] = {0, 0, 1};
  for (int id = 1; id <= 3; id++) {
    s = status_of(kp, T0 + 3, id);
    assert_int_equal(json_is_true(json_object_get(s, "healthy")), healthy[id - 1]);
    json_decref(s);
  }
  kp_free(kp);
}

static void test_rotation_single_key_not_share_rule(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 1);
  for (int i = 0; i < 5; i++) assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  kp_rotation_check(kp, T0);
  json_t *s = status_of(kp, T0, 1);
  assert_true(json_is_true(json_object_get(s, "healthy")));  /* 100 % share, but the only key */
  json_decref(s);
  kp_free(kp);
}

/* ---- resets ---- */



static void test_reset_pool_one_model_and_all(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  kp_key *k = kp_acquire(kp, "a", T0, NULL, 0, NULL);   /* 1 */
  report(kp, k, "a", T0, KP_RATE_LIMITED, 60000);
  k = kp_acquire(kp, "a", T0, NULL, 0, NULL);           /* 2 */
  report(kp, k, "a", T0, KP_RATE_LIMITED, 60000);
  k = kp_acquire(kp, "b", T0, NULL, 0, NULL);           /* 1 */
  report(kp, k, "b", T0, KP_RATE_LIMITED, 60000);
  k = kp_acquire(kp, "b", T0, NULL, 0, NULL);           /* 2 */
  assert_int_equal(kp_key_id(k), 2);
  report(kp, k, "b", T0, KP_INVALID, -1);
  assert_int_equal(none_free(kp, "a", T0), 60000);
  assert_int_equal(none_free(kp, "b", T0), 60000);

  kp_reset_pool(kp, "a");
  assert_int_equal(use(kp, "a", T0, KP_OK), 1);          /* cooldown on "a" gone; 2 invalid */
  assert_int_equal(use(kp, "a", T0, KP_OK), 1);
  assert_int_equal(none_free(kp, "b", T0), 60000);       /* "b" untouched */
  json_t *ps = kp_pool_stats(kp, T0);
  assert_int_equal(jint(json_object_get(ps, "a"), "total_usage"), 2);  /* counters restarted */
  assert_int_equal(jint(json_object_get(ps, "b"), "total_usage"), 2);
  json_decref(ps);

  kp_reset_pool(kp, NULL);
  assert_int_equal(use(kp, "b", T0, KP_OK), 1);
  assert_int_equal(use(kp, "b", T0, KP_OK), 1);          /* invalid mark stays */
  ps = kp_pool_stats(kp, T0);
  assert_int_equal(jint(json_object_get(ps, "a"), "total_usage"), 0);
  assert_int_equal(jint(json_object_get(ps, "b"), "total_usage"), 2);
  json_decref(ps);
  /* Key-level statistics are not the pool's: they stay. */
  json_t *ks = kp_key_stats(kp);
  assert_int_equal(jint(ks, "total_requests"), 8);
  json_decref(ks);
  kp_free(kp);
}

static void test_reset_pool_clears_failure_runs(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  c.max_failures = 2;
  keypool *kp = pool_with(&c, 1);
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);
  kp_reset_pool(kp, "m");
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);  /* run restarted at 1: not disabled */
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);  /* 2: disabled now */
  assert_int_equal(none_free(kp, "m", T0), -1);
  kp_reset_pool(kp, NULL);                                 /* the disabled mark goes with its run */
  assert_int_equal(use(kp, "m", T0, KP_OK), 1);
  kp_free(kp);
}

static void test_reset_stats(void **st) {
  kp_config c = base_cfg(KP_ROUND_ROBIN);
  keypool *kp = pool_with(&c, 2);
  assert_int_equal(use(kp, "m", T0, KP_SERVER_ERROR), 1);
  kp_key *k = kp_acquire(kp, "m", T0, NULL, 0, NULL);
  report(kp, k, "m", T0, KP_RATE_LIMITED, 60000);
  kp_reset_stats(kp);
  json_t *ks = kp_key_stats(kp);
  assert_int_equal(jint(ks, "total_requests"), 0);
  assert_int_equal(jint(ks, "failed_requests"), 0);
  assert_float_equal(jreal(json_object_get(json_object_get(ks, "key_usage"), "Key #1"), "avg_time"), 0, 1e-9);
  json_decref(ks);
  json_t *ps = kp_pool_stats(kp, T0);
  assert_int_equal(jint(json_object_get(ps, "m"), "total_usage"), 0);
  json_decref(ps);
  json_t *s = status_of(kp, T0, 2);
  assert_string_equal(jstr(s, "state"), "cooling");      /* state stays */
  json_decref(s);
  s = status_of(kp, T0, 1);
  assert_int_equal(jint(s, "failure_run"), 1);
  json_decref(s);
  kp_free(kp);
}

/* ---- threads (run under ASan/TSan to be meaningful) ---- */

typedef struct { keypool *kp; int seed; } worker_arg;

static void *worker(void *p) {
  worker_arg *a = p;
  unsigned s = (unsigned)a->seed;
  for (int i = 0; i < 3000; i++) {
    s = s * 1103515245u + 12345u;
    const char *model = (s >> 8) % 2 ? "a" : "b";
    kp_key *k = kp_acquire(a->kp, model, T0 + i, NULL, 0, NULL);
    if (!k) continue;
    volatile size_t len = strlen(kp_key_secret(k));
    (void)len;
    kp_outcome o = (kp_outcome)((s >> 12) % 4 == 0 ? KP_SERVER_ERROR : KP_OK);
    report(a->kp, k, model, T0 + i, o, -1);
  }
  return NULL;
}

static void test_threads_with_reload(void **st) {
  kp_config c = base_cfg(KP_LEAST_USED);
  c.max_failures = 1000000;
  keypool *kp = pool_with(&c, 4);
  pthread_t th[4];
  worker_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (worker_arg){kp, i + 1};
    assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
  }
  for (int i = 0; i < 200; i++) {
    size_t first = (size_t)(i % 3);
    kp_set_keys(kp, KEYS + first, 4 - first);
    json_decref(kp_status_keys(kp, T0));
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  kp_set_keys(kp, KEYS, 4);
  json_t *ks = kp_key_stats(kp);
  assert_true(jint(ks, "total_requests") > 0);
  json_decref(ks);
  kp_free(kp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mask),
    cmocka_unit_test(test_429_retry_delay_cools_that_model_only),
    cmocka_unit_test(test_429_other_key_serves),
    cmocka_unit_test(test_429_exponential_backoff_and_cap),
    cmocka_unit_test(test_all_cooling_retry_after_is_soonest),
    cmocka_unit_test(test_invalid_skipped_for_all_models_and_recheck),
    cmocka_unit_test(test_all_invalid_or_empty_gives_minus_one),
    cmocka_unit_test(test_failure_run_disables_at_max_failures),
    cmocka_unit_test(test_aborted_changes_no_counters),
    cmocka_unit_test(test_round_robin_order),
    cmocka_unit_test(test_least_used),
    cmocka_unit_test(test_health_prefers_lower_error_and_usage),
    cmocka_unit_test(test_limits_rpm),
    cmocka_unit_test(test_limits_near_time_zero),
    cmocka_unit_test(test_limits_skip_key_without_headroom),
    cmocka_unit_test(test_limits_tpm_and_rpd),
    cmocka_unit_test(test_exclude_list),
    cmocka_unit_test(test_reload_keeps_state_and_detaches),
    cmocka_unit_test(test_status_keys_shape_and_today),
    cmocka_unit_test(test_last_error_truncated_and_secret_scrubbed),
    cmocka_unit_test(test_pool_stats_shape),
    cmocka_unit_test(test_key_stats_shape),
    cmocka_unit_test(test_rotation_check),
    cmocka_unit_test(test_rotation_single_key_not_share_rule),
    cmocka_unit_test(test_reset_pool_one_model_and_all),
    cmocka_unit_test(test_reset_pool_clears_failure_runs),
    cmocka_unit_test(test_reset_stats),
    cmocka_unit_test(test_threads_with_reload),
    cmocka_unit_test(test_per_day_quota_cools_until_pacific_midnight),
    cmocka_unit_test(test_per_minute_quota_uses_retry_info_or_backoff),
    cmocka_unit_test(test_learned_limits_route_like_configured_ones),
    cmocka_unit_test(test_learned_limits_load_by_hash),
    cmocka_unit_test(test_unmark_makes_suspect_until_recheck),
    cmocka_unit_test(test_model_state_is_bounded),
    cmocka_unit_test(test_few_models_never_ask_for_a_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
