/* usagerows — listing and exporting ledger rows; contract in usagerows.h. */
#include "stats/usagerows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/money.h"
#include "base/utc.h"
#include "store/query.h"

static const char COLS[] =
  "id, user_id, access_key_id, upstream_key, model_id, model_name, is_local, generation_type, endpoint, stream,"
  " input_tokens, output_tokens, thinking_tokens, cached_tokens, bill_e4, status, http_status, refused,"
  " error_message, request_ip, latency_ms, ttfb_ms, attempts, prompt, created_at, images, cost_nanos,"
  " tool_tokens, audio_tokens, image_tokens, price_version, unpriced, storage_tokens, storage_seconds, request_id,"
  " cached_audio_tokens";

/* The WHERE clause of f and the keyset position.  Only fixed text goes into the SQL: every value
 * is a bound parameter. */
static void where(query_where *w, const usagerows_filter *f, const usagerows_cursor *cur, bool newest_first)
{
  query_where_init(w);
  if(f->has_user) query_and_int(w, " AND user_id = ?", f->user_id);
  if(f->has_key) query_and_int(w, " AND access_key_id = ?", f->key_id);
  if(f->upstream_key[0]) query_and_text(w, " AND upstream_key = ?", f->upstream_key);
  if(f->model[0]) query_and_text(w, " AND model_name = ?", f->model);
  if(f->type[0]) query_and_text(w, " AND generation_type = ?", f->type);
  if(f->status[0]) query_and_text(w, " AND status = ?", f->status);
  if(f->has_from) query_and_int(w, " AND created_at >= ?", f->from);
  if(f->has_to) query_and_int(w, " AND created_at < ?", f->to);
  if(cur && cur->set) {
    /* Keyset paging on (created_at, id): a range on the indexed column, the ties excluded. */
    query_and(w, newest_first ? " AND created_at <= ? AND NOT (created_at = ? AND id >= ?)"
                              : " AND created_at >= ? AND NOT (created_at = ? AND id <= ?)");
    query_arg_int(w, cur->t);
    query_arg_int(w, cur->t);
    query_arg_int(w, cur->id);
  }
}

/* "SELECT <COLS> FROM ledger <where> <tail>" prepared and bound; returns the next free parameter
 * index in *next.  NULL when it cannot be prepared. */
static store_stmt *prepare(store_conn *c, const query_where *w, const char *tail, int *next)
{
  char sql[1024];
  if(w->full || (size_t)snprintf(sql, sizeof sql, "SELECT %s FROM ledger%s%s", COLS, w->sql, tail) >= sizeof sql) return NULL;
  store_stmt *st = store_prepare(c, sql);
  if(st) *next = query_bind(w, st, 1);
  return st;
}

static json_t *nullable(store_stmt *st, int i)
{
  return store_col_null(st, i) ? json_null() : json_integer(store_col_int(st, i));
}

static json_t *row_json(store_stmt *st)
{
  char when[32];
  utc_iso(store_col_int(st, 24), when, sizeof when);
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer(store_col_int(st, 0)));
  json_object_set_new(o, "user_id", json_integer(store_col_int(st, 1)));
  json_object_set_new(o, "access_key_id", nullable(st, 2));
  json_object_set_new(o, "upstream_key", json_string(store_col_text(st, 3)));
  json_object_set_new(o, "model_id", nullable(st, 4));
  json_object_set_new(o, "model_name", json_string(store_col_text(st, 5)));
  json_object_set_new(o, "is_local", json_boolean(store_col_int(st, 6)));
  json_object_set_new(o, "generation_type", json_string(store_col_text(st, 7)));
  json_object_set_new(o, "endpoint", json_string(store_col_text(st, 8)));
  json_object_set_new(o, "stream", json_boolean(store_col_int(st, 9)));
  static const char *const tok[] = { "input_tokens", "output_tokens", "thinking_tokens", "cached_tokens" };
  for(int k = 0; k < 4; k++) json_object_set_new(o, tok[k], json_integer(store_col_int(st, 10 + k)));
  json_object_set_new(o, "images", json_integer(store_col_int(st, 25)));
  static const char *const more[] = { "tool_tokens", "audio_tokens", "image_tokens" };
  for(int k = 0; k < 3; k++) json_object_set_new(o, more[k], json_integer(store_col_int(st, 27 + k)));
  json_object_set_new(o, "price_version", nullable(st, 30));
  json_object_set_new(o, "unpriced", json_boolean(store_col_int(st, 31)));
  json_object_set_new(o, "cached_audio_tokens", json_integer(store_col_int(st, 35)));
  json_object_set_new(o, "storage_tokens", json_integer(store_col_int(st, 32)));
  json_object_set_new(o, "storage_seconds", json_integer(store_col_int(st, 33)));
  json_object_set_new(o, "bill", money_json(store_col_int(st, 14), 4));
  json_object_set_new(o, "cost", money_json(store_col_int(st, 26), 9));
  json_object_set_new(o, "status", json_string(store_col_text(st, 15)));
  json_object_set_new(o, "http_status", json_integer(store_col_int(st, 16)));
  json_object_set_new(o, "refused", json_boolean(store_col_int(st, 17)));
  json_object_set_new(o, "error_message", json_string(store_col_text(st, 18)));
  json_object_set_new(o, "request_ip", json_string(store_col_text(st, 19)));
  json_object_set_new(o, "latency_ms", json_integer(store_col_int(st, 20)));
  json_object_set_new(o, "ttfb_ms", json_integer(store_col_int(st, 21)));
  json_object_set_new(o, "attempts", json_integer(store_col_int(st, 22)));
  json_object_set_new(o, "prompt", json_string(store_col_text(st, 23)));
  json_object_set_new(o, "created_at", json_string(when));
  json_object_set_new(o, "request_id", json_string(store_col_text(st, 34)));
  return o;
}

/* ---- list ---- */

gg_rc usagerows_list(store_conn *c, const usagerows_filter *f, const usagerows_cursor *cur, int64_t limit,
                     int64_t offset, json_t **out, gg_err *e)
{
  query_where w;
  where(&w, f, cur, true);
  int i;
  store_stmt *st = prepare(c, &w, " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", &i);
  if(!st) return gg_fail(e, GG_DB, "could not read the ledger");
  store_bind_int(st, i++, limit);
  store_bind_int(st, i++, offset);
  json_t *rows = json_array();
  int64_t last_t = 0, last_id = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    json_array_append_new(rows, row_json(st));
    last_t = store_col_int(st, 24);
    last_id = store_col_int(st, 0);
  }
  store_reset(st);
  if(rc != STORE_DONE) { json_decref(rows); return gg_fail(e, GG_DB, "could not read the ledger"); }
  char cursor[48];
  snprintf(cursor, sizeof cursor, "%lld.%lld", (long long)last_t, (long long)last_id);
  bool more = (int64_t)json_array_size(rows) == limit;
  *out = json_pack("{s:o,s:I,s:I,s:s?}", "rows", rows, "limit", (json_int_t)limit, "offset", (json_int_t)offset,
                   "next_cursor", more ? cursor : NULL);
  return *out ? GG_OK : GG_NOMEM;
}

/* ---- CSV export ---- */

static void put(usagerows_export *x, const char *s, size_t n)
{
  if(x->len + n + 1 > x->cap) {
    size_t nc = (x->len + n + 1) * 2;
    char *nb = realloc(x->buf, nc);
    if(!nb) return;
    x->buf = nb;
    x->cap = nc;
  }
  memcpy(x->buf + x->len, s, n);
  x->len += n;
}

/* A CSV field (RFC 4180 quoting).  Text starting with = + - @ is prefixed with ' so that a
 * spreadsheet never runs a prompt as a formula. */
static void field(usagerows_export *x, const char *s, bool text, bool last)
{
  if(!s) s = "";
  bool quote = text && (strpbrk(s, ",\"\r\n") || *s == '=' || *s == '+' || *s == '-' || *s == '@');
  if(quote) put(x, "\"", 1);
  if(text && (*s == '=' || *s == '+' || *s == '-' || *s == '@')) put(x, "'", 1);
  for(const char *p = s; *p; p++) {
    if(*p == '"') put(x, "\"\"", 2);
    else put(x, p, 1);
  }
  if(quote) put(x, "\"", 1);
  put(x, last ? "\r\n" : ",", last ? 2 : 1);
}

gg_rc usagerows_export_page(store_conn *c, usagerows_export *x, gg_err *e)
{
  static const char head[] =
    "id,created_at,user_id,access_key_id,upstream_key,model_id,model_name,is_local,generation_type,endpoint,"
    "stream,input_tokens,output_tokens,thinking_tokens,cached_tokens,bill,status,http_status,refused,"
    "error_message,request_ip,latency_ms,ttfb_ms,attempts,prompt\r\n";
  query_where w;
  where(&w, &x->f, &x->cur, false);
  x->len = 0;
  int i;
  store_stmt *st = prepare(c, &w, " ORDER BY created_at, id LIMIT ?", &i);
  if(!st) return gg_fail(e, GG_DB, "could not read the ledger");
  if(!x->header_sent) put(x, head, sizeof head - 1);
  store_bind_int(st, i, USAGEROWS_PAGE);
  int64_t rows = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    char num[32], when[32];
    snprintf(num, sizeof num, "%lld", (long long)store_col_int(st, 0));
    field(x, num, false, false);
    utc_iso(store_col_int(st, 24), when, sizeof when);
    field(x, when, false, false);
    for(int k = 1; k <= 23; k++) {
      if(k == 14) { money_format(store_col_int(st, 14), 4, num, sizeof num); field(x, num, false, false); continue; }
      bool text = k == 3 || k == 5 || k == 7 || k == 8 || k == 15 || k == 18 || k == 19 || k == 23;
      field(x, text ? store_col_text(st, k) : store_col_null(st, k) ? "" : store_col_text(st, k), text, k == 23);
    }
    x->cur.t = store_col_int(st, 24);
    x->cur.id = store_col_int(st, 0);
    rows++;
  }
  store_reset(st);
  if(rc != STORE_DONE) { x->len = 0; return gg_fail(e, GG_DB, "could not read the ledger"); }
  x->header_sent = true;
  x->cur.set = rows > 0 || x->cur.set;
  x->finished = rows < USAGEROWS_PAGE;
  x->rows += rows;
  return GG_OK;
}

void usagerows_export_free(usagerows_export *x)
{
  free(x->buf);
  x->buf = NULL;
  x->len = x->cap = 0;
}
