/* endpoint — a client call's kind; contract in endpoint.h. */
#include "call/endpoint.h"

#include <string.h>

const char *call_endpoint_kind(str method, str path)
{
  if(str_eq(path, STR("/v1/chat/completions"))) return "chat";
  if(str_eq(path, STR("/v1/embeddings"))) return "embed";
  if(str_eq(path, STR("/v1/images/generations"))) return "image";
  if(str_eq(path, STR("/v1beta/cachedContents")) || str_eq(path, STR("/v1/cachedContents")))
    return str_eq(method, STR("POST")) ? "cache" : "other";
  if((str_starts(path, STR("/v1beta/cachedContents/")) || str_starts(path, STR("/v1/cachedContents/"))) &&
     str_eq(method, STR("PATCH")))
    return "cache_update";
  /* The other dialects (issue 12): the endpoint names the dialect, the type of the call is chat. */
  bool post = str_eq(method, STR("POST"));
  if(str_eq(path, STR("/v1/messages"))) return "messages";
  if(str_eq(path, STR("/v1/messages/count_tokens"))) return "count_tokens";
  if(str_eq(path, STR("/v1/responses"))) return post ? "responses" : "other";
  if(str_starts(path, STR("/v1/responses/")) || str_starts(path, STR("/v1/messages/"))) return "other";
  if(str_starts(path, STR("/api/chat/sessions/")) && path.n > 28 && post &&
     !memcmp(path.p + path.n - 9, "/messages", 9))
    return "chat_session";
  const char *colon = NULL;
  for(size_t i = path.n; i-- > 0 && path.p[i] != '/';) if(path.p[i] == ':') { colon = path.p + i; break; }
  if(!colon) return str_starts(path, STR("/v1beta/models")) || str_starts(path, STR("/v1/models")) ? "models" : "other";
  str action = { colon + 1, (size_t)(path.p + path.n - colon - 1) };
  if(str_eq(action, STR("generateContent"))) return "generate";
  if(str_eq(action, STR("streamGenerateContent"))) return "stream";
  if(str_eq(action, STR("countTokens"))) return "count_tokens";
  if(str_eq(action, STR("batchGenerateContent")) || str_eq(action, STR("asyncBatchEmbedContents"))) return "batch";
  if(str_eq(action, STR("embedContent")) || str_eq(action, STR("batchEmbedContents"))) return "embed";
  if(str_eq(action, STR("predict")) || str_eq(action, STR("predictLongRunning")) ||
     str_eq(action, STR("generateImages")))
    return "image";
  return "other";
}

bool call_kind_billable(const char *kind)
{
  static const char *const k[] = { "generate", "stream", "embed", "image", "chat", "batch", "cache", "cache_update" };
  for(size_t i = 0; i < ARRAY_LEN(k); i++) if(!strcmp(kind, k[i])) return true;
  return false;
}

bool call_kind_billed(const char *kind)
{
  return call_kind_billable(kind);   /* batches and TTL changes too, since resbill.h */
}

const char *call_gen_type(const char *kind)
{
  if(!strcmp(kind, "messages") || !strcmp(kind, "responses") || !strcmp(kind, "chat_session")) return "chat";
  return kind;
}
