/* admin/stats — the statistics routes: read the query string into a stats filter and answer
 * with stats/ run on the store pool. */
#ifndef GEMGATE_ADMIN_STATS_H
#define GEMGATE_ADMIN_STATS_H

#include <stdint.h>

#include "http/http.h"

/* GET /api/gemini/usage-stats?period=&type=&model= — the caller's own usage (an access key) in
 * seed 000's shape.  Static keys (user 0) share the "static" user's usage. */
void stats_route_usage(http_req *r);

/* The same answer for any user (GET /admin/users/{id}/usage-stats; the caller checked id). */
void stats_route_user_usage(http_req *r, int64_t user_id);

/* GET /admin/stats?period=&top= — seed 004's usage_stats[model].minute|hour|day (from memory),
 * and, from the rollups, totals and breakdowns per model, user, upstream key and type with
 * success rate, tokens and cost (the top N of each, by requests; N = top, default 100). */
void stats_route_admin(http_req *r);

#endif
