/* stats — statistics from the rollups; contract in stats.h. */
#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "pool/keypool.h"
#include "ledger/ledger.h"
#include "ledger/meter.h"
#include "base/money.h"
#include "store/query.h"
#include "http/server.h"
#include "store/store.h"
#include "users/users.h"
#include "base/utc.h"

/* success_rate as seed 000 gives it: a percentage with two decimals (93.33). */
static json_t *rate(int64_t success, int64_t total)
{
  int64_t e2 = total ? (success * 10000 + total / 2) / total : 0;
  return json_real((double)e2 / 100.0);
}

/* ---- seed 000: one user's usage ---- */

typedef struct ujob {
  int64_t user_id, now;
  period per;
  char type[32], model[64];
  int status;
  json_t *out;
} ujob;

static void ujob_free(void *arg)
{
  ujob *j = arg;
  json_decref(j->out);
  free(j);
}

/* Adds n calls of type (success or not) to by_type and the totals, when they pass the type
 * filter; a type never seen before still gets its key. */
static void count_type(json_t *by_type, const char *type, int64_t n, bool ok, bool counts, int64_t *total, int64_t *success)
{
  char k[64];
  snprintf(k, sizeof k, "%s_count", type);
  json_t *cur = json_object_get(by_type, k);
  if(!cur) json_object_set_new(by_type, k, cur = json_integer(0));
  if(!counts) return;
  json_integer_set(cur, json_integer_value(cur) + n);
  *total += n;
  if(ok) *success += n;
}

static void usage_work(store_conn *c, void *arg)
{
  ujob *j = arg;
  int64_t first = period_first_day(j->per, j->now);
  json_t *by_type = json_object(), *recent = json_array();
  int64_t total = 0, success = 0;
  store_rc rc;
  j->status = 500;

  /* Every type the user has ever used ("<user>:<type>" rows of all time), so by_type names them
   * all; for period=all without a model filter these rows are the whole answer. */
  char lo[32], hi[32], sql[512];
  snprintf(lo, sizeof lo, "%lld:", (long long)j->user_id);
  snprintf(hi, sizeof hi, "%lld;", (long long)j->user_id);     /* ';' follows ':' */
  bool all_time = j->per == PERIOD_ALL && !j->model[0];
  store_stmt *st = store_prepare(c, "SELECT value, status, calls FROM usage_dim WHERE dim = 'utype' AND day = -1"
                                    " AND value > ? AND value < ?");
  if(!st) goto out;
  store_bind_text(st, 1, lo);
  store_bind_text(st, 2, hi);
  while((rc = store_step(st)) == STORE_ROW) {
    const char *type = store_col_text(st, 0) + strlen(lo);
    count_type(by_type, type, store_col_int(st, 2), !strcmp(store_col_text(st, 1), "success"),
               all_time && (!j->type[0] || !strcmp(type, j->type)), &total, &success);
  }
  store_reset(st);
  if(rc != STORE_DONE) goto out;

  if(!all_time) {                /* the period's days of the per-user daily rollup */
    snprintf(sql, sizeof sql, "SELECT generation_type, status, calls FROM usage_daily WHERE user_id = ? AND day >= ?%s%s",
             j->type[0] ? " AND generation_type = ?" : "", j->model[0] ? " AND model_name = ?" : "");
    if(!(st = store_prepare(c, sql))) goto out;
    int i = 1;
    store_bind_int(st, i++, j->user_id);
    store_bind_int(st, i++, first);
    if(j->type[0]) store_bind_text(st, i++, j->type);
    if(j->model[0]) store_bind_text(st, i++, j->model);
    while((rc = store_step(st)) == STORE_ROW)
      count_type(by_type, store_col_text(st, 0), store_col_int(st, 2), !strcmp(store_col_text(st, 1), "success"), true,
                 &total, &success);
    store_reset(st);
    if(rc != STORE_DONE) goto out;
  }

  snprintf(sql, sizeof sql, "SELECT id, generation_type, prompt, status, error_message, created_at FROM ledger"
           " WHERE user_id = ? AND created_at >= ?%s%s ORDER BY created_at DESC, id DESC LIMIT 10",
           j->type[0] ? " AND generation_type = ?" : "", j->model[0] ? " AND model_name = ?" : "");
  if(!(st = store_prepare(c, sql))) goto out;
  int i = 1;
  store_bind_int(st, i++, j->user_id);
  store_bind_int(st, i++, first == INT64_MIN ? INT64_MIN : first * UTC_DAY_MS);
  if(j->type[0]) store_bind_text(st, i++, j->type);
  if(j->model[0]) store_bind_text(st, i++, j->model);
  while((rc = store_step(st)) == STORE_ROW) {
    char when[32];
    utc_iso(store_col_int(st, 5), when, sizeof when);
    json_array_append_new(recent, json_pack("{s:I,s:s,s:s,s:b,s:s,s:s}", "id", (json_int_t)store_col_int(st, 0),
                                            "generation_type", store_col_text(st, 1), "prompt", store_col_text(st, 2),
                                            "success", !strcmp(store_col_text(st, 3), "success"),
                                            "error_message", store_col_text(st, 4), "created_at", when));
  }
  store_reset(st);
  if(rc != STORE_DONE) goto out;
  j->out = json_pack("{s:s,s:{s:s,s:I,s:I,s:I,s:o,s:O,s:O}}", "status", "success", "data",
                     "period", period_name(j->per), "total_count", (json_int_t)total, "success_count", (json_int_t)success,
                     "failed_count", (json_int_t)(total - success), "success_rate", rate(success, total),
                     "by_type", by_type, "recent_usage", recent);
  j->status = j->out ? 200 : 500;
out:
  json_decref(by_type);
  json_decref(recent);
}

static void usage_reply(dbcall *d, http_req *r, void *arg)
{
  ujob *j = arg;
  if(j->status == 200) { http_reply_json(r, 200, j->out, NULL); j->out = NULL; }
  else http_error(r, 500, NULL, "could not read the statistics", NULL);
  dbcall_end(d);
}

static void usage_for(http_req *r, int64_t user_id)
{
  ujob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char msg[200];
  j->user_id = user_id;
  j->now = now_ms();
  if(!query_period(r, PERIOD_ALL, &j->per, msg, sizeof msg) ||
     !query_label(r, "type", j->type, sizeof j->type, msg, sizeof msg) ||
     !query_label(r, "model", j->model, sizeof j->model, msg, sizeof msg)) {
    free(j);
    http_error(r, 400, NULL, msg, NULL);
    return;
  }
  dbcall_start(r, j, ujob_free, usage_work, usage_reply);
}

void stats_usage(http_req *r)
{
  principal who = { 0 };
  if(auth_require(r->w->gw, r, &who)) usage_for(r, who.user_id);
}
void stats_user_usage(http_req *r, int64_t user_id) { usage_for(r, user_id); }

/* ---- /admin/stats ---- */

typedef struct ajob {
  int64_t now, top;
  period per;
  users *users;
  int status;
  json_t *out;
} ajob;

static void ajob_free(void *arg)
{
  ajob *j = arg;
  json_decref(j->out);
  free(j);
}

/* One breakdown entry: {requests, success, failed, refused, success_rate, tokens…, cost}. */
typedef struct tally { int64_t calls, success, refused, in, out, thinking, cached, cost_nanos; } tally;

static json_t *tally_json(const tally *t)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:o}", "requests", (json_int_t)t->calls,
                   "success", (json_int_t)t->success, "failed", (json_int_t)(t->calls - t->success),
                   "refused", (json_int_t)t->refused, "success_rate", rate(t->success, t->calls),
                   "input_tokens", (json_int_t)t->in, "output_tokens", (json_int_t)t->out,
                   "thinking_tokens", (json_int_t)t->thinking, "cached_tokens", (json_int_t)t->cached,
                   "tokens", (json_int_t)(t->in + t->out + t->thinking),
                   "cost", money_json(money_round(t->cost_nanos, 9, 6), 6));
}

typedef struct named { char dim[8], value[64]; tally t; uint64_t hash; bool used; } named;

static int by_calls(const void *a, const void *b)
{
  const named *x = a, *y = b;
  if(x->used != y->used) return x->used ? -1 : 1;
  return x->t.calls < y->t.calls ? 1 : x->t.calls > y->t.calls ? -1 : strcmp(x->value, y->value);
}

/* The (dim, value) entry of an open-addressing table of cap (a power of two) slots; *fresh
 * (if given) says whether it was just added. */
static named *slot(named *v, size_t cap, const char *dim, const char *value, bool *fresh)
{
  uint64_t h = hash64(dim, strlen(dim)) * 31 ^ hash64(value, strlen(value));
  size_t i = h & (cap - 1);
  while(v[i].used && !(v[i].hash == h && !strcmp(v[i].dim, dim) && !strcmp(v[i].value, value))) i = (i + 1) & (cap - 1);
  if(fresh) *fresh = !v[i].used;
  if(!v[i].used) {
    v[i].used = true;
    v[i].hash = h;
    snprintf(v[i].dim, sizeof v[i].dim, "%s", dim);
    snprintf(v[i].value, sizeof v[i].value, "%s", value);
  }
  return &v[i];
}

static void admin_work(store_conn *c, void *arg)
{
  ajob *j = arg;
  int64_t first = period_first_day(j->per, j->now), last = utc_day(j->now);
  if(j->per == PERIOD_ALL) first = last = -1;
  /* The days' rows, summed here: a hash beats SQL's GROUP BY (a sort) by a factor of three. */
  store_stmt *st = store_prepare(c, "SELECT dim, value, status, calls, refused, input_tokens, output_tokens,"
                                    " thinking_tokens, cached_tokens, cost_nanos FROM usage_dim"
                                    " WHERE dim IN ('all', 'model', 'user', 'key', 'type') AND day >= ? AND day <= ?");
  j->status = 500;
  if(!st) return;
  store_bind_int(st, 1, first);
  store_bind_int(st, 2, last);
  size_t cap = 4096, n = 0;
  named *v = calloc(cap, sizeof *v);
  store_rc rc = v ? STORE_DONE : STORE_ERROR;
  while(v && (rc = store_step(st)) == STORE_ROW) {
    if(n * 2 >= cap) {                                  /* grow: rehash the used slots */
      named *nv = calloc(cap * 2, sizeof *nv);
      if(!nv) { rc = STORE_ERROR; break; }
      for(size_t i = 0; i < cap; i++)
        if(v[i].used) { named *x = slot(nv, cap * 2, v[i].dim, v[i].value, NULL); x->t = v[i].t; }
      free(v);
      v = nv;
      cap *= 2;
    }
    bool fresh;
    named *x = slot(v, cap, store_col_text(st, 0), store_col_text(st, 1), &fresh);
    n += fresh;
    int64_t calls = store_col_int(st, 3);
    x->t.calls += calls;
    if(!strcmp(store_col_text(st, 2), "success")) x->t.success += calls;
    x->t.refused += store_col_int(st, 4);
    x->t.in += store_col_int(st, 5);
    x->t.out += store_col_int(st, 6);
    x->t.thinking += store_col_int(st, 7);
    x->t.cached += store_col_int(st, 8);
    x->t.cost_nanos += store_col_int(st, 9);
  }
  store_reset(st);
  if(rc != STORE_DONE) { free(v); return; }
  qsort(v, cap, sizeof *v, by_calls);
  json_t *totals = NULL, *groups[4] = { json_object(), json_object(), json_object(), json_object() };
  static const char *const dims[] = { "model", "user", "key", "type" };
  int64_t shown[4] = { 0 }, all[4] = { 0 };
  for(size_t i = 0; i < cap && v[i].used; i++) {
    if(!strcmp(v[i].dim, "all")) { totals = tally_json(&v[i].t); continue; }
    for(int d = 0; d < 4; d++) {
      if(strcmp(v[i].dim, dims[d])) continue;
      all[d]++;
      if(shown[d] >= j->top) break;
      shown[d]++;
      json_t *t = tally_json(&v[i].t);
      if(d == 1) {
        char name[64] = "static";
        int64_t uid = atoll(v[i].value);
        if(uid && !users_exists(j->users, uid, name, sizeof name)) snprintf(name, sizeof name, "(unknown)");
        json_object_set_new(t, "name", json_string(name));
      }
      json_object_set_new(groups[d], v[i].value[0] ? v[i].value : "(none)", t);
    }
  }
  free(v);
  if(!totals) totals = tally_json(&(tally){ 0 });
  j->out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:b,s:b,s:b,s:b}}", "totals", totals, "by_model", groups[0],
                     "by_user", groups[1], "by_key", groups[2], "by_type", groups[3], "truncated",
                     "by_model", all[0] > shown[0], "by_user", all[1] > shown[1], "by_key", all[2] > shown[2],
                     "by_type", all[3] > shown[3]);
  j->status = j->out ? 200 : 500;
}

static void admin_reply(dbcall *d, http_req *r, void *arg)
{
  ajob *j = arg;
  if(j->status != 200) { http_error(r, 500, NULL, "could not read the statistics", NULL); dbcall_end(d); return; }
  gateway *gw = r->w->gw;
  int64_t nusers, nenabled, nkeys;
  users_counts(gw->users, &nusers, &nenabled, &nkeys);
  json_t *keys = kp_status_keys(gw->pool, j->now);
  ledger_stats ls = { 0 };
  if(gw->ledger) ledger_get_stats(gw->ledger, &ls);
  char from[32] = "";
  if(j->per != PERIOD_ALL) utc_iso(period_first_day(j->per, j->now) * UTC_DAY_MS, from, sizeof from);
  json_t *o = j->out;
  j->out = NULL;
  json_object_set_new(o, "period", json_string(period_name(j->per)));
  json_object_set_new(o, "from", from[0] ? json_string(from) : json_null());
  json_object_set_new(o, "gemini_keys", json_integer((json_int_t)json_array_size(keys)));
  json_object_set_new(o, "active_gemini_keys", json_integer((json_int_t)kp_available(gw->pool, j->now)));
  json_object_set_new(o, "users", json_integer(nusers));
  json_object_set_new(o, "active_users", json_integer(nenabled));
  json_object_set_new(o, "user_keys", json_integer(nkeys));
  json_object_set_new(o, "usage_stats", meter_json(gw->meter, j->now));
  json_object_set_new(o, "ledger", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "recorded", (json_int_t)ls.recorded,
                                             "written", (json_int_t)ls.written, "queued", (json_int_t)ls.queued,
                                             "dropped", (json_int_t)ls.dropped, "batches", (json_int_t)ls.batches,
                                             "failed_batches", (json_int_t)ls.failed_batches));
  json_decref(keys);
  http_reply_json(r, 200, o, NULL);
  dbcall_end(d);
}

void stats_admin(http_req *r)
{
  ajob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char msg[200];
  j->now = now_ms();
  j->users = r->w->gw->users;
  if(!query_period(r, PERIOD_TODAY, &j->per, msg, sizeof msg) || !query_int(r, "top", 1, 1000, 100, &j->top, msg, sizeof msg)) {
    free(j);
    http_error(r, 400, NULL, msg, NULL);
    return;
  }
  dbcall_start(r, j, ajob_free, admin_work, admin_reply);
}
