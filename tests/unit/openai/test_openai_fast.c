/* openai_fast: the one-pass Gemini → OpenAI chat answer gives the same JSON as the tree path
 * (oai_chat_response) for every fixture and for fuzzed inputs, takes the common answers (else it
 * would be no fast path at all), and leaves every other shape to the tree path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openai/openai.h"
#include "openai/openai_internal.h"

static const oai_meta META = { "chatcmpl-abc", "gemini-2.5-flash", 1700000000 };

/* Answers the fast path must take. */
static const char *const TAKEN[] = {
  /* Google's shape, as the fake and generateContent answer it */
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Gateways route requests.\"}],\"role\":\"model\"},"
  "\"finishReason\":\"STOP\",\"avgLogprobs\":-0.1234567890123,\"index\":0}],"
  "\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":5,\"totalTokenCount\":13,"
  "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":8}]},"
  "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abcDEF123\"}",
  /* pretty-printed, as Google sends it */
  "{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n            \"text\": \"Hi\"\n"
  "          }\n        ],\n        \"role\": \"model\"\n      },\n      \"finishReason\": \"STOP\"\n    }\n  ],\n"
  "  \"usageMetadata\": {\n    \"promptTokenCount\": 3,\n    \"candidatesTokenCount\": 1,\n    \"totalTokenCount\": 4\n  }\n}\n",
  /* several text parts, an empty one, escapes, UTF-8, a thought signature beside a text */
  "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"line\\none \\\"q\\\" \\\\ \\/ \\t\"},"
  "{\"text\":\"\"},{\"text\":\"caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80\",\"thoughtSignature\":\"c2ln\"}]},\"finishReason\":\"MAX_TOKENS\"}],"
  "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":7,\"thoughtsTokenCount\":19,"
  "\"cachedContentTokenCount\":2,\"totalTokenCount\":31}}",
  /* nothing said: content "" ; a filtered finish; an index */
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"SAFETY\",\"index\":3,"
  "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_HATE_SPEECH\",\"probability\":\"NEGLIGIBLE\",\"blocked\":false}]}]}",
  /* an index out of range, counts that are not positive integers, no finish reason */
  "{\"candidates\":[{\"index\":2000,\"content\":{\"parts\":[]}}],\"usageMetadata\":{\"promptTokenCount\":-4,"
  "\"candidatesTokenCount\":2.5,\"thoughtsTokenCount\":1e2,\"totalTokenCount\":0}}",
  "{\"candidates\":[{\"index\":1.0,\"content\":{\"parts\":[{\"text\":\"x\"}]},\"citationMetadata\":{\"citations\":[]}}],"
  "\"usageMetadata\":{},\"extra\":[null,true,false,-0,0.5e-10,{\"a\":{\"b\":[[]]}}]}",
  /* a candidate without content (a stream's last event, a blocked answer) */
  "{\"candidates\":[{\"finishReason\":\"STOP\"}]}",
};

/* Answers left to the tree path (it decides: an answer, or an error). */
static const char *const LEFT[] = {
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hm\",\"thought\":true},{\"text\":\"ok\"}]}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}]}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}},{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"caf\\u00e9\"}]}}]}",
  "{\"candidates\":[],\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}",
  "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}",
  "{\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{\"promptTokenCount\":12345678901234567890}}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]} trailing",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"bad \xc3\x28 utf8\"}]}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"raw\ttab\"}]}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}",
  "<html>oops</html>",
  "",
  "[1]",
};

/* The tree path's answer to p[0..n) as JSON, or NULL when it refuses it. */
static json_t *tree(const char *p, size_t n)
{
  oai_error e;
  return oai_chat_response(p, n, &META, NULL, &e);
}

/* The property: when the fast path answers, the tree path answers the same JSON.  Returns
 * whether the fast path answered. */
static bool agree(const char *p, size_t n)
{
  size_t len = 0;
  char *f = oai_chat_fast(p, n, &META, &len);
  if(!f) return false;
  assert_int_equal(strlen(f), len);
  json_error_t je;
  json_t *fj = json_loadb(f, len, 0, &je);
  if(!fj) fail_msg("the fast path wrote no JSON (%s): %s", je.text, f);
  json_t *tj = tree(p, n);
  if(!tj) fail_msg("the fast path answered what the tree path refuses: %.*s", (int)n, p);
  if(!json_equal(fj, tj)) {
    char *t = json_dumps(tj, JSON_COMPACT | JSON_SORT_KEYS), *g = json_dumps(fj, JSON_COMPACT | JSON_SORT_KEYS);
    print_error("input: %.*s\nfast:  %s\ntree:  %s\n", (int)n, p, g, t);
    free(t);
    free(g);
    fail();
  }
  json_decref(fj);
  json_decref(tj);
  free(f);
  return true;
}

static void test_fixtures_taken_and_equal(void **state)
{
  for(size_t i = 0; i < sizeof TAKEN / sizeof TAKEN[0]; i++)
    if(!agree(TAKEN[i], strlen(TAKEN[i]))) fail_msg("fixture %zu not taken by the fast path: %s", i, TAKEN[i]);
}

static void test_other_shapes_left_to_the_tree(void **state)
{
  for(size_t i = 0; i < sizeof LEFT / sizeof LEFT[0]; i++) {
    size_t len;
    char *f = oai_chat_fast(LEFT[i], strlen(LEFT[i]), &META, &len);
    if(f) fail_msg("fixture %zu taken by the fast path: %s → %s", i, LEFT[i], f);
  }
}

/* The text is copied as it stands: the fast answer holds the upstream's escapes byte for byte. */
static void test_text_copied_as_it_stands(void **state)
{
  const char *in = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\\/b\\n\"}]}}]}";
  size_t len;
  char *f = oai_chat_fast(in, strlen(in), &META, &len);
  assert_non_null(f);
  assert_non_null(strstr(f, "\"content\":\"a\\/b\\n\""));
  free(f);
}

/* The client's model name or an id that would need escaping goes the tree way. */
static void test_meta_needing_escapes_left_to_the_tree(void **state)
{
  const oai_meta m = { "chatcmpl-abc", "we\"ird", 1 };
  size_t len;
  assert_null(oai_chat_fast(TAKEN[0], strlen(TAKEN[0]), &m, &len));
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

/* Every fixture, mutated: bytes replaced by JSON's own (quotes, braces, digits, escapes, bad
 * UTF-8), inserted, deleted, cut.  Whatever the fast path answers, the tree path answers the
 * same; and it still takes a good share (the mutations that keep a plain answer). */
static void test_fuzzed_inputs_agree(void **state)
{
  static const char alphabet[] = "{}[]\":,\\ntu0123456789-.eE \n\xc3\xa9\x80\xff";
  char buf[2048];
  size_t taken = 0, runs = 0;
  for(size_t f = 0; f < sizeof TAKEN / sizeof TAKEN[0] + sizeof LEFT / sizeof LEFT[0]; f++) {
    const char *src = f < sizeof TAKEN / sizeof TAKEN[0] ? TAKEN[f] : LEFT[f - sizeof TAKEN / sizeof TAKEN[0]];
    size_t sn = strlen(src);
    for(int it = 0; it < 3000; it++, runs++) {
      size_t n = sn;
      memcpy(buf, src, n);
      for(int k = 1 + (int)(next() % 3); k > 0 && n > 0; k--) {
        size_t at = next() % n;
        char c = alphabet[next() % (sizeof alphabet - 1)];
        switch(next() % 4) {
        case 0: buf[at] = c; break;
        case 1: if(n < sizeof buf - 1) { memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; } break;
        case 2: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
        default: if(next() % 8 == 0) n = at; else buf[at] = c; break;
        }
      }
      taken += agree(buf, n);
    }
  }
  print_message("fuzzed: %zu of %zu inputs taken by the fast path\n", taken, runs);
  assert_true(taken > runs / 20);
}

/* ---------------------------------------------------------------- streams */

/* Stream events (alt=sse data), in the order a stream sends them; the fast path takes most,
 * the thought and call events go through the tree — the two share the stream's state. */
static const char *const EVENTS[] = {
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"thinking\",\"thought\":true}],\"role\":\"model\"},\"index\":0}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo \\\"w\\\"\\n\"},{\"text\":\"\xc3\xa9\"}],\"role\":\"model\"},\"index\":0}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"}}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"!\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"thoughtsTokenCount\":2,\"totalTokenCount\":9}}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"late\"}]},\"index\":0}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"second\"}]},\"index\":1}]}",
  "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},\"index\":2}]}",
  "{\"candidates\":[{\"finishReason\":\"MAX_TOKENS\",\"index\":2}]}",
  "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":1}],\"usageMetadata\":{\"promptTokenCount\":4}}",
};

/* The OpenAI SSE for the upstream events ev[0..n) (each possibly mutated), through the fast
 * path or the tree only; malloc'ed. */
static char *stream_run(char *const *ev, const size_t *evn, size_t n, bool tree_only, bool usage)
{
  oai_stream *st = oai_stream_new(&META, usage);
  assert_non_null(st);
  if(tree_only) oai_stream_tree_only(st);
  oai_buf out = { 0 };
  int rc = OAI_STREAM_MORE;
  for(size_t i = 0; i < n && rc == OAI_STREAM_MORE; i++) {
    rc = oai_stream_feed(st, "data: ", 6, &out);
    if(rc == OAI_STREAM_MORE) rc = oai_stream_feed(st, ev[i], evn[i], &out);
    if(rc == OAI_STREAM_MORE) rc = oai_stream_feed(st, "\r\n\r\n", 4, &out);
  }
  if(rc == OAI_STREAM_MORE) oai_stream_finish(st, &out);
  oai_stream_free(st);
  oai_buf_append(&out, "", 1);
  return out.p;
}

/* Both outputs, event by event: the same data, compared as JSON. */
static void same_sse(const char *a, const char *b)
{
  const char *p = a, *q = b;
  for(;;) {
    const char *pe = strstr(p, "\n\n"), *qe = strstr(q, "\n\n");
    if(!pe || !qe) { assert_true(!pe && !qe); assert_string_equal(p, q); return; }
    json_t *x = json_loadb(p + 6, (size_t)(pe - p - 6), 0, NULL), *y = json_loadb(q + 6, (size_t)(qe - q - 6), 0, NULL);
    if(x || y) {
      if(!x || !y || !json_equal(x, y)) fail_msg("events differ:\nfast: %.*s\ntree: %.*s", (int)(pe - p), p, (int)(qe - q), q);
    } else if(pe - p != qe - q || memcmp(p, q, (size_t)(pe - p))) fail_msg("events differ:\nfast: %.*s\ntree: %.*s", (int)(pe - p), p, (int)(qe - q), q);
    json_decref(x);
    json_decref(y);
    p = pe + 2, q = qe + 2;
  }
}

static void test_stream_events_fast_equals_tree(void **state)
{
  size_t n = sizeof EVENTS / sizeof EVENTS[0];
  char *ev[sizeof EVENTS / sizeof EVENTS[0]];
  size_t evn[sizeof EVENTS / sizeof EVENTS[0]];
  for(size_t i = 0; i < n; i++) ev[i] = (char *)EVENTS[i], evn[i] = strlen(EVENTS[i]);
  for(int usage = 0; usage < 2; usage++) {
    char *f = stream_run(ev, evn, n, false, usage), *t = stream_run(ev, evn, n, true, usage);
    same_sse(f, t);
    assert_non_null(strstr(f, "\"content\":\"lo \\\"w\\\"\\n\xc3\xa9\""));   /* copied as it stands */
    free(f);
    free(t);
  }
  /* the fast path does take these events */
  oai_fast a;
  assert_true(oai_fast_scan(EVENTS[0], strlen(EVENTS[0]), &a));
  assert_false(oai_fast_scan(EVENTS[1], strlen(EVENTS[1]), &a));
}

static void test_stream_fuzzed_events_agree(void **state)
{
  static const char alphabet[] = "{}[]\":,\\ntu0123456789-.eE \n\xc3\xa9\x80";
  size_t n = sizeof EVENTS / sizeof EVENTS[0];
  char *ev[sizeof EVENTS / sizeof EVENTS[0]];
  size_t evn[sizeof EVENTS / sizeof EVENTS[0]];
  for(int it = 0; it < 3000; it++) {
    for(size_t i = 0; i < n; i++) {
      size_t sn = strlen(EVENTS[i]);
      ev[i] = malloc(sn + 8);
      memcpy(ev[i], EVENTS[i], sn);
      evn[i] = sn;
      if(next() % 3 == 0) {                    /* mutate about a third of the events */
        size_t at = next() % sn;
        char c = alphabet[next() % (sizeof alphabet - 1)];
        if(c == '\n') c = ' ';                 /* a newline would end the data line: another test */
        if(next() % 2) ev[i][at] = c;
        else { memmove(ev[i] + at, ev[i] + at + 1, sn - at - 1); evn[i]--; }
      }
    }
    int usage = (int)(next() % 2);
    char *f = stream_run(ev, evn, n, false, usage), *t = stream_run(ev, evn, n, true, usage);
    same_sse(f, t);
    free(f);
    free(t);
    for(size_t i = 0; i < n; i++) free(ev[i]);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fixtures_taken_and_equal),
    cmocka_unit_test(test_other_shapes_left_to_the_tree),
    cmocka_unit_test(test_text_copied_as_it_stands),
    cmocka_unit_test(test_meta_needing_escapes_left_to_the_tree),
    cmocka_unit_test(test_fuzzed_inputs_agree),
    cmocka_unit_test(test_stream_events_fast_equals_tree),
    cmocka_unit_test(test_stream_fuzzed_events_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
