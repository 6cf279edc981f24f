/* fuzz_oai_response: Gemini answers → OpenAI answers (src/openai/): generateContent → a chat
 * completion, models.list → the model list, an error body → OpenAI's error, batchEmbedContents →
 * embeddings, an image answer → images.  Oracle: a translation is a JSON object that serialises,
 * or an error with a status. */
#include "fuzz.h"

#include "openai/openai.h"

static oai_embed emb;
static oai_image img, img_url;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  static const char e[] = "{\"model\":\"text-embedding-004\",\"input\":[\"a\",\"b\"]}";
  static const char i[] = "{\"model\":\"imagen-3.0-generate-002\",\"prompt\":\"a cat\",\"n\":2}";
  static const char u[] = "{\"model\":\"gemini-2.5-flash-image\",\"prompt\":\"a dog\",\"response_format\":\"url\"}";
  oai_error err;
  if(oai_embed_parse(e, sizeof e - 1, &emb, &err) || oai_image_parse(i, sizeof i - 1, &img, &err) ||
     oai_image_parse(u, sizeof u - 1, &img_url, &err)) {
    fprintf(stderr, "fuzz_oai_response: the fixed requests do not parse: %s\n", err.message);
    abort();
  }
  return 0;
}

static void check(json_t *j, const oai_error *e)
{
  if(!j) { CHECK(e->status >= 400 && e->status < 600); return; }
  CHECK(json_is_object(j));
  size_t len;
  char *s = oai_dump(j, &len);
  CHECK(s && len > 1);
  free(s);
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  oai_error e;
  memset(&e, 0, sizeof e);
  oai_meta m = { "chatcmpl-fuzz0000000000000000", "gemini-fuzz", 1700000000 };
  oai_usage u;
  switch(sel % 5) {
  case 0: check(oai_chat_response(p, n, &m, sel & 8 ? &u : NULL, &e), &e); break;
  case 1: check(oai_models(p, n, &e), &e); break;
  case 2:
    oai_google_error(400 + (sel >> 3) % 200, p, n, &e);
    CHECK(e.status >= 400 && e.status < 600);
    check(oai_error_json(&e), &e);
    break;
  case 3: {
    str bodies[1] = { { p, n } };
    check(oai_embed_response(&emb, bodies, 1, &e), &e);
    break;
  }
  default: check(oai_image_response(sel & 8 ? &img_url : &img, p, n, 1700000000, sel & 16 ? &u : NULL, &e), &e);
  }
  return 0;
}
