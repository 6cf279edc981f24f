/* admin/usage — ledger-row routes; contract in usage.h. */
#include "admin/usage.h"

#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/utc.h"
#include "http/auth.h"
#include "http/server.h"
#include "stats/usagerows.h"
#include "store/query.h"

/* The admin's filters from the query string qs. */
static gg_rc admin_filter(str qs, usagerows_filter *f, gg_err *e)
{
  char st[16];
  bool present;
  gg_rc rc;
  if((rc = query_int(qs, "user", 0, INT64_MAX / 2, -1, &f->user_id, e))) return rc;
  f->has_user = f->user_id >= 0;
  if((rc = query_int(qs, "key", 1, INT64_MAX / 2, 0, &f->key_id, e))) return rc;
  f->has_key = f->key_id > 0;
  if((rc = query_label(qs, "upstream_key", f->upstream_key, sizeof f->upstream_key, e)) ||
     (rc = query_label(qs, "model", f->model, sizeof f->model, e)) ||
     (rc = query_label(qs, "type", f->type, sizeof f->type, e)) ||
     (rc = query_str(qs, "status", st, sizeof st, &present, e)))
    return rc;
  if(present && strcmp(st, "all")) {
    if(strcmp(st, "success") && strcmp(st, "failed")) return gg_fail(e, GG_BAD_INPUT, "status must be success, failed or all");
    memcpy(f->status, st, sizeof f->status);
  }
  if((rc = query_time(qs, "from", &f->from, &f->has_from, e)) || (rc = query_time(qs, "to", &f->to, &f->has_to, e))) return rc;
  if(f->has_from && f->has_to && f->from >= f->to) return gg_fail(e, GG_BAD_INPUT, "from must be before to");
  return GG_OK;
}

/* cursor=<created_at ms>.<id> */
static gg_rc parse_cursor(str qs, usagerows_cursor *cur, gg_err *e)
{
  char v[48];
  bool present;
  gg_rc rc = query_str(qs, "cursor", v, sizeof v, &present, e);
  if(rc || !present) return rc;
  char *dot = strchr(v, '.');
  if(dot) *dot = '\0';
  cur->t = parse_int(v);
  cur->id = dot ? parse_int(dot + 1) : -1;
  if(cur->t < 0 || cur->id < 0) return gg_fail(e, GG_BAD_INPUT, "cursor must be a next_cursor from a previous answer");
  cur->set = true;
  return GG_OK;
}

/* ---- list ---- */

typedef struct list_job {
  usagerows_filter f;
  usagerows_cursor cur;
  int64_t limit, offset;
} list_job;

static gg_rc list_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  list_job *j = arg;
  return usagerows_list(c, &j->f, &j->cur, j->limit, j->offset, out, e);
}

void usage_route_list(http_req *r)
{
  list_job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  gg_err e;
  gg_rc rc;
  if((rc = admin_filter(r->query, &j->f, &e)) || (rc = query_int(r->query, "limit", 1, 1000, 50, &j->limit, &e)) ||
     (rc = query_int(r->query, "offset", 0, 100000, 0, &j->offset, &e)) || (rc = parse_cursor(r->query, &j->cur, &e))) {
    free(j);
    http_error_rc(r, rc, e.msg);
    return;
  }
  dbcall_json(r, j, free, list_work, 200);
}

/* ---- CSV export: one store job per page, the next page once the client has read ---- */

typedef struct export_job {
  usagerows_export x;
  gg_rc rc;
} export_job;

static void export_free(void *arg)
{
  export_job *j = arg;
  usagerows_export_free(&j->x);
  free(j);
}

static void export_work(store_conn *c, void *arg)
{
  export_job *j = arg;
  gg_err e;
  j->rc = usagerows_export_page(c, &j->x, &e);
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
  export_job *j = arg;
  if(j->rc != GG_OK) {
    if(r->started) http_abort(r);                      /* a cut, so the file is visibly incomplete */
    else http_error(r, 500, NULL, "could not read the ledger", NULL);
    dbcall_end(d);
    return;
  }
  if(!r->started)
    http_start(r, 200, "Content-Type: text/csv; charset=utf-8\r\n"
                       "Content-Disposition: attachment; filename=\"usage.csv\"\r\n", -1);
  http_send(r, j->x.buf, j->x.len);
  if(j->x.finished) { http_finish(r); dbcall_end(d); return; }
  if(http_pending(r) > HTTP_HIGH_WATER) { r->on_drain = export_drained; return; }
  dbcall_run(d, export_work, export_reply);
}

static gg_rc export_format(str qs, gg_err *e)
{
  char v[16];
  bool present;
  gg_rc rc = query_str(qs, "format", v, sizeof v, &present, e);
  if(rc) return rc;
  if(present && strcmp(v, "csv")) return gg_fail(e, GG_BAD_INPUT, "format must be csv");
  return GG_OK;
}

/* A period narrows from= (never widens it). */
static void export_period(usagerows_filter *f, period p)
{
  if(p == PERIOD_ALL) return;
  int64_t from = period_first_day(p, now_ms()) * UTC_DAY_MS;
  if(!f->has_from || f->from < from) { f->from = from; f->has_from = true; }
}

static void export_start(http_req *r, export_job *j, period p)
{
  export_period(&j->x.f, p);
  dbcall_start(r, j, export_free, export_work, export_reply);
}

void usage_route_export(http_req *r)
{
  export_job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  gg_err e;
  gg_rc rc;
  period p;
  if((rc = export_format(r->query, &e)) || (rc = admin_filter(r->query, &j->x.f, &e)) ||
     (rc = query_period(r->query, PERIOD_ALL, &p, &e))) {
    free(j);
    http_error_rc(r, rc, e.msg);
    return;
  }
  export_start(r, j, p);
}

void usage_route_export_mine(http_req *r)
{
  principal who = { 0 };
  if(!auth_require(r->w->gw, r, &who)) return;
  export_job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  gg_err e;
  gg_rc rc;
  period p;
  usagerows_filter *f = &j->x.f;
  if((rc = export_format(r->query, &e)) || (rc = query_period(r->query, PERIOD_ALL, &p, &e)) ||
     (rc = query_label(r->query, "type", f->type, sizeof f->type, &e)) ||
     (rc = query_label(r->query, "model", f->model, sizeof f->model, &e))) {
    free(j);
    http_error_rc(r, rc, e.msg);
    return;
  }
  f->has_user = true;                                   /* only ever the caller's own rows */
  f->user_id = who.user_id;
  export_start(r, j, p);
}
