/* accounting: the ledger charges a user's calls to their quotas, and after a restart the
 * counters are seeded again from the rollups it wrote (refused calls count as requests, never
 * as tokens). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "store/store.h"
#include "tempdb.h"
#include "users/users.h"

static tempdb tdb;
static store *s;
static store_conn *c;

static int setup(void **state)
{
  tempdb_open(&tdb, "accounting", 1);
  s = tdb.s;
  c = tdb.c;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

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

static void test_counters_survive_a_restart(void **state)
{
  users *u = users_new();
  user_limits l = { .rpd = 5 };
  int64_t id;
  char key[128];
  snprintf(key, sizeof key, "%s", create(u, "erin", &l, &id));
  char err[256];
  prices *pr = prices_new();
  prices_load(pr, c, now_ms());
  ledger *lg = ledger_open(s, u, pr, NULL, true, err, sizeof err);
  int64_t now = now_ms();
  for(int i = 0; i < 4; i++) {                            /* 4 calls today, 1 refused */
    ledger_row r = { .user_id = id, .success = i < 3, .http_status = i < 3 ? 200 : 429, .created_ms = now - 1000 };
    snprintf(r.model, sizeof r.model, "gemini-2.5-flash");
    r.refused = i == 3;                                   /* a refused call never reaches the upstream */
    r.in_tokens = r.refused ? 0 : 10;
    ledger_record(lg, &r);
  }
  ledger_close(lg);
  users_free(u);
  u = users_new();                                        /* "restart" */
  assert_int_equal(users_load(u, c, now), 0);
  principal p = auth(u, key, true);
  quota_verdict v;
  assert_int_equal(users_check(u, &p, "m", now, &v), 0);          /* 3 + 1 = 4 */
  assert_int_equal(users_check(u, &p, "m", now, &v), 0);          /* 5 */
  assert_int_equal(users_check(u, &p, "m", now, &v), 429);
  json_t *j = users_json(u, id, now);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "today_tokens")), 30);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "minute_requests")), 5);
  json_decref(j);
  users_free(u);
  prices_free(pr);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_counters_survive_a_restart, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
