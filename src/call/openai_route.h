/* openai_route — the OpenAI-compatible API (seeds 003, 004) on the call engine: requests are
 * translated by openai.c, sent through proxy.c's key pool and retries, and the answers
 * translated back, streams event by event. */
#ifndef GEMGATE_OPENAI_ROUTE_H
#define GEMGATE_OPENAI_ROUTE_H

#include <stdbool.h>

#include "http/auth.h"
#include "http/http.h"

/* True when r is for the OpenAI API, served or not: /v1/chat/…, /v1/embeddings…, /v1/images/…,
 * /v1/responses… (served by call/responses_route.c: app/route.c sends it there), OpenAI-only
 * resources (/v1/completions, /v1/audio/…, …), and from a Bearer-only
 * caller /v1/files…, /v1/batches… and /v1/models[/id] (not /v1/models/<m>:<method>).  A caller
 * using x-goog-api-key or ?key= on those three gets Gemini's API. */
bool openai_wants(const http_req *r);

/* Answer r (openai_wants(r) was true) for an authenticated caller: the served routes, and
 * locally, in OpenAI's shape, a non-canonical path (400), a path not served (404 unknown_url)
 * or a wrong method (405 with Allow) — never forwarded. */
void openai_handle(http_req *r, const principal *who);

/* An error in OpenAI's shape, for the steps before openai_handle (authentication). */
void openai_error(http_req *r, int status, const char *code, const char *message, const char *extra);

#endif
