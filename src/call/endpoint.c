/* endpoint — a client call's kind; contract in endpoint.h. */
#include "call/endpoint.h"

const char *call_endpoint_kind(str method, str path)
{
  (void)method;
  if(str_eq(path, STR("/v1/chat/completions"))) return "chat";
  if(str_eq(path, STR("/v1/embeddings"))) return "embed";
  if(str_eq(path, STR("/v1/images/generations"))) return "image";
  const char *colon = NULL;
  for(size_t i = path.n; i-- > 0 && path.p[i] != '/';) if(path.p[i] == ':') { colon = path.p + i; break; }
  if(!colon) return str_starts(path, STR("/v1beta/models")) || str_starts(path, STR("/v1/models")) ? "models" : "other";
  str action = { colon + 1, (size_t)(path.p + path.n - colon - 1) };
  if(str_eq(action, STR("generateContent"))) return "generate";
  if(str_eq(action, STR("streamGenerateContent"))) return "stream";
  if(str_eq(action, STR("countTokens"))) return "count_tokens";
  if(str_eq(action, STR("embedContent")) || str_eq(action, STR("batchEmbedContents"))) return "embed";
  if(str_eq(action, STR("predict")) || str_eq(action, STR("predictLongRunning")) ||
     str_eq(action, STR("generateImages")))
    return "image";
  return "other";
}
