/* reconcile: the rows' sums beside every rollup's, over whole UTC days, per user and in total;
 * a rollup changed behind the writer's back shows, to the nano-dollar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/utc.h"
#include "base/util.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "ledger/reconcile.h"
#include "store/store.h"
#include "tempdb.h"

static bool same(const recon_sum *a, const recon_sum *b) { return !memcmp(a, b, sizeof *a); }

static void test_rows_against_rollups(void **state)
{
  tempdb t;
  tempdb_open(&t, "recon", 1);
  prices *p = prices_new();
  int64_t now = now_ms();
  assert_int_equal(prices_load(p, t.c, now), 0);
  char err[256];
  ledger *l = ledger_open(t.s, NULL, p, NULL, false, err, sizeof err);
  assert_non_null(l);
  for(int i = 0; i < 300; i++) {
    ledger_row r = { .user_id = 1 + i % 4, .success = i % 7 != 0, .refused = i % 11 == 0, .http_status = 200,
                     .in_tokens = 100 + i, .out_tokens = i, .thinking_tokens = i % 5, .cached_tokens = i % 3,
                     .created_ms = i < 30 ? now - UTC_DAY_MS : now };      /* some yesterday */
    snprintf(r.model, sizeof r.model, "%s", i % 2 ? "gemini-2.5-flash" : "gemini-2.5-pro");
    snprintf(r.endpoint, sizeof r.endpoint, "generate");
    ledger_record(l, &r);
  }
  assert_true(ledger_flush(l, 5000));
  recon r;
  gg_err e;
  assert_int_equal(ledger_reconcile(t.c, now, now + 1, now, &r, &e), GG_OK);
  assert_int_equal(r.from, utc_day(now) * UTC_DAY_MS);                /* whole days */
  assert_int_equal(r.to, r.from + UTC_DAY_MS);
  assert_int_equal(r.rows_seen, 270);
  assert_int_equal(r.total[RECON_ROWS].calls, 270);
  assert_true(r.total[RECON_ROWS].cost_nanos > 0);
  for(int s = 1; s <= RECON_NSRC; s++) assert_true(same(&r.total[RECON_ROWS], &r.total[s]));
  assert_int_equal(r.nusers, 4);
  for(size_t i = 0; i < r.nusers; i++) {
    for(int s = 1; s < RECON_NSRC; s++) assert_true(same(&r.users[i].s[RECON_ROWS], &r.users[i].s[s]));
    assert_true(same(&r.users[i].s[RECON_ROWS], &r.users[i].today));
  }
  const recon_user *u2 = recon_find(&r, 2);
  assert_non_null(u2);
  assert_int_equal(u2->user_id, 2);
  assert_null(recon_find(&r, 99));
  recon_free(&r);
  /* Two days: yesterday's rows too, in the window but not today's. */
  assert_int_equal(ledger_reconcile(t.c, now - UTC_DAY_MS, now + 1, now, &r, &e), GG_OK);
  assert_int_equal(r.rows_seen, 300);
  for(int s = 1; s <= RECON_NSRC; s++) assert_true(same(&r.total[RECON_ROWS], &r.total[s]));
  recon_free(&r);
  /* One nano-dollar more in one hourly bucket: it shows, for that user only. */
  assert_int_equal(store_do(t.c, "UPDATE usage_hourly SET cost_nanos = cost_nanos + 1 WHERE (hour, user_id, model_name,"
                                 " generation_type, upstream_key, status) = (SELECT hour, user_id, model_name, generation_type,"
                                 " upstream_key, status FROM usage_hourly WHERE user_id = 3 ORDER BY hour DESC LIMIT 1)", NULL), 1);
  assert_int_equal(ledger_reconcile(t.c, now, now + 1, now, &r, &e), GG_OK);
  assert_int_equal(r.total[RECON_HOURLY].cost_nanos, r.total[RECON_ROWS].cost_nanos + 1);
  assert_true(same(&r.total[RECON_ROWS], &r.total[RECON_DAILY]));
  for(size_t i = 0; i < r.nusers; i++)
    assert_int_equal(same(&r.users[i].s[RECON_ROWS], &r.users[i].s[RECON_HOURLY]), r.users[i].user_id != 3);
  recon_free(&r);
  ledger_close(l);
  prices_free(p);
  assert_int_equal(tempdb_close(&t), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rows_against_rollups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
