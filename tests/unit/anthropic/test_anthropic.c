/* anthropic: the Messages API ⇄ Gemini translation, both ways, with what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "anthropic/anthropic.h"

/* ---------------------------------------------------------------- helpers */

static json_t *at(const json_t *j, const char *path)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *cur = (json_t *)j;
  for(char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
    if(json_is_array(cur)) cur = json_array_get(cur, strtoul(tok, NULL, 10));
    else cur = json_object_get(cur, tok);
  }
  return cur;
}

static void at_is(const json_t *j, const char *path, const char *want)
{
  json_t *v = at(j, path);
  char *g = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  bool eq = v && w && json_equal(v, w);
  if(!eq) print_error("%s: got %s, want %s\n", path, g ? g : "(absent)", want);
  free(g);
  json_decref(w);
  assert_true(eq);
}

static model_aliases ALIASES;

/* A request that must translate; the Gemini body (caller owns it). */
static json_t *req_full(const char *body, bool count, anth_req *out)
{
  anth_req q;
  anth_error e;
  if(anth_parse(body, strlen(body), &ALIASES, count, &q, &e))
    fail_msg("unexpected error %d %s: %s", e.status, e.type, e.message);
  json_t *b = json_incref(q.body);
  if(out) *out = q;
  else anth_req_free(&q);
  return b;
}

static json_t *req(const char *body) { return req_full(body, false, NULL); }

/* A request that must be refused with a 400 whose message starts with prefix. */
static void refused(const char *body, const char *prefix)
{
  anth_req q;
  anth_error e;
  if(!anth_parse(body, strlen(body), &ALIASES, false, &q, &e)) {
    anth_req_free(&q);
    fail_msg("accepted, want a 400 on %s: %s", prefix, body);
  }
  if(e.status != 400 || strcmp(e.type, "invalid_request_error") || strncmp(e.message, prefix, strlen(prefix)))
    fail_msg("got %d %s \"%s\", want 400 invalid_request_error starting \"%s\"", e.status, e.type, e.message, prefix);
  assert_null(q.body);
}

#define MSG(extra) "{\"model\":\"gemini-2.5-flash\",\"max_tokens\":100" extra "}"
#define HELLO ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]"

/* ---------------------------------------------------------------- requests */

static void test_plain_request(void **state)
{
  json_t *b = req(MSG(",\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"there\"}]},"
                      "{\"role\":\"assistant\",\"content\":\"Hello\"},{\"role\":\"user\",\"content\":\"Bye\"}],"
                      "\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"stop_sequences\":[\"END\"],\"metadata\":{\"user_id\":\"u1\"}"));
  at_is(b, "systemInstruction", "{\"parts\":[{\"text\":\"Be brief.\"}]}");
  at_is(b, "contents", "[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"},{\"text\":\"there\"}]},"
                       "{\"role\":\"model\",\"parts\":[{\"text\":\"Hello\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"Bye\"}]}]");
  at_is(b, "generationConfig", "{\"maxOutputTokens\":100,\"temperature\":0.5,\"topP\":0.9,\"topK\":40,\"stopSequences\":[\"END\"]}");
  json_decref(b);
}

static void test_aliases_and_stream(void **state)
{
  anth_req q;
  json_t *b = req_full("{\"model\":\"claude-sonnet-4-5-20250929\",\"max_tokens\":5,\"stream\":true" HELLO "}", false, &q);
  assert_string_equal(q.model, "gemini-2.5-flash");          /* claude-*=gemini-2.5-flash */
  assert_string_equal(q.client_model, "claude-sonnet-4-5-20250929");
  assert_true(q.stream);
  anth_req_free(&q);
  json_decref(b);
  b = req_full("{\"model\":\"claude-opus-4-1\",\"max_tokens\":5" HELLO "}", false, &q);
  assert_string_equal(q.model, "gemini-2.5-pro");            /* the exact entry wins */
  anth_req_free(&q);
  json_decref(b);
}

static void test_tools_and_choice(void **state)
{
  json_t *b = req(MSG(HELLO ",\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":"
                      "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                      "\"required\":[\"city\"],\"additionalProperties\":false}},{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}],"
                      "\"tool_choice\":{\"type\":\"tool\",\"name\":\"get_weather\"}"));
  /* The schema goes as JSON Schema, untouched but for the $schema marker. */
  at_is(b, "tools.0.functionDeclarations.0", "{\"name\":\"get_weather\",\"description\":\"Weather\",\"parametersJsonSchema\":"
                                             "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],\"additionalProperties\":false}}");
  at_is(b, "tools.1", "{\"googleSearch\":{}}");
  at_is(b, "toolConfig", "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_weather\"]}}");
  json_decref(b);
  static const char *const choices[][2] = { { "auto", "AUTO" }, { "any", "ANY" }, { "none", "NONE" } };
  for(size_t i = 0; i < 3; i++) {
    char body[512];
    snprintf(body, sizeof body, MSG(HELLO ",\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"%s\"}"), choices[i][0]);
    b = req(body);
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", choices[i][1]);
    at_is(b, "toolConfig.functionCallingConfig.mode", want);
    json_decref(b);
  }
}

static void test_thinking(void **state)
{
  json_t *b = req(MSG(HELLO ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}"));
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":2048,\"includeThoughts\":true}");
  json_decref(b);
  b = req(MSG(HELLO ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":63999,\"display\":\"omitted\"}"));
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":32768}");   /* Gemini's ceiling; thoughts not shown */
  json_decref(b);
  b = req(MSG(HELLO ",\"thinking\":{\"type\":\"disabled\"}"));
  assert_null(at(b, "generationConfig.thinkingConfig"));
  json_decref(b);
}

/* A tool_use with its thinking signature, then its tool_result: the signature goes back on the
 * call's part, the result names the call's function. */
static void test_tool_round_trip(void **state)
{
  json_t *b = req(MSG(",\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
                      "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"c2ln\"},"
                      "{\"type\":\"text\",\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]},"
                      "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"{\\\"temp\\\":21}\"},"
                      "{\"type\":\"text\",\"text\":\"thanks\"}]}]"));
  at_is(b, "contents.1", "{\"role\":\"model\",\"parts\":[{\"text\":\"Checking.\",\"thoughtSignature\":\"c2ln\"},"
                         "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]}");
  at_is(b, "contents.2", "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":{\"temp\":21}}}},"
                         "{\"text\":\"thanks\"}]}");
  json_decref(b);
  /* gemini-3 gets Google's placeholder on an unsigned replayed call; an error result says so. */
  b = req("{\"model\":\"gemini-3-pro-preview\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"is_error\":true,\"content\":[{\"type\":\"text\",\"text\":\"boom\"}]}]}]}");
  at_is(b, "contents.1.parts.0.thoughtSignature", "\"skip_thought_signature_validator\"");
  at_is(b, "contents.2.parts.0.functionResponse.response", "{\"error\":\"boom\"}");
  json_decref(b);
}

static void test_media(void **state)
{
  anth_req q;
  json_t *b = req_full(MSG(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBOR\"}},"
                           "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.png\"}},"
                           "{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":\"application/pdf\",\"data\":\"JVBER\"}},"
                           "{\"type\":\"text\",\"text\":\"What are these?\"}]}]"), false, &q);
  at_is(b, "contents.0.parts.0", "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBOR\"}}");
  at_is(b, "contents.0.parts.2", "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBER\"}}");
  assert_int_equal(q.nfetch, 1);
  assert_string_equal(q.fetch[0].url, "https://example.com/a.png");
  anth_error e;
  assert_int_equal(anth_fetch_fill(&q.fetch[0], "text/html", "<html>", 6, &e), -1);
  assert_int_equal(e.status, 400);
  assert_int_equal(anth_fetch_fill(&q.fetch[0], NULL, "\x89PNG\r\n\x1a\n", 8, &e), 0);
  at_is(b, "contents.0.parts.1.inlineData.mimeType", "\"image/png\"");
  at_is(b, "contents.0.parts.1.inlineData.data", "\"iVBORw0KGgo=\"");
  anth_req_free(&q);
  json_decref(b);
}

static void test_count_tokens(void **state)
{
  json_t *b = req_full("{\"model\":\"gemini-2.5-flash\",\"system\":\"S\"" HELLO "}", true, NULL);
  at_is(b, "generateContentRequest.model", "\"models/gemini-2.5-flash\"");
  at_is(b, "generateContentRequest.contents.0.parts.0.text", "\"Hello\"");
  at_is(b, "generateContentRequest.systemInstruction.parts.0.text", "\"S\"");
  json_decref(b);
  anth_req q;
  anth_error e;
  const char *with_max = "{\"model\":\"m\",\"max_tokens\":5" HELLO "}";   /* not a count_tokens field */
  assert_int_equal(anth_parse(with_max, strlen(with_max), NULL, true, &q, &e), -1);
  assert_string_equal(e.message, "max_tokens: Extra inputs are not permitted (this gateway cannot honour this field)");
}

static void test_refusals(void **state)
{
  refused("{\"model\":\"m\"" HELLO "}", "max_tokens: Field required");
  refused(MSG(""), "messages: Field required");
  refused(MSG(HELLO ",\"container\":\"c1\""), "container: Extra inputs");
  refused(MSG(HELLO ",\"thinking\":{\"type\":\"enabled\"}"), "thinking.budget_tokens: Field required");
  refused(MSG(HELLO ",\"thinking\":{\"type\":\"sometimes\"}"), "thinking.type:");
  refused(MSG(HELLO ",\"stop_sequences\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]"), "stop_sequences:");
  refused(MSG(HELLO ",\"temperature\":1.5"), "temperature:");
  refused(MSG(HELLO ",\"tools\":[{\"type\":\"bash_20250124\",\"name\":\"bash\"}]"), "tools.0.type:");
  refused(MSG(HELLO ",\"tools\":[{\"name\":\"f\"}]"), "tools.0.input_schema: Field required");
  refused(MSG(HELLO ",\"tool_choice\":{\"type\":\"tool\",\"name\":\"nope\"}"), "tool_choice.name:");
  refused(MSG(HELLO ",\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"), "tool_choice.disable_parallel_tool_use:");
  refused(MSG(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"search_result\",\"source\":\"x\"}]}]"), "messages.0.content.0.type:");
  refused(MSG(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\",\"citations\":[{}]}]}]"), "messages.0.content.0.citations:");
  refused(MSG(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"nope\"}]}]"), "messages.0.content.0.tool_use_id:");
  refused(MSG(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}]}]"), "messages.0.content.0.source.file_id:");
  refused(MSG(",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]"), "messages.0.role:");
  refused(MSG(",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":\"n\"}]"), "messages.0.name: Extra inputs");
  refused("{\"model\":\"bad/name\",\"max_tokens\":1" HELLO "}", "model:");
  refused("[1]", "The request body must be a JSON object");
  refused("{\"model\":", "The request body is not valid JSON");
}

/* ---------------------------------------------------------------- answers */

static json_t *answer(const char *p, anth_usage *u)
{
  anth_meta m = { "msg_abc", "claude-x" };
  anth_error e;
  json_t *j = anth_response(p, strlen(p), &m, u, &e);
  if(!j) fail_msg("unexpected error %d %s", e.status, e.message);
  return j;
}

static void test_response(void **state)
{
  anth_usage u;
  json_t *r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true},{\"text\":\"Hello\"},{\"text\":\" there\"}],"
                     "\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":4,"
                     "\"thoughtsTokenCount\":3,\"cachedContentTokenCount\":6,\"totalTokenCount\":17}}", &u);
  at_is(r, "id", "\"msg_abc\"");
  at_is(r, "type", "\"message\"");
  at_is(r, "role", "\"assistant\"");
  at_is(r, "model", "\"claude-x\"");
  at_is(r, "content", "[{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"\"},{\"type\":\"text\",\"text\":\"Hello there\"}]");
  at_is(r, "stop_reason", "\"end_turn\"");
  at_is(r, "stop_sequence", "null");
  at_is(r, "usage", "{\"input_tokens\":4,\"output_tokens\":7,\"cache_read_input_tokens\":6,\"cache_creation_input_tokens\":0}");
  assert_int_equal(u.output, 7);
  json_decref(r);
  /* A signed call: the signature rides on a thinking block right before its tool_use. */
  r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Checking.\"},{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
             "\"thoughtSignature\":\"c2ln\"},{\"functionCall\":{\"name\":\"ping\"}}]},\"finishReason\":\"STOP\"}]}", NULL);
  at_is(r, "content", "[{\"type\":\"text\",\"text\":\"Checking.\"},{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"c2ln\"},"
                      "{\"type\":\"tool_use\",\"id\":\"toolu_abc_0\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
                      "{\"type\":\"tool_use\",\"id\":\"toolu_abc_1\",\"name\":\"ping\",\"input\":{}}]");
  at_is(r, "stop_reason", "\"tool_use\"");
  json_decref(r);
  r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"cut\"}]},\"finishReason\":\"MAX_TOKENS\"}]}", NULL);
  at_is(r, "stop_reason", "\"max_tokens\"");
  json_decref(r);
  r = answer("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}", NULL);
  at_is(r, "stop_reason", "\"refusal\"");
  at_is(r, "content", "[]");
  json_decref(r);
}

/* What an answer says goes back unchanged in the next request: the signature lands on the
 * part it came with. */
static void test_signature_round_trip(void **state)
{
  json_t *r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Thinking\",\"thought\":true},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},"
                     "\"thoughtSignature\":\"U0lH\"}]},\"finishReason\":\"STOP\"}]}", NULL);
  char *content = json_dumps(json_object_get(r, "content"), JSON_COMPACT);
  char body[2048];
  snprintf(body, sizeof body, MSG(",\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                                  "{\"role\":\"assistant\",\"content\":%s},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_abc_0\",\"content\":\"ok\"}]}]"),
           content);
  free(content);
  json_decref(r);
  json_t *b = req(body);
  at_is(b, "contents.1.parts", "[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"U0lH\"}]");
  at_is(b, "contents.2.parts.0.functionResponse.name", "\"f\"");
  json_decref(b);
}

static void test_errors(void **state)
{
  anth_error e;
  const char *g = "{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":\"RESOURCE_EXHAUSTED\"}}";
  anth_google_error(429, g, strlen(g), &e);
  assert_int_equal(e.status, 429);
  assert_string_equal(e.type, "rate_limit_error");
  assert_string_equal(e.message, "RESOURCE_EXHAUSTED: Quota exceeded");
  anth_google_error(503, "garbage", 7, &e);
  assert_string_equal(e.type, "overloaded_error");
  anth_google_error(302, NULL, 0, &e);
  assert_int_equal(e.status, 502);
  assert_string_equal(e.type, "api_error");
  json_t *j = anth_error_json(&e);
  at_is(j, "type", "\"error\"");
  at_is(j, "error.type", "\"api_error\"");
  json_decref(j);
  assert_null(anth_response("nope", 4, &(anth_meta){ "msg_x", "m" }, NULL, &e));
  assert_int_equal(e.status, 502);
  j = anth_count_response("{\"totalTokens\":42}", 18, &e);
  at_is(j, "input_tokens", "42");
  json_decref(j);
}

static void test_models(void **state)
{
  const char *list = "{\"models\":[{\"name\":\"models/gemini-2.5-flash\",\"displayName\":\"Gemini 2.5 Flash\"},{\"name\":\"models/gemini-2.5-pro\"}]}";
  anth_error e;
  json_t *j = anth_models(list, strlen(list), &ALIASES, NULL, &e);
  at_is(j, "data.0", "{\"type\":\"model\",\"id\":\"gemini-2.5-flash\",\"display_name\":\"Gemini 2.5 Flash\",\"created_at\":\"1970-01-01T00:00:00Z\"}");
  at_is(j, "data.2.id", "\"claude-opus-4-1\"");          /* an exact alias is listed; a prefix one is not */
  assert_int_equal(json_array_size(json_object_get(j, "data")), 3);
  at_is(j, "has_more", "false");
  at_is(j, "first_id", "\"gemini-2.5-flash\"");
  at_is(j, "last_id", "\"claude-opus-4-1\"");
  json_decref(j);
  j = anth_models(list, strlen(list), &ALIASES, "gemini-2.5-pro", &e);
  at_is(j, "id", "\"gemini-2.5-pro\"");
  json_decref(j);
  assert_null(anth_models(list, strlen(list), &ALIASES, "gpt-4", &e));
  assert_int_equal(e.status, 404);
  assert_string_equal(e.type, "not_found_error");
}

/* ---------------------------------------------------------------- streams */

/* The stream's events as "type[/delta type]" words, checking each event: name line = type. */
static void events_of(const char *sse, char *out, size_t cap)
{
  out[0] = '\0';
  const char *p = sse;
  while((p = strstr(p, "event: "))) {
    const char *nl = strchr(p, '\n');
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(nl - p - 7), p + 7);
    assert_true(!strncmp(nl, "\ndata: ", 7));
    const char *end = strstr(nl, "\n\n");
    json_t *j = json_loadb(nl + 7, (size_t)(end - nl - 7), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), name);
    const char *dt = json_string_value(json_object_get(json_object_get(j, "delta"), "type"));
    const char *bt = json_string_value(json_object_get(json_object_get(j, "content_block"), "type"));
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s%s%s", n ? " " : "", name, dt || bt ? "/" : "", dt ? dt : bt ? bt : "");
    json_decref(j);
    p = end;
  }
}

/* Feeds sse to a new stream step bytes at a time; returns the events (caller frees). */
static char *run_stream(const char *sse, size_t step, int *finish_rc)
{
  anth_stream *s = anth_stream_new(&(anth_meta){ "msg_s1", "claude-x" });
  dbuf out = { 0 };
  size_t n = strlen(sse);
  int rc = ANTH_STREAM_MORE;
  for(size_t i = 0; i < n && rc == ANTH_STREAM_MORE; i += step)
    rc = anth_stream_feed(s, sse + i, i + step > n ? n - i : step, &out);
  *finish_rc = rc == ANTH_STREAM_MORE ? anth_stream_finish(s, &out) : rc;
  anth_stream_free(s);
  dbuf_add(&out, "", 1);
  return out.p;
}

#define EV(j) "data: " j "\r\n\r\n"

static void test_stream_sequence(void **state)
{
  const char *up =
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true}],\"role\":\"model\"}}],\"usageMetadata\":{\"promptTokenCount\":9}}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"chunk 0 \"}],\"role\":\"model\"}}]}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"chunk 1 \"}],\"role\":\"model\"}}]}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"U0lH\"}],\"role\":\"model\"},"
       "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":3}}");
  static const char want[] =
    "message_start ping content_block_start/thinking content_block_delta/thinking_delta content_block_stop "
    "content_block_start/text content_block_delta/text_delta content_block_delta/text_delta content_block_stop "
    "content_block_start/thinking content_block_delta/signature_delta content_block_stop "
    "content_block_start/tool_use content_block_delta/input_json_delta content_block_stop message_delta message_stop";
  size_t steps[] = { 1, 7, 100000 };
  for(size_t k = 0; k < 3; k++) {
    int rc;
    char *out = run_stream(up, steps[k], &rc);
    assert_int_equal(rc, ANTH_STREAM_MORE);
    char ev[2048];
    events_of(out, ev, sizeof ev);
    if(strcmp(ev, want)) fail_msg("step %zu:\n got %s\nwant %s", steps[k], ev, want);
    assert_non_null(strstr(out, "\"message\":{\"id\":\"msg_s1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[]"));
    assert_non_null(strstr(out, "\"usage\":{\"input_tokens\":9,"));
    assert_non_null(strstr(out, "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_s1_0\",\"name\":\"f\",\"input\":{}}}"));
    assert_non_null(strstr(out, "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}"));
    assert_non_null(strstr(out, "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"U0lH\"}"));
    assert_non_null(strstr(out, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                                "\"usage\":{\"input_tokens\":9,\"output_tokens\":8,"));
    free(out);
  }
}

static void test_stream_failures(void **state)
{
  int rc;
  char *out = run_stream(EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}")
                         EV("{\"error\":{\"code\":500,\"message\":\"Internal error encountered.\",\"status\":\"INTERNAL\"}}"), 5, &rc);
  assert_int_equal(rc, ANTH_STREAM_END);
  char ev[512];
  events_of(out, ev, sizeof ev);
  assert_string_equal(ev, "message_start ping content_block_start/text content_block_delta/text_delta error");
  assert_non_null(strstr(out, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"INTERNAL: Internal error encountered.\"}}"));
  free(out);
  out = run_stream("", 1, &rc);                       /* nothing at all */
  assert_int_equal(rc, ANTH_STREAM_END);
  events_of(out, ev, sizeof ev);
  assert_string_equal(ev, "error");
  free(out);
  out = run_stream("data: {not json\n\n", 3, &rc);
  assert_int_equal(rc, ANTH_STREAM_END);
  free(out);
  /* A cut: the error event, once. */
  anth_stream *s = anth_stream_new(&(anth_meta){ "msg_c", "m" });
  dbuf b = { 0 };
  const char *one = EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}");
  anth_stream_feed(s, one, strlen(one), &b);
  anth_stream_abort(s, NULL, &b);
  anth_stream_abort(s, NULL, &b);
  dbuf_add(&b, "", 1);
  events_of(b.p, ev, sizeof ev);
  assert_string_equal(ev, "message_start ping content_block_start/text content_block_delta/text_delta error");
  dbuf_free(&b);
  anth_stream_free(s);
}

static int setup(void **state)
{
  char err[128];
  return aliases_parse("claude-*=gemini-2.5-flash, claude-opus-4-1=gemini-2.5-pro", &ALIASES, err, sizeof err);
}

static int teardown(void **state)
{
  aliases_free(&ALIASES);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_plain_request),
    cmocka_unit_test(test_aliases_and_stream),
    cmocka_unit_test(test_tools_and_choice),
    cmocka_unit_test(test_thinking),
    cmocka_unit_test(test_tool_round_trip),
    cmocka_unit_test(test_media),
    cmocka_unit_test(test_count_tokens),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_response),
    cmocka_unit_test(test_signature_round_trip),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_models),
    cmocka_unit_test(test_stream_sequence),
    cmocka_unit_test(test_stream_failures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
