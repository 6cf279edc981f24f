/* store — the database, behind one interface (SQLite today; PostgreSQL can be added as another
 * backend without touching callers).
 *
 * Callers speak a portable SQL subset: `?` placeholders (a PostgreSQL backend rewrites them to
 * $n), INSERT ... ON CONFLICT ... DO UPDATE, RETURNING, LIMIT/OFFSET, integer time (ms since the
 * epoch, UTC) and money as scaled integers (`*_e4` = decimal(12,4) × 10^4, `*_nanos` = 10^-9
 * USD, `*_micros` = 10^-6 USD).  Schema migrations are per backend (they are its dialect) and
 * are applied by store_open.
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

/* Open the database named by url ("file.db", "sqlite:file.db"; "postgres://..." is reserved),
 * apply pending migrations and start `threads` pool threads.  NULL on failure, with a message. */
store *store_open(const char *url, int threads, char *err, size_t errcap);

/* Finish the queued jobs (their done callbacks are dropped: loops are gone by now), stop the
 * pool and close.  Connections from store_connect must be closed before. */
void store_close(store *s);

/* The file the database lives in ("" when not a file), for backups next to it. */
const char *store_path(const store *s);

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

/* A write transaction (taken at once, so two writers never deadlock), and its end.  0 or -1. */
int store_begin(store_conn *c);
int store_commit(store_conn *c);
void store_rollback(store_conn *c);

const char *store_error(store_conn *c);

/* An online, consistent copy of the whole database into the file path (which must not exist).
 * 0, or -1 with a message. */
int store_backup(store_conn *c, const char *path, char *err, size_t errcap);

/* ---- the pool (from event-loop threads) ---- */

typedef void (*store_work)(store_conn *c, void *arg);   /* on a pool thread */
typedef void (*store_done)(void *arg);                  /* on the submitting loop */
typedef void (*store_drop)(void *arg);                  /* any thread: the job was cancelled */

/* Queue work(conn, arg) for a pool thread; afterwards done(arg) runs on `base`'s loop (woken with
 * event_active, safe across threads).  Exactly one of done or drop runs for every accepted job.
 * NULL when the queue is full or the store is closing (nothing runs then). */
store_job *store_submit(store *s, struct event_base *base, store_work work, store_done done,
                        store_drop drop, void *arg);

/* From the submitting loop's thread: done will not run.  drop(arg) runs once work is over (at
 * once if it never started or has already finished); the job handle is invalid afterwards. */
void store_cancel(store_job *j);

#endif
