/* fuzz_oai_req_fast: the one-pass OpenAI chat request → Gemini body (src/openai/openai_chat_fast.c).
 * The first byte selects the settings: bit 0, the gateway's thinking default on (budget from
 * bits 1-2); the rest is the request body.  Oracle: whenever the fast path answers, its body is
 * JSON, the tree path (oai_chat_parse) accepts the request too and gives the same body as JSON
 * and the same model, stream, include_usage, n and prompt. */
#include "fuzz.h"

#include "openai/openai.h"
#include "openai/openai_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  static const int budgets[] = { -1, 0, 1024, 32768 };
  oai_settings set = { .thinking_enabled = data[0] & 1, .thinking_budget = budgets[(data[0] >> 1) & 3],
                       .include_thoughts = data[0] & 8 };
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  oai_chat f, t;
  if(!oai_chat_parse_fast(p, n, &set, &f)) {
    CHECK(!f.raw && !f.model && !f.prompt);
    return 0;
  }
  CHECK(f.raw && !f.body && !f.nfetch && strlen(f.raw) == f.raw_len);
  json_t *fj = json_loadb(f.raw, f.raw_len, 0, NULL);
  CHECK(fj);
  oai_error e;
  memset(&e, 0, sizeof e);
  CHECK(oai_chat_parse(p, n, &set, &t, &e) == 0);
  CHECK(json_equal(fj, t.body));
  CHECK(!strcmp(f.model, t.model) && !strcmp(f.prompt, t.prompt));
  CHECK(f.stream == t.stream && f.include_usage == t.include_usage && f.n == t.n);
  json_decref(fj);
  oai_chat_free(&f);
  oai_chat_free(&t);
  return 0;
}
