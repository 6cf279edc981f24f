/* fuzz_oai_fast: the one-pass Gemini → OpenAI translation (src/openai/openai_fast.c and the
 * stream's fast events).  The first byte selects: odd, the rest is a generateContent answer;
 * even, the rest is a stream, one event's data per line.  Oracle: whenever the fast path
 * answers, its answer is JSON and the tree path (oai_chat_response) answers the same JSON,
 * and a stream translated with fast events gives the same events, as JSON, as the same
 * stream through jansson alone. */
#include "fuzz.h"

#include "openai/openai.h"
#include "openai/openai_internal.h"

static const oai_meta M = { "chatcmpl-fuzz0000000000000000", "gemini-fuzz", 1700000000 };

static void chat(const char *p, size_t size)
{
  size_t len = 0;
  char *f = oai_chat_fast(p, size, &M, &len);
  if(!f) return;
  CHECK(strlen(f) == len);
  json_t *fj = json_loadb(f, len, 0, NULL);
  CHECK(fj);
  oai_error e;
  memset(&e, 0, sizeof e);
  json_t *tj = oai_chat_response(p, size, &M, NULL, &e);
  CHECK(tj);
  CHECK(json_equal(fj, tj));
  json_decref(fj);
  json_decref(tj);
  free(f);
}

static char *sse(const char *p, size_t n, bool tree_only, bool usage)
{
  oai_stream *st = oai_stream_new(&M, usage);
  CHECK(st);
  if(tree_only) oai_stream_tree_only(st);
  oai_buf out = { 0 };
  int rc = OAI_STREAM_MORE;
  for(const char *q = p, *end = p + n; q < end && rc == OAI_STREAM_MORE;) {
    const char *nl = memchr(q, '\n', (size_t)(end - q));
    const char *e = nl ? nl : end;
    rc = oai_stream_feed(st, "data: ", 6, &out);
    if(rc == OAI_STREAM_MORE) rc = oai_stream_feed(st, q, (size_t)(e - q), &out);
    if(rc == OAI_STREAM_MORE) rc = oai_stream_feed(st, "\n\n", 2, &out);
    q = e + 1;
  }
  if(rc == OAI_STREAM_MORE) oai_stream_finish(st, &out);
  oai_stream_free(st);
  CHECK(!oai_buf_append(&out, "", 1));
  return out.p;
}

static void stream(const char *p, size_t n, bool usage)
{
  if(memchr(p, '\r', n)) return;          /* a \r ends an SSE line too: the events would differ in cut, not in translation */
  char *a = sse(p, n, false, usage), *b = sse(p, n, true, usage);
  const char *x = a, *y = b;
  for(;;) {
    const char *xe = strstr(x, "\n\n"), *ye = strstr(y, "\n\n");
    CHECK(!xe == !ye);
    if(!xe) break;
    json_t *xj = json_loadb(x + 6, (size_t)(xe - x - 6), 0, NULL), *yj = json_loadb(y + 6, (size_t)(ye - y - 6), 0, NULL);
    if(xj || yj) CHECK(xj && yj && json_equal(xj, yj));
    else CHECK(xe - x == ye - y && !memcmp(x, y, (size_t)(xe - x)));
    json_decref(xj);
    json_decref(yj);
    x = xe + 2, y = ye + 2;
  }
  CHECK(!strcmp(x, y));
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1) return 0;
  const char *p = (const char *)data + 1;
  if(data[0] & 1) chat(p, size - 1);
  else stream(p, size - 1, data[0] & 2);
  return 0;
}
