/* anthropic_route — Anthropic's Messages API (POST /v1/messages, its stream, POST
 * /v1/messages/count_tokens, GET /v1/models in Anthropic's shape) on the call engine, for
 * Claude Code and the Anthropic SDKs.  The access key comes as x-api-key or Authorization:
 * Bearer; anthropic-version is accepted (any value).  Model names go through
 * GEMGATE_MODEL_ALIASES.  docs/dialects.md has the mapping. */
#ifndef GEMGATE_ANTHROPIC_ROUTE_H
#define GEMGATE_ANTHROPIC_ROUTE_H

#include <stdbool.h>

#include "http/auth.h"
#include "http/http.h"

/* True when r is for the Anthropic API: /v1/messages and everything under it, and /v1/models
 * or /v1/models/<id> from a caller sending anthropic-version. */
bool anthropic_wants(const http_req *r);

/* Answer r (anthropic_wants(r) was true) for an authenticated caller: the served routes, and
 * locally, in Anthropic's shape, a non-canonical path (400), a path not served (404) or a
 * wrong method (405 with Allow) — never forwarded. */
void anthropic_handle(http_req *r, const principal *who);

/* An error in Anthropic's shape ({"type":"error","error":{type,message}}), for the steps
 * before anthropic_handle (authentication). */
void anthropic_error(http_req *r, int status, const char *message, const char *extra);

#endif
