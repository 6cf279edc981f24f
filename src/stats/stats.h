/* stats — usage statistics read from the rollups, never by scanning rows (except the 10 newest
 * rows of seed 000's recent_usage, an index seek).  Periods are UTC calendar days: today; week
 * = the last 7 days including today; month = the last 30; all.  The queries run on the store
 * pool; the answers go back on the caller's loop. */
#ifndef GEMGATE_STATS_H
#define GEMGATE_STATS_H

#include <stdint.h>

#include "http/auth.h"
#include "http/http.h"

/* GET /api/gemini/usage-stats?period=&type=&model= — the caller's own usage in exactly seed
 * 000's shape.  Static keys (user 0) share the "static" user's usage. */
void stats_usage(http_req *r);

/* The same answer for any user (GET /admin/users/{id}/usage-stats). */
void stats_user_usage(http_req *r, int64_t user_id);

/* GET /admin/stats?period=&top= — seed 004's usage_stats[model].minute|hour|day (from memory),
 * and, from the rollups, totals and breakdowns per model, user, upstream key and type with
 * success rate, tokens and cost (the top N of each, by requests; N = top, default 100). */
void stats_admin(http_req *r);

#endif
