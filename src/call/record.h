/* record — the ledger row of a client call.  The call engine knows the request (HTTP, the
 * caller, the dialect); the ledger knows none of it.  These functions turn a request and how
 * its call ended into the plain facts of a ledger_row and hand them to the ledger. */
#ifndef GEMGATE_RECORD_H
#define GEMGATE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "ledger/ledger.h"
#include "users/principal.h"

/* Fill the facts known from the request: the caller (user, access key; who may be NULL), the
 * client address (X-Forwarded-For only from GEMGATE_TRUSTED_PROXIES), model ("" or NULL when
 * none), the endpoint kind (call_endpoint_kind) and the generation type (a valid
 * X-Generation-Type label — letters, digits, '_', '-', '.', at most 31 — else call_gen_type of the kind),
 * the stream flag (kind "stream"), the body with its dialect's prompt extractor (the ledger runs
 * it on its writer thread unless GEMGATE_LOG_PROMPTS=0) and created_ms = now.  The rest of *row
 * is zeroed.  row borrows r's body until ledger_record returns. */
void record_begin(ledger_row *row, const http_req *r, const principal *who, const char *model,
                  ledger_prompt_fn prompt_of);

/* How the call ended: HTTP status, success (2xx and no error), error (NULL on success), the
 * latency since the request's head arrived and the time to the first byte sent to the client
 * (ttfb_us: its mono_us, 0 when nothing was sent). */
void record_end(ledger_row *row, const http_req *r, int status, const char *error, int64_t ttfb_us);

/* A call the gateway answered by itself, without an upstream attempt (is_local): an invalid
 * request, a cached answer, a quota refusal (refused: recorded, but not counted against quotas
 * or in the meters), a client gone before the call began.  No-op without a ledger. */
void record_local(const http_req *r, const principal *who, const char *model, ledger_prompt_fn prompt_of,
                  int status, bool refused, const char *error);

#endif
