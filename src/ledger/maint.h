/* maint — database maintenance (seed 004): old-row cleanup and online backup.  The routes are
 * admin/maint.c's; these run on a store pool thread. */
#ifndef GEMGATE_MAINT_H
#define GEMGATE_MAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

struct store_conn;

#define MAINT_CLEANUP_CHUNK 5000

/* Delete ledger rows created before cutoff (ms), MAINT_CLEANUP_CHUNK at a time, each chunk its
 * own transaction, so the ledger writer waits at most one chunk; rollups are kept.  *deleted:
 * rows deleted, also after a failure part way (they stay deleted).  GG_OK or GG_DB. */
gg_rc maint_cleanup(struct store_conn *c, int64_t cutoff, int64_t *deleted, gg_err *e);

/* A backup file name: letters, digits, '.', '_', '-'; no leading dot, no ".."; ends in ".db";
 * 4..100 bytes. */
bool maint_backup_name_valid(const char *s, size_t n);

/* The backup's path: name (valid, or NULL for gemgate-backup-<UTC time of now>.db) in the
 * directory of db_path.  Into out (cap bytes). */
void maint_backup_path(const char *db_path, const char *name, int64_t now, char *out, size_t cap);

/* An online, consistent copy of the database into path, never overwriting.  GG_OK with *bytes
 * (its size); GG_CONFLICT when path exists, else GG_DB; the message says why. */
gg_rc maint_backup(struct store_conn *c, const char *path, int64_t *bytes, gg_err *e);

#endif
