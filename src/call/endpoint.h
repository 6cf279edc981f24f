/* endpoint — the kind of a client call, as the ledger records it (its `endpoint` column and the
 * generation type of an unlabelled call).  The one place that maps a client request to a kind. */
#ifndef GEMGATE_ENDPOINT_H
#define GEMGATE_ENDPOINT_H

#include "base/util.h"

/* The kind of the client request method + path (no query): "chat", "generate", "stream",
 * "embed", "count_tokens", "image", "batch", "cache", "cache_update", "models" or "other" (a
 * static string).
 *   OpenAI: /v1/chat/completions chat, /v1/embeddings embed, /v1/images/generations image,
 *           /v1/models[/id] models.
 *   Gemini, by the action after the path's last ':' (exact): generateContent generate,
 *           streamGenerateContent stream, countTokens count_tokens, embedContent and
 *           batchEmbedContents embed, predict, predictLongRunning and generateImages image,
 *           batchGenerateContent and asyncBatchEmbedContents batch, anything else other; no
 *           action: /v1beta/models… and /v1/models… models.
 *   Context caches: POST …/cachedContents cache (its storage is billed), PATCH
 *           …/cachedContents/{id} cache_update (a TTL change the gateway cannot bill).
 * Everything else is other. */
const char *call_endpoint_kind(str method, str path);

/* Whether a call of this kind costs money (generate, stream, embed, image, chat, batch, cache,
 * cache_update), and whether the gateway can bill it from what it sees (not batch, whose usage
 * Google reports when the batch runs, nor cache_update). */
bool call_kind_billable(const char *kind);
bool call_kind_billed(const char *kind);

#endif
