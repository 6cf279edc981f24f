/* meter: the per-model requests and tokens over the last minute, hour and day that the admin
 * statistics show (usage_stats), driven with explicit times; fed by the ledger with the calls
 * that reached the upstream, and rebuilt from the database after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "ledger/ledger.h"
#include "ledger/meter.h"
#include "store/store.h"
#include "tempdb.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
static const int64_t H = 472223 * HOUR;          /* 2023-11-14 23:00:00 UTC, on an hour */

/* One number of meter_json(now): model's window ("minute", "hour", "day") field ("requests",
 * "tokens"); -1 when the model is not listed. */
static int64_t get(meter *m, int64_t now, const char *model, const char *window, const char *field)
{
  json_t *j = meter_json(m, now);
  json_t *w = json_object_get(json_object_get(j, model), window);
  int64_t v = w ? (int64_t)json_integer_value(json_object_get(w, field)) : -1;
  json_decref(j);
  return v;
}

/* requests and tokens of one window, as a pair to compare at once */
#define ASSERT_WIN(m, now, model, window, req, tok) do { \
    assert_int_equal(get(m, now, model, window, "requests"), req); \
    assert_int_equal(get(m, now, model, window, "tokens"), tok); } while(0)

static void test_rolling_windows_per_model(void **state)
{
  meter *m = meter_new();
  meter_add(m, "flash", H + 10 * SEC, 1, 100);
  meter_add(m, "flash", H + 20 * SEC, 1, 50);
  meter_add(m, "pro", H + 30 * SEC, 1, 1000);
  int64_t now = H + 30 * SEC + 500;
  ASSERT_WIN(m, now, "flash", "minute", 2, 150);
  ASSERT_WIN(m, now, "flash", "hour", 2, 150);
  ASSERT_WIN(m, now, "flash", "day", 2, 150);
  ASSERT_WIN(m, now, "pro", "minute", 1, 1000);           /* models are counted apart */
  /* The minute rolls by the second: at 1:10 the call at 0:10 has left it, 0:20's has not. */
  now = H + 70 * SEC + 500;
  ASSERT_WIN(m, now, "flash", "minute", 1, 50);
  ASSERT_WIN(m, now, "flash", "hour", 2, 150);
  now = H + 85 * SEC;
  ASSERT_WIN(m, now, "flash", "minute", 0, 0);
  ASSERT_WIN(m, now, "pro", "minute", 1, 1000);
  /* The hour rolls by the minute, the day by the hour (the current one and 23 before). */
  ASSERT_WIN(m, H + 59 * MIN + 59 * SEC, "flash", "hour", 2, 150);
  ASSERT_WIN(m, H + HOUR + 30 * SEC, "flash", "hour", 0, 0);
  ASSERT_WIN(m, H + HOUR + 30 * SEC, "flash", "day", 2, 150);
  ASSERT_WIN(m, H + 23 * HOUR + 59 * MIN, "pro", "day", 1, 1000);
  ASSERT_WIN(m, H + 24 * HOUR, "pro", "day", 0, 0);
  assert_int_equal(get(m, now, "nobody", "minute", "requests"), -1);   /* only models seen */
  /* A call counted late, with its own earlier time, lands in its own second. */
  meter_add(m, "flash", H + 80 * SEC, 1, 7);
  ASSERT_WIN(m, H + 85 * SEC, "flash", "minute", 1, 7);
  ASSERT_WIN(m, H + 85 * SEC, "flash", "hour", 3, 157);
  meter_free(m);
}

static void test_unnamed_and_too_many_models(void **state)
{
  meter *m = meter_new();
  int64_t now = H + 5 * SEC;
  meter_add(m, "", now, 1, 3);
  meter_add(m, NULL, now, 1, 4);
  ASSERT_WIN(m, now, "(none)", "minute", 2, 7);            /* a call naming no model */
  for(int i = 1; i < METER_MAX_MODELS; i++) {               /* (none) + 255 = the cap */
    char name[16];
    snprintf(name, sizeof name, "m%d", i);
    meter_add(m, name, now, 1, 1);
  }
  meter_add(m, "one-too-many", now, 1, 10);
  meter_add(m, "and-another", now, 2, 20);
  meter_add(m, "m1", now, 1, 1);                            /* known names keep their own row */
  ASSERT_WIN(m, now, "(other)", "minute", 3, 30);
  ASSERT_WIN(m, now, "m1", "minute", 2, 2);
  assert_int_equal(get(m, now, "one-too-many", "minute", "requests"), -1);
  json_t *j = meter_json(m, now);
  assert_int_equal(json_object_size(j), METER_MAX_MODELS + 1);
  json_decref(j);
  meter_free(m);
}

/* ---- with the ledger: what is counted, and what a restart shows ---- */

static tempdb tdb;
static store *s;

static int setup(void **state)
{
  tempdb_open(&tdb, "meter", 1);
  s = tdb.s;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

static void add_row(ledger *l, const char *model, int64_t t, bool refused)
{
  ledger_row r;
  memset(&r, 0, sizeof r);
  snprintf(r.model, sizeof r.model, "%s", model);
  if(!refused) {                       /* a refusal never reached the upstream: no tokens */
    r.in_tokens = 100;
    r.out_tokens = 20;
    r.thinking_tokens = 5;
    r.cached_tokens = 7;               /* part of the input: not counted again */
  }
  r.refused = refused;
  r.success = !refused;
  r.http_status = refused ? 429 : 200;
  r.created_ms = t;
  ledger_record(l, &r);
}

static void test_fed_by_the_ledger_and_reloaded(void **state)
{
  int64_t now = now_ms();
  char err[256];
  meter *live = meter_new();
  ledger *l = ledger_open(s, NULL, NULL, live, false, err, sizeof err);
  assert_non_null(l);
  add_row(l, "flash", now - 5 * SEC, false);
  add_row(l, "flash", now - 30 * MIN, false);
  add_row(l, "flash", now - 2 * SEC, true);        /* a quota refusal: not counted */
  add_row(l, "pro", now - 5 * HOUR, false);
  add_row(l, "pro", now - 48 * HOUR, false);       /* two days ago: outside every window */
  ledger_close(l);
  ASSERT_WIN(live, now, "flash", "minute", 1, 125);
  ASSERT_WIN(live, now, "flash", "hour", 2, 250);
  ASSERT_WIN(live, now, "flash", "day", 2, 250);
  ASSERT_WIN(live, now, "pro", "hour", 0, 0);
  ASSERT_WIN(live, now, "pro", "day", 1, 125);
  /* After a restart the meter is seeded from the rows and the hourly rollups: same numbers. */
  meter *again = meter_new();
  store_conn *c = store_connect(s, err, sizeof err);
  assert_non_null(c);
  assert_int_equal(meter_load(again, c, now), 0);
  store_disconnect(c);
  const char *models[] = { "flash", "pro" }, *wins[] = { "minute", "hour", "day" }, *fields[] = { "requests", "tokens" };
  for(int i = 0; i < 2; i++)
    for(int w = 0; w < 3; w++)
      for(int f = 0; f < 2; f++)
        if(get(again, now, models[i], wins[w], fields[f]) != get(live, now, models[i], wins[w], fields[f]))
          fail_msg("%s %s %s: %lld after the restart, %lld before", models[i], wins[w], fields[f],
                   (long long)get(again, now, models[i], wins[w], fields[f]), (long long)get(live, now, models[i], wins[w], fields[f]));
  meter_free(again);
  meter_free(live);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rolling_windows_per_model),
    cmocka_unit_test(test_unnamed_and_too_many_models),
    cmocka_unit_test_setup_teardown(test_fed_by_the_ledger_and_reloaded, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
