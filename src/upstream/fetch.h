/* fetch — GET a client-named URL (an image in an OpenAI message) into memory, on the worker's
 * upstream client, with a size cap and the call timeout.  Refuses private addresses unless
 * GEMGATE_FETCH_PRIVATE is set (see upstream.h).
 *
 * Memory is bounded three ways: each fetch by its cap; the fetches of one request together by
 * their group's total (GEMGATE_FETCH_MAX_TOTAL); and the bytes all groups of the process hold
 * at once by GEMGATE_FETCH_MAX_INFLIGHT (a gauge shared by every worker).  A group's bytes count
 * in the gauge from their arrival until fetch_group_end — the caller keeps what it made of them
 * (the request to the upstream) until then, so the gauge is what images hold, not just what is
 * on the wire.  A Content-Length that cannot fit fails the fetch before its body is read. */
#ifndef GEMGATE_FETCH_H
#define GEMGATE_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct upstream;
typedef struct fetch fetch;

typedef enum {
  FETCH_OK,
  FETCH_FAILED,        /* could not be fetched, or not answered 200 */
  FETCH_TOO_BIG,       /* this one image is over its cap */
  FETCH_OVER_TOTAL,    /* the request's images together are over the group's total */
  FETCH_BUSY           /* the process holds GEMGATE_FETCH_MAX_INFLIGHT of images already */
} fetch_result;

/* The fetches of one request.  total: the most bytes they may hold together (<= 0: no limit);
 * used: what they hold (fetch.c counts it). */
typedef struct fetch_group {
  int64_t total;
  int64_t used;
} fetch_group;

/* Called once: FETCH_OK with the body (borrowed for the call) and its Content-Type (may be
 * NULL), or why not with a message. */
typedef void (*fetch_done)(void *ctx, fetch_result res, const char *ctype, const char *body, size_t len,
                           const char *err);

/* Start a GET of url on upstream client u (the worker's); at most cap bytes, counted in g (not
 * NULL, outliving the fetch), within the configured timeout capped at 30 s.  NULL when it could
 * not start (done is not called). */
fetch *fetch_start(struct upstream *u, const char *url, size_t cap, fetch_group *g, fetch_done done, void *ctx);

/* Stop a fetch; done is not called.  Its bytes stay in its group until fetch_group_end. */
void fetch_cancel(fetch *f);

/* The caller is done with what g's fetches brought: their bytes leave the gauge. */
void fetch_group_end(fetch_group *g);

/* Bytes held by fetch groups now, all workers. */
int64_t fetch_inflight(void);

#endif
