/* series — usage over time; contract in series.h. */
#include "stats/series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utc.h"

#define MAX_STEPS 60

typedef struct line { char name[64]; double v[4][MAX_STEPS]; double total; } line;   /* requests, success, tokens, cost */
typedef struct group { line *v; size_t n, cap; } group;

static line *group_get(group *g, const char *name)
{
  for(size_t i = 0; i < g->n; i++)
    if(!strcmp(g->v[i].name, name)) return &g->v[i];
  if(g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 8;
    line *v = realloc(g->v, cap * sizeof *v);
    if(!v) return NULL;
    g->v = v;
    g->cap = cap;
  }
  line *l = &g->v[g->n++];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  return l;
}

static void add(line *l, int step, const double m[4])
{
  if(!l) return;
  for(int k = 0; k < 4; k++) l->v[k][step] += m[k];
  l->total += m[0];
}

static int by_total(const void *a, const void *b)
{
  double x = ((const line *)a)->total, y = ((const line *)b)->total;
  return x < y ? 1 : x > y ? -1 : strcmp(((const line *)a)->name, ((const line *)b)->name);
}

static json_t *line_json(const line *l, int steps)
{
  static const char *const keys[] = { "requests", "success", "tokens", "cost" };
  json_t *o = json_object();
  for(int k = 0; k < 4; k++) {
    json_t *a = json_array();
    for(int s = 0; s < steps; s++) json_array_append_new(a, k == 3 ? json_real(l->v[k][s]) : json_integer((json_int_t)l->v[k][s]));
    json_object_set_new(o, keys[k], a);
  }
  return o;
}

/* The top SERIES_TOP lines by requests, the rest summed as "other". */
static json_t *group_json(group *g, int steps)
{
  qsort(g->v, g->n, sizeof *g->v, by_total);
  json_t *o = json_object();
  line other;
  memset(&other, 0, sizeof other);
  for(size_t i = 0; i < g->n; i++) {
    if(i < SERIES_TOP) { json_object_set_new(o, g->v[i].name, line_json(&g->v[i], steps)); continue; }
    for(int k = 0; k < 4; k++) for(int s = 0; s < steps; s++) other.v[k][s] += g->v[i].v[k][s];
  }
  if(g->n > SERIES_TOP) json_object_set_new(o, "other", line_json(&other, steps));
  return o;
}

gg_rc series_get(store_conn *c, series_range range, int64_t now, json_t **out, gg_err *e)
{
  static const char *const sql[] = {
    "SELECT created_at / 60000, model_name, user_id, COUNT(*), SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END),"
    " SUM(input_tokens + output_tokens + thinking_tokens), SUM(cost_nanos) FROM ledger WHERE created_at >= ?"
    " GROUP BY 1, 2, 3",
    "SELECT hour, model_name, user_id, SUM(calls), SUM(CASE WHEN status = 'success' THEN calls ELSE 0 END),"
    " SUM(input_tokens + output_tokens + thinking_tokens), SUM(cost_nanos) FROM usage_hourly WHERE hour >= ?"
    " GROUP BY 1, 2, 3",
    "SELECT day, model_name, user_id, SUM(calls), SUM(CASE WHEN status = 'success' THEN calls ELSE 0 END),"
    " SUM(input_tokens + output_tokens + thinking_tokens), SUM(cost_nanos) FROM usage_daily WHERE day >= ?"
    " GROUP BY 1, 2, 3",
  };
  static const int64_t step_ms[] = { 60000, UTC_HOUR_MS, UTC_DAY_MS };
  static const int nsteps[] = { 60, 24, 30 };
  static const char *const names[] = { "hour", "day", "month" };
  int steps = nsteps[range];
  int64_t step = step_ms[range], last = now / step, first = last - steps + 1;
  store_stmt *st = store_prepare(c, sql[range]);
  if(!st) return gg_fail(e, GG_DB, "could not read the ledger");
  store_bind_int(st, 1, range == SERIES_HOUR ? first * step : first);
  line *total = calloc(1, sizeof *total);
  group models = { 0 }, users = { 0 };
  store_rc rc = STORE_DONE;
  while(total && (rc = store_step(st)) == STORE_ROW) {
    int64_t t = store_col_int(st, 0);
    if(t < first || t > last) continue;
    const char *model = store_col_text(st, 1);
    char uid[24];
    int64_t u = store_col_int(st, 2);
    if(u) snprintf(uid, sizeof uid, "%lld", (long long)u); else snprintf(uid, sizeof uid, "static");
    double m[4] = { (double)store_col_int(st, 3), (double)store_col_int(st, 4), (double)store_col_int(st, 5),
                    (double)store_col_int(st, 6) / 1e9 };
    int s = (int)(t - first);
    add(total, s, m);
    add(group_get(&models, model && *model ? model : "-"), s, m);
    add(group_get(&users, uid), s, m);
  }
  store_reset(st);
  gg_rc res = GG_OK;
  if(!total) res = gg_fail(e, GG_NOMEM, "out of memory");
  else if(rc != STORE_DONE) res = gg_fail(e, GG_DB, "could not read the ledger");
  else {
    json_t *o = json_pack("{s:s,s:I,s:I,s:i}", "range", names[range], "step_seconds", (json_int_t)(step / 1000),
                          "start", (json_int_t)(first * step), "steps", steps);
    json_object_set_new(o, "total", line_json(total, steps));
    json_object_set_new(o, "by_model", group_json(&models, steps));
    json_object_set_new(o, "by_user", group_json(&users, steps));
    *out = o;
  }
  free(total);
  free(models.v);
  free(users.v);
  return res;
}
