/* users: keys shown once and stored hashed, authentication from memory, every limit, revoke and
 * disable (the ledger's accounting and the restart: ledger/test_accounting). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "tempdb.h"
#include "base/util.h"
#include "users/users.h"
#include "base/utc.h"

static tempdb tdb;
static store *s;
static store_conn *c;

static int setup(void **state)
{
  tempdb_open(&tdb, "users", 1);
  s = tdb.s;
  c = tdb.c;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

/* Creates a user; returns its key (static buffer) and id. */
static const char *create(users *u, const char *name, const user_limits *l, int64_t *id)
{
  static char key[128];
  json_t *out = NULL;
  assert_int_equal(users_create(u, c, name, l, NULL, &out, NULL), GG_OK);
  snprintf(key, sizeof key, "%s", json_string_value(json_object_get(out, "key")));
  *id = json_integer_value(json_object_get(out, "user_id"));
  json_decref(out);
  return key;
}

static principal auth(users *u, const char *key, bool ok)
{
  principal p = { 0 };
  assert_int_equal(users_auth(u, key, strlen(key), &p), ok);
  return p;
}

static void test_keys_hashed_and_shown_once(void **state)
{
  users *u = users_new();
  user_limits l = { 0 };
  int64_t id;
  const char *key = create(u, "alice", &l, &id);
  assert_int_equal(strncmp(key, "gg-", 3), 0);
  assert_int_equal(strlen(key), 46);
  principal p = auth(u, key, true);
  assert_int_equal(p.user_id, id);
  assert_true(p.access_key_id > 0);
  assert_string_equal(p.name, "alice");
  auth(u, "gg-nope", false);
  /* The database holds only the hash and the prefix. */
  store_stmt *st = store_prepare(c, "SELECT hash, prefix FROM access_keys");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_int_equal(strlen(store_col_text(st, 0)), 64);
  assert_null(strstr(store_col_text(st, 0), key + 3));
  assert_int_equal(strncmp(store_col_text(st, 1), key, 11), 0);
  store_reset(st);
  json_t *list = users_list_json(u, now_ms());
  char *dump = json_dumps(list, 0);
  assert_null(strstr(dump, key));                         /* listed by prefix only */
  free(dump);
  json_decref(list);
  users_free(u);
}

static void test_rpm_rpd_and_models(void **state)
{
  users *u = users_new();
  user_limits l = { .rpm = 2, .rpd = 3 };
  snprintf(l.models, sizeof l.models, "gemini-2.5-*,gemini-2.0-flash");
  int64_t id;
  principal p = auth(u, create(u, "bob", &l, &id), true);
  quota_verdict v;
  int64_t t = 1700000000000LL;                            /* 22:13:20 UTC */
  assert_int_equal(users_check(u, &p, "gemini-2.5-flash", t, &v), 0);
  assert_int_equal(users_check(u, &p, "models/gemini-2.5-pro", t + 1000, &v), 0);
  assert_int_equal(users_check(u, &p, "gemini-2.5-flash", t + 2000, &v), 429);
  assert_non_null(strstr(v.message, "2 requests per minute"));
  assert_int_equal(v.retry_after_s, 58);
  assert_int_equal(users_check(u, &p, "gemini-2.0-flash-lite", t + 2000, &v), 403);
  assert_non_null(strstr(v.message, "not allowed"));
  assert_int_equal(users_check(u, &p, "gemini-2.0-flash", t + 61000, &v), 0);   /* minute over: third of the day */
  assert_int_equal(users_check(u, &p, "gemini-2.5-flash", t + 200000, &v), 429); /* fourth: daily limit */
  assert_non_null(strstr(v.message, "daily request limit"));
  assert_int_equal(v.retry_after_s, (utc_day(t) + 1) * 86400 - (t + 200000) / 1000);
  assert_int_equal(users_check(u, &p, "gemini-2.5-flash", (utc_day(t) + 1) * UTC_DAY_MS, &v), 0);  /* a new day */
  assert_int_equal(users_check(u, &p, "", (utc_day(t) + 1) * UTC_DAY_MS + 1000, &v), 0);   /* no model: no model rule */
  principal st = { .static_key = 1 };
  for(int i = 0; i < 10; i++) assert_int_equal(users_check(u, &st, "anything", t, &v), 0);
  users_free(u);
}

static void test_tokens_and_budgets(void **state)
{
  users *u = users_new();
  user_limits l = { .tpm = 500, .daily_budget_e4 = 100, .monthly_budget_e4 = 150 };   /* $0.01 a day, $0.015 a month */
  int64_t id;
  principal p = auth(u, create(u, "carol", &l, &id), true);
  quota_verdict v;
  int64_t t = 1700000000000LL;
  assert_int_equal(users_check(u, &p, "m", t, &v), 0);
  users_account(u, id, 600, 0, t);
  assert_int_equal(users_check(u, &p, "m", t + 10000, &v), 429);
  assert_non_null(strstr(v.message, "tokens per minute"));
  assert_int_equal(users_check(u, &p, "m", t + 61000, &v), 0);
  users_account(u, id, 0, 10000000, t + 61000);                    /* $0.01: the daily budget */
  assert_int_equal(users_check(u, &p, "m", t + 62000, &v), 429);
  assert_non_null(strstr(v.message, "daily cost budget"));
  int64_t tomorrow = (utc_day(t) + 1) * UTC_DAY_MS;
  assert_int_equal(users_check(u, &p, "m", tomorrow, &v), 0);
  users_account(u, id, 0, 6000000, tomorrow);                      /* month total $0.016 */
  assert_int_equal(users_check(u, &p, "m", tomorrow + 1000, &v), 429);
  assert_non_null(strstr(v.message, "monthly cost budget"));
  assert_int_equal(v.retry_after_s, (utc_next_month(tomorrow) - tomorrow - 1000) / 1000);
  users_free(u);
}

/* Budgets hold in flight: a call is checked against spent + the estimates of the calls in flight,
 * its own estimate is held until it settles, and settling releases it and adds the real cost in
 * one step. */
static void test_reservations(void **state)
{
  users *u = users_new();
  user_limits l = { .daily_budget_e4 = 100 };                        /* $0.01 a day */
  int64_t id;
  principal p = auth(u, create(u, "dora", &l, &id), true);
  quota_verdict v;
  int64_t t = now_ms();
  for(int i = 0; i < 3; i++) {                                      /* 0, 0.004, 0.008 in flight: allowed */
    assert_int_equal(users_check_call(u, &p, "m", t, 4000000, &v), 0);
    assert_int_equal(v.reserved_nanos, 4000000);
  }
  assert_int_equal(users_check_call(u, &p, "m", t, 4000000, &v), 429);   /* 0.012 in flight */
  assert_int_equal(v.retry_after_s, 1);
  assert_non_null(strstr(v.message, "3 calls in flight"));
  users_counters k;
  assert_true(users_counters_of(u, id, t, &k));
  assert_int_equal(k.reserved, 12000000);
  assert_int_equal(k.in_flight, 3);
  users_settle(u, id, 4000000, 0, 10, 2000000, t);                  /* spent 0.002 + 0.008 in flight */
  assert_int_equal(users_check_call(u, &p, "m", t, 4000000, &v), 429);
  users_settle(u, id, 4000000, 0, 10, 2000000, t);                  /* spent 0.004 + 0.004 */
  assert_int_equal(users_check_call(u, &p, "m", t, 4000000, &v), 0);
  users_settle(u, id, 4000000, 0, 10, 7000000, t);                  /* this one cost more: 0.011 spent */
  users_settle(u, id, 4000000, 1, 10, 0, t);                        /* + a request never checked */
  assert_true(users_counters_of(u, id, t, &k));
  assert_int_equal(k.reserved, 0);
  assert_int_equal(k.in_flight, 0);
  assert_int_equal(k.day_cost, 11000000);
  assert_int_equal(k.day_tokens, 40);
  assert_int_equal(k.day_requests, 4 + 1);
  assert_int_equal(users_check_call(u, &p, "m", t, 0, &v), 429);    /* spent: until midnight */
  assert_non_null(strstr(v.message, "daily cost budget reached"));
  assert_true(v.retry_after_s > 1 || (utc_day(t) + 1) * UTC_DAY_MS - t <= 1000);
  /* A call made yesterday and settled today counts for yesterday, not today. */
  user_limits none = { 0 };
  int64_t id2;
  principal q = auth(u, create(u, "eve", &none, &id2), true);
  assert_int_equal(users_check_call(u, &q, "m", t, 999, &v), 0);
  assert_int_equal(v.reserved_nanos, 0);                            /* no budget: nothing held */
  users_settle(u, id2, 0, 1, 5, 1000, t - UTC_DAY_MS);
  assert_true(users_counters_of(u, id2, t, &k));
  assert_int_equal(k.day_cost, 0);
  users_settle(u, id2, 0, 0, 5, 1000, t);
  assert_true(users_counters_of(u, id2, t, &k));
  assert_int_equal(k.day_cost, 1000);
  assert_int_equal(k.day_requests, 1);                              /* yesterday's request not today's */
  users_free(u);
}

typedef struct racer { users *u; principal p; int64_t id, cost; int64_t *spent_ok; } racer;

static void *race(void *arg)
{
  racer *r = arg;
  quota_verdict v;
  if(!users_check_call(r->u, &r->p, "m", now_ms(), r->cost * 2, &v)) {
    usleep(2000);
    users_settle(r->u, r->id, v.reserved_nanos, 0, 1, r->cost, now_ms());
    __atomic_add_fetch(r->spent_ok, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

/* 64 threads at once, $0.01 left, each call costing $0.003 (estimated at twice that): the money
 * spent never passes the budget by more than one call. */
static void test_reservations_under_concurrency(void **state)
{
  users *u = users_new();
  user_limits l = { .daily_budget_e4 = 100 };
  int64_t id, admitted = 0;
  principal p = auth(u, create(u, "racers", &l, &id), true);
  pthread_t th[64];
  racer r[64];
  for(int i = 0; i < 64; i++) {
    r[i] = (racer){ u, p, id, 3000000, &admitted };
    assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
  }
  for(int i = 0; i < 64; i++) pthread_join(th[i], NULL);
  users_counters k;
  assert_true(users_counters_of(u, id, now_ms(), &k));
  assert_true(admitted >= 1);
  assert_true(k.day_cost <= 10000000 + 3000000);
  assert_int_equal(k.day_cost, admitted * 3000000);
  assert_int_equal(k.reserved, 0);
  users_free(u);
}

static void test_update_disable_revoke(void **state)
{
  users *u = users_new();
  user_limits l = { 0 };
  int64_t id;
  char key1[128];
  snprintf(key1, sizeof key1, "%s", create(u, "dave", &l, &id));
  json_t *out = NULL;
  assert_int_equal(users_add_key(u, c, id, "second", &out, NULL), GG_OK);
  char key2[128];
  snprintf(key2, sizeof key2, "%s", json_string_value(json_object_get(out, "key")));
  int64_t kid2 = json_integer_value(json_object_get(out, "key_id"));
  json_decref(out);
  principal p = auth(u, key2, true);
  user_limits nl = { .rpm = 1 };
  assert_int_equal(users_update(u, c, id, "david", &nl, USERS_F_RPM, &out, NULL), GG_OK);
  json_decref(out);
  gg_err e = { "" };
  assert_int_equal(users_update(u, c, 999, NULL, &nl, USERS_F_RPM, &out, &e), GG_NOT_FOUND);
  assert_string_equal(e.msg, "no such user");
  assert_int_equal(users_add_key(u, c, 999, NULL, &out, &e), GG_NOT_FOUND);
  assert_int_equal(users_set_disabled(u, c, 999, true, &out, &e), GG_NOT_FOUND);
  quota_verdict v;
  assert_int_equal(users_check(u, &p, "m", 1700000000000LL, &v), 0);
  assert_int_equal(users_check(u, &p, "m", 1700000000000LL, &v), 429);
  assert_int_equal(users_set_disabled(u, c, id, true, &out, NULL), GG_OK);
  json_decref(out);
  auth(u, key1, false);
  auth(u, key2, false);
  assert_int_equal(users_check(u, &p, "m", 1700000100000LL, &v), 403);
  assert_int_equal(users_set_disabled(u, c, id, false, &out, NULL), GG_OK);
  json_decref(out);
  assert_int_equal(users_revoke_key(u, c, id, kid2, &out, NULL), GG_OK);
  json_decref(out);
  assert_int_equal(users_revoke_key(u, c, id, 12345, &out, &e), GG_NOT_FOUND);
  assert_string_equal(e.msg, "no such access key for this user");
  auth(u, key2, false);
  auth(u, key1, true);
  /* A new cache from the database sees the same: the change was committed. */
  users *again = users_new();
  assert_int_equal(users_load(again, c, now_ms()), 0);
  auth(again, key2, false);
  principal q = auth(again, key1, true);
  assert_string_equal(q.name, "david");
  users_free(again);
  users_free(u);
}

static void test_model_lists(void **state)
{
  assert_true(users_model_allowed("", "x"));
  assert_true(users_model_allowed("a,b", ""));
  assert_true(users_model_allowed("a,gemini-2.5-*", "gemini-2.5-pro"));
  assert_false(users_model_allowed("a,gemini-2.5-*", "gemini-2.0-flash"));
  assert_true(users_model_allowed("gemini-2.0-flash", "models/gemini-2.0-flash"));
  assert_false(users_model_allowed("gemini-2.0-flash", "gemini-2.0-flash-lite"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_keys_hashed_and_shown_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rpm_rpd_and_models, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tokens_and_budgets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reservations, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reservations_under_concurrency, setup, teardown),
    cmocka_unit_test_setup_teardown(test_update_disable_revoke, setup, teardown),
    cmocka_unit_test(test_model_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
