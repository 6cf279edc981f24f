/* query: query-string values are decoded and checked (GG_BAD_INPUT with a message otherwise),
 * and WHERE clauses carry every value as a bound parameter, never as SQL text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/utc.h"
#include "store/query.h"
#include "store/store.h"

static void test_str_decodes_and_refuses(void **state)
{
  char out[16];
  bool present;
  gg_err e = { "" };
  assert_int_equal(query_str(STR("a=1&model=gemini%2D2.5+x&b"), "model", out, sizeof out, &present, &e), GG_OK);
  assert_true(present);
  assert_string_equal(out, "gemini-2.5 x");
  assert_int_equal(query_str(STR("a=1&b"), "b", out, sizeof out, &present, &e), GG_OK);   /* bare name: present, empty */
  assert_true(present);
  assert_string_equal(out, "");
  assert_int_equal(query_str(STR("models=x"), "model", out, sizeof out, &present, &e), GG_OK);
  assert_false(present);
  assert_int_equal(query_str((str){ NULL, 0 }, "model", out, sizeof out, &present, &e), GG_OK);
  assert_false(present);

  assert_int_equal(query_str(STR("model=%zz"), "model", out, sizeof out, &present, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "parameter model is badly encoded");
  assert_int_equal(query_str(STR("model=%4"), "model", out, sizeof out, &present, &e), GG_BAD_INPUT);
  assert_int_equal(query_str(STR("model=a%00b"), "model", out, sizeof out, &present, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "parameter model is too long");
  assert_int_equal(query_str(STR("model=0123456789abcdef"), "model", out, sizeof out, &present, &e), GG_BAD_INPUT);
  assert_int_equal(query_str(STR("model=0123456789abcde"), "model", out, sizeof out, &present, &e), GG_OK);   /* cap - 1 fits */
}

static void test_period(void **state)
{
  static const struct { const char *qs; gg_rc rc; period want; } cases[] = {
    { "", GG_OK, PERIOD_MONTH },              /* absent: the default */
    { "period=today", GG_OK, PERIOD_TODAY },
    { "period=week", GG_OK, PERIOD_WEEK },
    { "period=month", GG_OK, PERIOD_MONTH },
    { "period=all", GG_OK, PERIOD_ALL },
    { "period=year", GG_BAD_INPUT, 0 },
    { "period=Week", GG_BAD_INPUT, 0 },
    { "period=", GG_BAD_INPUT, 0 },
    { "period=%zz", GG_BAD_INPUT, 0 },
    { "period=todayxxxxxxxxxxxxxxxxxx", GG_BAD_INPUT, 0 },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    period p;
    gg_err e = { "" };
    gg_rc rc = query_period(str_c(cases[i].qs), PERIOD_MONTH, &p, &e);
    if(rc != cases[i].rc) fail_msg("%s: rc %d", cases[i].qs, rc);
    if(rc == GG_OK) assert_int_equal(p, cases[i].want);
    else assert_string_equal(e.msg, "period must be today, week, month or all");
  }
  int64_t now = 1737628200000;      /* 2025-01-23T10:30:00Z */
  assert_int_equal(period_first_day(PERIOD_TODAY, now), utc_day(now));
  assert_int_equal(period_first_day(PERIOD_WEEK, now), utc_day(now) - 6);
  assert_int_equal(period_first_day(PERIOD_MONTH, now), utc_day(now) - 29);
  assert_true(period_first_day(PERIOD_ALL, now) == INT64_MIN);
  assert_string_equal(period_name(PERIOD_WEEK), "week");
}

/* The paging bounds of GET /admin/usage: limit 1..1000 (50), offset 0..100000 (0). */
static void test_int_bounds(void **state)
{
  static const struct { const char *qs; gg_rc rc; int64_t want; } cases[] = {
    { "", GG_OK, 50 },
    { "limit=1", GG_OK, 1 },
    { "limit=1000", GG_OK, 1000 },
    { "limit=0", GG_BAD_INPUT, 0 },
    { "limit=1001", GG_BAD_INPUT, 0 },
    { "limit=-1", GG_BAD_INPUT, 0 },
    { "limit=1e3", GG_BAD_INPUT, 0 },
    { "limit=10x", GG_BAD_INPUT, 0 },
    { "limit=", GG_BAD_INPUT, 0 },
    { "limit=99999999999999999999", GG_BAD_INPUT, 0 },     /* overflows int64 */
    { "limit=%31%30", GG_OK, 10 },                         /* percent-encoded digits */
    { "limit=%", GG_BAD_INPUT, 0 },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    int64_t v = -7;
    gg_err e = { "" };
    gg_rc rc = query_int(str_c(cases[i].qs), "limit", 1, 1000, 50, &v, &e);
    if(rc != cases[i].rc) fail_msg("%s: rc %d", cases[i].qs, rc);
    if(rc == GG_OK) assert_int_equal(v, cases[i].want);
    else assert_string_equal(e.msg, "parameter limit must be a whole number from 1 to 1000");
  }
  int64_t v;
  gg_err e;
  assert_int_equal(query_int(STR("offset=100000"), "offset", 0, 100000, 0, &v, &e), GG_OK);
  assert_int_equal(v, 100000);
  assert_int_equal(query_int(STR("offset=100001"), "offset", 0, 100000, 0, &v, &e), GG_BAD_INPUT);
}

static void test_time(void **state)
{
  int64_t t = 0;
  bool present = true;
  gg_err e = { "" };
  assert_int_equal(query_time(STR("to=1"), "from", &t, &present, &e), GG_OK);
  assert_false(present);
  assert_int_equal(query_time(STR("from=2025-01-23"), "from", &t, &present, &e), GG_OK);
  assert_true(present);
  assert_int_equal(t, 1737590400000);
  assert_int_equal(query_time(STR("from=2025-01-23T10%3A30%3A00Z"), "from", &t, &present, &e), GG_OK);
  assert_int_equal(t, 1737628200000);
  assert_int_equal(query_time(STR("from=1737628200"), "from", &t, &present, &e), GG_OK);
  assert_int_equal(t, 1737628200000);
  static const char *const bad[] = { "from=yesterday", "from=2025-13-01", "from=1999-12-31", "from=", "from=2025-01-23T25:00:00Z" };
  for(size_t i = 0; i < ARRAY_LEN(bad); i++) {
    if(query_time(str_c(bad[i]), "from", &t, &present, &e) != GG_BAD_INPUT) fail_msg("%s accepted", bad[i]);
    assert_non_null(strstr(e.msg, "parameter from must be a date"));
  }
}

static void test_label(void **state)
{
  char out[64];
  gg_err e = { "" };
  assert_int_equal(query_label(STR("model=gemini-2.5-flash"), "model", out, sizeof out, &e), GG_OK);
  assert_string_equal(out, "gemini-2.5-flash");
  assert_int_equal(query_label(STR("model=all"), "model", out, sizeof out, &e), GG_OK);
  assert_string_equal(out, "");
  assert_int_equal(query_label(STR("type=x"), "model", out, sizeof out, &e), GG_OK);
  assert_string_equal(out, "");
  assert_int_equal(query_label(STR("upstream_key=AIza%E2%80%A6wxyz"), "upstream_key", out, sizeof out, &e), GG_OK);
  assert_string_equal(out, "AIza\xe2\x80\xa6wxyz");   /* the masking ellipsis */
  assert_int_equal(query_label(STR("model="), "model", out, sizeof out, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "parameter model is empty");
  /* An injection attempt is not a label: refused before any SQL is built. */
  assert_int_equal(query_label(STR("model=x'%20OR%201=1%20--"), "model", out, sizeof out, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "parameter model has characters no model can have");
  assert_int_equal(query_label(STR("model=a;DROP"), "model", out, sizeof out, &e), GG_BAD_INPUT);
}

/* ---- WHERE clauses, run against a real database ---- */

static char dir[64], path[192];

static int setup(void **state)
{
  snprintf(dir, sizeof dir, "/tmp/gg-query-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  return 0;
}

static int teardown(void **state)
{
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static int64_t count_where(store_conn *c, const query_where *w)
{
  char sql[600];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM t%s", w->sql);
  store_stmt *st = store_prepare(c, sql);
  assert_non_null(st);
  assert_int_equal(query_bind(w, st, 1), w->nargs + 1);
  assert_int_equal(store_step(st), STORE_ROW);
  int64_t n = store_col_int(st, 0);
  store_reset(st);
  return n;
}

static void test_where_binds_values(void **state)
{
  char err[256];
  store *s = store_open(path, 1, err, sizeof err);
  assert_non_null(s);
  store_conn *c = store_connect(s, err, sizeof err);
  assert_non_null(c);
  assert_int_equal(store_exec(c, "CREATE TABLE t (model TEXT, n INTEGER);"
                                 "INSERT INTO t VALUES ('a', 1), ('b', 2), ('x', 3);"), 0);
  query_where w;
  query_where_init(&w);
  assert_int_equal(count_where(c, &w), 3);                 /* no condition: every row */

  static const char *const attacks[] = { "x' OR 1=1 --", "x' OR '1'='1", "x'; DROP TABLE t; --", "\" OR \"\"=\"" };
  for(size_t i = 0; i < ARRAY_LEN(attacks); i++) {
    query_where_init(&w);
    query_and_text(&w, " AND model = ?", attacks[i]);
    assert_false(w.full);
    assert_string_equal(w.sql, " WHERE 1 = 1 AND model = ?");   /* the value is not in the text */
    assert_int_equal(w.nargs, 1);
    assert_string_equal(w.arg[0].text, attacks[i]);
    assert_int_equal(count_where(c, &w), 0);                      /* compared as a value: matches nothing */
  }
  assert_int_equal(store_exec(c, "SELECT 1 FROM t;"), 0);            /* and the table is still there */

  query_where_init(&w);
  query_and_text(&w, " AND model = ?", "x");
  assert_int_equal(count_where(c, &w), 1);
  query_where_init(&w);
  query_and_int(&w, " AND n >= ?", 2);
  query_and(&w, " AND NOT (n = ? AND model = ?)");
  query_arg_int(&w, 3);
  query_arg_text(&w, "x");
  assert_int_equal(w.nargs, 3);
  assert_int_equal(count_where(c, &w), 1);                           /* b only */

  store_disconnect(c);
  store_close(s);
}

static void test_where_overflow_is_flagged(void **state)
{
  query_where w;
  query_where_init(&w);
  for(int i = 0; i < QUERY_MAX_ARGS; i++) query_and_int(&w, " AND n = ?", i);
  assert_false(w.full);
  query_and_int(&w, " AND n = ?", 99);
  assert_true(w.full);
  assert_int_equal(w.nargs, QUERY_MAX_ARGS);
  query_where_init(&w);
  char big[600];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  query_and(&w, big);
  assert_true(w.full);
  assert_string_equal(w.sql, " WHERE 1 = 1");                        /* never a cut clause */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_str_decodes_and_refuses),
    cmocka_unit_test(test_period),
    cmocka_unit_test(test_int_bounds),
    cmocka_unit_test(test_time),
    cmocka_unit_test(test_label),
    cmocka_unit_test_setup_teardown(test_where_binds_values, setup, teardown),
    cmocka_unit_test(test_where_overflow_is_flagged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
