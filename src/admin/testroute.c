/* testroute — test-only routes; contract in testroute.h.  Empty unless GEMGATE_TEST_ROUTES. */
#include "admin/testroute.h"

#ifdef GEMGATE_TEST_ROUTES
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "http/server.h"
#include "ledger/ledger.h"

static void text(json_t *o, const char *k, char *dst, size_t cap)
{
  const char *s = json_string_value(json_object_get(o, k));
  snprintf(dst, cap, "%s", s ? s : "");
}

static int64_t num(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

typedef struct flush_job { ledger *l; int64_t n; } flush_job;

/* The wait for the writer happens on a pool thread, never on the loop. */
static gg_rc flush_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  flush_job *j = arg;
  bool flushed = ledger_flush(j->l, 10000);
  *out = json_pack("{s:I,s:b}", "recorded", (json_int_t)j->n, "flushed", flushed);
  return GG_OK;
}

void admin_test_ledger(http_req *r)
{
  const char *hooks = getenv("GEMGATE_TEST_HOOKS");
  if(!hooks || strcmp(hooks, "1")) { http_error(r, 404, NULL, "no such route", NULL); return; }
  gateway *gw = r->w->gw;
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *rows = json_object_get(b, "rows"), *o;
  size_t i;
  json_array_foreach(rows, i, o) {
    ledger_row row;
    memset(&row, 0, sizeof row);
    row.user_id = num(o, "user_id");
    row.access_key_id = num(o, "access_key_id");
    text(o, "upstream_key", row.upstream_key, sizeof row.upstream_key);
    text(o, "model", row.model, sizeof row.model);
    text(o, "gen_type", row.gen_type, sizeof row.gen_type);
    text(o, "endpoint", row.endpoint, sizeof row.endpoint);
    text(o, "error", row.error, sizeof row.error);
    text(o, "ip", row.ip, sizeof row.ip);
    const char *p = json_string_value(json_object_get(o, "prompt"));
    if(p && gw->cfg.log_prompts) ledger_set_prompt(&row, p, strlen(p));
    row.success = json_is_true(json_object_get(o, "success"));
    row.refused = json_is_true(json_object_get(o, "refused"));
    row.stream = json_is_true(json_object_get(o, "stream"));
    row.http_status = (int)num(o, "http_status");
    row.in_tokens = num(o, "in_tokens");
    row.out_tokens = num(o, "out_tokens");
    row.thinking_tokens = num(o, "thinking_tokens");
    row.cached_tokens = num(o, "cached_tokens");
    row.images = num(o, "images");
    row.tool_tokens = num(o, "tool_tokens");
    row.audio_tokens = num(o, "audio_tokens");
    row.audio_cached_tokens = num(o, "audio_cached_tokens");
    row.image_tokens = num(o, "image_tokens");
    row.batch = json_is_true(json_object_get(o, "batch"));
    row.created_ms = num(o, "created_ms");
    ledger_record(gw->ledger, &row);
  }
  bool flush = json_is_true(json_object_get(b, "flush"));
  size_t n = json_array_size(rows);
  json_decref(b);
  if(!flush) { http_reply_json(r, 200, json_pack("{s:I,s:b}", "recorded", (json_int_t)n, "flushed", 0), NULL); return; }
  flush_job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  j->l = gw->ledger;
  j->n = (int64_t)n;
  dbcall_json(r, j, free, flush_work, 200);
}
#endif

#ifdef GEMGATE_TEST_ROUTES
#include "base/log.h"

void admin_test_log(http_req *r)
{
  const char *hooks = getenv("GEMGATE_TEST_HOOKS");
  if(!hooks || strcmp(hooks, "1")) { http_error(r, 404, NULL, "no such route", NULL); return; }
  json_t *b = http_body_object(r);
  if(!b) return;
  json_int_t n = json_integer_value(json_object_get(b, "n"));
  int lvl = log_parse_level(json_string_value(json_object_get(b, "level")) ? json_string_value(json_object_get(b, "level")) : "info");
  json_decref(b);
  if(n < 1 || n > 100000 || lvl < 0) { http_error(r, 400, NULL, "n must be 1..100000, level a level", NULL); return; }
  for(json_int_t i = 0; i < n; i++)
    log_line_rid((log_level)lvl, LOG_APP, r->rid, "test line %lld of %lld: %s", (long long)i, (long long)n,
                 "the quick brown fox jumps over the lazy dog, again and again, to fill the line up to its size "
                 "the quick brown fox jumps over the lazy dog");
  http_reply_json(r, 200, json_pack("{s:I}", "logged", n), NULL);
}
#endif
