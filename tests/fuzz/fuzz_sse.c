/* fuzz_sse: the SSE splitter and the Gemini → OpenAI stream translation (src/openai/
 * openai_stream.c): upstream bytes in pieces of any size, OpenAI chat.completion.chunk events
 * out.  Oracle: the events (and whether and how the stream ended) do not depend on the pieces. */
#include "fuzz.h"

#include "openai/openai.h"

typedef struct run { oai_buf out; int fed, fin; } run;

static run translate(const char *p, size_t n, size_t step, bool usage, bool finish)
{
  oai_meta m = { "chatcmpl-fuzz0000000000000000", "gemini-fuzz", 1700000000 };
  oai_stream *s = oai_stream_new(&m, usage);
  CHECK(s);
  run r = { { 0 }, OAI_STREAM_MORE, -1 };
  for(size_t i = 0; i < n && r.fed == OAI_STREAM_MORE; i += step)
    r.fed = oai_stream_feed(s, p + i, n - i < step ? n - i : step, &r.out);
  if(finish) r.fin = oai_stream_finish(s, &r.out);
  else oai_stream_abort(s, NULL, &r.out);
  (void)oai_stream_usage(s);
  (void)oai_stream_error(s);
  oai_stream_free(s);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  uint8_t sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  bool usage = sel & 1, finish = !(sel & 2);
  run a = translate(p, n, n ? n : 1, usage, finish), b = translate(p, n, 1 + (sel >> 2) % 37, usage, finish);
  CHECK(a.fed == b.fed && a.fin == b.fin);
  CHECK(a.out.n == b.out.n && (!a.out.n || !memcmp(a.out.p, b.out.p, a.out.n)));
  oai_buf_free(&a.out);
  oai_buf_free(&b.out);
  return 0;
}
