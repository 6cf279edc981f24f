/* maint — cleanup and backup; contract in maint.h. */
#include "ledger/maint.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/utc.h"
#include "store/store.h"

gg_rc maint_cleanup(struct store_conn *c, int64_t cutoff, int64_t *deleted, gg_err *e)
{
  *deleted = 0;
  for(;;) {
    int64_t n = store_do(c, "DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE created_at < ? LIMIT ?)",
                         "ii", cutoff, (int64_t)MAINT_CLEANUP_CHUNK);
    if(n < 0) return gg_fail(e, GG_DB, "cleanup failed part way (rows deleted so far stay deleted)");
    *deleted += n;
    if(n < MAINT_CLEANUP_CHUNK) return GG_OK;
  }
}

bool maint_backup_name_valid(const char *s, size_t n)
{
  if(n < 4 || n > 100 || s[0] == '.' || strcmp(s + n - 3, ".db")) return false;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return !strstr(s, "..");
}

void maint_backup_path(const char *db_path, const char *name, int64_t now, char *out, size_t cap)
{
  char file[128], dir[1024];
  if(name) snprintf(file, sizeof file, "%s", name);
  else {
    char when[32];
    utc_iso(now, when, sizeof when);
    for(char *p = when; *p; p++) if(*p == ':') *p = '-';
    snprintf(file, sizeof file, "gemgate-backup-%s.db", when);
  }
  snprintf(dir, sizeof dir, "%s", db_path);
  snprintf(out, cap, "%s/%s", dirname(dir), file);
}

gg_rc maint_backup(struct store_conn *c, const char *path, int64_t *bytes, gg_err *e)
{
  char err[256];
  struct stat sb;
  *bytes = 0;
  if(store_backup(c, path, err, sizeof err))
    return gg_fail(e, strstr(err, "exists") ? GG_CONFLICT : GG_DB, "%s", err);
  *bytes = stat(path, &sb) ? 0 : (int64_t)sb.st_size;
  return GG_OK;
}
