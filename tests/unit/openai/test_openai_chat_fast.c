/* openai_chat_fast: the one-pass OpenAI chat request → Gemini body gives the same body (as JSON)
 * and the same model, stream, include_usage, n and prompt as the tree path (oai_chat_parse) for
 * every fixture and for fuzzed requests, takes the common requests (else it would be no fast
 * path at all), and leaves every other shape — and every fault — to the tree path. */
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

/* Requests the fast path must take. */
static const char *const TAKEN[] = {
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}",
  /* what the openai SDK sends: system + user, options, stream with usage */
  "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Why is the sky blue?\"}],"
  "\"model\":\"models/gemini-2.5-pro\",\"temperature\":0.7,\"top_p\":1,\"max_tokens\":256,\"stream\":true,"
  "\"stream_options\":{\"include_usage\":true},\"n\":2,\"seed\":-42,\"stop\":[\"END\",\"\",\"STOP\"],"
  "\"presence_penalty\":0.5,\"frequency_penalty\":0,\"user\":\"u-1\",\"logprobs\":false,\"metadata\":{\"a\":[1,{\"b\":null}]}}",
  /* pretty-printed; a conversation with merging turns, developer role, text parts, escapes, UTF-8 */
  "{\n  \"model\": \"gemini-2.0-flash\",\n  \"messages\": [\n"
  "    {\"role\": \"developer\", \"content\": [{\"type\": \"text\", \"text\": \"Rule \\\"one\\\"\"}]},\n"
  "    {\"role\": \"user\", \"content\": \"line\\none \\\\ \\/ \\t caf\xc3\xa9 \xf0\x9f\x98\x80\"},\n"
  "    {\"role\": \"user\", \"content\": [{\"text\": \"\", \"type\": \"text\"}, {\"type\": \"text\", \"text\": \"second\", \"cache_control\": {}}]},\n"
  "    {\"role\": \"assistant\", \"content\": \"Sure.\", \"tool_calls\": null, \"name\": \"bot\"},\n"
  "    {\"content\": \"content before role\", \"role\": \"assistant\"},\n"
  "    {\"role\": \"system\", \"content\": \"late instruction\"},\n"
  "    {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"last \\r\\b\\f\"}, {\"type\": \"text\", \"text\": \"more\"}]}\n"
  "  ],\n  \"max_completion_tokens\": 100,\n  \"max_tokens\": 5,\n  \"stop\": \"\\n\\n\",\n  \"top_k\": 40\n}\n",
  /* only instructions: they become the user's turn */
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"}]}",
  /* nulls mean "not given"; empty user text; stream false; reals and exponents as they stand */
  "{\"model\":\"gemini-2.5-flash\",\"temperature\":null,\"tools\":null,\"response_format\":null,\"stream\":false,"
  "\"stream_options\":null,\"messages\":[{\"role\":\"user\",\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"x\"}],"
  "\"top_p\":5e-1,\"frequency_penalty\":-1.25E0,\"presence_penalty\":-0.0}",
  /* a long prompt (the ledger keeps 500 characters) with escapes across the cut */
  NULL,
};

/* Requests left to the tree path (it answers or refuses). */
static const char *const LEFT[] = {
  "",
  "[]",
  "{\"model\":\"gemini-2.5-flash\"}",
  "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
  "{\"model\":null,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
  "{\"model\":\"bad model!\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":null}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"content\":\"hi\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"json_object\"}}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"reasoning_effort\":\"low\"}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
  ("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
   "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"42\"}]}"),
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":3}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"0.5\"}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":9}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":100.0}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"seed\":2147483648}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":1}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream_options\":{\"include_usage\":\"yes\"}}",
  "{\"model\":\"gemini-2.5-flash\",\"model\":\"gemini-2.5-pro\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} trailing",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xc3\x28 utf8\"}]}",
  "{\"mod\\u0065l\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"x\":1e999}",
};

static const oai_settings THINK = { .thinking_enabled = true, .thinking_budget = 1024, .include_thoughts = true };
static const oai_settings THINK_OFF = { .thinking_enabled = true, .thinking_budget = 0, .include_thoughts = true };
static const oai_settings INJECT = { .inject_enabled = true, .inject_content = "Be kind.", .inject_position = OAI_INJECT_SYSTEM };

/* Whether the fast path took (p, n); when it did, the tree path gives the same. */
static bool agree(const char *p, size_t n, const oai_settings *s)
{
  oai_chat f, t;
  oai_error e;
  memset(&e, 0, sizeof e);
  if(!oai_chat_parse_fast(p, n, s, &f)) {
    assert_null(f.raw);
    assert_null(f.model);
    return false;
  }
  assert_non_null(f.raw);
  assert_null(f.body);
  assert_int_equal(f.nfetch, 0);
  assert_int_equal(strlen(f.raw), f.raw_len);
  json_error_t je;
  json_t *fj = json_loadb(f.raw, f.raw_len, 0, &je);
  if(!fj) fail_msg("fast body is not JSON: %s in %s", je.text, f.raw);
  int rc = oai_chat_parse(p, n, s, &t, &e);
  if(rc) fail_msg("tree path refused what the fast path took (%s): %.*s", e.message, (int)n, p);
  if(!json_equal(fj, t.body)) {
    char *d = oai_dump(t.body, NULL);
    fail_msg("bodies differ\nfast: %s\ntree: %s", f.raw, d);
  }
  assert_string_equal(f.model, t.model);
  assert_int_equal(f.stream, t.stream);
  assert_int_equal(f.include_usage, t.include_usage);
  assert_int_equal(f.n, t.n);
  assert_string_equal(f.prompt, t.prompt);
  json_decref(fj);
  oai_chat_free(&f);
  oai_chat_free(&t);
  return true;
}

static char *long_request(void)
{
  static char b[8192];
  size_t o = (size_t)snprintf(b, sizeof b, "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"");
  for(int i = 0; i < 300; i++) o += (size_t)snprintf(b + o, sizeof b - o, i % 3 ? "\xc3\xa9" : "\\n\\\"");
  snprintf(b + o, sizeof b - o, "\"}]}");
  return b;
}

static void test_taken(void **state)
{
  (void)state;
  const oai_settings *sets[] = { NULL, &THINK, &THINK_OFF };
  for(size_t k = 0; k < 3; k++) {
    for(size_t i = 0; TAKEN[i]; i++)
      if(!agree(TAKEN[i], strlen(TAKEN[i]), sets[k])) fail_msg("not taken: %s", TAKEN[i]);
    char *l = long_request();
    assert_true(agree(l, strlen(l), sets[k]));
  }
}

/* What the fast body says, spelled out: the merges, the instructions, the options. */
static void test_shape(void **state)
{
  (void)state;
  oai_chat c;
  assert_true(oai_chat_parse_fast(TAKEN[2], strlen(TAKEN[2]), &THINK, &c));
  json_t *b = json_loadb(c.raw, c.raw_len, 0, NULL);
  json_t *want = json_loads(
    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"line\\none \\\\ / \\t caf\xc3\xa9 \xf0\x9f\x98\x80\"},{\"text\":\"second\"}]},"
    "{\"role\":\"model\",\"parts\":[{\"text\":\"Sure.\"},{\"text\":\"content before role\"}]},"
    "{\"role\":\"user\",\"parts\":[{\"text\":\"last \\r\\b\\f\"},{\"text\":\"more\"}]}],"
    "\"systemInstruction\":{\"parts\":[{\"text\":\"Rule \\\"one\\\"\"},{\"text\":\"late instruction\"}]},"
    "\"generationConfig\":{\"topK\":40,\"maxOutputTokens\":100,\"stopSequences\":[\"\\n\\n\"]}}", 0, NULL);
  assert_non_null(want);
  if(!json_equal(b, want)) fail_msg("unexpected body %s", c.raw);   /* gemini-2.0: no thinking default */
  assert_string_equal(c.model, "gemini-2.0-flash");
  assert_string_equal(c.prompt, "last \r\b\f");
  json_decref(b);
  json_decref(want);
  oai_chat_free(&c);
  assert_true(oai_chat_parse_fast(TAKEN[1], strlen(TAKEN[1]), &THINK, &c));
  assert_string_equal(c.model, "gemini-2.5-pro");
  assert_true(c.stream && c.include_usage);
  assert_int_equal(c.n, 2);
  assert_non_null(strstr(c.raw, "\"thinkingConfig\":{\"thinkingBudget\":1024,\"includeThoughts\":true}"));
  assert_non_null(strstr(c.raw, "\"stopSequences\":[\"END\",\"STOP\"]"));
  assert_null(strstr(c.raw, "frequencyPenalty"));
  oai_chat_free(&c);
}

static void test_left(void **state)
{
  (void)state;
  for(size_t i = 0; i < sizeof LEFT / sizeof LEFT[0]; i++)
    if(agree(LEFT[i], strlen(LEFT[i]), NULL)) fail_msg("taken: %s", LEFT[i]);
  /* an injection to place: the tree path's */
  assert_false(agree(TAKEN[0], strlen(TAKEN[0]), &INJECT));
  /* the tree path's errors are its own: still there for what the fast path leaves */
  oai_chat c;
  oai_error e;
  assert_int_equal(oai_chat_parse(LEFT[19], strlen(LEFT[19]), NULL, &c, &e), -1);
  assert_int_equal(e.status, 400);
  assert_string_equal(e.param, "temperature");
}

/* Fuzzed requests: byte edits of the fixtures, cut, spliced.  The fast path answers some and the
 * tree path must agree with every one of them. */
static void test_fuzz(void **state)
{
  (void)state;
  uint64_t r = 0x9e3779b97f4a7c15ull;
  char buf[4096];
  size_t taken = 0, runs = 0;
  static const char pieces[] = "{}[]\",:\\ntu0123456789.-eE \x80\xc3\xa9";
  const oai_settings *sets[] = { NULL, &THINK };
  for(size_t i = 0; TAKEN[i]; i++)
    for(int k = 0; k < 3000; k++, runs++) {
      size_t n = strlen(TAKEN[i]);
      memcpy(buf, TAKEN[i], n);
      int edits = 1 + (int)((r >> 60) & 3);
      for(int j = 0; j < edits; j++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(r >> 33) % (n ? n : 1);
        char ch = pieces[(r >> 20) % (sizeof pieces - 1)];
        switch((r >> 16) & 3) {
        case 0: buf[at] = ch; break;
        case 1: if(n + 1 < sizeof buf) { memmove(buf + at + 1, buf + at, n - at); buf[at] = ch; n++; } break;
        case 2: if(n) { memmove(buf + at, buf + at + 1, n - at - 1); n--; } break;
        default: n = at; break;
        }
      }
      buf[n] = '\0';
      if(agree(buf, n, sets[k & 1])) taken++;
    }
  assert_true(taken > runs / 20);          /* most edits break the request; some must stay taken */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_taken),
    cmocka_unit_test(test_shape),
    cmocka_unit_test(test_left),
    cmocka_unit_test(test_fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
