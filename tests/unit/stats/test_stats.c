/* stats without HTTP: one user's usage, the gateway's totals, the ledger-row listing (filters,
 * cursor, paging) and the CSV export's pages, read from rows written by the real ledger writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/utc.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "stats/stats.h"
#include "stats/usagerows.h"
#include "tempdb.h"
#include "store/store.h"
#include "users/users.h"

static tempdb tdb;
static store *s;
static store_conn *c;
static int64_t now;

static void add(ledger *l, int64_t user, const char *model, const char *type, bool ok, int64_t at, const char *prompt)
{
  ledger_row r;
  memset(&r, 0, sizeof r);
  r.user_id = user;
  r.access_key_id = user ? user + 100 : 0;
  snprintf(r.model, sizeof r.model, "%s", model);
  snprintf(r.gen_type, sizeof r.gen_type, "%s", type);
  snprintf(r.endpoint, sizeof r.endpoint, "generate");
  snprintf(r.upstream_key, sizeof r.upstream_key, "AIza\xe2\x80\xa6wxyz");
  snprintf(r.prompt, sizeof r.prompt, "%s", prompt);
  snprintf(r.error, sizeof r.error, "%s", ok ? "" : "upstream said no");
  r.success = ok;
  r.http_status = ok ? 200 : 500;
  r.in_tokens = 10;
  r.out_tokens = 5;
  r.attempts = 1;
  r.created_ms = at;
  ledger_record(l, &r);
}

/* user 5: 3 chat today (one failed), 1 embed today, 2 chat 10 days ago (another model); user 6:
 * 1 chat today; plus 2,100 rows of user 7 a month ago, for paging. */
static int setup(void **state)
{
  tempdb_open(&tdb, "stats", 1);
  s = tdb.s;
  c = tdb.c;
  char err[256];
  prices *pr = prices_new();
  ledger *l = ledger_open(s, NULL, pr, NULL, true, err, sizeof err);
  assert_non_null(l);
  now = now_ms();
  int64_t today = utc_day(now) * UTC_DAY_MS + 1000;
  add(l, 5, "gemini-2.5-flash", "chat", true, today, "=cmd|' /C calc'!A0");
  add(l, 5, "gemini-2.5-flash", "chat", true, today + 1, "hello, \"world\"");
  add(l, 5, "gemini-2.5-flash", "chat", false, today + 2, "third");
  add(l, 5, "gemini-embedding-001", "embed", true, today + 3, "embed me");
  add(l, 5, "gemini-2.5-pro", "chat", true, today - 10 * UTC_DAY_MS, "old one");
  add(l, 5, "gemini-2.5-pro", "chat", true, today - 10 * UTC_DAY_MS + 1, "old two");
  add(l, 6, "gemini-2.5-flash", "chat", true, today + 4, "other user");
  for(int i = 0; i < 2100; i++) add(l, 7, "gemini-2.5-flash", "generate", true, today - 40 * UTC_DAY_MS + i / 3, "bulk");
  assert_true(ledger_flush(l, 30000));
  ledger_close(l);
  prices_free(pr);
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

static json_t *user_stats(int64_t user, period per, const char *type, const char *model)
{
  stats_user_filter f = { .user_id = user, .now = now, .per = per };
  snprintf(f.type, sizeof f.type, "%s", type);
  snprintf(f.model, sizeof f.model, "%s", model);
  json_t *out = NULL;
  gg_err e = { "" };
  assert_int_equal(stats_user(c, &f, &out, &e), GG_OK);
  assert_non_null(out);
  return out;
}

static int64_t num(json_t *o, const char *keys)
{
  char buf[128];
  snprintf(buf, sizeof buf, "%s", keys);
  json_t *cur = o;
  for(char *k = strtok(buf, "."); k; k = strtok(NULL, ".")) cur = json_object_get(cur, k);
  if(!cur) fail_msg("no %s", keys);
  return json_integer_value(cur);
}

static void test_user_stats(void **state)
{
  json_t *o = user_stats(5, PERIOD_ALL, "", "");
  assert_string_equal(json_string_value(json_object_get(o, "status")), "success");
  assert_int_equal(num(o, "data.total_count"), 6);
  assert_int_equal(num(o, "data.success_count"), 5);
  assert_int_equal(num(o, "data.failed_count"), 1);
  assert_int_equal(num(o, "data.by_type.chat_count"), 5);
  assert_int_equal(num(o, "data.by_type.embed_count"), 1);
  json_t *recent = json_object_get(json_object_get(o, "data"), "recent_usage");
  assert_int_equal(json_array_size(recent), 6);
  assert_string_equal(json_string_value(json_object_get(json_array_get(recent, 0), "prompt")), "embed me");   /* newest first */
  json_decref(o);

  o = user_stats(5, PERIOD_WEEK, "", "");                   /* the 10-day-old calls are out */
  assert_int_equal(num(o, "data.total_count"), 4);
  assert_int_equal(num(o, "data.by_type.chat_count"), 3);
  assert_string_equal(json_string_value(json_object_get(json_object_get(o, "data"), "period")), "week");
  json_decref(o);

  o = user_stats(5, PERIOD_ALL, "embed", "");               /* a type filter keeps every type's key */
  assert_int_equal(num(o, "data.total_count"), 1);
  assert_int_equal(num(o, "data.by_type.chat_count"), 0);
  json_decref(o);

  o = user_stats(5, PERIOD_ALL, "", "gemini-2.5-pro");
  assert_int_equal(num(o, "data.total_count"), 2);
  json_decref(o);

  o = user_stats(5, PERIOD_ALL, "", "x' OR 1=1 --");        /* a bound value: matches nothing */
  assert_int_equal(num(o, "data.total_count"), 0);
  assert_int_equal(json_array_size(json_object_get(json_object_get(o, "data"), "recent_usage")), 0);
  json_decref(o);

  o = user_stats(99, PERIOD_ALL, "", "");                   /* nobody: zeros, not an error */
  assert_int_equal(num(o, "data.total_count"), 0);
  json_decref(o);
}

static void test_totals(void **state)
{
  users *u = users_new();
  stats_totals_filter f = { .now = now, .top = 100, .per = PERIOD_TODAY };
  json_t *out = NULL;
  gg_err e;
  assert_int_equal(stats_totals(c, u, &f, &out, &e), GG_OK);
  assert_int_equal(num(out, "totals.requests"), 5);
  assert_int_equal(num(out, "totals.failed"), 1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(out, "by_model"), "gemini-2.5-flash"),
                                                     "requests")), 4);
  assert_int_equal(num(out, "by_user.5.requests"), 4);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(out, "by_user"), "5"), "name")), "(unknown)");
  assert_true(json_is_string(json_object_get(out, "from")));
  assert_string_equal(json_string_value(json_object_get(out, "period")), "today");
  json_decref(out);

  f = (stats_totals_filter){ .now = now, .top = 1, .per = PERIOD_ALL };
  assert_int_equal(stats_totals(c, u, &f, &out, &e), GG_OK);
  assert_int_equal(num(out, "totals.requests"), 2107);
  assert_int_equal(json_object_size(json_object_get(out, "by_model")), 1);              /* top 1 */
  assert_true(json_is_true(json_object_get(json_object_get(out, "truncated"), "by_model")));
  assert_true(json_is_null(json_object_get(out, "from")));
  json_decref(out);
  users_free(u);
}

static json_t *list(const usagerows_filter *f, const usagerows_cursor *cur, int64_t limit, int64_t offset)
{
  json_t *out = NULL;
  gg_err e = { "" };
  assert_int_equal(usagerows_list(c, f, cur, limit, offset, &out, &e), GG_OK);
  return out;
}

static void test_list_filters_and_pages(void **state)
{
  usagerows_filter f = { .has_user = true, .user_id = 5 };
  json_t *o = list(&f, NULL, 50, 0);
  json_t *rows = json_object_get(o, "rows");
  assert_int_equal(json_array_size(rows), 6);
  assert_true(json_is_null(json_object_get(o, "next_cursor")));          /* not a full page */
  assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "prompt")), "embed me");
  json_decref(o);

  snprintf(f.status, sizeof f.status, "failed");
  o = list(&f, NULL, 50, 0);
  assert_int_equal(json_array_size(json_object_get(o, "rows")), 1);
  json_decref(o);

  usagerows_filter bad = { 0 };
  snprintf(bad.model, sizeof bad.model, "x' OR 1=1 --");
  o = list(&bad, NULL, 50, 0);
  assert_int_equal(json_array_size(json_object_get(o, "rows")), 0);     /* bound, not spliced */
  json_decref(o);

  /* Keyset pages of 2 through user 5's rows: no row twice, none lost, newest first. */
  usagerows_filter u5 = { .has_user = true, .user_id = 5 };
  usagerows_cursor cur = { 0 };
  int64_t seen = 0, ids[8];
  char last_at[32] = "9999";
  for(int page = 0; page < 4; page++) {
    o = list(&u5, &cur, 2, 0);
    rows = json_object_get(o, "rows");
    for(size_t i = 0; i < json_array_size(rows); i++) {
      json_t *row = json_array_get(rows, i);
      int64_t id = json_integer_value(json_object_get(row, "id"));
      const char *at = json_string_value(json_object_get(row, "created_at"));
      assert_true(strcmp(at, last_at) <= 0);
      snprintf(last_at, sizeof last_at, "%s", at);
      for(int64_t k = 0; k < seen; k++) assert_true(ids[k] != id);
      assert_true(seen < 8);
      ids[seen++] = id;
    }
    const char *next = json_string_value(json_object_get(o, "next_cursor"));
    if(next) { assert_int_equal(sscanf(next, "%" SCNd64 ".%" SCNd64, &cur.t, &cur.id), 2); cur.set = true; }
    json_decref(o);
    if(!next) break;
  }
  assert_int_equal(seen, 6);

  o = list(&u5, NULL, 2, 5);                                              /* offset */
  assert_int_equal(json_array_size(json_object_get(o, "rows")), 1);
  json_decref(o);

  usagerows_filter window = { .has_from = true, .from = utc_day(now) * UTC_DAY_MS + 1001, .has_to = true,
                              .to = utc_day(now) * UTC_DAY_MS + 1003 };
  o = list(&window, NULL, 50, 0);                                         /* from inclusive, to exclusive */
  assert_int_equal(json_array_size(json_object_get(o, "rows")), 2);
  json_decref(o);
}

static void test_export_pages(void **state)
{
  usagerows_export x = { .f = { .has_user = true, .user_id = 5 } };
  gg_err e;
  assert_int_equal(usagerows_export_page(c, &x, &e), GG_OK);
  assert_true(x.finished);
  assert_int_equal(x.rows, 6);
  char *csv = strndup(x.buf, x.len);
  assert_true(!strncmp(csv, "id,created_at,user_id,access_key_id,upstream_key,", 49));
  assert_non_null(strstr(csv, ",\"'=cmd|' /C calc'!A0\"\r\n"));          /* a formula is defused */
  assert_non_null(strstr(csv, ",\"hello, \"\"world\"\"\"\r\n"));         /* RFC 4180 quoting */
  assert_non_null(strstr(csv, "\r\n"));
  int lines = 0;
  for(char *p = csv; (p = strstr(p, "\r\n")); p += 2) lines++;
  assert_int_equal(lines, 7);                                             /* header + 6 */
  free(csv);
  usagerows_export_free(&x);

  /* 2,100 rows: a full page (USAGEROWS_PAGE), then the rest; the header only once, in order. */
  usagerows_export big = { .f = { .has_user = true, .user_id = 7 } };
  assert_int_equal(usagerows_export_page(c, &big, &e), GG_OK);
  assert_false(big.finished);
  assert_int_equal(big.rows, USAGEROWS_PAGE);
  assert_non_null(memmem(big.buf, big.len, "id,created_at", 13));
  int64_t first_end = big.cur.id;
  assert_int_equal(usagerows_export_page(c, &big, &e), GG_OK);
  assert_true(big.finished);
  assert_int_equal(big.rows, 2100);
  assert_null(memmem(big.buf, big.len, "id,created_at", 13));
  assert_true(big.cur.id > first_end);
  int lines2 = 0;
  for(size_t i = 0; i + 1 < big.len; i++) lines2 += big.buf[i] == '\r' && big.buf[i + 1] == '\n';
  assert_int_equal(lines2, 100);
  usagerows_export_free(&big);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_user_stats),
    cmocka_unit_test(test_totals),
    cmocka_unit_test(test_list_filters_and_pages),
    cmocka_unit_test(test_export_pages),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
