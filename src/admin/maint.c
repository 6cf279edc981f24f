/* maint — admin routes for cleanup and backup; contract in maint.h. */
#include "admin/maint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/utc.h"
#include "http/server.h"
#include "ledger/maint.h"
#include "store/store.h"

typedef struct mjob { int64_t cutoff; char path[1024]; } mjob;

static gg_rc cleanup_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  mjob *j = arg;
  int64_t deleted;
  gg_rc rc = maint_cleanup(c, j->cutoff, &deleted, e);
  if(rc) return rc;
  char before[32];
  utc_iso(j->cutoff, before, sizeof before);
  *out = json_pack("{s:s,s:I,s:s}", "status", "ok", "deleted", (json_int_t)deleted, "before", before);
  return GG_OK;
}

void admin_maint_cleanup(http_req *r)
{
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *days = json_object_get(b, "days");
  bool ok = json_object_size(b) == (days ? 1u : 0u) && (!days || (json_is_integer(days) && json_integer_value(days) >= 1 &&
                                                    json_integer_value(days) <= 36500));
  int64_t n = days ? json_integer_value(days) : 30;
  json_decref(b);
  if(!ok) { http_error(r, 400, NULL, "body must be {\"days\": N} with N a whole number from 1 to 36500 (default 30)", NULL); return; }
  mjob *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  j->cutoff = now_ms() - n * UTC_DAY_MS;
  dbcall_json(r, j, free, cleanup_work, 200);
}

static gg_rc backup_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  mjob *j = arg;
  int64_t bytes;
  gg_rc rc = maint_backup(c, j->path, &bytes, e);
  if(!rc) *out = json_pack("{s:s,s:s,s:I}", "status", "ok", "path", j->path, "bytes", (json_int_t)bytes);
  return rc;
}

void admin_maint_backup(http_req *r)
{
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *name = json_object_get(b, "name");
  const char *s = json_string_value(name);
  bool ok = json_object_size(b) <= (name ? 1u : 0u) && (!name || (s && maint_backup_name_valid(s, json_string_length(name))));
  mjob *j = ok ? calloc(1, sizeof *j) : NULL;
  if(j) maint_backup_path(store_path(r->w->gw->store), s, now_ms(), j->path, sizeof j->path);
  json_decref(b);
  if(!ok) {
    http_error(r, 400, NULL, "body must be {} or {\"name\": \"<file>.db\"}: a plain file name (letters, digits, . _ -) "
                             "written next to the database", NULL);
    return;
  }
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  dbcall_json(r, j, free, backup_work, 200);
}
