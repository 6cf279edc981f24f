/* fetch — GET a client-named URL (an image in an OpenAI message) into memory, on the worker's
 * upstream client, with a size cap and the call timeout.  Refuses private addresses unless
 * GEMGATE_FETCH_PRIVATE is set (see upstream.h). */
#ifndef GEMGATE_FETCH_H
#define GEMGATE_FETCH_H

#include <stddef.h>

struct upstream;
typedef struct fetch fetch;

/* Called once: ok with the body (borrowed for the call) and its Content-Type (may be NULL), or
 * not ok with a message. */
typedef void (*fetch_done)(void *ctx, int ok, const char *ctype, const char *body, size_t len, const char *err);

/* Start a GET of url on upstream client u (the worker's); at most cap bytes, within the
 * configured timeout capped at 30 s.  NULL when it could not start (done is not called). */
fetch *fetch_start(struct upstream *u, const char *url, size_t cap, fetch_done done, void *ctx);

/* Stop a fetch; done is not called. */
void fetch_cancel(fetch *f);

#endif
