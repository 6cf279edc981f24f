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
  return call_kind_billable(kind) && strcmp(kind, "batch") && strcmp(kind, "cache_update");
}
