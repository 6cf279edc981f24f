/* openai_route — the OpenAI-compatible API (seeds 003, 004) on the call engine: requests are
 * translated by openai.c, sent through proxy.c's key pool and retries, and the answers
 * translated back, streams event by event. */
#ifndef GEMGATE_OPENAI_ROUTE_H
#define GEMGATE_OPENAI_ROUTE_H

#include <stdbool.h>

#include "http/auth.h"
#include "http/http.h"

/* True when r is for the OpenAI API: POST /v1/chat/completions, /v1/embeddings,
 * /v1/images/generations, and GET /v1/models[/id] from a Bearer caller (a caller using
 * x-goog-api-key or ?key= gets Gemini's model list). */
bool openai_wants(const http_req *r);

/* Answer r (openai_wants(r) was true) for an authenticated caller. */
void openai_handle(http_req *r, const principal *who);

/* An error in OpenAI's shape, for the steps before openai_handle (authentication). */
void openai_error(http_req *r, int status, const char *code, const char *message, const char *extra);

#endif
