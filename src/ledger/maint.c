/* maint — cleanup, backup, test hook; contract in maint.h. */
#include "ledger/maint.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/dbcall.h"
#include "ledger/ledger.h"
#include "http/server.h"
#include "store/store.h"
#include "base/utc.h"

#define CLEANUP_CHUNK 5000

typedef struct mjob {
  int64_t cutoff, deleted;
  char path[1024], err[256];
  int64_t bytes;
  int status;
} mjob;

/* Deletes in chunks, each its own transaction: the writer waits at most one chunk. */
static void cleanup_work(store_conn *c, void *arg)
{
  mjob *j = arg;
  j->status = 200;
  for(;;) {
    int64_t n = store_do(c, "DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE created_at < ? LIMIT ?)",
                         "ii", j->cutoff, (int64_t)CLEANUP_CHUNK);
    if(n < 0) { j->status = 500; snprintf(j->err, sizeof j->err, "%s", store_error(c)); return; }
    j->deleted += n;
    if(n < CLEANUP_CHUNK) return;
  }
}

static void cleanup_reply(dbcall *d, http_req *r, void *arg)
{
  mjob *j = arg;
  char before[32];
  utc_iso(j->cutoff, before, sizeof before);
  if(j->status == 200)
    http_reply_json(r, 200, json_pack("{s:s,s:I,s:s}", "status", "ok", "deleted", (json_int_t)j->deleted, "before", before), NULL);
  else
    http_error(r, 500, NULL, "cleanup failed part way (rows deleted so far stay deleted)", NULL);
  dbcall_end(d);
}

void maint_cleanup(http_req *r)
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
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  j->cutoff = now_ms() - n * UTC_DAY_MS;
  dbcall_start(r, j, free, cleanup_work, cleanup_reply);
}

static void backup_work(store_conn *c, void *arg)
{
  mjob *j = arg;
  if(store_backup(c, j->path, j->err, sizeof j->err)) { j->status = strstr(j->err, "exists") ? 409 : 500; return; }
  struct stat sb;
  j->bytes = stat(j->path, &sb) ? 0 : (int64_t)sb.st_size;
  j->status = 200;
}

static void backup_reply(dbcall *d, http_req *r, void *arg)
{
  mjob *j = arg;
  if(j->status == 200)
    http_reply_json(r, 200, json_pack("{s:s,s:s,s:I}", "status", "ok", "path", j->path, "bytes", (json_int_t)j->bytes), NULL);
  else
    http_error(r, j->status, NULL, j->err, NULL);
  dbcall_end(d);
}

/* A file name only: letters, digits, '.', '_', '-'; no leading dot; ends in ".db"; ≤ 100. */
static bool valid_name(const char *s, size_t n)
{
  if(n < 4 || n > 100 || s[0] == '.' || strcmp(s + n - 3, ".db")) return false;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return !strstr(s, "..");
}

void maint_backup(http_req *r)
{
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *name = json_object_get(b, "name");
  const char *s = json_string_value(name);
  bool ok = json_object_size(b) <= (name ? 1u : 0u) && (!name || (s && valid_name(s, json_string_length(name))));
  char file[128];
  if(ok && s) snprintf(file, sizeof file, "%s", s);
  json_decref(b);
  if(!ok) {
    http_error(r, 400, NULL, "body must be {} or {\"name\": \"<file>.db\"}: a plain file name (letters, digits, . _ -) "
                             "written next to the database", NULL);
    return;
  }
  if(!s) {
    char when[32];
    utc_iso(now_ms(), when, sizeof when);
    for(char *p = when; *p; p++) if(*p == ':') *p = '-';
    snprintf(file, sizeof file, "gemgate-backup-%s.db", when);
  }
  mjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  char dbpath[1024];
  snprintf(dbpath, sizeof dbpath, "%s", store_path(r->w->gw->store));
  snprintf(j->path, sizeof j->path, "%s/%s", dirname(dbpath), file);
  dbcall_start(r, j, free, backup_work, backup_reply);
}

/* ---- test hook ---- */

static void text(json_t *o, const char *k, char *dst, size_t cap)
{
  const char *s = json_string_value(json_object_get(o, k));
  snprintf(dst, cap, "%s", s ? s : "");
}

static int64_t num(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

typedef struct hjob { ledger *l; int64_t n; bool flushed; } hjob;

static void hook_work(store_conn *c, void *arg) { hjob *j = arg; j->flushed = ledger_flush(j->l, 10000); }

static void hook_reply(dbcall *d, http_req *r, void *arg)
{
  hjob *j = arg;
  http_reply_json(r, 200, json_pack("{s:I,s:b}", "recorded", (json_int_t)j->n, "flushed", j->flushed), NULL);
  dbcall_end(d);
}

void maint_test_ledger(http_req *r)
{
  const char *hooks = getenv("GEMGATE_TEST_HOOKS");
  if(!hooks || strcmp(hooks, "1")) { http_error(r, 404, NULL, "no such route", NULL); return; }
  gateway *gw = r->w->gw;
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *rows = json_object_get(b, "rows"), *o;
  size_t i;
  json_array_foreach(rows, i, o) {
    ledger_row row;
    memset(&row, 0, sizeof row);
    row.user_id = num(o, "user_id");
    row.access_key_id = num(o, "access_key_id");
    text(o, "upstream_key", row.upstream_key, sizeof row.upstream_key);
    text(o, "model", row.model, sizeof row.model);
    text(o, "gen_type", row.gen_type, sizeof row.gen_type);
    text(o, "endpoint", row.endpoint, sizeof row.endpoint);
    text(o, "error", row.error, sizeof row.error);
    text(o, "ip", row.ip, sizeof row.ip);
    const char *p = json_string_value(json_object_get(o, "prompt"));
    if(p && gw->cfg.log_prompts) ledger_set_prompt(&row, p, strlen(p));
    row.success = json_is_true(json_object_get(o, "success"));
    row.refused = json_is_true(json_object_get(o, "refused"));
    row.stream = json_is_true(json_object_get(o, "stream"));
    row.http_status = (int)num(o, "http_status");
    row.in_tokens = num(o, "in_tokens");
    row.out_tokens = num(o, "out_tokens");
    row.thinking_tokens = num(o, "thinking_tokens");
    row.cached_tokens = num(o, "cached_tokens");
    row.created_ms = num(o, "created_ms");
    ledger_record(gw->ledger, &row);
  }
  bool flush = json_is_true(json_object_get(b, "flush"));
  size_t n = json_array_size(rows);
  json_decref(b);
  if(!flush) { http_reply_json(r, 200, json_pack("{s:I,s:b}", "recorded", (json_int_t)n, "flushed", 0), NULL); return; }
  hjob *j = calloc(1, sizeof *j);                  /* the wait happens on a pool thread */
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  j->l = gw->ledger;
  j->n = (int64_t)n;
  dbcall_start(r, j, free, hook_work, hook_reply);
}
