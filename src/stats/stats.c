/* stats — statistics from the rollups; contract in stats.h. */
#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/money.h"
#include "base/utc.h"
#include "base/util.h"

/* success_rate as seed 000 gives it: a percentage with two decimals (93.33). */
static json_t *rate(int64_t success, int64_t total)
{
  int64_t e2 = total ? (success * 10000 + total / 2) / total : 0;
  return json_real((double)e2 / 100.0);
}

/* ---- seed 000: one user's usage ---- */

/* Adds n calls of type (success or not) to by_type and the totals, when they pass the type
 * filter; a type never seen before still gets its key. */
static void count_type(json_t *by_type, const char *type, int64_t n, bool ok, bool counts, int64_t *total, int64_t *success)
{
  char k[64];
  snprintf(k, sizeof k, "%s_count", type);
  json_t *cur = json_object_get(by_type, k);
  if(!cur) json_object_set_new(by_type, k, cur = json_integer(0));
  if(!counts) return;
  json_integer_set(cur, i64_add(json_integer_value(cur), n));
  *total = i64_add(*total, n);
  if(ok) *success = i64_add(*success, n);
}

gg_rc stats_user(store_conn *c, const stats_user_filter *f, json_t **out, gg_err *e)
{
  int64_t first = period_first_day(f->per, f->now);
  json_t *by_type = json_object(), *recent = json_array();
  int64_t total = 0, success = 0;
  store_rc rc;
  gg_rc res = GG_DB;

  /* Every type the user has ever used ("<user>:<type>" rows of all time), so by_type names them
   * all; for period=all without a model filter these rows are the whole answer. */
  char lo[32], hi[32], sql[512];
  snprintf(lo, sizeof lo, "%lld:", (long long)f->user_id);
  snprintf(hi, sizeof hi, "%lld;", (long long)f->user_id);     /* ';' follows ':' */
  bool all_time = f->per == PERIOD_ALL && !f->model[0];
  store_stmt *st = store_prepare(c, "SELECT value, status, calls FROM usage_dim WHERE dim = 'utype' AND day = -1"
                                    " AND value > ? AND value < ?");
  if(!st) goto out;
  store_bind_text(st, 1, lo);
  store_bind_text(st, 2, hi);
  while((rc = store_step(st)) == STORE_ROW) {
    const char *type = store_col_text(st, 0) + strlen(lo);
    count_type(by_type, type, store_col_int(st, 2), !strcmp(store_col_text(st, 1), "success"),
               all_time && (!f->type[0] || !strcmp(type, f->type)), &total, &success);
  }
  store_reset(st);
  if(rc != STORE_DONE) goto out;

  if(!all_time) {                /* the period's days of the per-user daily rollup */
    snprintf(sql, sizeof sql, "SELECT generation_type, status, calls FROM usage_daily WHERE user_id = ? AND day >= ?%s%s",
             f->type[0] ? " AND generation_type = ?" : "", f->model[0] ? " AND model_name = ?" : "");
    if(!(st = store_prepare(c, sql))) goto out;
    int i = 1;
    store_bind_int(st, i++, f->user_id);
    store_bind_int(st, i++, first);
    if(f->type[0]) store_bind_text(st, i++, f->type);
    if(f->model[0]) store_bind_text(st, i++, f->model);
    while((rc = store_step(st)) == STORE_ROW)
      count_type(by_type, store_col_text(st, 0), store_col_int(st, 2), !strcmp(store_col_text(st, 1), "success"), true,
                 &total, &success);
    store_reset(st);
    if(rc != STORE_DONE) goto out;
  }

  snprintf(sql, sizeof sql, "SELECT id, generation_type, prompt, status, error_message, created_at FROM ledger"
           " WHERE user_id = ? AND created_at >= ?%s%s ORDER BY created_at DESC, id DESC LIMIT 10",
           f->type[0] ? " AND generation_type = ?" : "", f->model[0] ? " AND model_name = ?" : "");
  if(!(st = store_prepare(c, sql))) goto out;
  int i = 1;
  store_bind_int(st, i++, f->user_id);
  store_bind_int(st, i++, first == INT64_MIN ? INT64_MIN : first * UTC_DAY_MS);
  if(f->type[0]) store_bind_text(st, i++, f->type);
  if(f->model[0]) store_bind_text(st, i++, f->model);
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
  *out = json_pack("{s:s,s:{s:s,s:I,s:I,s:I,s:o,s:O,s:O}}", "status", "success", "data",
                   "period", period_name(f->per), "total_count", (json_int_t)total, "success_count", (json_int_t)success,
                   "failed_count", (json_int_t)(total - success), "success_rate", rate(success, total),
                   "by_type", by_type, "recent_usage", recent);
  res = *out ? GG_OK : GG_NOMEM;
out:
  json_decref(by_type);
  json_decref(recent);
  return res == GG_DB ? gg_fail(e, GG_DB, "could not read the statistics") : res;
}

/* ---- the whole gateway: GET /admin/stats ---- */

/* One breakdown entry: {requests, success, failed, refused, success_rate, tokens…, cost}. */
typedef struct tally { int64_t calls, success, refused, in, out, thinking, cached, cost_nanos; } tally;

static json_t *tally_json(const tally *t)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:o}", "requests", (json_int_t)t->calls,
                   "success", (json_int_t)t->success, "failed", (json_int_t)(t->calls - t->success),
                   "refused", (json_int_t)t->refused, "success_rate", rate(t->success, t->calls),
                   "input_tokens", (json_int_t)t->in, "output_tokens", (json_int_t)t->out,
                   "thinking_tokens", (json_int_t)t->thinking, "cached_tokens", (json_int_t)t->cached,
                   "tokens", (json_int_t)i64_add(i64_add(t->in, t->out), t->thinking),
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

gg_rc stats_totals(store_conn *c, users *u, const stats_totals_filter *f, json_t **out, gg_err *e)
{
  int64_t first = period_first_day(f->per, f->now), last = utc_day(f->now);
  if(f->per == PERIOD_ALL) first = last = -1;
  /* The days' rows, summed here: a hash beats SQL's GROUP BY (a sort) by a factor of three. */
  store_stmt *st = store_prepare(c, "SELECT dim, value, status, calls, refused, input_tokens, output_tokens,"
                                    " thinking_tokens, cached_tokens, cost_nanos FROM usage_dim"
                                    " WHERE dim IN ('all', 'model', 'user', 'key', 'type') AND day >= ? AND day <= ?");
  if(!st) return gg_fail(e, GG_DB, "could not read the statistics");
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
    x->t.calls = i64_add(x->t.calls, calls);
    if(!strcmp(store_col_text(st, 2), "success")) x->t.success = i64_add(x->t.success, calls);
    x->t.refused = i64_add(x->t.refused, store_col_int(st, 4));
    x->t.in = i64_add(x->t.in, store_col_int(st, 5));
    x->t.out = i64_add(x->t.out, store_col_int(st, 6));
    x->t.thinking = i64_add(x->t.thinking, store_col_int(st, 7));
    x->t.cached = i64_add(x->t.cached, store_col_int(st, 8));
    x->t.cost_nanos = i64_add(x->t.cost_nanos, store_col_int(st, 9));
  }
  store_reset(st);
  if(rc != STORE_DONE) { free(v); return gg_fail(e, GG_DB, "could not read the statistics"); }
  qsort(v, cap, sizeof *v, by_calls);
  json_t *totals = NULL, *groups[4] = { json_object(), json_object(), json_object(), json_object() };
  static const char *const dims[] = { "model", "user", "key", "type" };
  int64_t shown[4] = { 0 }, all[4] = { 0 };
  for(size_t i = 0; i < cap && v[i].used; i++) {
    if(!strcmp(v[i].dim, "all")) { totals = tally_json(&v[i].t); continue; }
    for(int d = 0; d < 4; d++) {
      if(strcmp(v[i].dim, dims[d])) continue;
      all[d]++;
      if(shown[d] >= f->top) break;
      shown[d]++;
      json_t *t = tally_json(&v[i].t);
      if(d == 1) {
        char name[64] = "static";
        int64_t uid = atoll(v[i].value);
        if(uid && !users_exists(u, uid, name, sizeof name)) snprintf(name, sizeof name, "(unknown)");
        json_object_set_new(t, "name", json_string(name));
      }
      json_object_set_new(groups[d], v[i].value[0] ? v[i].value : "(none)", t);
    }
  }
  free(v);
  if(!totals) totals = tally_json(&(tally){ 0 });
  char from[32] = "";
  if(f->per != PERIOD_ALL) utc_iso(period_first_day(f->per, f->now) * UTC_DAY_MS, from, sizeof from);
  *out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:b,s:b,s:b,s:b},s:s,s:s?}", "totals", totals, "by_model", groups[0],
                   "by_user", groups[1], "by_key", groups[2], "by_type", groups[3], "truncated",
                   "by_model", all[0] > shown[0], "by_user", all[1] > shown[1], "by_key", all[2] > shown[2],
                   "by_type", all[3] > shown[3], "period", period_name(f->per), "from", from[0] ? from : NULL);
  return *out ? GG_OK : GG_NOMEM;
}
