/* fuzz_oai_request: OpenAI request bodies → Gemini requests (src/openai/): chat completions
 * (with and without seed 004's settings: thinking, injected prompts), embeddings, images.
 * Oracle: a translation either fails with a client error in OpenAI's shape, or gives a body. */
#include "fuzz.h"

#include "openai/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  oai_error e;
  memset(&e, 0, sizeof e);
  switch(sel % 3) {
  case 0: {
    oai_settings s = { .thinking_enabled = sel & 4, .thinking_budget = sel & 8 ? -1 : 1024, .include_thoughts = sel & 16,
                       .inject_enabled = sel & 32, .inject_content = "Be brief.",
                       .inject_position = (oai_inject_pos)((sel >> 6) % 3) };
    oai_chat c;
    memset(&c, 0, sizeof c);
    int rc = oai_chat_parse(p, n, sel & 128 ? &s : NULL, &c, &e);
    if(rc) CHECK(e.status >= 400 && e.status < 600 && e.message[0]);
    else {
      CHECK(c.body && c.nfetch <= OAI_MAX_FETCHES);
      for(size_t i = 0; i < c.nfetch; i++) {            /* a fetched image arriving, or not */
        static const uint8_t png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0 };
        oai_error fe;
        (void)oai_fetch_fill(&c.fetch[i], i & 1 ? "image/png" : NULL, png, i % 3 ? sizeof png : 3, &fe);
      }
      size_t len;
      char *s2 = oai_dump(c.body, &len);
      CHECK(s2);
      free(s2);
    }
    oai_chat_free(&c);
    break;
  }
  case 1: {
    oai_embed r;
    memset(&r, 0, sizeof r);
    if(oai_embed_parse(p, n, &r, &e)) CHECK(e.status >= 400 && e.status < 600);
    oai_embed_free(&r);
    break;
  }
  default: {
    oai_image r;
    memset(&r, 0, sizeof r);
    if(oai_image_parse(p, n, &r, &e)) CHECK(e.status >= 400 && e.status < 600);
    oai_image_free(&r);
  }
  }
  return 0;
}
