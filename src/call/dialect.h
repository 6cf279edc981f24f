/* dialect — what the routes of the other client dialects (Anthropic's Messages, OpenAI's
 * Responses, chat sessions) share on top of the call engine: ids, the upstream request of a
 * translated call, and the image URLs a request names, fetched before its call. */
#ifndef GEMGATE_DIALECT_H
#define GEMGATE_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "call/proxy.h"

/* prefix and 24 random letters and digits into out ("msg_…", "resp_…", "chat_…"). */
void dialect_id(char *out, size_t cap, const char *prefix);

/* Start the call for who: POST <upstream><path> with body j (serialised here; NULL: a GET),
 * answered through codec/st (which proxy_start then owns).  Forwards the client's own x-…
 * headers but not its SDK's telemetry (x-stainless-…) nor what proxy_client_headers drops.
 * -1 when out of memory: nothing was started, st is still the caller's. */
int dialect_send(http_req *r, const principal *who, const char *model, const char *path, const json_t *j,
                 bool stream, ledger_prompt_fn prompt_of, const proxy_codec *codec, void *st);

/* ---- image URLs fetched before a call ---- */

/* One fetch ended (err NULL: ok, with the body borrowed for the call).  false: the request
 * fails (no more fill calls; done gets failed = true). */
typedef bool (*dfetch_fill_fn)(void *st, size_t i, const char *ctype, const char *body, size_t len, const char *err);
/* All ended: r is the caller's again (r->ctx, r->on_abort reset). */
typedef void (*dfetch_done_fn)(void *st, http_req *r, bool failed);
/* The client left while fetching: free st (r is gone). */
typedef void (*dfetch_abort_fn)(void *st);

/* Fetch urls[0..n) (n ≤ 32, each at most 20 MiB) on r's worker, calling fill for each and done
 * once at the end; takes r over meanwhile.  -1 when out of memory before anything started. */
int dfetch_start(http_req *r, char *const *urls, size_t n, void *st, dfetch_fill_fn fill, dfetch_done_fn done,
                 dfetch_abort_fn abort_fn);

#endif
