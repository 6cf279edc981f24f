/* admin/usage — the ledger-row routes: read the query string into a usagerows filter, answer
 * the listing as one JSON job, and stream the CSV exports page by page. */
#ifndef GEMGATE_ADMIN_USAGE_H
#define GEMGATE_ADMIN_USAGE_H

#include "http/http.h"

/* GET /admin/usage?user=&key=&upstream_key=&model=&type=&status=&from=&to=&limit=&offset=&cursor=
 * → {"rows":[…], "limit", "offset", "next_cursor"}; newest first.  key = access key id;
 * status = success|failed; from/to = ISO 8601 or epoch seconds (from inclusive, to exclusive);
 * limit 1..1000 (50); offset ≤ 100000; cursor = the previous answer's next_cursor. */
void usage_route_list(http_req *r);

/* GET /admin/usage/export?format=csv&… the same filters (and period=), oldest first, as CSV. */
void usage_route_export(http_req *r);

/* GET /api/usage/export?format=csv&period=&type=&model= — the caller's own rows as CSV. */
void usage_route_export_mine(http_req *r);

#endif
