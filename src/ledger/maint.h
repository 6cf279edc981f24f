/* maint — database maintenance routes (seed 004): old-row cleanup and online backup; and, only
 * when GEMGATE_TEST_HOOKS=1 is in the environment, a test hook that records ledger rows
 * directly (for tests of the statistics before any upstream is involved). */
#ifndef GEMGATE_MAINT_H
#define GEMGATE_MAINT_H

#include "http/http.h"

/* POST /admin/maintenance/cleanup {"days":30} — deletes ledger rows older than that many days
 * (1..36500), in chunks so the ledger writer is never held up long; rollups are kept.
 * → {"deleted": N, "before": ISO time}. */
void maint_cleanup(http_req *r);

/* POST /admin/maintenance/backup {"name"?} — an online, consistent copy of the database into
 * the database's own directory, named <name> (letters, digits, . _ -, ending in .db) or
 * gemgate-backup-<UTC time>.db.  Never overwrites.  → {"path", "bytes"}. */
void maint_backup(http_req *r);

/* POST /admin/test/ledger {"rows":[{user_id, access_key_id, model, gen_type, endpoint, success,
 * http_status, error, in_tokens, out_tokens, thinking_tokens, cached_tokens, prompt, ip,
 * upstream_key, stream, refused, created_ms}…], "flush": true} — 404 unless GEMGATE_TEST_HOOKS=1. */
void maint_test_ledger(http_req *r);

#endif
