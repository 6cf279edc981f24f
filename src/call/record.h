/* record — the ledger row of a client call, the one place its outcome is set.  The call engine
 * knows the request (HTTP, the caller, the dialect); the ledger knows none of it.  These
 * functions turn a request and how its call ended into the plain facts of a ledger_row and hand
 * them to the ledger.
 *
 * Every route ends a call through record_finish (the engine, proxy.c) or record_local (answers
 * the gateway gives by itself), always before the last byte of the answer is written: after it,
 * the request (its headers, body and clock) is gone.  The status, stream flag, endpoint kind,
 * model, timings and tokens are those of the answer the client got (docs/ledger.md, "the
 * conformance table"). */
#ifndef GEMGATE_RECORD_H
#define GEMGATE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "ledger/ledger.h"
#include "users/principal.h"

struct usage;

/* Fill the facts known from the request: the caller (user, access key; who may be NULL), the
 * client address (X-Forwarded-For only from GEMGATE_TRUSTED_PROXIES), model ("" or NULL when
 * none), the endpoint kind (call_endpoint_kind) and the generation type (a valid
 * X-Generation-Type label — letters, digits, '_', '-', '.', at most 31 — else call_gen_type of the kind),
 * the stream flag (kind "stream"), the body with its dialect's prompt extractor (the ledger runs
 * it on its writer thread unless GEMGATE_LOG_PROMPTS=0) and created_ms = now.  The rest of *row
 * is zeroed.  row borrows r's body until ledger_record returns. */
void record_begin(ledger_row *row, const http_req *r, const principal *who, const char *model,
                  ledger_prompt_fn prompt_of);

/* How the call ended: the HTTP status the client got, success (2xx and no error), error (NULL
 * on success), the latency since the request's head arrived (t0_us: the request's mono_us
 * t0_us) and the time to the first byte sent to the client (ttfb_us: its mono_us, 0 when
 * nothing was sent). */
void record_end(ledger_row *row, int64_t t0_us, int status, const char *error, int64_t ttfb_us);

/* record_end, then hand the row to the ledger (no-op without one). */
void record_finish(ledger *l, ledger_row *row, int64_t t0_us, int status, const char *error, int64_t ttfb_us);

/* What a context-cache creation body (POST cachedContents) says: its model (without "models/")
 * into model, and how long it is asked to live — "ttl": "<seconds>s", else "expireTime" (RFC
 * 3339) from now, else Google's default of an hour — into *seconds.  Scans, does not parse: the
 * body may be large.  Memory only. */
void record_cache_facts(const char *body, size_t len, int64_t now_ms, char *model, size_t cap, int64_t *seconds);

/* The most a request can use, for a budget's reservation, scanned from its upstream body: the
 * prompt as ⌈bytes / 4⌉ tokens; the output as generationConfig's maxOutputTokens × candidateCount
 * when given (else -1: the model's largest); for kind "image", parameters.sampleCount images (else
 * Imagen's default, 4).  Memory only. */
void record_estimate(const char *body, size_t len, const char *kind, int64_t *prompt, int64_t *max_out, int64_t *images);

/* A batch creation body's most, for its reservation: the prompt as ⌈bytes / 4⌉ tokens (every
 * request's together); the first maxOutputTokens as each request's output (else -1: the
 * model's largest); the inlined requests (their "request" keys; at least 1).  Memory only. */
void record_batch_estimate(const char *body, size_t len, int64_t *prompt, int64_t *max_out, int64_t *requests);

/* The one billed row of a finished batch (resbill.h), found finished by the call on r: kind and
 * type "batch", billed at the batch price, for the user who created it (user_id; who is the
 * caller, the same user), its model, the masked key that owns it, u the sums of its responses'
 * usageMetadata, reserved the reservation held since its creation (released when the row
 * settles), unread when its results are not in the answer (a responses file): the row then says
 * unpriced.  No-op without a ledger. */
void record_batch(ledger *l, const http_req *r, const principal *who, int64_t user_id, const char *model,
                  const char *keymask, const struct usage *u, int64_t reserved, bool unread);

/* A call the gateway answered by itself, without an upstream attempt (is_local): an invalid
 * request, a cached answer, a client gone before the call began.  stream: the client asked for
 * a stream.  Call it before answering r.  No-op without a ledger. */
void record_local(const http_req *r, const principal *who, const char *model, ledger_prompt_fn prompt_of,
                  bool stream, int status, const char *error);

#endif
