/* fg_quota — the rpm<N> / rpd<N> counters: generate calls per key × model, per minute and per
 * day, as Google's free-tier quotas count them.  Thread-safe. */
#ifndef FG_QUOTA_H
#define FG_QUOTA_H

#include "fg_buf.h"

/* Counts one call of key on model against rpm per minute and rpd per day (-1: no limit).
 * Returns 0 when it fits (and is counted), 1 when over the per-minute quota, 2 when over the
 * per-day one; then *retry_s is the time until the minute's window ends. */
int fg_quota_take(fg_str key, fg_str model, int rpm, int rpd, double *retry_s);
/* Forgets every counter (/_fake/reset). */
void fg_quota_reset(void);

#endif
