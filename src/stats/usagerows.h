/* usagerows — ledger rows themselves: the admin's filtered, paged listing and the CSV exports
 * (the admin's, and each user's own).  Filters are bound as parameters, never spliced into SQL.
 * Exports are streamed in pages of USAGEROWS_PAGE rows, one store job per page, waiting for the
 * client to read when its buffer is full: memory stays bounded whatever the export's size. */
#ifndef GEMGATE_USAGEROWS_H
#define GEMGATE_USAGEROWS_H

#include "http/auth.h"
#include "http/http.h"

#define USAGEROWS_PAGE 2000

/* GET /admin/usage?user=&key=&upstream_key=&model=&type=&status=&from=&to=&limit=&offset=&cursor=
 * → {"rows":[…], "limit", "offset", "next_cursor"}; newest first.  key = access key id;
 * status = success|failed; from/to = ISO 8601 or epoch seconds (from inclusive, to exclusive);
 * limit 1..1000 (50); offset ≤ 100000; cursor = the previous answer's next_cursor. */
void usagerows_list(http_req *r);

/* GET /admin/usage/export?format=csv&… the same filters (and period=), oldest first, as CSV. */
void usagerows_export_admin(http_req *r);

/* GET /api/usage/export?format=csv&period=&type=&model= — the caller's own rows as CSV. */
void usagerows_export_mine(http_req *r);

#endif
