/* maint — the admin routes for database maintenance (ledger/maint.h). */
#ifndef GEMGATE_ADMIN_MAINT_H
#define GEMGATE_ADMIN_MAINT_H

#include "http/http.h"

/* POST /admin/maintenance/cleanup {"days":30} — deletes ledger rows older than that many days
 * (1..36500); rollups are kept.  → {"status", "deleted": N, "before": ISO time}. */
void admin_maint_cleanup(http_req *r);

/* POST /admin/maintenance/backup {"name"?} — an online, consistent copy of the database into
 * the database's own directory, named <name> (letters, digits, . _ -, ending in .db) or
 * gemgate-backup-<UTC time>.db.  Never overwrites (409).  → {"status", "path", "bytes"}. */
void admin_maint_backup(http_req *r);

#endif
