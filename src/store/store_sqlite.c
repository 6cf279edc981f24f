/* store_sqlite — the SQLite backend: connections tuned for WAL, the schema migrations, online
 * backup.  Contract in store_sqlite.h / store.h. */
#include "store/store_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

/* The measures every rollup carries (calls, refused calls, tokens, money). */
#define MEASURES \
  "calls INTEGER NOT NULL DEFAULT 0, refused INTEGER NOT NULL DEFAULT 0, " \
  "input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0, " \
  "thinking_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0, " \
  "bill_e4 INTEGER NOT NULL DEFAULT 0, cost_nanos INTEGER NOT NULL DEFAULT 0, "

/* Migration i brings the schema to version i+1.  Append only: never edit a released one. */
static const char *const migrations[] = {
  /* 1: users, keys, prices, settings, the ledger (seeds 000 and 001) and its rollups. */
  "CREATE TABLE users ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
  " rpm INTEGER NOT NULL DEFAULT 0, tpm INTEGER NOT NULL DEFAULT 0, rpd INTEGER NOT NULL DEFAULT 0,"
  " daily_budget_e4 INTEGER NOT NULL DEFAULT 0, monthly_budget_e4 INTEGER NOT NULL DEFAULT 0,"
  " models TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
  "CREATE TABLE access_keys ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users(id),"
  " name TEXT NOT NULL DEFAULT '', prefix TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
  " created_at INTEGER NOT NULL, revoked_at INTEGER);"
  "CREATE INDEX access_keys_user ON access_keys(user_id);"
  "CREATE TABLE upstream_keys ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, secret TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
  " masked TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
  " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
  "CREATE TABLE prices ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL UNIQUE,"
  " input_micros INTEGER NOT NULL DEFAULT 0, output_micros INTEGER NOT NULL DEFAULT 0,"
  " thinking_micros INTEGER NOT NULL DEFAULT 0, cached_micros INTEGER NOT NULL DEFAULT 0,"
  " request_micros INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);"
  "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);"
  "CREATE TABLE ledger ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, access_key_id INTEGER,"
  " upstream_key TEXT NOT NULL DEFAULT '', model_id INTEGER, model_name TEXT NOT NULL DEFAULT '',"
  " is_local INTEGER NOT NULL DEFAULT 0, generation_type TEXT NOT NULL, endpoint TEXT NOT NULL,"
  " stream INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,"
  " output_tokens INTEGER NOT NULL DEFAULT 0, thinking_tokens INTEGER NOT NULL DEFAULT 0,"
  " cached_tokens INTEGER NOT NULL DEFAULT 0, bill_e4 INTEGER NOT NULL DEFAULT 0,"
  " cost_nanos INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, http_status INTEGER NOT NULL DEFAULT 0,"
  " refused INTEGER NOT NULL DEFAULT 0, error_message TEXT NOT NULL DEFAULT '',"
  " request_ip TEXT NOT NULL DEFAULT '', latency_ms INTEGER NOT NULL DEFAULT 0,"
  " ttfb_ms INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
  " prompt TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);"
  /* Seed 000: (user, type, created_at), (user, created_at), created_at; the second also serves
   * seed 001's user_id.  Seed 001: access key, model id, is_local — partial, holding only the
   * rows such a lookup can find (a key, a priced model, a local answer), which spares the writer
   * an index update for most rows.  (A filter on the model scans
   * a user's rows by time: another composite index would cost the writer a quarter of its rate.) */
  "CREATE INDEX ledger_user_created ON ledger(user_id, created_at);"
  "CREATE INDEX ledger_user_type_created ON ledger(user_id, generation_type, created_at);"
  "CREATE INDEX ledger_created ON ledger(created_at);"
  "CREATE INDEX ledger_access_key ON ledger(access_key_id) WHERE access_key_id IS NOT NULL;"
  "CREATE INDEX ledger_model_id ON ledger(model_id) WHERE model_id IS NOT NULL;"
  "CREATE INDEX ledger_is_local ON ledger(is_local) WHERE is_local = 1;"
  /* The hourly rollup the issue asks for; a per-user daily one for the users' statistics; and
   * per-dimension daily totals (day -1 = all time) so global statistics read a few rows.  Dims:
   * all (value ''), model, user (the id), key (masked), type, and utype ("<user>:<type>", all
   * time only). */
  "CREATE TABLE usage_hourly (hour INTEGER NOT NULL, user_id INTEGER NOT NULL,"
  " model_name TEXT NOT NULL, generation_type TEXT NOT NULL, upstream_key TEXT NOT NULL,"
  " status TEXT NOT NULL, " MEASURES
  " PRIMARY KEY (hour, user_id, model_name, generation_type, upstream_key, status)) WITHOUT ROWID;"
  "CREATE INDEX usage_hourly_user ON usage_hourly(user_id, hour);"
  "CREATE TABLE usage_daily (day INTEGER NOT NULL, user_id INTEGER NOT NULL,"
  " model_name TEXT NOT NULL, generation_type TEXT NOT NULL, status TEXT NOT NULL, " MEASURES
  " PRIMARY KEY (user_id, day, model_name, generation_type, status)) WITHOUT ROWID;"
  "CREATE TABLE usage_dim (dim TEXT NOT NULL, day INTEGER NOT NULL, value TEXT NOT NULL,"
  " status TEXT NOT NULL, " MEASURES
  " PRIMARY KEY (dim, day, value, status)) WITHOUT ROWID;",
  /* 2: limits the key pool learned from Google's QuotaFailure answers (issue 15), per upstream
   * key (by the SHA-256 of its secret, never the secret) and model; 0 = not learned. */
  "CREATE TABLE learned_limits (key_hash TEXT NOT NULL, model TEXT NOT NULL,"
  " rpm INTEGER NOT NULL DEFAULT 0, tpm INTEGER NOT NULL DEFAULT 0, rpd INTEGER NOT NULL DEFAULT 0,"
  " updated_at INTEGER NOT NULL, PRIMARY KEY (key_hash, model)) WITHOUT ROWID;",
  /* 3: who owns each stateful Gemini resource (issue 15, pool/owners.h): the upstream key as the
   * hex SHA-256 of its secret (as upstream_keys.hash), never the secret. */
  "CREATE TABLE resources (name TEXT PRIMARY KEY, kind TEXT NOT NULL, key_hash TEXT NOT NULL,"
  " user_id INTEGER NOT NULL, model TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);"
  "CREATE INDEX resources_created ON resources(created_at);",
  /* 4: the request id of each row (X-Request-Id), to find a call's log lines and its row. */
  "ALTER TABLE ledger ADD COLUMN request_id TEXT NOT NULL DEFAULT '';",
  /* 5: billing (issue 9).  What a row was billed for beyond the four token counts, and the price
   * version that billed it.  The price table becomes versions of a model's prices, each effective
   * from a time (ids kept, so old rows' model_id still names the price that billed them); the
   * old rows are the first versions, 'admin' where they differ from what earlier releases
   * shipped (those keep priority over the shipped list), else 'legacy'.  The old per-call price
   * was Imagen's per image; the thinking price goes: thinking is billed as output. */
  "ALTER TABLE ledger ADD COLUMN images INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN tool_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN audio_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN image_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN price_version INTEGER;"
  "ALTER TABLE ledger ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN storage_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE ledger ADD COLUMN storage_seconds INTEGER NOT NULL DEFAULT 0;"
  "CREATE TABLE price_versions ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, effective_from INTEGER NOT NULL,"
  " source TEXT NOT NULL, input_micros INTEGER NOT NULL DEFAULT 0, input_long_micros INTEGER NOT NULL DEFAULT 0,"
  " output_micros INTEGER NOT NULL DEFAULT 0, output_long_micros INTEGER NOT NULL DEFAULT 0,"
  " cached_micros INTEGER NOT NULL DEFAULT 0, cached_long_micros INTEGER NOT NULL DEFAULT 0,"
  " audio_input_micros INTEGER NOT NULL DEFAULT 0, audio_cached_micros INTEGER NOT NULL DEFAULT 0,"
  " image_output_micros INTEGER NOT NULL DEFAULT 0, image_micros INTEGER NOT NULL DEFAULT 0,"
  " request_micros INTEGER NOT NULL DEFAULT 0, storage_micros INTEGER NOT NULL DEFAULT 0,"
  " long_context_tokens INTEGER NOT NULL DEFAULT 0, batch_percent INTEGER NOT NULL DEFAULT 50,"
  " max_output_tokens INTEGER NOT NULL DEFAULT 8192, created_at INTEGER NOT NULL,"
  " UNIQUE (model, effective_from));"
  "INSERT INTO price_versions (id, model, effective_from, source, input_micros, input_long_micros, output_micros,"
  " output_long_micros, cached_micros, cached_long_micros, audio_input_micros, audio_cached_micros,"
  " image_output_micros, image_micros, created_at)"
  " WITH shipped (model, i, o, t, c, r) AS (VALUES ('gemini-2.5-pro', 1250000, 10000000, 10000000, 125000, 0),"
  " ('gemini-2.5-flash', 300000, 2500000, 2500000, 30000, 0), ('gemini-2.5-flash-lite', 100000, 400000, 400000, 10000, 0),"
  " ('gemini-2.5-flash-image', 300000, 30000000, 0, 30000, 0), ('gemini-2.0-flash', 100000, 400000, 400000, 25000, 0),"
  " ('gemini-2.0-flash-lite', 75000, 300000, 300000, 75000, 0), ('gemini-embedding-001', 150000, 0, 0, 150000, 0),"
  " ('text-embedding-004', 0, 0, 0, 0, 0), ('imagen-4.0-generate-001', 0, 0, 0, 0, 40000),"
  " ('imagen-4.0-fast-generate-001', 0, 0, 0, 0, 20000), ('imagen-4.0-ultra-generate-001', 0, 0, 0, 0, 60000),"
  " ('imagen-3.0-generate-002', 0, 0, 0, 0, 30000))"
  " SELECT p.id, p.model, 0, CASE WHEN EXISTS (SELECT 1 FROM shipped s WHERE s.model = p.model AND s.i = p.input_micros"
  " AND s.o = p.output_micros AND s.t = p.thinking_micros AND s.c = p.cached_micros AND s.r = p.request_micros)"
  " THEN 'legacy' ELSE 'admin' END, p.input_micros, p.input_micros, p.output_micros, p.output_micros, p.cached_micros,"
  " p.cached_micros, p.input_micros, p.cached_micros, p.output_micros, p.request_micros, p.updated_at FROM prices p;"
  "DROP TABLE prices;"
  "ALTER TABLE price_versions RENAME TO prices;"
  "CREATE TABLE price_aliases (alias TEXT PRIMARY KEY, model TEXT NOT NULL, source TEXT NOT NULL,"
  " created_at INTEGER NOT NULL);",
  /* 6: conversations the gateway keeps for its callers (issue 12, convo/): stored Responses API
   * responses (previous_response_id) and chat sessions, each owned by one user and expiring.
   * JSON documents are kept as text: the gateway reads them whole. */
  "CREATE TABLE convo_responses (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, model TEXT NOT NULL,"
  " response TEXT NOT NULL, input_items TEXT NOT NULL, state TEXT NOT NULL,"
  " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
  "CREATE INDEX convo_responses_user ON convo_responses(user_id, created_at);"
  "CREATE INDEX convo_responses_expires ON convo_responses(expires_at);"
  "CREATE TABLE chat_sessions (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, model TEXT NOT NULL,"
  " config TEXT NOT NULL, history TEXT NOT NULL DEFAULT '[]', turns INTEGER NOT NULL DEFAULT 0,"
  " dropped INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0,"
  " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
  "CREATE INDEX chat_sessions_user ON chat_sessions(user_id, updated_at);"
  "CREATE INDEX chat_sessions_expires ON chat_sessions(expires_at);",
  /* 7: ledger rows the database refused on their own (a poisoned batch split down to them,
   * ledger.h): every field as one JSON object (the ledger's column names), so a row whose
   * columns are the problem is kept whole, with the database's error and when it was refused. */
  "CREATE TABLE ledger_rejects (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL DEFAULT '',"
  " user_id INTEGER NOT NULL, created_at INTEGER NOT NULL, rejected_at INTEGER NOT NULL,"
  " error TEXT NOT NULL, fields TEXT NOT NULL);"
  "CREATE INDEX ledger_rejects_created ON ledger_rejects(created_at);",
  /* 8: the rest of billing (issue 9).  The AUDIO part of a row's cached tokens, priced at the
   * audio cache rate; and what the gateway bills a resource for after its call (call/resbill.c):
   * a context cache's tokens and the furthest expiry billed so far, a batch's billed time (one
   * billed row per batch: set once, read at start). */
  "ALTER TABLE ledger ADD COLUMN cached_audio_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE resources ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE resources ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE resources ADD COLUMN billed_at INTEGER NOT NULL DEFAULT 0;",
};

static void no_memstatus(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

int store_sqlite_version(void) { return (int)(sizeof migrations / sizeof *migrations); }

static void *sq_open(const char *path, char *err, size_t cap)
{
  /* No global memory statistics: they take a process-wide mutex around every allocation, and
   * nothing reads them.  Only possible before SQLite initializes; later calls change nothing. */
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, no_memstatus);
  sqlite3 *db = NULL;
  bool fresh = access(path, F_OK) != 0;
  /* NOMUTEX: a connection is used by one thread at a time (store.h), so SQLite's own
   * per-connection mutex is pure cost. */
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if(rc != SQLITE_OK) {
    snprintf(err, cap, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return NULL;
  }
  if(fresh) chmod(path, 0600);     /* it holds key hashes and, unencrypted, upstream keys */
  sqlite3_busy_timeout(db, 10000);
  /* WAL: readers never block the writer.  synchronous=NORMAL: a commit survives a crash of the
   * process (not of the machine), which is the guarantee a graceful stop needs, at a fraction of
   * FULL's fsyncs.  Checkpoints every 16 MB of WAL rather than 4: pages the ledger's indexes
   * touch again and again are copied back once. */
  char *msg = NULL;
  if(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;"
                      "PRAGMA wal_autocheckpoint=4096;",
                  NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, cap, "cannot configure %s: %s", path, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

static int sq_exec(void *h, const char *sql)
{
  return sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Applies each missing migration in its own transaction, recording it in schema_migrations. */
static int sq_migrate(void *h, char *err, size_t cap)
{
  sqlite3 *db = h;
  if(sq_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")) {
    snprintf(err, cap, "migrations: %s", sqlite3_errmsg(db));
    return -1;
  }
  for(int v = 1; v <= store_sqlite_version(); v++) {
    if(sq_exec(db, "BEGIN IMMEDIATE")) { snprintf(err, cap, "migrations: %s", sqlite3_errmsg(db)); return -1; }
    sqlite3_stmt *st = NULL;
    int have = 0;
    if(sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_int(st, 1, v);
      have = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if(!have) {
      char rec[128];
      snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES (%d, CAST(strftime('%%s','now') AS INTEGER) * 1000)", v);
      if(sq_exec(db, migrations[v - 1]) || sq_exec(db, rec)) {
        snprintf(err, cap, "migration %d failed: %s", v, sqlite3_errmsg(db));
        sq_exec(db, "ROLLBACK");
        return -1;
      }
    }
    if(sq_exec(db, "COMMIT")) { snprintf(err, cap, "migrations: %s", sqlite3_errmsg(db)); return -1; }
  }
  return 0;
}

static void sq_close(void *h) { sqlite3_close_v2(h); }

static void *sq_prepare(void *h, const char *sql)
{
  sqlite3_stmt *st = NULL;
  if(sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) return NULL;
  return st;
}

static void sq_finalize(void *st) { sqlite3_finalize(st); }
static void sq_bind_int(void *st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }
static void sq_bind_text(void *st, int i, const char *s)
{
  if(s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}
static void sq_bind_null(void *st, int i) { sqlite3_bind_null(st, i); }

static store_rc sq_step(void *st)
{
  int rc = sqlite3_step(st);
  if(rc == SQLITE_ROW) return STORE_ROW;
  if(rc == SQLITE_DONE) return STORE_DONE;
  return (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONSTRAINT : STORE_ERROR;
}

static int64_t sq_col_int(void *st, int i) { return sqlite3_column_int64(st, i); }
static const char *sq_col_text(void *st, int i) { return (const char *)sqlite3_column_text(st, i); }
static bool sq_col_null(void *st, int i) { return sqlite3_column_type(st, i) == SQLITE_NULL; }
static void sq_reset(void *st) { sqlite3_reset(st); sqlite3_clear_bindings(st); }
static int64_t sq_changes(void *h) { return sqlite3_changes64(h); }
static const char *sq_errmsg(void *h) { return sqlite3_errmsg(h); }
static void sq_lock_wait(void *h, int ms) { sqlite3_busy_timeout(h, ms); }

static void sq_cache_limit(void *h, int kib)
{
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kib);
  sqlite3_exec(h, sql, NULL, NULL, NULL);
}

/* Failures of the moment, not of the statement: another writer holds the lock, the disk or
 * memory ran out, an I/O error.  SQLITE_CONSTRAINT (CHECK, NOT NULL, a trigger's RAISE),
 * SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_ERROR (the SQL itself) are the statement's. */
static bool sq_transient(void *h)
{
  switch(sqlite3_extended_errcode(h) & 0xff) {
  case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_NOMEM:
  case SQLITE_CANTOPEN: case SQLITE_PROTOCOL: case SQLITE_INTERRUPT: case SQLITE_READONLY:
    return true;
  default:
    return false;
  }
}

/* ---- bulk inserts: rows kept, then inserted BULK_ROWS per statement ----
 *
 * Each statement execution has a fixed cost (opening the table and its indexes, the statement
 * journal, halting, resetting) that a one-row INSERT pays per row; a 32-row INSERT pays it once
 * for 32.  A plain "INSERT INTO t (cols) VALUES (?, ...)" from store_prepare_bulk keeps its
 * bound rows (text copied into one buffer) and runs them 32 at a time, the rest one by one when
 * store.c flushes (the connection's next other statement, store_flush, COMMIT).  Any other SQL
 * runs each step at once, as before. */

#define BULK_ROWS 32

typedef struct bulk_val { int64_t i; size_t off; char type; } bulk_val;   /* type: 0 NULL, 'i', 't' */

typedef struct sq_bulk {
  sqlite3_stmt *one, *many;     /* many: NULL when the statement is not a plain INSERT */
  int ncols, nq;                /* columns; rows queued */
  bulk_val *v;                  /* (BULK_ROWS + 1) rows of ncols: the queued ones, then the next */
  char *text;                   /* the text values, NUL-terminated, at their offsets */
  size_t len, cap;
} sq_bulk;

/* The count of ? in "INSERT INTO t (...) VALUES (?, ..., ?)" with nothing after, else 0. */
static int plain_insert_marks(const char *sql, size_t *values_end)
{
  if(strncasecmp(sql, "INSERT INTO ", 12)) return 0;
  const char *v = strstr(sql, " VALUES (");
  if(!v) return 0;
  const char *p = v + 9;
  int n = 0;
  for(; *p && *p != ')'; p++) {
    if(*p == '?') n++;
    else if(*p != ',' && *p != ' ') return 0;
  }
  if(*p != ')' || p[1]) return 0;
  *values_end = (size_t)(v + 8 - sql);           /* just after " VALUES" */
  return n;
}

static void *sq_prepare_bulk(void *h, const char *sql)
{
  sq_bulk *b = calloc(1, sizeof *b);
  if(!b || !(b->one = sq_prepare(h, sql))) { free(b); return NULL; }
  size_t head;
  int n = plain_insert_marks(sql, &head);
  if(n <= 0) return b;
  size_t row = (size_t)n * 3 + 2, cap = head + BULK_ROWS * (row + 1) + 1;
  char *many = malloc(cap), *o = many;
  b->v = calloc((size_t)(BULK_ROWS + 1) * (size_t)n, sizeof *b->v);
  if(!many || !b->v) { free(many); free(b->v); b->v = NULL; return b; }
  memcpy(o, sql, head);
  o += head;
  for(int r = 0; r < BULK_ROWS; r++) {
    *o++ = r ? ',' : ' ';
    *o++ = '(';
    for(int k = 0; k < n; k++) { if(k) *o++ = ','; *o++ = '?'; }
    *o++ = ')';
  }
  *o = '\0';
  b->many = sq_prepare(h, many);
  free(many);
  if(b->many) b->ncols = n;
  else { free(b->v); b->v = NULL; }
  return b;
}

static bulk_val *bulk_slot(sq_bulk *b, int idx)
{
  return idx >= 1 && idx <= b->ncols ? &b->v[(size_t)b->nq * (size_t)b->ncols + (size_t)(idx - 1)] : NULL;
}

static void bk_bind_int(void *st, int idx, int64_t v)
{
  sq_bulk *b = st;
  bulk_val *x;
  if(!b->many) { sq_bind_int(b->one, idx, v); return; }
  if((x = bulk_slot(b, idx))) *x = (bulk_val){ .i = v, .type = 'i' };
}

static void bk_bind_null(void *st, int idx)
{
  sq_bulk *b = st;
  bulk_val *x;
  if(!b->many) { sq_bind_null(b->one, idx); return; }
  if((x = bulk_slot(b, idx))) x->type = 0;
}

static void bk_bind_text(void *st, int idx, const char *s)
{
  sq_bulk *b = st;
  bulk_val *x;
  if(!b->many) { sq_bind_text(b->one, idx, s); return; }
  if(!(x = bulk_slot(b, idx))) return;
  size_t n = s ? strlen(s) + 1 : 0;
  if(s && b->len + n > b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 16384;
    while(nc < b->len + n) nc *= 2;
    char *t = realloc(b->text, nc);
    if(!t) { x->type = 0; return; }             /* out of memory: NULL, which NOT NULL refuses */
    b->text = t;
    b->cap = nc;
  }
  if(!s) { x->type = 0; return; }
  memcpy(b->text + b->len, s, n);
  *x = (bulk_val){ .off = b->len, .type = 't' };
  b->len += n;
}

/* Binds `rows` queued rows from row `from` into st (text by reference: the buffer stays put
 * until the step is done), steps it and resets it. */
static store_rc bulk_run(sq_bulk *b, sqlite3_stmt *st, int from, int rows)
{
  int p = 1;
  for(int r = from; r < from + rows; r++)
    for(int k = 0; k < b->ncols; k++, p++) {
      const bulk_val *x = &b->v[(size_t)r * (size_t)b->ncols + (size_t)k];
      if(x->type == 'i') sqlite3_bind_int64(st, p, x->i);
      else if(x->type == 't') sqlite3_bind_text(st, p, b->text + x->off, -1, SQLITE_STATIC);
      else sqlite3_bind_null(st, p);
    }
  store_rc rc = sq_step(st);
  sqlite3_reset(st);
  return rc;
}

static void bulk_clear(sq_bulk *b)
{
  b->nq = 0;
  b->len = 0;
  memset(b->v, 0, (size_t)b->ncols * sizeof *b->v);
}

static store_rc bk_step(void *st)
{
  sq_bulk *b = st;
  if(!b->many) return sq_step(b->one);
  if(++b->nq < BULK_ROWS) {
    memset(bulk_slot(b, 1), 0, (size_t)b->ncols * sizeof *b->v);   /* the next row starts NULL */
    return STORE_DONE;
  }
  store_rc rc = bulk_run(b, b->many, 0, BULK_ROWS);
  bulk_clear(b);
  return rc;
}

static void bk_reset(void *st)
{
  sq_bulk *b = st;
  if(!b->many) { sq_reset(b->one); return; }
  memset(bulk_slot(b, 1), 0, (size_t)b->ncols * sizeof *b->v);
}

static int bk_flush(void *st)
{
  sq_bulk *b = st;
  int rc = 0;
  for(int r = 0; b->many && !rc && r < b->nq; r++) rc = bulk_run(b, b->one, r, 1) == STORE_DONE ? 0 : -1;
  if(b->many) bulk_clear(b);
  return rc;
}

static void bk_drop(void *st)
{
  sq_bulk *b = st;
  if(b->many) bulk_clear(b);
}

static void bk_finalize(void *st)
{
  sq_bulk *b = st;
  sqlite3_finalize(b->one);
  sqlite3_finalize(b->many);
  free(b->v);
  free(b->text);
  free(b);
}

static const store_bulk_ops sq_bulk_ops = {
  .bind_int = bk_bind_int, .bind_text = bk_bind_text, .bind_null = bk_bind_null, .step = bk_step,
  .reset = bk_reset, .flush = bk_flush, .drop = bk_drop, .finalize = bk_finalize,
};

/* sqlite3_backup copies page by page inside one read transaction: consistent, and in WAL mode
 * it never blocks the ledger writer. */
static int sq_backup(void *h, const char *path, char *err, size_t cap)
{
  /* O_EXCL: never overwrite a file, even one that appears between a check and the open. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if(fd < 0) { snprintf(err, cap, "cannot create %s: %s", path, strerror(errno)); return -1; }
  close(fd);
  sqlite3 *dst = NULL;
  if(sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    snprintf(err, cap, "cannot create %s: %s", path, dst ? sqlite3_errmsg(dst) : "?");
    sqlite3_close(dst);
    return -1;
  }
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", h, "main");
  int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
  if(b) sqlite3_backup_finish(b);
  if(rc != SQLITE_DONE) {
    snprintf(err, cap, "backup failed: %s", sqlite3_errmsg(dst));
    sqlite3_close(dst);
    unlink(path);
    return -1;
  }
  sqlite3_close(dst);
  return 0;
}

const store_backend store_sqlite = {
  .name = "sqlite", .open = sq_open, .migrate = sq_migrate, .close = sq_close,
  .prepare = sq_prepare, .finalize = sq_finalize, .bind_int = sq_bind_int,
  .bind_text = sq_bind_text, .bind_null = sq_bind_null, .step = sq_step,
  .col_int = sq_col_int, .col_text = sq_col_text, .col_null = sq_col_null, .reset = sq_reset,
  .exec = sq_exec, .changes = sq_changes, .errmsg = sq_errmsg, .backup = sq_backup,
  .begin_sql = "BEGIN IMMEDIATE", .transient = sq_transient, .lock_wait = sq_lock_wait, .cache_limit = sq_cache_limit,
  .prepare_bulk = sq_prepare_bulk, .bulk = &sq_bulk_ops,
};
