/* store — the database, behind one interface: an SQLite file, or PostgreSQL (store_pg.h).
 *
 * Callers speak a portable SQL subset: `?` / `?N` placeholders (PostgreSQL: rewritten to $N),
 * INSERT ... ON CONFLICT ... DO UPDATE, RETURNING, LIMIT/OFFSET, COALESCE, CAST, two-argument
 * scalar MAX/MIN on integers, integer time (ms since the epoch, UTC) and money as scaled
 * integers (`*_e4` = decimal(12,4) × 10^4, `*_nanos` = 10^-9 USD, `*_micros` = 10^-6 USD); text
 * compares byte by byte.  Not in it: INSERT OR IGNORE/REPLACE (use ON CONFLICT), strftime and
 * date functions (compute times in C), IFNULL (COALESCE), `?` whose type nothing in the
 * statement decides (`? IS NULL`), comparing a text column with an integer binding, and an
 * unqualified target column in ON CONFLICT ... DO UPDATE (write t.col: PostgreSQL finds it
 * ambiguous with excluded.col).  Schema
 * migrations are per backend (they are its dialect), numbered alike, applied by store_open.
 *
 * Threads: a store_conn belongs to one thread at a time.  Event-loop threads never touch a
 * connection: they hand work to the store's pool with store_submit, and the result comes back
 * onto their own loop.  The ledger writer owns a dedicated connection (store_connect).
 *
 * Queue policy: the pool's job queue holds at most STORE_MAX_JOBS; store_submit refuses beyond
 * that (the caller answers 503), so a stalled database cannot grow memory without bound. */
#ifndef GEMGATE_STORE_H
#define GEMGATE_STORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define STORE_MAX_JOBS 1024

typedef struct store store;
typedef struct store_conn store_conn;
typedef struct store_stmt store_stmt;
typedef struct store_job store_job;

typedef enum { STORE_DONE = 0, STORE_ROW = 1, STORE_ERROR = -1, STORE_CONSTRAINT = -2 } store_rc;

/* Open the database named by url — an SQLite file ("file.db", "sqlite:file.db") or PostgreSQL
 * ("postgres://..." / "postgresql://...", libpq's URL) — apply pending migrations (PostgreSQL:
 * under an advisory lock, so instances starting together migrate once) and start `threads` pool
 * threads, each with its own connection.  NULL on failure, with a message (never the password). */
store *store_open(const char *url, int threads, char *err, size_t errcap);

/* Finish the queued jobs (their done callbacks are dropped: loops are gone by now), stop the
 * pool and close.  Connections from store_connect must be closed before. */
void store_close(store *s);

/* The file the database lives in ("" when not a file), for backups next to it. */
const char *store_path(const store *s);

/* url for a log line: a PostgreSQL password (user:password@, ?password=) becomes "***". */
void store_url_redact(const char *url, char *out, size_t cap);

/* True when several connections can commit at once (PostgreSQL); false when the database has
 * one write lock (SQLite), where a second writer would only wait. */
bool store_parallel_writes(const store *s);

/* A dedicated connection for a thread of the caller's own (ledger writer, start-up loading). */
store_conn *store_connect(store *s, char *err, size_t errcap);
void store_disconnect(store_conn *c);

/* ---- statements (on a connection, from its thread) ---- */

/* A prepared statement for sql, cached per connection by text; bindings cleared.  Every
 * successful prepare must be followed by store_reset when the caller is done with it.  NULL on
 * a syntax error (see store_error). */
store_stmt *store_prepare(store_conn *c, const char *sql);
void store_bind_int(store_stmt *st, int idx, int64_t v);          /* idx is 1-based */
void store_bind_text(store_stmt *st, int idx, const char *s);     /* NULL binds NULL; copied */
void store_bind_null(store_stmt *st, int idx);
store_rc store_step(store_stmt *st);
int64_t store_col_int(store_stmt *st, int i);                     /* i is 0-based; NULL → 0 */
const char *store_col_text(store_stmt *st, int i);                /* NULL when NULL; valid until the next step */
bool store_col_null(store_stmt *st, int i);
void store_reset(store_stmt *st);

/* Run one statement with arguments described by fmt: 'i' int64_t, 't' const char * (NULL →
 * NULL).  Returns the rows changed, or -1 (STORE_CONSTRAINT → -2) on error. */
int64_t store_do(store_conn *c, const char *sql, const char *fmt, ...);

/* Statements without arguments or results, possibly several (DDL, pragmas).  0 or -1. */
int store_exec(store_conn *c, const char *sql);

/* A write transaction (SQLite: taken at once, so two writers never deadlock; PostgreSQL: READ
 * COMMITTED), and its end.  0 or -1; a COMMIT that rolled back is -1. */
int store_begin(store_conn *c);
int store_commit(store_conn *c);
void store_rollback(store_conn *c);

const char *store_error(store_conn *c);

/* After a failure on c (before anything else runs on it, a rollback included): true when the
 * same statements may pass if tried again later — the connection lost, the database busy or
 * locked, out of disk, memory or resources, a serialization failure or deadlock, the server
 * shutting down; false when the database refused them (a constraint, a trigger, bad data, a
 * statement it rejects), which a retry would only repeat. */
bool store_transient(store_conn *c);

/* How long c waits for another connection's write lock before failing transiently (SQLite's
 * busy timeout; 10 s unless set).  PostgreSQL: nothing (its writers do not wait on a file). */
void store_lock_wait(store_conn *c, int ms);

/* At most kib KiB of database pages cached by c (SQLite's cache_size; 32 MiB unless set): for a
 * connection that only appends, whose pages are the B-trees' right edges.  PostgreSQL: nothing
 * (the server caches). */
void store_cache_limit(store_conn *c, int kib);

/* ---- bulk inserts (the ledger writer) ----
 *
 * sql is "INSERT INTO t (c1, ..., cn) VALUES (?, ..., ?)", optionally followed by
 * "ON CONFLICT (k1, ...) DO ..." and nothing else.  Bind and step it once per row as usual, but a
 * step may only queue the row (STORE_DONE): the rows reach the database at the latest with the
 * connection's next other statement, store_flush or store_commit, which then fail if the rows
 * do.  Rows of one flush must not repeat an ON CONFLICT key (aggregate first).  Meant for a
 * transaction.  SQLite keeps a plain INSERT's rows and inserts them 32 per statement (an upsert
 * runs at each step); PostgreSQL streams the rows with COPY (upserts through a temporary table,
 * merged in key order so that two writers never deadlock).  Any other sql runs row by row.  NULL as store_prepare. */
store_stmt *store_prepare_bulk(store_conn *c, const char *sql);
int store_flush(store_conn *c);                                   /* 0 or -1 */

/* ---- connection loss (PostgreSQL) ----
 *
 * A connection whose server went away fails its statements, and reconnects at its next use
 * outside a transaction (at most once a second; inside one it fails until store_rollback).  The
 * store is down from the first failure that finds the server gone until a connection gets
 * through again (its idle pool threads ask once a second); one log line says each.  While it is
 * down store_submit refuses work, so admin routes answer 503 at once. */
bool store_conn_lost(store_conn *c);     /* c's last failure was the connection's */
bool store_is_down(store *s);
/* An online, consistent copy of the whole database into the file path (which must not exist).
 * 0, or -1 with a message. */
int store_backup(store_conn *c, const char *path, char *err, size_t errcap);

/* ---- the pool (from event-loop threads) ---- */

typedef void (*store_work)(store_conn *c, void *arg);   /* on a pool thread */
typedef void (*store_done)(void *arg);                  /* on the submitting loop */
typedef void (*store_drop)(void *arg);                  /* any thread: the job was cancelled */

/* Queue work(conn, arg) for a pool thread; afterwards done(arg) runs on `base`'s loop (woken with
 * event_active, safe across threads).  Exactly one of done or drop runs for every accepted job.
 * NULL when the queue is full, the store is closing or down (nothing runs then). */
store_job *store_submit(store *s, struct event_base *base, store_work work, store_done done,
                        store_drop drop, void *arg);

/* From the submitting loop's thread: done will not run.  drop(arg) runs once work is over (at
 * once if it never started or has already finished); the job handle is invalid afterwards. */
void store_cancel(store_job *j);

#endif
