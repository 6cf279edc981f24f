/* responses_route — OpenAI's Responses API on the call engine, for Codex CLI, the Agents SDK and
 * the openai SDKs' client.responses: POST /v1/responses (plain and streamed), GET and DELETE
 * /v1/responses/{id}, GET /v1/responses/{id}/input_items.  Responses are stored per user
 * (convo/) for GEMGATE_RESPONSES_TTL so previous_response_id can continue a conversation;
 * another user's id is a 404.  Errors in OpenAI's shape.  docs/dialects.md has the mapping. */
#ifndef GEMGATE_RESPONSES_ROUTE_H
#define GEMGATE_RESPONSES_ROUTE_H

#include <stdbool.h>

#include "http/auth.h"
#include "http/http.h"

/* True for /v1/responses and everything under it. */
bool responses_wants(const http_req *r);

/* Answer r (responses_wants(r) was true) for an authenticated caller: the routes above, and
 * locally in OpenAI's shape a non-canonical path (400), a path not served (404) or a wrong
 * method (405 with Allow). */
void responses_handle(http_req *r, const principal *who);

#endif
