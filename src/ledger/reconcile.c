/* reconcile — rows against rollups; contract in reconcile.h. */
#include "ledger/reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "base/utc.h"
#include "base/util.h"
#include "store/store.h"

const char *const recon_source_names[RECON_NSRC] = { "rows", "usage_hourly", "usage_daily", "usage_dim(user)" };

#define COLS "calls, refused, input_tokens, output_tokens, thinking_tokens, cached_tokens, bill_e4, cost_nanos"

static void add(recon_sum *s, store_stmt *st, int col)
{
  int64_t *f[] = { &s->calls, &s->refused, &s->in, &s->out, &s->thinking, &s->cached, &s->bill_e4, &s->cost_nanos };
  for(int k = 0; k < 8; k++) *f[k] = i64_add(*f[k], store_col_int(st, col + k));
}

/* The user's entry, added in order when new; NULL when out of memory.  Users are few next to
 * rows, and rows come grouped by nothing: a binary search per row. */
static recon_user *user_of(recon *r, int64_t id, size_t *cap)
{
  size_t lo = 0, hi = r->nusers;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(r->users[mid].user_id == id) return &r->users[mid];
    if(r->users[mid].user_id < id) lo = mid + 1; else hi = mid;
  }
  if(r->nusers == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    recon_user *nv = realloc(r->users, nc * sizeof *nv);
    if(!nv) return NULL;
    r->users = nv;
    *cap = nc;
  }
  memmove(&r->users[lo + 1], &r->users[lo], (r->nusers - lo) * sizeof *r->users);
  r->nusers++;
  r->users[lo] = (recon_user){ .user_id = id };
  return &r->users[lo];
}

/* Adds every row of sql (bound to a, b: user first, then the COLS) to source src. */
static int scan(store_conn *c, recon *r, size_t *cap, int src, const char *sql, int64_t a, int64_t b)
{
  store_stmt *st = store_prepare(c, sql);
  if(!st) return -1;
  store_bind_int(st, 1, a);
  store_bind_int(st, 2, b);
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    add(&r->total[src], st, 1);
    if(src == RECON_NSRC) continue;                  /* usage_dim "all": totals only */
    recon_user *u = user_of(r, store_col_int(st, 0), cap);
    if(!u) { rc = STORE_ERROR; break; }
    add(&u->s[src], st, 1);
  }
  store_reset(st);
  return rc == STORE_DONE ? 0 : -1;
}

gg_rc ledger_reconcile(store_conn *c, int64_t from, int64_t to, int64_t now, recon *out, gg_err *e)
{
  memset(out, 0, sizeof *out);
  int64_t d0 = utc_day(from), d1 = utc_day(to - 1) + 1;   /* whole days */
  out->from = d0 * UTC_DAY_MS;
  out->to = d1 * UTC_DAY_MS;
  int64_t today = utc_day(now), month0 = utc_month_start(now);
  size_t cap = 0;
  /* The rows, one by one (the index on created_at), each also into its user's day and month. */
  store_stmt *st = store_prepare(c, "SELECT user_id, 1, refused, input_tokens, output_tokens, thinking_tokens,"
                                    " cached_tokens, bill_e4, cost_nanos, created_at FROM ledger"
                                    " WHERE created_at >= ? AND created_at < ?");
  if(!st) return gg_fail(e, GG_DB, "could not read the ledger");
  store_bind_int(st, 1, out->from);
  store_bind_int(st, 2, out->to);
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    recon_user *u = user_of(out, store_col_int(st, 0), &cap);
    if(!u) { rc = STORE_ERROR; break; }
    recon_sum one = { 0 };                           /* a row is one call; refused is its flag */
    add(&one, st, 1);
    recon_sum *to_add[] = { &out->total[RECON_ROWS], &u->s[RECON_ROWS], NULL, NULL };
    int64_t t = store_col_int(st, 9);
    if(utc_day(t) == today) to_add[2] = &u->today;
    if(t >= month0 && utc_day(t) <= today) to_add[3] = &u->month;
    for(int k = 0; k < 4; k++) {
      recon_sum *s = to_add[k];
      if(!s) continue;
      int64_t *f[] = { &s->calls, &s->refused, &s->in, &s->out, &s->thinking, &s->cached, &s->bill_e4, &s->cost_nanos };
      const int64_t v[] = { one.calls, one.refused, one.in, one.out, one.thinking, one.cached, one.bill_e4, one.cost_nanos };
      for(int i = 0; i < 8; i++) *f[i] = i64_add(*f[i], v[i]);
    }
    out->rows_seen++;
  }
  store_reset(st);
  if(rc == STORE_DONE && (st = store_prepare(c, "SELECT COUNT(*) FROM ledger_rejects WHERE created_at >= ? AND created_at < ?"))) {
    store_bind_int(st, 1, out->from);
    store_bind_int(st, 2, out->to);
    rc = store_step(st) == STORE_ROW ? STORE_DONE : STORE_ERROR;
    out->rejects = store_col_int(st, 0);
    store_reset(st);
  } else if(rc == STORE_DONE) {
    rc = STORE_ERROR;
  }
  if(rc != STORE_DONE ||
     scan(c, out, &cap, RECON_HOURLY, "SELECT user_id, " COLS " FROM usage_hourly WHERE hour >= ? AND hour < ?",
          d0 * 24, d1 * 24) ||
     scan(c, out, &cap, RECON_DAILY, "SELECT user_id, " COLS " FROM usage_daily WHERE day >= ? AND day < ?", d0, d1) ||
     scan(c, out, &cap, RECON_DIM_USER, "SELECT CAST(value AS INTEGER), " COLS " FROM usage_dim"
          " WHERE dim = 'user' AND day >= ? AND day < ?", d0, d1) ||
     scan(c, out, &cap, RECON_NSRC, "SELECT 0, " COLS " FROM usage_dim WHERE dim = 'all' AND day >= ? AND day < ?", d0, d1)) {
    recon_free(out);
    return gg_fail(e, GG_DB, "could not read the ledger and its rollups");
  }
  return GG_OK;
}

void recon_free(recon *r)
{
  free(r->users);
  r->users = NULL;
  r->nusers = 0;
}

const recon_user *recon_find(const recon *r, int64_t user_id)
{
  size_t lo = 0, hi = r->nusers;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(r->users[mid].user_id == user_id) return &r->users[mid];
    if(r->users[mid].user_id < user_id) lo = mid + 1; else hi = mid;
  }
  return NULL;
}
