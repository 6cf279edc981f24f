/* endpoint — the kind of a client call, as the ledger records it (its `endpoint` column and the
 * generation type of an unlabelled call).  The one place that maps a client request to a kind. */
#ifndef GEMGATE_ENDPOINT_H
#define GEMGATE_ENDPOINT_H

#include "base/util.h"

/* The kind of the client request method + path (no query): "chat", "generate", "stream",
 * "embed", "count_tokens", "image", "batch", "cache", "cache_update", "models", "messages", "responses",
 * "chat_session" or "other" (a
 * static string).
 *   Dialects: POST /v1/messages messages, /v1/messages/count_tokens count_tokens, POST
 *           /v1/responses responses, POST /api/chat/sessions/{id}/messages chat_session; the
 *           other /v1/responses… and /v1/messages/… paths other.
 *   OpenAI: /v1/chat/completions chat, /v1/embeddings embed, /v1/images/generations image,
 *           /v1/models[/id] models.
 *   Gemini, by the action after the path's last ':' (exact): generateContent generate,
 *           streamGenerateContent stream, countTokens count_tokens, embedContent and
 *           batchEmbedContents embed, predict, predictLongRunning and generateImages image,
 *           batchGenerateContent and asyncBatchEmbedContents batch, anything else other; no
 *           action: /v1beta/models… and /v1/models… models.
 *   Context caches: POST …/cachedContents cache (its storage is billed), PATCH
 *           …/cachedContents/{id} cache_update (a TTL change: its added storage is billed).
 * Everything else is other.  The method matters only for the dialect and cache kinds. */
const char *call_endpoint_kind(str method, str path);

/* Whether a call of this kind costs money (generate, stream, embed, image, chat, batch, cache,
 * cache_update), and whether the gateway bills it: every billable kind now — a batch when it is
 * seen finished, a TTL change from its answer (call/resbill.h); the calls of those kinds it
 * still cannot bill are named by resbill_unbillable. */
bool call_kind_billable(const char *kind);
bool call_kind_billed(const char *kind);

/* The generation type of an unlabelled call of that kind: the dialect kinds (Anthropic's
 * messages, OpenAI's responses, chat_session — POST /api/chat/sessions/{id}/messages) are
 * "chat"; every other kind is its own type. */
const char *call_gen_type(const char *kind);

#endif
