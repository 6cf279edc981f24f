/* admin/stats — statistics routes; contract in stats.h. */
#include "admin/stats.h"

#include <stdlib.h>

#include "admin/dbcall.h"
#include "http/auth.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "ledger/meter.h"
#include "pool/keypool.h"
#include "stats/stats.h"
#include "users/users.h"

/* ---- one user's usage ---- */

static gg_rc user_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  return stats_user(c, arg, out, e);
}

static void user_usage(http_req *r, int64_t user_id)
{
  stats_user_filter *f = calloc(1, sizeof *f);
  if(!f) { http_error_rc(r, GG_NOMEM, NULL); return; }
  gg_err e;
  gg_rc rc;
  f->user_id = user_id;
  f->now = now_ms();
  if((rc = query_period(r->query, PERIOD_ALL, &f->per, &e)) || (rc = query_label(r->query, "type", f->type, sizeof f->type, &e)) ||
     (rc = query_label(r->query, "model", f->model, sizeof f->model, &e))) {
    free(f);
    http_error_rc(r, rc, e.msg);
    return;
  }
  dbcall_json(r, f, free, user_work, 200);
}

void stats_route_usage(http_req *r)
{
  principal who = { 0 };
  if(auth_require(r->w->gw, r, &who)) user_usage(r, who.user_id);
}

void stats_route_user_usage(http_req *r, int64_t user_id) { user_usage(r, user_id); }

/* ---- the whole gateway ---- */

typedef struct totals_job {
  stats_totals_filter f;
  users *users;
  json_t *live;        /* the in-memory part, taken on the loop: appended to the answer */
} totals_job;

static void totals_free(void *arg)
{
  totals_job *j = arg;
  json_decref(j->live);
  free(j);
}

static gg_rc totals_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  totals_job *j = arg;
  gg_rc rc = stats_totals(c, j->users, &j->f, out, e);
  if(rc == GG_OK && json_object_update(*out, j->live)) rc = GG_NOMEM;
  return rc;
}

/* What only the loop may read (the key pool, the meters, the ledger's counters), as of now. */
static json_t *live_json(gateway *gw, int64_t now)
{
  int64_t nusers, nenabled, nkeys;
  users_counts(gw->users, &nusers, &nenabled, &nkeys);
  json_t *keys = kp_status_keys(gw->pool, now);
  ledger_stats ls = { 0 };
  if(gw->ledger) ledger_get_stats(gw->ledger, &ls);
  json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
                        "gemini_keys", (json_int_t)json_array_size(keys),
                        "active_gemini_keys", (json_int_t)kp_available(gw->pool, now), "users", (json_int_t)nusers,
                        "active_users", (json_int_t)nenabled, "user_keys", (json_int_t)nkeys,
                        "usage_stats", meter_json(gw->meter, now), "ledger",
                        "recorded", (json_int_t)ls.recorded, "written", (json_int_t)ls.written,
                        "queued", (json_int_t)ls.queued, "dropped", (json_int_t)ls.dropped,
                        "batches", (json_int_t)ls.batches, "failed_batches", (json_int_t)ls.failed_batches);
  json_decref(keys);
  return o;
}

void stats_route_admin(http_req *r)
{
  gateway *gw = r->w->gw;
  totals_job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  gg_err e;
  gg_rc rc;
  j->f.now = now_ms();
  j->users = gw->users;
  if((rc = query_period(r->query, PERIOD_TODAY, &j->f.per, &e)) ||
     (rc = query_int(r->query, "top", 1, 1000, 100, &j->f.top, &e))) {
    free(j);
    http_error_rc(r, rc, e.msg);
    return;
  }
  if(!(j->live = live_json(gw, j->f.now))) { totals_free(j); http_error_rc(r, GG_NOMEM, NULL); return; }
  dbcall_json(r, j, totals_free, totals_work, 200);
}
