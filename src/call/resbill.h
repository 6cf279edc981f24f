/* resbill — what a resource costs after the call that created it, billed when the gateway sees
 * it happen (issue 9; docs/ledger.md, "Batches and cache TTL changes").
 *
 * A batch (models/{m}:batchGenerateContent) is billed once, when a GET of batches/{id} through
 * the gateway answers it finished (done, or a final state): one row of kind "batch" with the
 * sums of its inlined responses' usageMetadata, at the model's batch_percent, for the user who
 * created it.  owners_mark_billed makes it once per batch, across clients and restarts.  The
 * budget reservation of its creation is held on the resource until that row settles.
 *
 * A PATCH of cachedContents/{id} that extends the cache's life bills the added storage: the
 * cache's tokens (recorded at its creation) × the time beyond the furthest expiry billed so far
 * × the model's storage price.  A shortened life bills nothing and credits nothing.
 *
 * Only calls on a resource the gateway recorded reach these hooks: a plain generateContent
 * never does. */
#ifndef GEMGATE_RESBILL_H
#define GEMGATE_RESBILL_H

#include "call/proxy.h"
#include "pool/owners.h"

/* Why a billable call of this kind cannot be billed from what the gateway sees (for refusing it
 * to budgeted callers: proxy.c), or NULL when it can: an embedding batch (Google reports no
 * tokens for embeddings), a batch whose requests are in a file (its results are a file the
 * gateway does not read), a TTL change of a cache the gateway never saw created (no model:
 * model is ""). */
const char *resbill_unbillable(const char *kind, str path, const char *model, const char *body, size_t len);

/* For a call on the resource owner that its path names as a whole (not an action on it): a GET
 * of a batch or a PATCH of a cache gets the billing hook on s (capture, on_ok). */
void resbill_route(http_req *r, proxy_spec *s, const own_entry *owner);

#endif
