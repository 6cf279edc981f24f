/* reqjob — database work on behalf of a client call: the work runs on a store pool thread
 * (store_submit), the reply on the request's own worker loop.  The call-layer twin of
 * admin/dbcall (which this layer cannot include), for routes that answer in their own dialect's
 * error shape and hand the request on to the call engine afterwards.  If the client goes away
 * first, the reply is skipped and the argument freed once the work is over. */
#ifndef GEMGATE_REQJOB_H
#define GEMGATE_REQJOB_H

#include <stdbool.h>

#include "http/http.h"
#include "store/store.h"

typedef struct reqjob reqjob;

/* On r's loop after the work: answer r, run another job, or reqjob_detach and go on. */
typedef void (*reqjob_reply)(reqjob *j, http_req *r, void *arg);

/* Take r over (r->ctx, r->on_abort) with arg, freed by free_arg (may be NULL) at the end.
 * NULL when out of memory: nothing taken, arg still the caller's. */
reqjob *reqjob_new(http_req *r, void *arg, void (*free_arg)(void *));
/* Run work(conn, arg) on the pool, then reply.  false when the pool refused it (full or
 * closing): j is still the caller's (answer r, then reqjob_end). */
bool reqjob_run(reqjob *j, store_work work, reqjob_reply reply);
/* After r was answered (or handed on): frees arg and j.  Never touches r. */
void reqjob_end(reqjob *j);
/* Give r back (r->ctx and r->on_abort cleared) and free j; arg is returned, not freed. */
void *reqjob_detach(reqjob *j);

#endif
