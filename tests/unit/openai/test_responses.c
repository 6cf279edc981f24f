/* responses: OpenAI's Responses API ⇄ Gemini — input items, tools, formats, reasoning, the
 * stored conversation, answers and the typed event stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openai/responses.h"

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
#define ID "resp_T1"

static void parse_ok(const char *body, const oai_settings *s, oai_rreq *q)
{
  oai_error e;
  if(oai_rreq_parse(body, strlen(body), &ALIASES, s, ID, q, &e))
    fail_msg("unexpected error %d %s (param %s): %s", e.status, e.code, e.param, e.message);
}

/* Parse and build without a stored conversation; the Gemini body (the caller frees q). */
static json_t *body_of(const char *body, oai_rreq *q)
{
  oai_error e;
  parse_ok(body, NULL, q);
  if(oai_rreq_build(q, NULL, &e)) fail_msg("build: %s", e.message);
  return q->body;
}

static void refused(const char *body, const char *param)
{
  oai_rreq q;
  oai_error e;
  if(!oai_rreq_parse(body, strlen(body), &ALIASES, NULL, ID, &q, &e)) {
    oai_rreq_free(&q);
    fail_msg("accepted, want a 400 on %s: %s", param, body);
  }
  if(e.status != 400 || strcmp(e.param, param)) fail_msg("got %d param '%s' (%s), want 400 on %s", e.status, e.param, e.message, param);
  assert_string_equal(e.type, "invalid_request_error");
}

static void test_string_input(void **state)
{
  oai_rreq q;
  json_t *b = body_of("{\"model\":\"gpt-5\",\"input\":\"Hello\",\"instructions\":\"Be brief.\",\"max_output_tokens\":64,"
                      "\"temperature\":0.5,\"top_p\":0.9,\"metadata\":{\"k\":\"v\"}}", &q);
  assert_string_equal(q.model, "gemini-2.5-flash");          /* gpt-*=gemini-2.5-flash */
  assert_string_equal(q.client_model, "gpt-5");
  assert_true(q.store);
  assert_false(q.stream);
  at_is(b, "contents", "[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]}]");
  at_is(b, "systemInstruction", "{\"parts\":[{\"text\":\"Be brief.\"}]}");
  at_is(b, "generationConfig", "{\"maxOutputTokens\":64,\"temperature\":0.5,\"topP\":0.9}");
  at_is(q.items, "0", "{\"id\":\"msg_T1_in0\",\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Hello\"}]}");
  at_is(q.echo, "instructions", "\"Be brief.\"");
  at_is(q.echo, "metadata", "{\"k\":\"v\"}");
  at_is(q.echo, "tool_choice", "\"auto\"");
  assert_string_equal(q.prompt, "Hello");
  oai_rreq_free(&q);
}

/* Items of every kind: the signature in a reasoning item lands on the call after it, the
 * output names its call, developer text joins the system instruction. */
static void test_items(void **state)
{
  oai_rreq q;
  json_t *b = body_of("{\"model\":\"gemini-2.5-pro\",\"input\":["
    "{\"role\":\"developer\",\"content\":\"Use tools.\"},"
    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Weather?\"},"
    "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,iVBOR\",\"detail\":\"low\"},"
    "{\"type\":\"input_image\",\"image_url\":\"https://example.com/a.png\"}]},"
    "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"hmm\"}],\"encrypted_content\":\"U0lH\"},"
    "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},"
    "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{\\\"temp\\\":21}\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"It is 21.\",\"annotations\":[]}]},"
    "{\"role\":\"user\",\"content\":\"Thanks\"}]}", &q);
  at_is(b, "systemInstruction.parts", "[{\"text\":\"Use tools.\"}]");
  at_is(b, "contents.0.parts.0", "{\"text\":\"Weather?\"}");
  at_is(b, "contents.0.parts.1", "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBOR\"}}");
  assert_int_equal(q.nfetch, 1);
  assert_string_equal(q.fetch[0].url, "https://example.com/a.png");
  assert_string_equal(q.fetch[0].param, "input[1].content[2].image_url");
  at_is(b, "contents.1", "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
                         "\"thoughtSignature\":\"U0lH\"}]}");
  at_is(b, "contents.2.parts.0", "{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":{\"temp\":21}}}}");
  at_is(b, "contents.3", "{\"role\":\"model\",\"parts\":[{\"text\":\"It is 21.\"}]}");
  at_is(b, "contents.4", "{\"role\":\"user\",\"parts\":[{\"text\":\"Thanks\"}]}");
  assert_int_equal(json_array_size(q.items), 7);
  at_is(q.items, "2.id", "\"rs_1\"");                          /* a client's id is kept */
  at_is(q.items, "3.id", "\"fc_T1_in3\"");
  assert_string_equal(q.prompt, "Thanks");
  oai_rreq_free(&q);
  /* gemini-3: an unsigned replayed call gets Google's placeholder. */
  b = body_of("{\"model\":\"gemini-3-pro-preview\",\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
              "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"\"},"
              "{\"type\":\"function_call\",\"call_id\":\"d\",\"name\":\"g\",\"arguments\":\"{}\"}]}", &q);
  at_is(b, "contents.1.parts.0.thoughtSignature", "\"skip_thought_signature_validator\"");
  assert_null(at(b, "contents.1.parts.1.thoughtSignature"));
  oai_rreq_free(&q);
}

static void test_tools_format_reasoning(void **state)
{
  oai_rreq q;
  json_t *b = body_of("{\"model\":\"gemini-2.5-flash\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\","
                      "\"description\":\"Weather\",\"strict\":true,\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                      "\"required\":[\"city\"],\"additionalProperties\":false}},{\"type\":\"web_search\"}],"
                      "\"tool_choice\":{\"type\":\"function\",\"name\":\"get_weather\"},"
                      "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"a\",\"strict\":true,\"schema\":{\"type\":\"object\","
                      "\"properties\":{\"answer\":{\"type\":\"string\"}},\"required\":[\"answer\"],\"additionalProperties\":false}}},"
                      "\"reasoning\":{\"effort\":\"low\",\"summary\":\"auto\"}}", &q);
  at_is(b, "tools.0.functionDeclarations.0.name", "\"get_weather\"");
  assert_null(at(b, "tools.0.functionDeclarations.0.parameters.additionalProperties"));  /* cleaned for Gemini */
  at_is(b, "tools.0.functionDeclarations.0.parameters.properties.city.type", "\"STRING\"");
  at_is(b, "tools.1", "{\"googleSearch\":{}}");
  at_is(b, "toolConfig", "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_weather\"]}}");
  at_is(b, "generationConfig.responseMimeType", "\"application/json\"");
  at_is(b, "generationConfig.responseSchema.properties.answer.type", "\"STRING\"");
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":1024,\"includeThoughts\":true}");
  at_is(q.echo, "reasoning", "{\"effort\":\"low\",\"summary\":\"auto\"}");
  oai_rreq_free(&q);
  b = body_of("{\"model\":\"gemini-2.5-flash\",\"input\":\"x\",\"reasoning\":{\"effort\":\"high\"}}", &q);
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":24576}");   /* no summary asked: none shown */
  oai_rreq_free(&q);
  /* Nothing asked: seed 004's default applies. */
  oai_settings s = { .thinking_enabled = true, .thinking_budget = 2048, .include_thoughts = true };
  oai_error e;
  parse_ok("{\"model\":\"gemini-2.5-flash\",\"input\":\"x\"}", &s, &q);
  assert_int_equal(oai_rreq_build(&q, NULL, &e), 0);
  at_is(q.body, "generationConfig.thinkingConfig", "{\"thinkingBudget\":2048,\"includeThoughts\":true}");
  oai_rreq_free(&q);
}

/* A stored conversation comes first; a tool output may answer a call of an earlier response. */
static void test_build_with_previous(void **state)
{
  oai_rreq q;
  oai_error e;
  json_t *prev = json_loads("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather?\"}]},"
                            "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{}},\"thoughtSignature\":\"U0lH\"}]}],"
                            "\"system\":[{\"text\":\"Old system\"}],\"calls\":{\"call_9\":\"get_weather\"}}", 0, NULL);
  parse_ok("{\"model\":\"gemini-2.5-flash\",\"previous_response_id\":\"resp_prev\",\"instructions\":\"New\","
           "\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"call_9\",\"output\":\"sunny\"},{\"role\":\"user\",\"content\":\"and?\"}]}", NULL, &q);
  assert_string_equal(q.previous_id, "resp_prev");
  assert_int_equal(oai_rreq_build(&q, prev, &e), 0);
  at_is(q.body, "contents.1.parts.0.thoughtSignature", "\"U0lH\"");
  at_is(q.body, "contents.2", "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":\"sunny\"}}},"
                              "{\"text\":\"and?\"}]}");
  at_is(q.body, "systemInstruction.parts", "[{\"text\":\"New\"},{\"text\":\"Old system\"}]");   /* instructions are not carried */
  at_is(prev, "contents", "[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather?\"}]},{\"role\":\"model\",\"parts\":[{\"functionCall\":"
                          "{\"name\":\"get_weather\",\"args\":{}},\"thoughtSignature\":\"U0lH\"}]}]");   /* prev untouched */
  /* The next state: the answer's turn appended, its calls named. */
  json_t *resp = json_loads("{\"output\":[{\"type\":\"function_call\",\"call_id\":\"call_T1_0\",\"name\":\"f\"}]}", 0, NULL);
  json_t *turn = json_loads("{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"}]}", 0, NULL);
  json_t *next = oai_rstate_next(&q, resp, turn);
  assert_int_equal(json_array_size(json_object_get(next, "contents")), 4);
  at_is(next, "contents.3", "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"}]}");
  at_is(next, "calls", "{\"call_9\":\"get_weather\",\"call_T1_0\":\"f\"}");
  json_decref(next);
  json_decref(resp);
  json_decref(turn);
  oai_rreq_free(&q);
  /* A call nobody made: a 400 naming the item. */
  parse_ok("{\"model\":\"m\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"call_x\",\"output\":\"?\"}]}", NULL, &q);
  assert_int_equal(oai_rreq_build(&q, prev, &e), -1);
  assert_int_equal(e.status, 400);
  assert_string_equal(e.param, "input[0].call_id");
  oai_rreq_free(&q);
  json_decref(prev);
}

static void test_refusals(void **state)
{
  refused("{\"input\":\"x\"}", "model");
  refused("{\"model\":\"m\"}", "input");
  refused("{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"c\"}", "conversation");
  refused("{\"model\":\"m\",\"input\":\"x\",\"top_logprobs\":2}", "top_logprobs");
  refused("{\"model\":\"m\",\"input\":\"x\",\"background\":true}", "background");
  refused("{\"model\":\"m\",\"input\":\"x\",\"truncation\":\"auto\"}", "truncation");
  refused("{\"model\":\"m\",\"input\":\"x\",\"include\":[\"file_search_call.results\"]}", "include[0]");
  refused("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"file_search\",\"vector_store_ids\":[]}]}", "tools[0].type");
  refused("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"web_search\",\"user_location\":{}}]}", "tools[0].user_location");
  refused("{\"model\":\"m\",\"input\":\"x\",\"reasoning\":{\"effort\":\"extreme\"}}", "reasoning.effort");
  refused("{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"xml\"}}}", "text.format.type");
  refused("{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}", "input[0].type");
  refused("{\"model\":\"m\",\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "input[0].role");
  refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"file_id\":\"f\"}]}]}", "input[0].content[0].image_url");
  refused("{\"model\":\"m\",\"input\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"x\"}]}]}", "input[0].content[0].type");
  refused("{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"[1]\"}]}", "input[0].arguments");
  refused("{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":{\"type\":\"function\",\"name\":\"nope\"}}", "tool_choice.name");
  refused("{\"model\":\"m\",\"input\":\"x\",\"temperature\":3}", "temperature");
}

/* ---------------------------------------------------------------- answers */

static const oai_rmeta META = { ID, "gpt-5", 1700000000, NULL };

static void test_answer(void **state)
{
  const char *up = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true},{\"text\":\"Checking.\"},"
                   "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"U0lH\"}],\"role\":\"model\"},"
                   "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":3,"
                   "\"cachedContentTokenCount\":4,\"totalTokenCount\":18}}";
  json_t *turn;
  oai_error e;
  json_t *r = oai_rresp(up, strlen(up), &META, &turn, NULL, &e);
  assert_non_null(r);
  at_is(r, "id", "\"" ID "\"");
  at_is(r, "object", "\"response\"");
  at_is(r, "status", "\"completed\"");
  at_is(r, "model", "\"gpt-5\"");
  at_is(r, "output", "[{\"id\":\"rs_T1_0\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"Let me think.\"}]},"
                     "{\"id\":\"msg_T1_1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":"
                     "[{\"type\":\"output_text\",\"text\":\"Checking.\",\"annotations\":[]}]},"
                     "{\"id\":\"rs_T1_2\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"U0lH\"},"
                     "{\"id\":\"fc_T1_3\",\"type\":\"function_call\",\"status\":\"completed\",\"call_id\":\"call_T1_0\",\"name\":\"get_weather\","
                     "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}]");
  at_is(r, "usage", "{\"input_tokens\":10,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":8,"
                    "\"output_tokens_details\":{\"reasoning_tokens\":3},\"total_tokens\":18}");
  at_is(turn, "parts", "[{\"text\":\"Checking.\"},{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
                      "\"thoughtSignature\":\"U0lH\"}]");
  json_decref(r);
  json_decref(turn);
  const char *cut = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"cut\"}]},\"finishReason\":\"MAX_TOKENS\"}]}";
  r = oai_rresp(cut, strlen(cut), &META, NULL, NULL, &e);
  at_is(r, "status", "\"incomplete\"");
  at_is(r, "incomplete_details", "{\"reason\":\"max_output_tokens\"}");
  json_decref(r);
  const char *err = "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}";
  assert_null(oai_rresp(err, strlen(err), &META, NULL, NULL, &e));
  assert_int_equal(e.status, 400);
}

static void test_turn_kept(void **state)
{
  const char *up = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true},"
                   "{\"functionCall\":{\"name\":\"f\",\"args\":{}},\"thoughtSignature\":\"U0lH\"}]}}]}";
  json_t *turn;
  oai_error e;
  json_t *r = oai_rresp(up, strlen(up), &META, &turn, NULL, &e);
  json_decref(r);
  assert_non_null(turn);
  at_is(turn, "parts", "[{\"functionCall\":{\"name\":\"f\",\"args\":{}},\"thoughtSignature\":\"U0lH\"}]");   /* no thought text */
  json_decref(turn);
}

static void test_input_items_list(void **state)
{
  json_t *items = json_loads("[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]", 0, NULL);
  oai_error e;
  json_t *l = oai_rinput_items(items, false, 2, NULL, &e);
  at_is(l, "data", "[{\"id\":\"c\"},{\"id\":\"b\"}]");
  at_is(l, "has_more", "true");
  at_is(l, "first_id", "\"c\"");
  json_decref(l);
  l = oai_rinput_items(items, true, 20, "a", &e);
  at_is(l, "data", "[{\"id\":\"b\"},{\"id\":\"c\"}]");
  at_is(l, "has_more", "false");
  json_decref(l);
  assert_null(oai_rinput_items(items, true, 20, "zz", &e));
  assert_string_equal(e.param, "after");
  json_decref(items);
}

/* ---------------------------------------------------------------- streams */

/* The event types in order, checking every frame: event: = data's type, sequence numbers 0, 1, … */
static void types_of(const char *sse, char *out, size_t cap, int64_t *seq)
{
  out[0] = '\0';
  for(const char *p = sse; (p = strstr(p, "event: "));) {
    const char *nl = strchr(p, '\n'), *end = strstr(nl, "\n\n");
    json_t *j = json_loadb(nl + 7, (size_t)(end - nl - 7), 0, NULL);
    assert_non_null(j);
    assert_int_equal(strncmp(json_string_value(json_object_get(j, "type")), p + 7, (size_t)(nl - p - 7)), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "sequence_number")), (*seq)++);
    size_t n = strlen(out), skip = strncmp(p + 7, "response.", 9) ? 0 : 9;   /* without "response." */
    snprintf(out + n, cap - n, "%s%.*s", n ? " " : "", (int)(nl - p - 7 - skip), p + 7 + skip);
    json_decref(j);
    p = end;
  }
}

#define EV(j) "data: " j "\r\n\r\n"

static void test_stream(void **state)
{
  const char *up =
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true}],\"role\":\"model\"}}],\"usageMetadata\":{\"promptTokenCount\":9}}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"chunk 0 \"}],\"role\":\"model\"}}]}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"chunk 1 \"}],\"role\":\"model\"}}]}")
    EV("{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"U0lH\"}]},"
       "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":3}}");
  static const char want[] =
    "created in_progress output_item.added reasoning_summary_part.added reasoning_summary_text.delta "
    "reasoning_summary_text.done reasoning_summary_part.done output_item.done "
    "output_item.added content_part.added output_text.delta output_text.delta output_text.done content_part.done output_item.done "
    "output_item.added output_item.done "
    "output_item.added function_call_arguments.delta function_call_arguments.done output_item.done";
  size_t steps[] = { 1, 13, 1u << 20 };
  for(size_t k = 0; k < 3; k++) {
    oai_rstream *s = oai_rstream_new(&META);
    oai_buf out = { 0 }, last = { 0 };
    size_t n = strlen(up);
    for(size_t i = 0; i < n; i += steps[k]) assert_int_equal(oai_rstream_feed(s, up + i, i + steps[k] > n ? n - i : steps[k], &out), OAI_STREAM_MORE);
    assert_int_equal(oai_rstream_finish(s, &out, &last), OAI_STREAM_MORE);
    oai_buf_append(&out, "", 1);
    oai_buf_append(&last, "", 1);
    char types[2048];
    int64_t seq = 0;
    types_of(out.p, types, sizeof types, &seq);
    if(strcmp(types, want)) fail_msg("step %zu:\n got %s\nwant %s", steps[k], types, want);
    types_of(last.p, types, sizeof types, &seq);
    assert_string_equal(types, "completed");
    const json_t *r = oai_rstream_response(s);
    at_is(r, "status", "\"completed\"");
    at_is(r, "output.1.content.0.text", "\"chunk 0 chunk 1 \"");
    at_is(r, "output.2", "{\"id\":\"rs_T1_2\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"U0lH\"}");
    at_is(r, "output.3.arguments", "\"{\\\"a\\\":1}\"");
    at_is(r, "usage.output_tokens_details.reasoning_tokens", "3");
    at_is(oai_rstream_turn(s), "parts", "[{\"text\":\"chunk 0 chunk 1 \"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"U0lH\"}]");
    assert_non_null(strstr(out.p, "\"delta\":\"chunk 1 \""));
    oai_buf_free(&out);
    oai_buf_free(&last);
    oai_rstream_free(s);
  }
}

static void test_stream_failure(void **state)
{
  oai_rstream *s = oai_rstream_new(&META);
  oai_buf out = { 0 }, last = { 0 };
  const char *up = EV("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}")
                   EV("{\"error\":{\"code\":500,\"message\":\"Internal error encountered.\",\"status\":\"INTERNAL\"}}");
  assert_int_equal(oai_rstream_feed(s, up, strlen(up), &out), OAI_STREAM_END);
  assert_int_equal(oai_rstream_finish(s, &out, &last), OAI_STREAM_END);
  assert_int_equal(last.n, 0);
  oai_buf_append(&out, "", 1);
  char types[1024];
  int64_t seq = 0;
  types_of(out.p, types, sizeof types, &seq);
  assert_string_equal(types, "created in_progress output_item.added content_part.added output_text.delta error failed");
  assert_non_null(strstr(out.p, "event: error\ndata: {\"type\":\"error\",\"code\":\"internal\",\"message\":\"Internal error encountered.\""));
  assert_non_null(strstr(out.p, "\"status\":\"failed\",\"error\":{\"code\":\"internal\""));
  oai_buf_free(&out);
  oai_rstream_free(s);
  s = oai_rstream_new(&META);                 /* an empty stream */
  assert_int_equal(oai_rstream_finish(s, &out, &last), OAI_STREAM_END);
  oai_buf_free(&out);
  oai_rstream_free(s);
}

static int setup(void **state)
{
  char err[128];
  return aliases_parse("gpt-*=gemini-2.5-flash", &ALIASES, err, sizeof err);
}

static int teardown(void **state)
{
  aliases_free(&ALIASES);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_string_input),
    cmocka_unit_test(test_items),
    cmocka_unit_test(test_tools_format_reasoning),
    cmocka_unit_test(test_build_with_previous),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_answer),
    cmocka_unit_test(test_turn_kept),
    cmocka_unit_test(test_input_items_list),
    cmocka_unit_test(test_stream),
    cmocka_unit_test(test_stream_failure),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
