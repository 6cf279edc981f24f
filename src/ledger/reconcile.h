/* reconcile — the ledger's totals recomputed from its rows, beside what its rollups say, for
 * whole UTC days: the check that every statistic and every quota counter is the sum of the rows
 * (GET /admin/usage/reconcile compares them, and with the users' counters in memory).
 *
 * Runs on a store connection (a pool thread); it reads, never writes.  Sums saturate. */
#ifndef GEMGATE_RECONCILE_H
#define GEMGATE_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

struct store_conn;

/* What a rollup row carries, summed. */
typedef struct recon_sum { int64_t calls, refused, in, out, thinking, cached, bill_e4, cost_nanos; } recon_sum;

/* The sources compared, in this order. */
enum { RECON_ROWS, RECON_HOURLY, RECON_DAILY, RECON_DIM_USER, RECON_NSRC };
extern const char *const recon_source_names[RECON_NSRC];   /* "rows", "usage_hourly", … */

typedef struct recon_user {
  int64_t user_id;
  recon_sum s[RECON_NSRC];    /* over the window, by source */
  recon_sum today, month;     /* from the rows: the day and month of `now` (when in the window) */
} recon_user;

typedef struct recon {
  int64_t from, to;           /* ms; whole UTC days: from inclusive, to exclusive */
  recon_sum total[RECON_NSRC + 1];   /* … and usage_dim's "all" at [RECON_NSRC] */
  recon_user *users;          /* sorted by user_id */
  size_t nusers;
  int64_t rows_seen;
  int64_t rejects;            /* rows of the window in ledger_rejects: in no sum (not ledger rows) */
} recon;

/* The window [from, to) widened to whole UTC days; the sums of the rows and of each rollup over
 * it, in total and per user; and, from the rows, each user's totals for the day and the month of
 * now.  GG_OK (free with recon_free), GG_NOMEM or GG_DB with a message. */
gg_rc ledger_reconcile(struct store_conn *c, int64_t from, int64_t to, int64_t now, recon *out, gg_err *e);
void recon_free(recon *r);

/* The user's entry in r, or NULL. */
const recon_user *recon_find(const recon *r, int64_t user_id);

#endif
