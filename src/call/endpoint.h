/* endpoint — the kind of a client call, as the ledger records it (its `endpoint` column and the
 * generation type of an unlabelled call).  The one place that maps a client request to a kind. */
#ifndef GEMGATE_ENDPOINT_H
#define GEMGATE_ENDPOINT_H

#include "base/util.h"

/* The kind of the client request method + path (no query): "chat", "generate", "stream",
 * "embed", "count_tokens", "image", "models" or "other" (a static string).
 *   OpenAI: /v1/chat/completions chat, /v1/embeddings embed, /v1/images/generations image,
 *           /v1/models[/id] models.
 *   Gemini, by the action after the path's last ':' (exact): generateContent generate,
 *           streamGenerateContent stream, countTokens count_tokens, embedContent and
 *           batchEmbedContents embed, predict, predictLongRunning and generateImages image,
 *           anything else other; no action: /v1beta/models… and /v1/models… models.
 * Everything else is other.  The method does not change the answer today. */
const char *call_endpoint_kind(str method, str path);

#endif
