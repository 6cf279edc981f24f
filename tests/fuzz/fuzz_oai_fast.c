/* fuzz_oai_fast: the one-pass Gemini → OpenAI chat answer (src/openai/openai_fast.c).  Oracle:
 * whenever the fast path answers, its answer is JSON and the tree path (oai_chat_response)
 * answers the same JSON; an input the tree path refuses is never answered by the fast path. */
#include "fuzz.h"

#include "openai/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *p = (const char *)data;
  oai_meta m = { "chatcmpl-fuzz0000000000000000", "gemini-fuzz", 1700000000 };
  size_t len = 0;
  char *f = oai_chat_fast(p, size, &m, &len);
  if(!f) return 0;
  CHECK(strlen(f) == len);
  json_t *fj = json_loadb(f, len, 0, NULL);
  CHECK(fj);
  oai_error e;
  memset(&e, 0, sizeof e);
  json_t *tj = oai_chat_response(p, size, &m, NULL, &e);
  CHECK(tj);
  CHECK(json_equal(fj, tj));
  json_decref(fj);
  json_decref(tj);
  free(f);
  return 0;
}
