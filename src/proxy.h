/* proxy — native Gemini passthrough: choose a key, call the upstream, stream the answer back,
 * retry on another key while nothing has reached the client, report to the key pool. */
#ifndef GEMGATE_PROXY_H
#define GEMGATE_PROXY_H

#include "auth.h"
#include "http.h"

/* Forward r (under /v1beta/ or /v1/) for an authenticated caller.  Answers r eventually. */
void proxy_native(http_req *r, const principal *who);

/* The model named in a Gemini path ("/v1beta/models/gemini-2.5-flash:generateContent" →
 * "gemini-2.5-flash"), copied into out (cap bytes); "" when none.  Sets *action to what follows
 * the colon (or {NULL,0}). */
void proxy_parse_model(str path, char *out, size_t cap, str *action);

/* RetryInfo.retryDelay from a Google error body, in ms; -1 when absent. */
int64_t proxy_retry_delay(const char *body, size_t len);

/* True when a Google error body says the key is invalid (API_KEY_INVALID). */
bool proxy_key_invalid(const char *body, size_t len);

#endif
