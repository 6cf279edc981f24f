/* dbcall — database work on behalf of an HTTP request: the work runs on a store pool thread,
 * the reply on the request's own worker loop.  If the client goes away first, the reply is
 * skipped and the argument freed once the work is over; the request is never touched off its
 * loop.  A dbcall may run several jobs in turn (an export sent in pages). */
#ifndef GEMGATE_DBCALL_H
#define GEMGATE_DBCALL_H

#include <stdbool.h>

#include "http/http.h"
#include "base/rc.h"
#include "store/store.h"

typedef struct dbcall dbcall;

/* On r's loop, after the work: answer r (or run another job).  d stays valid until
 * dbcall_end. */
typedef void (*dbcall_reply)(dbcall *d, http_req *r, void *arg);

/* Takes r over (r->ctx, r->on_abort) with arg, freed by free_arg (may be NULL) at the end.
 * NULL when out of memory (r answered with 500). */
dbcall *dbcall_new(http_req *r, void *arg, void (*free_arg)(void *));

/* Run work(conn, arg) on the pool, then reply.  false when the pool refused it (full or
 * closing): r has been answered 503 with Retry-After and d ended. */
bool dbcall_run(dbcall *d, store_work work, dbcall_reply reply);

/* After the response is complete (http_reply/http_finish already called, which released the
 * request): frees arg and d.  Never touches the request. */
void dbcall_end(dbcall *d);

/* The request d serves (valid while d is). */
http_req *dbcall_req(dbcall *d);

/* One-shot form: dbcall_new + dbcall_run. */
bool dbcall_start(http_req *r, void *arg, void (*free_arg)(void *), store_work work, dbcall_reply reply);

/* ---- the common case: one job, one JSON answer ---- */

/* Pool-thread work of a JSON job: GG_OK with *out set (a new reference, the answer's body), or a
 * failure kind with e->msg (may be left empty for the kind's generic message).  Never touches
 * the request. */
typedef gg_rc (*dbcall_json_fn)(store_conn *c, void *arg, json_t **out, gg_err *e);

/* Run work(conn, arg) on the store pool, then answer r on its own loop: ok_status with *out, or
 * the failure through http_error_rc.  Takes arg (freed by free_arg, may be NULL, when the job is
 * over, whether or not the client stayed).  The store's queue full: 503 + Retry-After. */
void dbcall_json(http_req *r, void *arg, void (*free_arg)(void *), dbcall_json_fn work, int ok_status);

#endif
