/* usagerows — listing and exporting ledger rows; contract in usagerows.h. */
#include "stats/usagerows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/money.h"
#include "store/query.h"
#include "http/server.h"
#include "store/store.h"
#include "base/utc.h"

typedef struct filter {
  bool has_user, has_key;
  int64_t user_id, key_id;
  char upstream_key[32], model[64], type[32], status[16];
  bool has_from, has_to;
  int64_t from, to;
} filter;

typedef struct rjob {
  filter f;
  int64_t limit, offset;
  bool has_cursor;
  int64_t cur_t, cur_id;          /* keyset position: the last row sent */
  bool csv, header_sent, finished;
  int status;
  json_t *out;                    /* list */
  char *buf;                      /* export: this page's CSV */
  size_t len, cap;
  int64_t rows;
} rjob;

static void rjob_free(void *arg)
{
  rjob *j = arg;
  json_decref(j->out);
  free(j->buf);
  free(j);
}

static const char COLS[] =
  "id, user_id, access_key_id, upstream_key, model_id, model_name, is_local, generation_type, endpoint, stream,"
  " input_tokens, output_tokens, thinking_tokens, cached_tokens, bill_e4, status, http_status, refused,"
  " error_message, request_ip, latency_ms, ttfb_ms, attempts, prompt, created_at";

/* WHERE clause for f (and the keyset position) into sql; the values in the same order go to
 * bind_where.  Only fixed text is spliced in: every value is a parameter. */
static void where(const rjob *j, bool newest_first, char *sql, size_t cap)
{
  const filter *f = &j->f;
  size_t n = (size_t)snprintf(sql, cap, " WHERE 1 = 1");
#define ADD(cond, text) if(cond) n += (size_t)snprintf(sql + n, cap - n, "%s", text)
  ADD(f->has_user, " AND user_id = ?");
  ADD(f->has_key, " AND access_key_id = ?");
  ADD(f->upstream_key[0], " AND upstream_key = ?");
  ADD(f->model[0], " AND model_name = ?");
  ADD(f->type[0], " AND generation_type = ?");
  ADD(f->status[0], " AND status = ?");
  ADD(f->has_from, " AND created_at >= ?");
  ADD(f->has_to, " AND created_at < ?");
  /* Keyset paging on (created_at, id): a range on the indexed column, the ties excluded. */
  ADD(j->has_cursor && newest_first, " AND created_at <= ? AND NOT (created_at = ? AND id >= ?)");
  ADD(j->has_cursor && !newest_first, " AND created_at >= ? AND NOT (created_at = ? AND id <= ?)");
#undef ADD
}

static int bind_where(store_stmt *st, const rjob *j)
{
  const filter *f = &j->f;
  int i = 1;
  if(f->has_user) store_bind_int(st, i++, f->user_id);
  if(f->has_key) store_bind_int(st, i++, f->key_id);
  if(f->upstream_key[0]) store_bind_text(st, i++, f->upstream_key);
  if(f->model[0]) store_bind_text(st, i++, f->model);
  if(f->type[0]) store_bind_text(st, i++, f->type);
  if(f->status[0]) store_bind_text(st, i++, f->status);
  if(f->has_from) store_bind_int(st, i++, f->from);
  if(f->has_to) store_bind_int(st, i++, f->to);
  if(j->has_cursor) { store_bind_int(st, i++, j->cur_t); store_bind_int(st, i++, j->cur_t); store_bind_int(st, i++, j->cur_id); }
  return i;
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
  json_object_set_new(o, "bill", money_json(store_col_int(st, 14), 4));
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
  return o;
}

/* ---- list ---- */

static void list_work(store_conn *c, void *arg)
{
  rjob *j = arg;
  char sql[1024];
  int n = snprintf(sql, sizeof sql, "SELECT %s FROM ledger", COLS);
  where(j, true, sql + n, sizeof sql - (size_t)n);
  strncat(sql, " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", sizeof sql - strlen(sql) - 1);
  store_stmt *st = store_prepare(c, sql);
  j->status = 500;
  if(!st) return;
  int i = bind_where(st, j);
  store_bind_int(st, i++, j->limit);
  store_bind_int(st, i++, j->offset);
  json_t *rows = json_array();
  int64_t last_t = 0, last_id = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    json_array_append_new(rows, row_json(st));
    last_t = store_col_int(st, 24);
    last_id = store_col_int(st, 0);
  }
  store_reset(st);
  if(rc != STORE_DONE) { json_decref(rows); return; }
  char cursor[48];
  snprintf(cursor, sizeof cursor, "%lld.%lld", (long long)last_t, (long long)last_id);
  bool more = (int64_t)json_array_size(rows) == j->limit;
  j->out = json_pack("{s:o,s:I,s:I,s:s?}", "rows", rows, "limit", (json_int_t)j->limit, "offset", (json_int_t)j->offset,
                     "next_cursor", more ? cursor : NULL);
  j->status = 200;
}

static void list_reply(dbcall *d, http_req *r, void *arg)
{
  rjob *j = arg;
  if(j->status == 200) { http_reply_json(r, 200, j->out, NULL); j->out = NULL; }
  else http_error(r, 500, NULL, "could not read the ledger", NULL);
  dbcall_end(d);
}

/* The admin's filters from the query string.  false with msg (a 400). */
static bool admin_filter(http_req *r, rjob *j, char *msg, size_t cap)
{
  filter *f = &j->f;
  char st[16];
  int rc;
  if(!query_int(r, "user", 0, INT64_MAX / 2, -1, &f->user_id, msg, cap)) return false;
  f->has_user = f->user_id >= 0;
  if(!query_int(r, "key", 1, INT64_MAX / 2, 0, &f->key_id, msg, cap)) return false;
  f->has_key = f->key_id > 0;
  if(!query_label(r, "upstream_key", f->upstream_key, sizeof f->upstream_key, msg, cap) ||
     !query_label(r, "model", f->model, sizeof f->model, msg, cap) ||
     !query_label(r, "type", f->type, sizeof f->type, msg, cap))
    return false;
  if((rc = query_str(r, "status", st, sizeof st, msg, cap)) < 0) return false;
  if(rc && strcmp(st, "all")) {
    if(strcmp(st, "success") && strcmp(st, "failed")) { snprintf(msg, cap, "status must be success, failed or all"); return false; }
    snprintf(f->status, sizeof f->status, "%s", st);
  }
  if(!query_time(r, "from", &f->from, &f->has_from, msg, cap) || !query_time(r, "to", &f->to, &f->has_to, msg, cap)) return false;
  if(f->has_from && f->has_to && f->from >= f->to) { snprintf(msg, cap, "from must be before to"); return false; }
  return true;
}

/* cursor=<created_at ms>.<id> */
static bool parse_cursor(http_req *r, rjob *j, char *msg, size_t cap)
{
  char v[48];
  int rc = query_str(r, "cursor", v, sizeof v, msg, cap);
  if(rc <= 0) return rc == 0;
  char *dot = strchr(v, '.');
  if(dot) *dot = '\0';
  j->cur_t = parse_int(v);
  j->cur_id = dot ? parse_int(dot + 1) : -1;
  if(j->cur_t < 0 || j->cur_id < 0) { snprintf(msg, cap, "cursor must be a next_cursor from a previous answer"); return false; }
  j->has_cursor = true;
  return true;
}

void usagerows_list(http_req *r)
{
  rjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char msg[240];
  if(!admin_filter(r, j, msg, sizeof msg) || !query_int(r, "limit", 1, 1000, 50, &j->limit, msg, sizeof msg) ||
     !query_int(r, "offset", 0, 100000, 0, &j->offset, msg, sizeof msg) || !parse_cursor(r, j, msg, sizeof msg)) {
    free(j);
    http_error(r, 400, NULL, msg, NULL);
    return;
  }
  dbcall_start(r, j, rjob_free, list_work, list_reply);
}

/* ---- CSV export ---- */

static void put(rjob *j, const char *s, size_t n)
{
  if(j->len + n + 1 > j->cap) {
    size_t nc = (j->len + n + 1) * 2;
    char *nb = realloc(j->buf, nc);
    if(!nb) return;
    j->buf = nb;
    j->cap = nc;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
}

/* A CSV field (RFC 4180 quoting).  Text starting with = + - @ is prefixed with ' so that a
 * spreadsheet never runs a prompt as a formula. */
static void field(rjob *j, const char *s, bool text, bool last)
{
  if(!s) s = "";
  bool quote = text && (strpbrk(s, ",\"\r\n") || *s == '=' || *s == '+' || *s == '-' || *s == '@');
  if(quote) put(j, "\"", 1);
  if(text && (*s == '=' || *s == '+' || *s == '-' || *s == '@')) put(j, "'", 1);
  for(const char *p = s; *p; p++) {
    if(*p == '"') put(j, "\"\"", 2);
    else put(j, p, 1);
  }
  if(quote) put(j, "\"", 1);
  put(j, last ? "\r\n" : ",", last ? 2 : 1);
}

static void export_work(store_conn *c, void *arg)
{
  rjob *j = arg;
  char sql[1024];
  int n = snprintf(sql, sizeof sql, "SELECT %s FROM ledger", COLS);
  where(j, false, sql + n, sizeof sql - (size_t)n);
  strncat(sql, " ORDER BY created_at, id LIMIT ?", sizeof sql - strlen(sql) - 1);
  j->len = 0;
  j->status = 500;
  static const char head[] =
    "id,created_at,user_id,access_key_id,upstream_key,model_id,model_name,is_local,generation_type,endpoint,"
    "stream,input_tokens,output_tokens,thinking_tokens,cached_tokens,bill,status,http_status,refused,"
    "error_message,request_ip,latency_ms,ttfb_ms,attempts,prompt\r\n";
  if(!j->header_sent) put(j, head, sizeof head - 1);
  store_stmt *st = store_prepare(c, sql);
  if(!st) return;
  int i = bind_where(st, j);
  store_bind_int(st, i, USAGEROWS_PAGE);
  int64_t rows = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    char num[32], when[32];
    snprintf(num, sizeof num, "%lld", (long long)store_col_int(st, 0));
    field(j, num, false, false);
    utc_iso(store_col_int(st, 24), when, sizeof when);
    field(j, when, false, false);
    for(int k = 1; k <= 23; k++) {
      if(k == 14) { money_format(store_col_int(st, 14), 4, num, sizeof num); field(j, num, false, false); continue; }
      bool text = k == 3 || k == 5 || k == 7 || k == 8 || k == 15 || k == 18 || k == 19 || k == 23;
      field(j, text ? store_col_text(st, k) : store_col_null(st, k) ? "" : store_col_text(st, k), text, k == 23);
    }
    j->cur_t = store_col_int(st, 24);
    j->cur_id = store_col_int(st, 0);
    rows++;
  }
  store_reset(st);
  if(rc != STORE_DONE) return;
  j->has_cursor = rows > 0 || j->has_cursor;
  j->finished = rows < USAGEROWS_PAGE;
  j->rows += rows;
  j->status = 200;
}

static void export_reply(dbcall *d, http_req *r, void *arg);

/* The client has read enough: fetch the next page. */
static void export_drained(http_req *r)
{
  dbcall *d = r->ctx;
  r->on_drain = NULL;
  dbcall_run(d, export_work, export_reply);
}

static void export_reply(dbcall *d, http_req *r, void *arg)
{
  rjob *j = arg;
  if(j->status != 200) {
    if(r->started) http_abort(r);                      /* a cut, so the file is visibly incomplete */
    else http_error(r, 500, NULL, "could not read the ledger", NULL);
    dbcall_end(d);
    return;
  }
  if(!r->started) {
    j->header_sent = true;
    http_start(r, 200, "Content-Type: text/csv; charset=utf-8\r\n"
                       "Content-Disposition: attachment; filename=\"usage.csv\"\r\n", -1);
  }
  http_send(r, j->buf, j->len);
  if(j->finished) { http_finish(r); dbcall_end(d); return; }
  if(http_pending(r) > HTTP_HIGH_WATER) { r->on_drain = export_drained; return; }
  dbcall_run(d, export_work, export_reply);
}

static bool export_format(http_req *r, char *msg, size_t cap)
{
  char v[16];
  int rc = query_str(r, "format", v, sizeof v, msg, cap);
  if(rc < 0) return false;
  if(rc > 0 && strcmp(v, "csv")) { snprintf(msg, cap, "format must be csv"); return false; }
  return true;
}

static void export_period(rjob *j, period p)
{
  if(p == PERIOD_ALL) return;
  int64_t from = period_first_day(p, now_ms()) * UTC_DAY_MS;
  if(!j->f.has_from || j->f.from < from) { j->f.from = from; j->f.has_from = true; }
}

void usagerows_export_admin(http_req *r)
{
  rjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char msg[240];
  period p;
  if(!export_format(r, msg, sizeof msg) || !admin_filter(r, j, msg, sizeof msg) ||
     !query_period(r, PERIOD_ALL, &p, msg, sizeof msg)) {
    free(j);
    http_error(r, 400, NULL, msg, NULL);
    return;
  }
  export_period(j, p);
  j->csv = true;
  dbcall_start(r, j, rjob_free, export_work, export_reply);
}

void usagerows_export_mine(http_req *r)
{
  principal who = { 0 };
  if(!auth_require(r->w->gw, r, &who)) return;
  rjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char msg[240];
  period p;
  if(!export_format(r, msg, sizeof msg) || !query_period(r, PERIOD_ALL, &p, msg, sizeof msg) ||
     !query_label(r, "type", j->f.type, sizeof j->f.type, msg, sizeof msg) ||
     !query_label(r, "model", j->f.model, sizeof j->f.model, msg, sizeof msg)) {
    free(j);
    http_error(r, 400, NULL, msg, NULL);
    return;
  }
  j->f.has_user = true;                                 /* only ever the caller's own rows */
  j->f.user_id = who.user_id;
  export_period(j, p);
  j->csv = true;
  dbcall_start(r, j, rjob_free, export_work, export_reply);
}
