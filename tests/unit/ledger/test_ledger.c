/* ledger: batched writes from many threads, rollups equal to the rows, bills, drain on close,
 * the prompt taken on the writer thread by the row's extractor.  No HTTP here: the ledger gets
 * plain facts (the request side is tests/unit/call/test_record.c). */
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

#include "base/util.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "ledger/prompt.h"
#include "store/store.h"
#include "tempdb.h"

static tempdb tdb;
static store *s;
static prices *pr;

static int setup(void **state)
{
  tempdb_open(&tdb, "ledger", 1);
  s = tdb.s;
  pr = prices_new();
  assert_int_equal(prices_load(pr, tdb.c, now_ms()), 0);
  return 0;
}

static int teardown(void **state)
{
  prices_free(pr);
  return tempdb_close(&tdb);
}

static int64_t q(const char *sql)
{
  char err[256];
  store_conn *c = store_connect(s, err, sizeof err);
  store_stmt *st = store_prepare(c, sql);
  assert_non_null(st);
  assert_int_equal(store_step(st), STORE_ROW);
  int64_t v = store_col_int(st, 0);
  store_reset(st);
  store_disconnect(c);
  return v;
}

static ledger *open_ledger(bool prompts)
{
  char err[256];
  ledger *l = ledger_open(s, NULL, pr, NULL, prompts, err, sizeof err);
  assert_non_null(l);
  return l;
}

static void row(ledger_row *r, int i)
{
  static const char *const models[] = { "gemini-2.5-flash", "gemini-2.5-pro", "no-such-model", "" };
  static const char *const types[] = { "ip_image", "content_image", "generate" };
  memset(r, 0, sizeof *r);
  r->user_id = 1 + i % 5;
  r->access_key_id = i % 5 ? 10 + i % 5 : 0;
  snprintf(r->model, sizeof r->model, "%s", models[i % 4]);
  snprintf(r->gen_type, sizeof r->gen_type, "%s", types[i % 3]);
  snprintf(r->endpoint, sizeof r->endpoint, "generate");
  snprintf(r->upstream_key, sizeof r->upstream_key, "AIza…%04d", i % 7);
  r->success = i % 10 != 0;
  r->http_status = r->success ? 200 : 503;
  if(!r->success) snprintf(r->error, sizeof r->error, "503 upstream error");
  r->in_tokens = 100 + i % 50;
  r->out_tokens = 20 + i % 13;
  r->thinking_tokens = i % 3;
  r->cached_tokens = i % 2;
  r->created_ms = 1700000000000LL + (int64_t)i * 61000;     /* spread over hours and days */
  snprintf(r->prompt, sizeof r->prompt, "prompt %d", i);
}

typedef struct { ledger *l; int from, n; } feeder;

static void *feed(void *arg)
{
  feeder *f = arg;
  ledger_row r;
  for(int i = f->from; i < f->from + f->n; i++) { row(&r, i); ledger_record(f->l, &r); }
  return NULL;
}

static void test_threads_rows_and_rollups_agree(void **state)
{
  ledger *l = open_ledger(true);
  pthread_t t[4];
  feeder f[4];
  for(int i = 0; i < 4; i++) { f[i] = (feeder){ l, i * 2500, 2500 }; pthread_create(&t[i], NULL, feed, &f[i]); }
  for(int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  assert_true(ledger_flush(l, 30000));
  ledger_stats st;
  ledger_get_stats(l, &st);
  assert_int_equal(st.recorded, 10000);
  assert_int_equal(st.written, 10000);
  assert_int_equal(st.dropped, 0);
  ledger_close(l);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger"), 10000);
  assert_int_equal(q("SELECT SUM(calls) FROM usage_hourly"), 10000);
  assert_int_equal(q("SELECT SUM(calls) FROM usage_daily"), 10000);
  static const char *const dims[] = { "all", "model", "user", "key", "type" };
  for(int d = 0; d < 5; d++) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT SUM(calls) FROM usage_dim WHERE dim = '%s' AND day = -1", dims[d]);
    assert_int_equal(q(sql), 10000);
    snprintf(sql, sizeof sql, "SELECT SUM(calls) FROM usage_dim WHERE dim = '%s' AND day >= 0", dims[d]);
    assert_int_equal(q(sql), 10000);
  }
  assert_int_equal(q("SELECT SUM(calls) FROM usage_dim WHERE dim = 'utype' AND day = -1"), 10000);
  assert_int_equal(q("SELECT COUNT(*) FROM usage_dim WHERE dim = 'utype' AND value = '2:content_image' AND status = 'success'"), 1);
  /* Money and tokens in the rollups equal the rows' own. */
  assert_int_equal(q("SELECT SUM(bill_e4) FROM usage_hourly"), q("SELECT SUM(bill_e4) FROM ledger"));
  assert_int_equal(q("SELECT SUM(cost_nanos) FROM usage_daily"), q("SELECT SUM(cost_nanos) FROM ledger"));
  assert_int_equal(q("SELECT SUM(input_tokens) FROM usage_dim WHERE dim = 'user' AND day = -1"), q("SELECT SUM(input_tokens) FROM ledger"));
  assert_int_equal(q("SELECT SUM(calls) FROM usage_hourly WHERE status = 'failed'"), 1000);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE access_key_id IS NULL"), 2000);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE model_id IS NULL"), 5000);   /* unpriced and model-less */
  /* Per hour, per (user, model, type, key, status): compare one bucket with a GROUP BY of rows. */
  assert_int_equal(q("SELECT COUNT(*) FROM usage_hourly"),
                   q("SELECT COUNT(*) FROM (SELECT 1 FROM ledger GROUP BY created_at / 3600000, user_id, model_name,"
                     " generation_type, upstream_key, status) AS g"));
}

static void test_bill_and_fields(void **state)
{
  ledger *l = open_ledger(false);
  ledger_row r;
  memset(&r, 0, sizeof r);
  r.user_id = 3;
  snprintf(r.model, sizeof r.model, "gemini-2.5-flash-preview-05-20");   /* priced as gemini-2.5-flash */
  r.in_tokens = 1000;
  r.out_tokens = 500;
  r.success = true;
  r.http_status = 200;
  snprintf(r.prompt, sizeof r.prompt, "secret prompt");
  snprintf(r.error, sizeof r.error, "bad \xff\xfe bytes");
  ledger_record(l, &r);
  ledger_close(l);                                        /* drains */
  assert_int_equal(q("SELECT bill_e4 FROM ledger"), 16);  /* 1000×0.30 + 500×2.50 per 1M = 0.00155 → 0.0016 */
  assert_int_equal(q("SELECT cost_nanos FROM ledger"), 1550000);
  assert_int_equal(q("SELECT model_id IS NOT NULL FROM ledger"), 1);
  assert_int_equal(q("SELECT LENGTH(prompt) FROM ledger"), 0);       /* GEMGATE_LOG_PROMPTS=0 */
  assert_int_equal(q("SELECT error_message = 'bad ?? bytes' FROM ledger"), 1);
  assert_int_equal(q("SELECT generation_type = 'other' AND endpoint = 'other' FROM ledger"), 1);
  assert_true(q("SELECT created_at FROM ledger") > 1700000000000LL);
}

static void test_close_drains_everything(void **state)
{
  ledger *l = open_ledger(true);
  ledger_row r;
  for(int i = 0; i < 20000; i++) { row(&r, i); ledger_record(l, &r); }
  ledger_close(l);                                        /* no flush first */
  assert_int_equal(q("SELECT COUNT(*) FROM ledger"), 20000);
  assert_int_equal(q("SELECT SUM(calls) FROM usage_dim WHERE dim = 'all' AND day = -1"), 20000);
}

/* ---- the prompt: the row's own, or the body's through the row's extractor on the writer ---- */

static int calls_on_caller;          /* extractor calls made on the recording thread */
static pthread_t recorder;

/* A dialect-free stand-in for the call engine's extractors: the body between '<' and '>'. */
static void angle_prompt(const char *body, size_t len, char *out, size_t cap, size_t max_chars)
{
  if(pthread_equal(pthread_self(), recorder)) calls_on_caller++;
  const char *a = memchr(body, '<', len), *b = a ? memchr(a, '>', len - (size_t)(a - body)) : NULL;
  size_t n = a && b ? (size_t)(b - a - 1) : 0;
  n = prompt_cut(a ? a + 1 : "", n, max_chars, cap - 1);
  memcpy(out, a ? a + 1 : "", n);
  out[n] = '\0';
}

static void prompt_rows(ledger *l, const char *prompt, const char *body, ledger_prompt_fn fn)
{
  ledger_row r;
  memset(&r, 0, sizeof r);
  r.success = true;
  r.http_status = 200;
  if(prompt) ledger_set_prompt(&r, prompt, strlen(prompt));
  r.body = body;
  r.body_len = body ? strlen(body) : 0;
  r.prompt_of = fn;
  recorder = pthread_self();
  ledger_record(l, &r);
}

static void test_prompt_from_the_writer(void **state)
{
  calls_on_caller = 0;
  ledger *l = open_ledger(true);
  char body[64];
  snprintf(body, sizeof body, "{\"x\":\"<a \xe6\x98\xa5 \xff>\"}");        /* invalid UTF-8 is sanitized */
  prompt_rows(l, NULL, body, angle_prompt);
  prompt_rows(l, "given", "{<not this>}", angle_prompt);              /* a set prompt wins */
  prompt_rows(l, NULL, "{<no extractor>}", NULL);                     /* no dialect: no prompt */
  ledger_close(l);
  assert_int_equal(calls_on_caller, 0);                               /* never on the request path */
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE prompt = 'a \xe6\x98\xa5 ?'"), 1);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE prompt = 'given'"), 1);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE prompt = ''"), 1);
  /* GEMGATE_LOG_PROMPTS=0: neither the row's prompt nor the body's is stored */
  l = open_ledger(false);
  prompt_rows(l, NULL, "{<secret>}", angle_prompt);
  prompt_rows(l, "secret too", NULL, angle_prompt);
  ledger_close(l);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE prompt = ''"), 3);
  /* 500 characters at most, whatever their width */
  l = open_ledger(true);
  char big[2000] = "<";
  for(int i = 0; i < 600; i++) strcat(big, "\xc3\xa9");
  strcat(big, ">");
  prompt_rows(l, NULL, big, angle_prompt);
  ledger_close(l);
  assert_int_equal(q("SELECT MAX(LENGTH(prompt)) FROM ledger"), 500);
}

/* Absurd counts from any caller are clamped to [0, 2^40]; sums of rows that big saturate
 * instead of overflowing (SQLite would turn an overflowing sum into a REAL). */
static void test_counts_clamped_and_sums_saturate(void **state)
{
  ledger *l = open_ledger(false);
  for(int i = 0; i < 3; i++) {
    ledger_row r;
    row(&r, 1);
    r.user_id = 77;
    r.in_tokens = INT64_MAX;
    r.out_tokens = i == 0 ? -5 : INT64_MAX;
    r.thinking_tokens = INT64_MIN;
    r.cached_tokens = INT64_MAX;
    r.images = -3;
    ledger_record(l, &r);
  }
  assert_true(ledger_flush(l, 5000));
  ledger_close(l);
  assert_int_equal(q("SELECT MAX(input_tokens) FROM ledger WHERE user_id = 77"), LEDGER_MAX_TOKENS);
  assert_int_equal(q("SELECT MIN(output_tokens) FROM ledger WHERE user_id = 77"), 0);
  assert_int_equal(q("SELECT MAX(thinking_tokens) FROM ledger WHERE user_id = 77"), 0);
  assert_int_equal(q("SELECT MAX(cached_tokens) FROM ledger WHERE user_id = 77"), LEDGER_MAX_TOKENS);
  assert_int_equal(q("SELECT MIN(images) FROM ledger WHERE user_id = 77"), 0);
  if(!getenv("GEMGATE_TEST_PG"))            /* SQLite's own worry: a sum turned REAL (PostgreSQL: bigint) */
    assert_int_equal(q("SELECT typeof(input_tokens) = 'integer' FROM usage_dim WHERE dim = 'user' AND value = '77'"
                       " AND day = -1"), 1);
  assert_int_equal(q("SELECT input_tokens FROM usage_dim WHERE dim = 'user' AND value = '77' AND day = -1"),
                   3 * LEDGER_MAX_TOKENS);
  /* A rollup already near the top saturates instead of wrapping or turning REAL. */
  char err[256];
  store_conn *c = store_connect(s, err, sizeof err);
  assert_true(store_do(c, "UPDATE usage_dim SET cost_nanos = 9223372036854775000 WHERE dim = 'all' AND day = -1", NULL) >= 0);
  store_disconnect(c);
  l = open_ledger(false);
  ledger_row r;
  row(&r, 1);
  r.in_tokens = LEDGER_MAX_TOKENS;
  snprintf(r.model, sizeof r.model, "gemini-2.5-pro");
  ledger_record(l, &r);
  assert_true(ledger_flush(l, 5000));
  ledger_close(l);
  assert_int_equal(q("SELECT MAX(cost_nanos) FROM usage_dim WHERE dim = 'all' AND day = -1"), INT64_MAX);
  if(!getenv("GEMGATE_TEST_PG"))
    assert_int_equal(q("SELECT COUNT(*) FROM usage_dim WHERE typeof(cost_nanos) <> 'integer'"), 0);
}

/* A row the database refuses (a trigger installed here, as a CHECK or a bad value would) is
 * quarantined in ledger_rejects with its fields and the error, while every other row of its
 * batch — and every later batch — commits, and the rollups hold exactly the committed rows. */
static void test_poisoned_row_quarantined(void **state)
{
  bool pg = getenv("GEMGATE_TEST_PG") != NULL;
  assert_int_equal(store_exec(tdb.c, pg
    ? "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.request_id LIKE 'poison%' THEN"
      " RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$;"
      "CREATE TRIGGER poison BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION poison();"
    : "CREATE TRIGGER poison BEFORE INSERT ON ledger WHEN NEW.request_id LIKE 'poison%'"
      " BEGIN SELECT RAISE(ABORT, 'poisoned row'); END;"), 0);
  ledger *l = open_ledger(true);
  ledger_row r;
  for(int i = 0; i < 300; i++) {             /* one batch (they arrive within its linger) */
    row(&r, i);
    snprintf(r.request_id, sizeof r.request_id, "%s-%d", i == 17 || i == 250 ? "poison" : "req", i);
    ledger_record(l, &r);
  }
  assert_true(ledger_flush(l, 20000));
  for(int i = 300; i < 400; i++) {           /* a later batch flows */
    row(&r, i);
    snprintf(r.request_id, sizeof r.request_id, "req-%d", i);
    ledger_record(l, &r);
  }
  assert_true(ledger_flush(l, 20000));
  ledger_stats st;
  ledger_get_stats(l, &st);
  ledger_close(l);
  assert_int_equal(st.written, 398);
  assert_int_equal(st.rejected, 2);
  assert_int_equal(st.dropped, 0);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger"), 398);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger WHERE request_id LIKE 'poison%'"), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger_rejects"), 2);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger_rejects WHERE request_id = 'poison-17' AND user_id = 3"
                     " AND error LIKE '%poisoned row%' AND rejected_at > 0 AND created_at = 1700000000000 + 17 * 61000"
                     " AND fields LIKE '%\"request_id\":\"poison-17\"%' AND fields LIKE '%\"model_name\":\"gemini-2.5-pro\"%'"
                     " AND fields LIKE '%\"prompt\":\"prompt 17\"%'"), 1);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger_rejects WHERE request_id = 'poison-250'"), 1);
  /* The rollups are the committed rows' (a quarantined row is in none). */
  assert_int_equal(q("SELECT SUM(calls) FROM usage_dim WHERE dim = 'all' AND day = -1"), 398);
  assert_int_equal(q("SELECT SUM(calls) FROM usage_hourly"), 398);
  assert_int_equal(q("SELECT SUM(input_tokens) FROM usage_daily"), q("SELECT SUM(input_tokens) FROM ledger"));
}

/* A failure of the moment is not poison: the batch waits and is retried whole, and nothing is
 * quarantined.  SQLite: another connection holds the write lock longer than the writer waits for
 * it; PostgreSQL: a trigger answers serialization_failure while a flag is set. */
static void test_transient_failure_retried(void **state)
{
  bool pg = getenv("GEMGATE_TEST_PG") != NULL;
  if(pg)
    assert_int_equal(store_exec(tdb.c,
      "CREATE TABLE flaky (x BIGINT); INSERT INTO flaky VALUES (1);"
      "CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM flaky) THEN"
      " RAISE EXCEPTION 'try again' USING ERRCODE = 'serialization_failure'; END IF; RETURN NEW; END $$;"
      "CREATE TRIGGER flaky BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION flaky();"), 0);
  else
    assert_int_equal(store_begin(tdb.c), 0);   /* BEGIN IMMEDIATE: the write lock */
  ledger *l = open_ledger(true);
  ledger_row r;
  for(int i = 0; i < 50; i++) { row(&r, i); ledger_record(l, &r); }
  usleep((LEDGER_LOCK_WAIT_MS + 800) * 1000);
  ledger_stats st;
  ledger_get_stats(l, &st);
  assert_true(st.failed_batches >= 1);
  assert_int_equal(st.written, 0);
  assert_int_equal(st.rejected, 0);
  assert_int_equal(st.queued, 50);
  if(pg) assert_int_equal(store_exec(tdb.c, "DELETE FROM flaky"), 0);
  else store_rollback(tdb.c);
  assert_true(ledger_flush(l, 20000));
  ledger_get_stats(l, &st);
  ledger_close(l);
  assert_int_equal(st.written, 50);
  assert_int_equal(st.rejected, 0);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger"), 50);
  assert_int_equal(q("SELECT COUNT(*) FROM ledger_rejects"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_threads_rows_and_rollups_agree, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bill_and_fields, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_drains_everything, setup, teardown),
    cmocka_unit_test_setup_teardown(test_prompt_from_the_writer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_counts_clamped_and_sums_saturate, setup, teardown),
    cmocka_unit_test_setup_teardown(test_poisoned_row_quarantined, setup, teardown),
    cmocka_unit_test_setup_teardown(test_transient_failure_retried, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
