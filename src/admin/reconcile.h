/* reconcile — GET /admin/usage/reconcile?from=&to=: the totals recomputed from the ledger's rows,
 * compared with every rollup and with the users' quota counters in memory, to the nano-dollar. */
#ifndef GEMGATE_ADMIN_RECONCILE_H
#define GEMGATE_ADMIN_RECONCILE_H

#include "http/http.h"

/* from/to: ISO 8601 or epoch seconds, widened to whole UTC days (default: this month to today).
 * Waits (up to 10 s, on a pool thread) for the ledger's queue to be written first.  → {"from",
 * "to", "ok", "flushed", "rows", "totals": {source: sums}, "counters": {…}, "ledger": {…},
 * "mismatches": [{source, user?, field, rows, other}]}; ok is true when nothing differs.  The
 * counters are compared when the window covers this month up to today (each user's requests,
 * tokens and cost today, cost this month); calls in flight are shown, not compared (they are in
 * neither the rows nor the counters until they settle). */
void admin_usage_reconcile(http_req *r);

#endif
