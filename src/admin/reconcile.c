/* reconcile — the reconciliation route; contract in reconcile.h. */
#include "admin/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/money.h"
#include "base/utc.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "ledger/reconcile.h"
#include "store/query.h"
#include "users/users.h"

#define MAX_MISMATCHES 100

typedef struct job {
  ledger *l;
  users *u;
  int64_t from, to, now;
} job;

static const char *const FIELDS[] = { "calls", "refused", "input_tokens", "output_tokens", "thinking_tokens",
                                      "cached_tokens", "bill", "cost" };

static void fields(const recon_sum *s, int64_t v[8])
{
  const int64_t x[8] = { s->calls, s->refused, s->in, s->out, s->thinking, s->cached, s->bill_e4, s->cost_nanos };
  memcpy(v, x, sizeof x);
}

static json_t *value(int k, int64_t v)
{
  return k == 6 ? money_json(v, 4) : k == 7 ? money_json(v, 9) : json_integer(v);
}

static json_t *sum_json(const recon_sum *s)
{
  int64_t v[8];
  fields(s, v);
  json_t *o = json_object();
  for(int k = 0; k < 8; k++) json_object_set_new(o, FIELDS[k], value(k, v[k]));
  return o;
}

/* Every field of other against the rows' (per user when user ≥ 0), onto the list. */
static void compare(json_t *list, const char *source, int64_t user, const recon_sum *rows, const recon_sum *other)
{
  int64_t a[8], b[8];
  fields(rows, a);
  fields(other, b);
  for(int k = 0; k < 8; k++) {
    if(a[k] == b[k] || json_array_size(list) >= MAX_MISMATCHES) continue;
    json_t *m = json_pack("{s:s,s:s,s:o,s:o}", "source", source, "field", FIELDS[k], "rows", value(k, a[k]),
                          "other", value(k, b[k]));
    if(user >= 0) json_object_set_new(m, "user", json_integer(user));
    json_array_append_new(list, m);
  }
}

static void compare_one(json_t *list, const char *what, int64_t user, int64_t rows, int64_t memory, int k)
{
  if(rows == memory || json_array_size(list) >= MAX_MISMATCHES) return;
  json_array_append_new(list, json_pack("{s:s,s:I,s:s,s:o,s:o}", "source", what, "user", (json_int_t)user,
                                        "field", FIELDS[k], "rows", value(k, rows), "other", value(k, memory)));
}

/* The users' counters in memory against the rows of today and this month. */
static json_t *counters(job *j, const recon *r, json_t *mismatches)
{
  int64_t today = utc_day(j->now), month0 = utc_month_start(j->now);
  if(r->from > month0 || r->to <= j->now)
    return json_pack("{s:b,s:s}", "compared", 0, "why", "the window does not cover this month up to today");
  size_t n;
  int64_t *ids = users_ids(j->u, &n);
  int64_t rows_t[3] = { 0 }, mem_t[3] = { 0 }, rows_m = 0, mem_m = 0, flight = 0, reserved = 0;
  for(size_t i = 0; i < n; i++) {
    users_counters k;
    if(!users_counters_of(j->u, ids[i], j->now, &k)) continue;
    const recon_user *ru = recon_find(r, ids[i]);
    recon_sum zero = { 0 }, td = ru ? ru->today : zero, mo = ru ? ru->month : zero;
    int64_t req = td.calls - td.refused, tok = i64_add(i64_add(td.in, td.out), td.thinking);
    if(k.day != today) k.day_requests = k.day_tokens = k.day_cost = 0;
    compare_one(mismatches, "memory(today)", ids[i], req, k.day_requests, 0);
    compare_one(mismatches, "memory(today)", ids[i], tok, k.day_tokens, 2);
    compare_one(mismatches, "memory(today)", ids[i], td.cost_nanos, k.day_cost, 7);
    compare_one(mismatches, "memory(month)", ids[i], mo.cost_nanos, k.month_cost, 7);
    rows_t[0] = i64_add(rows_t[0], req);
    rows_t[1] = i64_add(rows_t[1], tok);
    rows_t[2] = i64_add(rows_t[2], td.cost_nanos);
    mem_t[0] = i64_add(mem_t[0], k.day_requests);
    mem_t[1] = i64_add(mem_t[1], k.day_tokens);
    mem_t[2] = i64_add(mem_t[2], k.day_cost);
    rows_m = i64_add(rows_m, mo.cost_nanos);
    mem_m = i64_add(mem_m, k.month_cost);
    flight += k.in_flight;
    reserved = i64_add(reserved, k.reserved);
  }
  free(ids);
  char day[32];
  utc_iso(today * UTC_DAY_MS, day, sizeof day);
  day[10] = '\0';
  return json_pack("{s:b,s:s,s:I,s:{s:I,s:I,s:o},s:{s:I,s:I,s:o},s:o,s:o,s:I,s:o}", "compared", 1, "day", day,
                   "users", (json_int_t)n, "rows_today", "requests", (json_int_t)rows_t[0], "tokens", (json_int_t)rows_t[1],
                   "cost", money_json(rows_t[2], 9), "memory_today", "requests", (json_int_t)mem_t[0],
                   "tokens", (json_int_t)mem_t[1], "cost", money_json(mem_t[2], 9), "rows_month_cost", money_json(rows_m, 9),
                   "memory_month_cost", money_json(mem_m, 9), "in_flight", (json_int_t)flight,
                   "reserved", money_json(reserved, 9));
}

static gg_rc work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  job *j = arg;
  bool flushed = j->l ? ledger_flush(j->l, 10000) : true;   /* every row recorded so far, written and accounted */
  recon r;
  gg_rc rc = ledger_reconcile(c, j->from, j->to, j->now, &r, e);
  if(rc) return rc;
  json_t *mismatches = json_array(), *totals = json_object();
  for(int s = 0; s < RECON_NSRC; s++) json_object_set_new(totals, recon_source_names[s], sum_json(&r.total[s]));
  json_object_set_new(totals, "usage_dim(all)", sum_json(&r.total[RECON_NSRC]));
  for(int s = 1; s < RECON_NSRC; s++) compare(mismatches, recon_source_names[s], -1, &r.total[RECON_ROWS], &r.total[s]);
  compare(mismatches, "usage_dim(all)", -1, &r.total[RECON_ROWS], &r.total[RECON_NSRC]);
  for(size_t i = 0; i < r.nusers; i++)
    for(int s = 1; s < RECON_NSRC; s++)
      compare(mismatches, recon_source_names[s], r.users[i].user_id, &r.users[i].s[RECON_ROWS], &r.users[i].s[s]);
  json_t *cn = j->u ? counters(j, &r, mismatches) : json_pack("{s:b,s:s}", "compared", 0, "why", "no users");
  ledger_stats ls = { 0 };
  if(j->l) ledger_get_stats(j->l, &ls);
  char from[32], to[32];
  utc_iso(r.from, from, sizeof from);
  utc_iso(r.to, to, sizeof to);
  bool ok = flushed && !json_array_size(mismatches);
  *out = json_pack("{s:s,s:s,s:b,s:b,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:o}", "from", from, "to", to, "ok", ok,
                   "flushed", flushed, "rows", (json_int_t)r.rows_seen, "rejects", (json_int_t)r.rejects, "totals", totals,
                   "counters", cn, "ledger", "recorded", (json_int_t)ls.recorded, "written", (json_int_t)ls.written,
                   "dropped", (json_int_t)ls.dropped, "rejected", (json_int_t)ls.rejected,
                   "queued", (json_int_t)ls.queued, "mismatches", mismatches);
  recon_free(&r);
  return *out ? GG_OK : GG_NOMEM;
}

void admin_usage_reconcile(http_req *r)
{
  gateway *gw = r->w->gw;
  job *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  j->l = gw->ledger;
  j->u = gw->users;
  j->now = now_ms();
  bool has_from, has_to;
  gg_err e;
  gg_rc rc;
  if((rc = query_time(r->query, "from", &j->from, &has_from, &e)) || (rc = query_time(r->query, "to", &j->to, &has_to, &e))) {
    free(j);
    http_error_rc(r, rc, e.msg);
    return;
  }
  if(!has_from) j->from = utc_month_start(j->now);
  if(!has_to) j->to = j->now + 1;
  if(j->from >= j->to) { free(j); http_error(r, 400, NULL, "from must be before to", NULL); return; }
  if(j->to - j->from > 36600 * UTC_DAY_MS) { free(j); http_error(r, 400, NULL, "a window of at most 36600 days", NULL); return; }
  dbcall_json(r, j, free, work, 200);
}
