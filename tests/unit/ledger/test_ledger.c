/* ledger: batched writes from many threads, rollups equal to the rows, bills, drain on close,
 * and the row helpers (endpoint kind, generation type, prompt, client address). */
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

#include "http/auth.h"
#include "http/clientip.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "ledger/prompt.h"
#include "http/server.h"
#include "store/store.h"

static char dir[64], path[192];
static store *s;
static prices *pr;

static int setup(void **state)
{
  snprintf(dir, sizeof dir, "/tmp/gg-ledger-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  char err[256];
  s = store_open(path, 1, err, sizeof err);
  assert_non_null(s);
  pr = prices_new();
  store_conn *c = store_connect(s, err, sizeof err);
  assert_int_equal(prices_load(pr, c, now_ms()), 0);
  store_disconnect(c);
  return 0;
}

static int teardown(void **state)
{
  store_close(s);
  prices_free(pr);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
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
                     " generation_type, upstream_key, status)"));
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

/* ---- helpers ---- */

static void test_endpoint_kinds(void **state)
{
  struct { const char *path, *kind; } t[] = {
    { "/v1beta/models/gemini-2.5-flash:generateContent", "generate" },
    { "/v1/models/gemini-2.5-flash:streamGenerateContent", "stream" },
    { "/v1beta/models/m:countTokens", "count_tokens" },
    { "/v1beta/models/m:embedContent", "embed" },
    { "/v1beta/models/m:batchEmbedContents", "embed" },
    { "/v1beta/models/imagen-4.0-generate-001:predict", "image" },
    { "/v1beta/models", "models" },
    { "/v1beta/models/gemini-2.5-flash", "models" },
    { "/v1/chat/completions", "chat" },
    { "/v1/embeddings", "embed" },
    { "/v1/images/generations", "image" },
    { "/v1beta/cachedContents", "other" },
  };
  for(size_t i = 0; i < sizeof t / sizeof *t; i++)
    assert_string_equal(ledger_endpoint_kind(STR("POST"), str_c(t[i].path)), t[i].kind);
}

static void test_prompts(void **state)
{
  char out[1504];
  const char *gem = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"first\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"reply\"}]},"
                    "{\"role\":\"user\",\"parts\":[{\"text\":\"春天的花园\"},{\"inlineData\":{}},{\"text\":\"阳光\"}]}]}";
  prompt_extract(gem, strlen(gem), out, sizeof out, 500);
  assert_string_equal(out, "春天的花园\n阳光");
  /* the tree-less walk: braces and quotes inside strings, nested values, escapes, a role-less
   * last turn after a model turn, keys in any order */
  const char *tricky = "{\"generationConfig\":{\"stop\":[\"}]\"]},\"contents\":[{\"role\":\"model\",\"parts\":[{\"text\":\"no\"}]},"
                       "{\"parts\":[{\"inlineData\":{\"data\":\"x\\\"}]{\"}},{\"text\":\"tab\\there \\u00e9\"}]}],\"x\":[1,2.5e3,true,null]}";
  prompt_extract(tricky, strlen(tricky), out, sizeof out, 500);
  assert_string_equal(out, "tab\there é");
  const char *cut = "{\"contents\":[{\"parts\":[{\"text\":\"fine\"}]}";   /* not closed: jansson refuses, the scan finds it */
  prompt_extract(cut, strlen(cut), out, sizeof out, 500);
  assert_string_equal(out, "fine");
  const char *oai = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}";
  prompt_extract(oai, strlen(oai), out, sizeof out, 500);
  assert_string_equal(out, "hi");
  const char *img = "{\"instances\":[{\"prompt\":\"a cat\"}]}";
  prompt_extract(img, strlen(img), out, sizeof out, 500);
  assert_string_equal(out, "a cat");
  prompt_extract("not json", 8, out, sizeof out, 500);
  assert_string_equal(out, "");
  /* 500 characters, whatever their width */
  char big[4000] = "{\"contents\":[{\"parts\":[{\"text\":\"";
  for(int i = 0; i < 600; i++) strcat(big, "é");
  strcat(big, "\"}]}]}");
  prompt_extract(big, strlen(big), out, sizeof out, 500);
  assert_int_equal(strlen(out), 1000);
  /* bodies too big to parse: the first "text" string, escapes decoded */
  size_t n = PROMPT_PARSE_MAX + 10;
  char *huge = malloc(n + 1);
  memset(huge, ' ', n);
  memcpy(huge, "{\"contents\":[{\"parts\":[{\"text\": \"line\\none \\u00e9\\\"q\\\"\"}", 57);
  huge[n] = '\0';
  prompt_extract(huge, n, out, sizeof out, 500);
  assert_string_equal(out, "line\none é\"q\"");
  free(huge);
  assert_int_equal(prompt_cut("aé日😀", 10, 3, 100), 6);
  assert_int_equal(prompt_cut("aé日😀", 10, 10, 5), 3);
  char bad[] = "ok\xc3\x28\xe2\x82\xac\xf0\x9f\x98";
  prompt_sanitize(bad);
  assert_string_equal(bad, "ok?(€???");
}

static gateway gw;
static worker row_worker = { .gw = &gw, .cfg = &gw.cfg };   /* clientip reads the trusted proxies here */

static http_req *req(const char *ip, const char *xff, const char *gtype)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.w = &row_worker;
  r.method = STR("POST");
  r.path = STR("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
  snprintf(r.ip, sizeof r.ip, "%s", ip);
  if(xff) r.hdr[r.nhdr++] = (http_header){ STR("X-Forwarded-For"), str_c(xff) };
  if(gtype) r.hdr[r.nhdr++] = (http_header){ STR("X-Generation-Type"), str_c(gtype) };
  static char body[] = "{\"contents\":[{\"parts\":[{\"text\":\"hello\"}]}]}";
  r.body = body;
  r.body_len = strlen(body);
  return &r;
}

static void test_row_begin(void **state)
{
  gw.cfg.log_prompts = 1;
  const char *const trusted[] = { "10.0.0.0/8", "::1" };
  char bad[64];
  assert_int_equal(cidr_list_parse(&gw.cfg.trusted_nets, trusted, 2, bad, sizeof bad), 2);
  principal who = { .user_id = 7, .access_key_id = 9 };
  ledger_row r;
  ledger_row_begin(&r, &gw, req("10.1.2.3", "203.0.113.9, 10.9.9.9", "ip_image"), &who, "gemini-2.5-flash");
  assert_string_equal(r.ip, "203.0.113.9");                  /* trusted hops skipped from the right */
  assert_string_equal(r.gen_type, "ip_image");
  assert_string_equal(r.endpoint, "stream");
  assert_true(r.stream);
  assert_string_equal(r.prompt, "");                          /* the writer extracts it ... */
  assert_int_equal(r.body_len, strlen("{\"contents\":[{\"parts\":[{\"text\":\"hello\"}]}]}"));  /* ... from the body */
  assert_int_equal(r.user_id, 7);
  assert_int_equal(r.access_key_id, 9);
  ledger_row_begin(&r, &gw, req("198.51.100.1", "203.0.113.9", "bad label!"), &who, "m");
  assert_string_equal(r.ip, "198.51.100.1");                 /* untrusted peer: header ignored */
  assert_string_equal(r.gen_type, "stream");                 /* invalid label: the endpoint kind */
  ledger_row_begin(&r, &gw, req("::1", "garbage, 10.0.0.7", NULL), &who, "m");
  assert_string_equal(r.ip, "10.0.0.7");                     /* malformed entry stops the walk */
  ledger_row_begin(&r, &gw, req("::ffff:10.0.0.1", "[2001:db8::1]:443", NULL), &who, "m");
  assert_string_equal(r.ip, "2001:db8::1");
  gw.cfg.log_prompts = 0;
  ledger_row_begin(&r, &gw, req("1.2.3.4", NULL, NULL), &who, "m");
  assert_string_equal(r.prompt, "");
  const char *const none[] = { "10.0.0.0/33" };
  assert_int_equal(cidr_list_parse(&gw.cfg.trusted_nets, none, 1, bad, sizeof bad), -1);
  assert_string_equal(bad, "10.0.0.0/33");
  cidr_list_free(&gw.cfg.trusted_nets);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_threads_rows_and_rollups_agree, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bill_and_fields, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_drains_everything, setup, teardown),
    cmocka_unit_test(test_endpoint_kinds),
    cmocka_unit_test(test_prompts),
    cmocka_unit_test(test_row_begin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
