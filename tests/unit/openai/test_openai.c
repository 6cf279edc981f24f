/* openai: the OpenAI ⇄ Gemini translation, both ways, with awkward input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openai/openai.h"

/* ---------------------------------------------------------------- helpers */

/* Fail unless got equals the JSON text want, printing both. */
static void json_is(const json_t *got, const char *want)
{
  json_error_t je;
  json_t *w = json_loads(want, 0, &je);
  if(!w) fail_msg("bad expected JSON: %s (%s)", je.text, want);
  if(!json_equal(got, w)) {
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
    print_error("got:  %s\nwant: %s\n", g ? g : "(null)", x);
    free(g);
    free(x);
    json_decref(w);
    fail();
  }
  json_decref(w);
}

/* The value at a dotted path ("contents.0.parts.1.text"); NULL when absent. */
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
  if(!v) fail_msg("%s: absent", path);
  char *g = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  bool eq = w && json_equal(v, w);
  if(!eq) print_error("%s: got %s, want %s\n", path, g, want);
  free(g);
  json_decref(w);
  assert_true(eq);
}

static const oai_settings NO_SETTINGS = { 0 };

/* Parse a chat body that must succeed; the Gemini body, owned by the caller. */
static json_t *chat_with(const char *body, const oai_settings *s, oai_chat *out)
{
  oai_chat c;
  oai_error e;
  int rc = oai_chat_parse(body, strlen(body), s, &c, &e);
  if(rc) fail_msg("unexpected error %d %s (param %s): %s", e.status, e.code, e.param, e.message);
  json_t *b = json_incref(c.body);
  if(out) *out = c;
  else oai_chat_free(&c);
  return b;
}

static json_t *chat(const char *body)
{
  return chat_with(body, &NO_SETTINGS, NULL);
}

/* A chat body (n bytes) that must fail with a 400 naming param (NULL: no param) and code. */
static void chat_fails_n(const char *body, size_t n, const char *param, const char *code)
{
  oai_chat c;
  oai_error e;
  memset(&e, 0, sizeof e);
  int rc = oai_chat_parse(body, n, &NO_SETTINGS, &c, &e);
  if(rc == 0) {
    oai_chat_free(&c);
    fail_msg("accepted: %.200s", body);
  }
  if(e.status != 400 || strcmp(e.param, param ? param : "") || (code && strcmp(e.code, code)))
    fail_msg("body %.120s: got %d param '%s' code '%s' (%s); want param '%s' code '%s'", body, e.status, e.param,
             e.code, e.message, param ? param : "", code ? code : "*");
  assert_null(c.body);                           /* nothing left behind */
  assert_true(strlen(e.message) > 10);
  json_t *j = oai_error_json(&e);                /* and it serialises */
  assert_non_null(j);
  json_decref(j);
}

static void chat_fails(const char *body, const char *param, const char *code)
{
  chat_fails_n(body, strlen(body), param, code);
}

#define USER_HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define M "\"model\":\"gemini-2.5-flash\","

static const oai_meta META = { "chatcmpl-abc", "gemini-2.5-flash", 1700000000 };

/* ---------------------------------------------------------------- chat request: messages */

static void test_chat_basic(void **state)
{
  oai_chat c;
  json_t *b = chat_with("{\"model\":\"models/gemini-2.5-flash\",\"messages\":["
                        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        "{\"role\":\"user\",\"content\":\"Hello\"},"
                        "{\"role\":\"assistant\",\"content\":\"Hi!\"},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"How are you?\"}]}]}",
                        &NO_SETTINGS, &c);
  json_is(b, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]},"
             "{\"role\":\"model\",\"parts\":[{\"text\":\"Hi!\"}]},"
             "{\"role\":\"user\",\"parts\":[{\"text\":\"How are you?\"}]}],"
             "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]}}");
  assert_string_equal(c.model, "gemini-2.5-flash");
  assert_false(c.stream);
  assert_false(c.include_usage);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.nfetch, 0);
  assert_string_equal(c.prompt, "How are you?");
  size_t len;
  char *s = oai_dump(c.body, &len);
  assert_int_equal(len, strlen(s));
  assert_non_null(strstr(s, "\"contents\":[{\"role\":\"user\""));   /* compact, in order */
  free(s);
  json_decref(b);
  oai_chat_free(&c);
}

static void test_chat_merge_and_developer(void **state)
{
  json_t *b = chat("{" M "\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"A\"}]},"
                   "{\"role\":\"user\",\"content\":\"one\"},{\"role\":\"user\",\"content\":\"two\"},"
                   "{\"role\":\"system\",\"content\":\"B\"},{\"role\":\"assistant\",\"content\":\"\"},"
                   "{\"role\":\"user\",\"content\":\"three\"}]}");
  /* developer and a late system both instruct; the empty assistant turn vanishes, so the users merge */
  json_is(b, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"one\"},{\"text\":\"two\"},{\"text\":\"three\"}]}],"
             "\"systemInstruction\":{\"parts\":[{\"text\":\"A\"},{\"text\":\"B\"}]}}");
  json_decref(b);
}

static void test_chat_system_only(void **state)
{
  json_t *b = chat("{" M "\"messages\":[{\"role\":\"system\",\"content\":\"Tell a joke.\"}]}");
  json_is(b, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Tell a joke.\"}]}]}");
  json_decref(b);
  chat_fails("{" M "\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", "messages", "invalid_value");
}

static const unsigned char PNG[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };

static void test_chat_images(void **state)
{
  oai_chat c;
  oai_error e;
  json_t *b = chat_with("{" M "\"messages\":[{\"role\":\"user\",\"content\":["
                        "{\"type\":\"text\",\"text\":\"What is this?\"},"
                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\",\"detail\":\"low\"}},"
                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}},"
                        "{\"type\":\"image_url\",\"image_url\":\"HTTP://example.com/dog\"},"
                        "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}},"
                        "{\"type\":\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\",\"filename\":\"a.pdf\"}}]}]}",
                        &NO_SETTINGS, &c);
  at_is(b, "contents.0.parts.1", "{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/4AAQ\"}}");
  at_is(b, "contents.0.parts.4", "{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"UklGRg==\"}}");
  at_is(b, "contents.0.parts.5", "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBERi0=\"}}");
  assert_int_equal(c.nfetch, 2);
  assert_string_equal(c.fetch[0].url, "https://example.com/cat.png");
  assert_string_equal(c.fetch[0].param, "messages[0].content[2].image_url.url");
  assert_string_equal(c.fetch[1].url, "HTTP://example.com/dog");
  /* the parts wait empty until the glue has fetched them */
  at_is(b, "contents.0.parts.2", "{}");
  assert_int_equal(oai_fetch_fill(&c.fetch[0], "text/plain", PNG, sizeof PNG, &e), 0);   /* bytes win */
  at_is(b, "contents.0.parts.2", "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgoAAAANSUhEUg==\"}}");
  assert_int_equal(oai_fetch_fill(&c.fetch[1], "image/svg+xml; charset=utf-8", "<svg/>", 6, &e), 0);
  at_is(b, "contents.0.parts.3.inlineData.mimeType", "\"image/svg+xml\"");
  assert_int_equal(oai_fetch_fill(&c.fetch[1], "text/html", "<html>", 6, &e), -1);
  assert_int_equal(e.status, 400);
  assert_string_equal(e.param, "messages[0].content[3].image_url.url");
  assert_int_equal(oai_fetch_fill(&c.fetch[1], "image/png", "", 0, &e), -1);
  json_decref(b);
  oai_chat_free(&c);
}

static void test_chat_too_many_fetches(void **state)
{
  oai_buf b = { 0 };
  const char *head = "{" M "\"messages\":[{\"role\":\"user\",\"content\":[";
  oai_buf_append(&b, head, strlen(head));
  for(int i = 0; i <= OAI_MAX_FETCHES; i++) {
    const char *p = "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y\"}},";
    oai_buf_append(&b, p, strlen(p) - (i == OAI_MAX_FETCHES));
  }
  oai_buf_append(&b, "]}]}", 4);
  chat_fails_n(b.p, b.n, "messages[0].content[32].image_url.url", "invalid_value");
  oai_buf_free(&b);
}

static void test_chat_tool_round_trip(void **state)
{
  json_t *b = chat("{" M "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                   "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
                   "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\"}},"
                   "{\"id\":\"call_3\",\"type\":\"function\",\"function\":{\"name\":\"noop\",\"arguments\":\"  \"},"
                   "\"extra_content\":{\"google\":{\"thought_signature\":\"c2ln\"}}}]},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":21}\"},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":\"noon\"}]},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"call_3\",\"content\":\"\"},"
                   "{\"role\":\"user\",\"content\":\"thanks\"}]}");
  json_is(b, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Paris and Rome?\"}]},"
             "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}},"
             "{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}},"
             "{\"functionCall\":{\"name\":\"noop\",\"args\":{}},\"thoughtSignature\":\"c2ln\"}]},"
             "{\"role\":\"user\",\"parts\":["
             "{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":{\"temp\":21}}}},"
             "{\"functionResponse\":{\"name\":\"get_time\",\"response\":{\"content\":\"noon\"}}},"
             "{\"functionResponse\":{\"name\":\"noop\",\"response\":{\"content\":\"\"}}},"
             "{\"text\":\"thanks\"}]}]}");
  json_decref(b);
  /* Gemini 3 needs a signature on replayed calls: the documented placeholder when none came back */
  b = chat("{\"model\":\"gemini-3-pro-preview\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
           "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"1\"}]}");
  at_is(b, "contents.1.parts.0.thoughtSignature", "\"skip_thought_signature_validator\"");
  at_is(b, "contents.2.parts.0.functionResponse.response", "{\"content\":1}");
  json_decref(b);
}

static void test_chat_tools_and_choice(void **state)
{
  const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather.\","
                      "\"strict\":true,\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                      "\"required\":[\"city\"],\"additionalProperties\":false}}},"
                      "{\"type\":\"function\",\"function\":{\"name\":\"ping\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]";
  char body[1024];
  snprintf(body, sizeof body, "{" M USER_HI ",%s}", tools);
  json_t *b = chat(body);
  at_is(b, "tools", "[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Weather.\","
                    "\"parameters\":{\"type\":\"OBJECT\",\"properties\":{\"city\":{\"type\":\"STRING\"}},\"required\":[\"city\"]}},"
                    "{\"name\":\"ping\"}]}]");
  assert_null(at(b, "toolConfig"));
  json_decref(b);
  const char *choices[][2] = {
    { "\"auto\"", "{\"mode\":\"AUTO\"}" },
    { "\"none\"", "{\"mode\":\"NONE\"}" },
    { "\"required\"", "{\"mode\":\"ANY\"}" },
    { "{\"type\":\"function\",\"function\":{\"name\":\"ping\"}}", "{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"ping\"]}" },
  };
  for(size_t i = 0; i < ARRAY_LEN(choices); i++) {
    snprintf(body, sizeof body, "{" M USER_HI ",%s,\"tool_choice\":%s}", tools, choices[i][0]);
    b = chat(body);
    at_is(b, "toolConfig.functionCallingConfig", choices[i][1]);
    json_decref(b);
  }
  snprintf(body, sizeof body, "{" M USER_HI ",%s,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}", tools);
  chat_fails(body, "tool_choice.function.name", "invalid_value");
  /* a choice without tools is nothing to configure */
  b = chat("{" M USER_HI ",\"tool_choice\":\"auto\",\"tools\":[]}");
  assert_null(at(b, "toolConfig"));
  assert_null(at(b, "tools"));
  json_decref(b);
}

/* ---------------------------------------------------------------- JSON Schema cleaning */

static json_t *params_of(const char *schema)
{
  char *body = malloc(strlen(schema) + 256);
  sprintf(body, "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":%s}}]}", schema);
  json_t *b = chat(body);
  free(body);
  json_t *p = json_incref(at(b, "tools.0.functionDeclarations.0.parameters"));
  json_decref(b);
  return p;
}

static void test_schema_clean(void **state)
{
  json_t *p = params_of(
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"title\":\"Args\",\"type\":\"object\","
    "\"additionalProperties\":false,\"$defs\":{\"Unit\":{\"type\":\"string\",\"enum\":[\"c\",\"f\"],\"description\":\"unit\"}},"
    "\"properties\":{"
    "\"unit\":{\"$ref\":\"#/$defs/Unit\"},"
    "\"name\":{\"type\":[\"string\",\"null\"],\"default\":\"x\",\"examples\":[\"a\"],\"format\":\"email\",\"minLength\":1},"
    "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"mode\":{\"const\":\"fast\"},"
    "\"opt\":{\"anyOf\":[{\"type\":\"integer\",\"format\":\"int64\"},{\"type\":\"null\"}]},"
    "\"either\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]},"
    "\"level\":{\"type\":\"integer\",\"enum\":[1,2,3],\"minimum\":1,\"maximum\":3},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,\"uniqueItems\":true},"
    "\"both\":{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]},"
    "{\"properties\":{\"b\":{\"type\":\"boolean\"}}}]},"
    "\"map\":{\"type\":\"object\",\"patternProperties\":{\"^x\":{\"type\":\"string\"}}},"
    "\"gone\":{\"$ref\":\"#/$defs/Missing\"}},"
    "\"required\":[\"unit\",\"gone\",\"ghost\"],\"strict\":true}");
  json_is(p, "{\"type\":\"OBJECT\",\"properties\":{"
             "\"unit\":{\"type\":\"STRING\",\"enum\":[\"c\",\"f\"],\"description\":\"unit\"},"
             "\"name\":{\"type\":\"STRING\",\"nullable\":true},"
             "\"when\":{\"type\":\"STRING\",\"format\":\"date-time\"},"
             "\"mode\":{\"type\":\"STRING\",\"enum\":[\"fast\"]},"
             "\"opt\":{\"type\":\"INTEGER\",\"format\":\"int64\",\"nullable\":true},"
             "\"either\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"NUMBER\"}]},"
             "\"level\":{\"type\":\"INTEGER\",\"minimum\":1,\"maximum\":3},"
             "\"tags\":{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\"},\"minItems\":1},"
             "\"both\":{\"type\":\"OBJECT\",\"properties\":{\"a\":{\"type\":\"STRING\"},\"b\":{\"type\":\"BOOLEAN\"}},\"required\":[\"a\"]},"
             "\"map\":{\"type\":\"OBJECT\"}},"
             "\"required\":[\"unit\"]}");
  json_decref(p);
  /* a recursive type expands a bounded number of times, then the recursion is dropped */
  p = params_of("{\"type\":\"object\",\"properties\":{\"node\":{\"$ref\":\"#/definitions/Node\"}},"
                "\"definitions\":{\"Node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"string\"},"
                "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/Node\"}}}}}}");
  assert_non_null(at(p, "properties.node.properties.kids.items.properties.v"));
  char *s = json_dumps(p, JSON_COMPACT);
  assert_true(strlen(s) < 4000);
  free(s);
  json_decref(p);
  /* free-form objects: no empty properties (Gemini refuses those), and a tool without
   * parameters declares none */
  p = params_of("{\"type\":\"object\",\"properties\":{\"meta\":{\"type\":\"object\",\"properties\":{},"
                "\"additionalProperties\":true}}}");
  json_is(p, "{\"type\":\"OBJECT\",\"properties\":{\"meta\":{\"type\":\"OBJECT\"}}}");
  json_decref(p);
  p = params_of("{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/nowhere\"}}}");
  assert_null(p);
  /* a top-level "#" reference to itself */
  p = params_of("{\"type\":\"object\",\"properties\":{\"self\":{\"$ref\":\"#\"},\"x\":{\"type\":\"string\"}}}");
  assert_non_null(at(p, "properties.self.properties.x"));
  json_decref(p);
}

static void test_schema_limits(void **state)
{
  /* 100 nested objects: deeper than Gemini or this gateway take */
  oai_buf b = { 0 };
  const char *head = "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":";
  oai_buf_append(&b, head, strlen(head));
  for(int i = 0; i < 100; i++) oai_buf_append(&b, "{\"type\":\"object\",\"properties\":{\"a\":", 35);
  oai_buf_append(&b, "{\"type\":\"string\"}", 17);
  for(int i = 0; i < 100; i++) oai_buf_append(&b, "}}", 2);
  oai_buf_append(&b, "}}]}", 4);
  chat_fails_n(b.p, b.n, "tools[0].function.parameters", "invalid_value");
  oai_buf_free(&b);
  /* references fanning out exponentially are cut by the node budget or the depth */
  const char *bomb = "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                     "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/A\"},\"b\":{\"$ref\":\"#/$defs/A\"}},"
                     "\"$defs\":{\"A\":{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/A\"},\"b\":{\"$ref\":\"#/$defs/A\"},"
                     "\"c\":{\"$ref\":\"#/$defs/A\"},\"d\":{\"$ref\":\"#/$defs/A\"}}}}}}}]}";
  chat_fails(bomb, "tools[0].function.parameters", "invalid_value");
}

static void test_response_format(void **state)
{
  json_t *b = chat("{" M USER_HI ",\"response_format\":{\"type\":\"json_object\"}}");
  json_is(at(b, "generationConfig"), "{\"responseMimeType\":\"application/json\"}");
  json_decref(b);
  b = chat("{" M USER_HI ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"strict\":true,"
           "\"schema\":{\"type\":\"object\",\"properties\":{\"zeta\":{\"type\":\"string\"},\"alpha\":{\"type\":\"number\"}},"
           "\"required\":[\"zeta\",\"alpha\"],\"additionalProperties\":false}}}}");
  json_is(at(b, "generationConfig"), "{\"responseMimeType\":\"application/json\",\"responseSchema\":{\"type\":\"OBJECT\","
                                     "\"properties\":{\"zeta\":{\"type\":\"STRING\"},\"alpha\":{\"type\":\"NUMBER\"}},"
                                     "\"propertyOrdering\":[\"zeta\",\"alpha\"],\"required\":[\"zeta\",\"alpha\"]}}");
  json_decref(b);
  b = chat("{" M USER_HI ",\"response_format\":{\"type\":\"text\"}}");
  assert_null(at(b, "generationConfig"));
  json_decref(b);
}

/* ---------------------------------------------------------------- chat request: parameters */

static void test_generation_params(void **state)
{
  oai_chat c;
  json_t *b = chat_with("{" M USER_HI ",\"temperature\":0.5,\"top_p\":1,\"top_k\":40,\"max_tokens\":100,"
                        "\"max_completion_tokens\":200,\"stop\":[\"END\",\"\",\"STOP\"],\"n\":2,\"seed\":-7,"
                        "\"presence_penalty\":0,\"frequency_penalty\":0.5,\"stream\":true,"
                        "\"stream_options\":{\"include_usage\":true},\"user\":\"u1\",\"logprobs\":null}",
                        &NO_SETTINGS, &c);
  json_is(at(b, "generationConfig"), "{\"temperature\":0.5,\"topP\":1,\"topK\":40,\"maxOutputTokens\":200,"
                                     "\"stopSequences\":[\"END\",\"STOP\"],\"candidateCount\":2,\"seed\":-7,"
                                     "\"frequencyPenalty\":0.5}");
  assert_true(c.stream);
  assert_true(c.include_usage);
  assert_int_equal(c.n, 2);
  oai_chat_free(&c);
  json_decref(b);
  b = chat("{" M USER_HI ",\"stop\":\"###\",\"max_tokens\":64.0,\"temperature\":null}");
  json_is(at(b, "generationConfig"), "{\"stopSequences\":[\"###\"],\"maxOutputTokens\":64}");
  json_decref(b);
}

static void test_thinking(void **state)
{
  const char *effort[][2] = {
    { "none", "{\"thinkingBudget\":0}" },
    { "minimal", "{\"thinkingBudget\":512,\"includeThoughts\":true}" },
    { "low", "{\"thinkingBudget\":1024,\"includeThoughts\":true}" },
    { "medium", "{\"thinkingBudget\":8192,\"includeThoughts\":true}" },
    { "high", "{\"thinkingBudget\":24576,\"includeThoughts\":true}" },
  };
  char body[512];
  for(size_t i = 0; i < ARRAY_LEN(effort); i++) {
    snprintf(body, sizeof body, "{" M USER_HI ",\"reasoning_effort\":\"%s\"}", effort[i][0]);
    json_t *b = chat(body);
    at_is(b, "generationConfig.thinkingConfig", effort[i][1]);
    json_decref(b);
  }
  json_t *b = chat("{" M USER_HI ",\"thinking_config\":{\"thinking_budget\":-1,\"include_thoughts\":true},\"reasoning_effort\":\"low\"}");
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":-1,\"includeThoughts\":true}");
  json_decref(b);
  b = chat("{" M USER_HI ",\"google\":{\"thinking_config\":{\"thinkingBudget\":8192}}}");
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":8192}");
  json_decref(b);

  oai_settings s = { .thinking_enabled = true, .thinking_budget = 16384, .include_thoughts = true };
  b = chat_with("{" M USER_HI "}", &s, NULL);
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":16384,\"includeThoughts\":true}");
  json_decref(b);
  b = chat_with("{" M USER_HI ",\"reasoning_effort\":\"none\"}", &s, NULL);   /* the request wins */
  at_is(b, "generationConfig.thinkingConfig", "{\"thinkingBudget\":0}");
  json_decref(b);
  b = chat_with("{\"model\":\"gemini-2.0-flash\"," USER_HI "}", &s, NULL);      /* cannot think */
  assert_null(at(b, "generationConfig"));
  json_decref(b);
  s.thinking_enabled = false;
  b = chat_with("{" M USER_HI "}", &s, NULL);
  assert_null(at(b, "generationConfig"));
  json_decref(b);
}

static void test_inject(void **state)
{
  oai_settings s = { .inject_enabled = true, .inject_content = "Answer in French.", .inject_position = OAI_INJECT_SYSTEM };
  const char *conv = "{" M "\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"A\"},"
                     "{\"role\":\"assistant\",\"content\":\"B\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"C\"},"
                     "{\"type\":\"text\",\"text\":\"D\"}]}]}";
  json_t *b = chat_with(conv, &s, NULL);
  at_is(b, "systemInstruction.parts", "[{\"text\":\"Answer in French.\"},{\"text\":\"S\"}]");
  json_decref(b);
  s.inject_position = OAI_INJECT_USER_PREFIX;
  b = chat_with(conv, &s, NULL);
  at_is(b, "contents.2.parts", "[{\"text\":\"Answer in French.\"},{\"text\":\"C\"},{\"text\":\"D\"}]");
  at_is(b, "contents.0.parts", "[{\"text\":\"A\"}]");
  json_decref(b);
  s.inject_position = OAI_INJECT_USER_SUFFIX;
  b = chat_with(conv, &s, NULL);
  at_is(b, "contents.2.parts", "[{\"text\":\"C\"},{\"text\":\"D\"},{\"text\":\"Answer in French.\"}]");
  json_decref(b);
  /* no user message at all: the injection is a user turn of its own */
  b = chat_with("{" M "\"messages\":[{\"role\":\"assistant\",\"content\":\"Hi\"}]}", &s, NULL);
  at_is(b, "contents", "[{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"Answer in French.\"}]}]");
  json_decref(b);
  s.inject_enabled = false;
  b = chat_with(conv, &s, NULL);
  at_is(b, "systemInstruction.parts", "[{\"text\":\"S\"}]");
  json_decref(b);
}

/* ---------------------------------------------------------------- chat request: refusals */

static void test_chat_bad_json(void **state)
{
  chat_fails("", NULL, "invalid_json");
  chat_fails("{", NULL, "invalid_json");
  chat_fails("[]", NULL, "invalid_type");
  chat_fails("null", NULL, "invalid_type");
  chat_fails("{\"model\":\"x\"} trailing", NULL, "invalid_json");
  const char bad_utf8[] = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}";
  oai_chat c;
  oai_error e;
  assert_int_equal(oai_chat_parse(bad_utf8, sizeof bad_utf8 - 1, NULL, &c, &e), -1);
  assert_int_equal(e.status, 400);
  assert_non_null(strstr(e.message, "UTF-8"));
  const char overlong[] = "{\"model\":\"\xc0\xaf\"}";
  chat_fails_n(overlong, sizeof overlong - 1, NULL, "invalid_json");
  const char nul[] = "{\"model\":\"a\\u0000b\"}";
  assert_int_equal(oai_chat_parse(nul, sizeof nul - 1, NULL, &c, &e), -1);
  assert_non_null(strstr(e.message, "u0000"));
  const char raw_nul[] = "{\"model\":\"a\0b\"}";
  chat_fails_n(raw_nul, sizeof raw_nul - 1, NULL, "invalid_json");
  chat_fails("{\"model\":\"gemini\",\"seed\":123456789012345678901234567890}", NULL, "invalid_json");
}

static void test_chat_deep_and_huge(void **state)
{
  /* 10,000 levels of nesting are refused by the parser, not by the stack */
  size_t depth = 10000;
  char *deep = malloc(depth * 2 + 64);
  size_t n = (size_t)sprintf(deep, "{\"model\":\"gemini-2.5-flash\",\"x\":");
  memset(deep + n, '[', depth);
  memset(deep + n + depth, ']', depth);
  n += depth * 2;
  deep[n++] = '}';
  oai_chat c;
  oai_error e;
  assert_int_equal(oai_chat_parse(deep, n, NULL, &c, &e), -1);
  assert_int_equal(e.status, 400);
  assert_non_null(strstr(e.message, "nested too deeply"));
  free(deep);

  /* 1,000 levels inside a tool result stay a string; inside tool parameters they are refused */
  depth = 1000;
  oai_buf b = { 0 };
  const char *h = "{" M "\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":"
                  "[{\"id\":\"i\",\"function\":{\"name\":\"f\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"i\",\"content\":\"";
  oai_buf_append(&b, h, strlen(h));
  for(size_t i = 0; i < depth; i++) oai_buf_append(&b, "{\\\"a\\\":", 7);
  oai_buf_append(&b, "1", 1);
  for(size_t i = 0; i < depth; i++) oai_buf_append(&b, "}", 1);
  oai_buf_append(&b, "\"}]}", 4);
  assert_int_equal(oai_chat_parse(b.p, b.n, NULL, &c, &e), 0);
  assert_non_null(at(c.body, "contents.2.parts.0.functionResponse.response.content"));
  oai_chat_free(&c);
  oai_buf_free(&b);

  /* a 5 MB message goes through whole */
  size_t big = 5u << 20;
  char *huge = malloc(big + 128);
  n = (size_t)sprintf(huge, "{" M "\"messages\":[{\"role\":\"user\",\"content\":\"");
  memset(huge + n, 'a', big);
  n += big;
  n += (size_t)sprintf(huge + n, "\"}]}");
  assert_int_equal(oai_chat_parse(huge, n, NULL, &c, &e), 0);
  assert_int_equal(json_string_length(at(c.body, "contents.0.parts.0.text")), big);
  assert_int_equal(strlen(c.prompt), OAI_PROMPT_CHARS);
  oai_chat_free(&c);
  free(huge);

  /* 20,000 messages */
  oai_buf_append(&b, "{" M "\"messages\":[", strlen("{" M "\"messages\":["));
  for(int i = 0; i < 20000; i++) {
    const char *m = i % 2 ? "{\"role\":\"assistant\",\"content\":\"b\"}," : "{\"role\":\"user\",\"content\":\"a\"},";
    oai_buf_append(&b, m, strlen(m));
  }
  b.n--;
  oai_buf_append(&b, "]}", 2);
  assert_int_equal(oai_chat_parse(b.p, b.n, NULL, &c, &e), 0);
  assert_int_equal(json_array_size(at(c.body, "contents")), 20000);
  oai_chat_free(&c);
  oai_buf_free(&b);
}

static void test_chat_wrong_fields(void **state)
{
  static const char *const cases[][3] = {
    { "{" USER_HI "}", "model", "missing_required_parameter" },
    { "{\"model\":5," USER_HI "}", "model", "invalid_type" },
    { "{\"model\":\"../../v1/x?key=1\"," USER_HI "}", "model", "invalid_value" },
    { "{\"model\":\"\"," USER_HI "}", "model", "invalid_value" },
    { "{" M "\"x\":1}", "messages", "missing_required_parameter" },
    { "{" M "\"messages\":\"hi\"}", "messages", "invalid_type" },
    { "{" M "\"messages\":{}}", "messages", "invalid_type" },
    { "{" M "\"messages\":[]}", "messages", "empty_array" },
    { "{" M "\"messages\":[5]}", "messages[0]", "invalid_type" },
    { "{" M "\"messages\":[{\"content\":\"x\"}]}", "messages[0].role", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":7,\"content\":\"x\"}]}", "messages[0].role", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages[0].role", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\"}]}", "messages[0].content", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":null}]}", "messages[0].content", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"system\",\"content\":null}]}", "messages[0].content", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":{\"text\":\"x\"}}]}", "messages[0].content", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[5]}]}", "messages[0].content[0]", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{}]}]}", "messages[0].content[0].type", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":5}]}]}", "messages[0].content[0].type", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}", "messages[0].content[0].type", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content[0].text", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":[]}]}]}", "messages[0].content[0].text", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages[0].content[0].image_url", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":5}]}]}", "messages[0].content[0].image_url", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]}", "messages[0].content[0].image_url.url", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":1}}]}]}", "messages[0].content[0].image_url.url", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}", "messages[0].content[0].image_url.url", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}", "messages[0].content[0].image_url.url", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:;base64,abc\"}}]}]}", "messages[0].content[0].image_url.url", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA==\"}}]}]}", "messages[0].content[0].input_audio.format", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA==\",\"format\":\"../x\"}}]}]}", "messages[0].content[0].input_audio.format", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_id\":\"f1\"}}]}]}", "messages[0].content[0].file", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x\"}}]}]}", "messages[0].content[0].type", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"content\":null}]}", "messages[0].content", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\"}]}", "messages[0].content", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}", "messages[0].tool_calls", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[5]}]}", "messages[0].tool_calls[0]", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\"}]}]}", "messages[0].tool_calls[0].function", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"web\",\"function\":{\"name\":\"f\"}}]}]}", "messages[0].tool_calls[0].type", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{}}]}]}", "messages[0].tool_calls[0].function.name", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"\"}}]}]}", "messages[0].tool_calls[0].function.name", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":5,\"function\":{\"name\":\"f\"}}]}]}", "messages[0].tool_calls[0].id", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]}", "messages[0].tool_calls[0].function.arguments", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}", "messages[0].tool_calls[0].function.arguments", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":7}}]}]}", "messages[0].tool_calls[0].function.arguments", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].tool_call_id", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"tool\",\"tool_call_id\":3,\"content\":\"x\"}]}", "messages[0].tool_call_id", "invalid_type" },
    { "{" M "\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"x\"}]}", "messages[0].tool_call_id", "invalid_value" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\"}]}", "messages[1].content", "missing_required_parameter" },
    { "{" M "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages[1].content[0].type", "invalid_value" },
    { "{" M USER_HI ",\"temperature\":\"hot\"}", "temperature", "invalid_type" },
    { "{" M USER_HI ",\"temperature\":2.5}", "temperature", "invalid_value" },
    { "{" M USER_HI ",\"temperature\":-1}", "temperature", "invalid_value" },
    { "{" M USER_HI ",\"top_p\":1.5}", "top_p", "invalid_value" },
    { "{" M USER_HI ",\"top_p\":true}", "top_p", "invalid_type" },
    { "{" M USER_HI ",\"top_k\":0}", "top_k", "invalid_value" },
    { "{" M USER_HI ",\"max_tokens\":0}", "max_tokens", "invalid_value" },
    { "{" M USER_HI ",\"max_tokens\":1.5}", "max_tokens", "invalid_type" },
    { "{" M USER_HI ",\"max_tokens\":\"10\"}", "max_tokens", "invalid_type" },
    { "{" M USER_HI ",\"max_completion_tokens\":-5}", "max_completion_tokens", "invalid_value" },
    { "{" M USER_HI ",\"max_tokens\":99999999999}", "max_tokens", "invalid_value" },
    { "{" M USER_HI ",\"n\":0}", "n", "invalid_value" },
    { "{" M USER_HI ",\"n\":9}", "n", "invalid_value" },
    { "{" M USER_HI ",\"n\":\"2\"}", "n", "invalid_type" },
    { "{" M USER_HI ",\"stop\":5}", "stop", "invalid_type" },
    { "{" M USER_HI ",\"stop\":[\"a\",1]}", "stop[1]", "invalid_type" },
    { "{" M USER_HI ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", "stop", "invalid_value" },
    { "{" M USER_HI ",\"seed\":4294967296}", "seed", "invalid_value" },
    { "{" M USER_HI ",\"seed\":\"42\"}", "seed", "invalid_type" },
    { "{" M USER_HI ",\"presence_penalty\":3}", "presence_penalty", "invalid_value" },
    { "{" M USER_HI ",\"frequency_penalty\":[]}", "frequency_penalty", "invalid_type" },
    { "{" M USER_HI ",\"stream\":\"yes\"}", "stream", "invalid_type" },
    { "{" M USER_HI ",\"stream\":1}", "stream", "invalid_type" },
    { "{" M USER_HI ",\"stream_options\":true}", "stream_options", "invalid_type" },
    { "{" M USER_HI ",\"stream_options\":{\"include_usage\":\"yes\"}}", "stream_options.include_usage", "invalid_type" },
    { "{" M USER_HI ",\"tools\":{}}", "tools", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[1]}", "tools[0]", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"retrieval\"}]}", "tools[0].type", "invalid_value" },
    { "{" M USER_HI ",\"tools\":[{\"type\":7}]}", "tools[0].type", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\"}]}", "tools[0].function", "missing_required_parameter" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":[]}]}", "tools[0].function", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"d\"}}]}", "tools[0].function.name", "missing_required_parameter" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":1}}]}", "tools[0].function.name", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":2}}]}", "tools[0].function.description", "invalid_type" },
    { "{" M USER_HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"{}\"}}]}", "tools[0].function.parameters", "invalid_type" },
    { "{" M USER_HI ",\"tool_choice\":\"sometimes\"}", "tool_choice", "invalid_value" },
    { "{" M USER_HI ",\"tool_choice\":5}", "tool_choice", "invalid_type" },
    { "{" M USER_HI ",\"tool_choice\":{\"type\":\"function\"}}", "tool_choice.function", "invalid_type" },
    { "{" M USER_HI ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":3}}}", "tool_choice.function.name", "invalid_type" },
    { "{" M USER_HI ",\"response_format\":\"json\"}", "response_format", "invalid_type" },
    { "{" M USER_HI ",\"response_format\":{}}", "response_format.type", "missing_required_parameter" },
    { "{" M USER_HI ",\"response_format\":{\"type\":1}}", "response_format.type", "invalid_type" },
    { "{" M USER_HI ",\"response_format\":{\"type\":\"xml\"}}", "response_format.type", "invalid_value" },
    { "{" M USER_HI ",\"response_format\":{\"type\":\"json_schema\"}}", "response_format.json_schema", "missing_required_parameter" },
    { "{" M USER_HI ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":\"s\"}}", "response_format.json_schema", "invalid_type" },
    { "{" M USER_HI ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":5}}}", "response_format.json_schema.schema", "invalid_type" },
    { "{" M USER_HI ",\"reasoning_effort\":\"max\"}", "reasoning_effort", "invalid_value" },
    { "{" M USER_HI ",\"reasoning_effort\":1}", "reasoning_effort", "invalid_type" },
    { "{" M USER_HI ",\"thinking_config\":5}", "thinking_config", "invalid_type" },
    { "{" M USER_HI ",\"thinking_config\":{\"thinking_budget\":40000}}", "thinking_config.thinking_budget", "invalid_value" },
    { "{" M USER_HI ",\"thinking_config\":{\"thinking_budget\":-2}}", "thinking_config.thinking_budget", "invalid_value" },
    { "{" M USER_HI ",\"thinking_config\":{\"thinking_budget\":\"auto\"}}", "thinking_config.thinking_budget", "invalid_type" },
    { "{" M USER_HI ",\"thinking_config\":{\"include_thoughts\":\"yes\"}}", "thinking_config.include_thoughts", "invalid_type" },
    { "{" M USER_HI ",\"google\":{\"thinking_config\":{\"thinkingBudget\":1e6}}}", "google.thinking_config.thinkingBudget", "invalid_value" },
    { "{" M USER_HI ",\"google\":\"x\"}", "google", "invalid_type" },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) chat_fails(cases[i][0], cases[i][1], cases[i][2]);
}

/* Every prefix of a rich body, and single-byte corruptions of it, are answered without a crash
 * or leak: either translated, or a 400. */
static void test_chat_mutations(void **state)
{
  const char *body = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                     "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"image_url\","
                     "\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]},{\"role\":\"assistant\",\"tool_calls\":"
                     "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
                     "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}],\"tools\":[{\"type\":\"function\","
                     "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
                     "[\"integer\",\"null\"]}}}}}],\"tool_choice\":\"required\",\"temperature\":0.2,\"stream\":true,"
                     "\"response_format\":{\"type\":\"json_object\"},\"reasoning_effort\":\"low\"}";
  size_t n = strlen(body);
  char *buf = malloc(n + 1);
  const char subst[] = { '"', '{', '}', '[', ']', ',', ':', '0', 'x', '\\', ' ', (char)0xff, 0 };
  size_t ok = 0;
  for(size_t len = 0; len <= n; len++) {
    oai_chat c;
    oai_error e;
    if(oai_chat_parse(body, len, NULL, &c, &e) == 0) { ok++; oai_chat_free(&c); }
    else assert_int_equal(e.status, 400);
  }
  assert_int_equal(ok, 1);                     /* only the whole body */
  for(size_t i = 0; i < n; i++)
    for(size_t k = 0; k < sizeof subst; k++) {
      memcpy(buf, body, n);
      buf[i] = subst[k];
      oai_chat c;
      oai_error e;
      if(oai_chat_parse(buf, n, NULL, &c, &e) == 0) oai_chat_free(&c);
      else assert_int_equal(e.status, 400);
    }
  free(buf);
}

/* ---------------------------------------------------------------- chat answers */

static json_t *answer(const char *gemini, oai_usage *u)
{
  oai_error e;
  json_t *r = oai_chat_response(gemini, strlen(gemini), &META, u, &e);
  if(!r) fail_msg("answer refused: %d %s", e.status, e.message);
  return r;
}

static void test_response_text_and_thoughts(void **state)
{
  oai_usage u;
  json_t *r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true},"
                     "{\"text\":\"Hello! \"},{\"text\":\"How can I help?\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
                     "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":7,\"totalTokenCount\":31,"
                     "\"thoughtsTokenCount\":19,\"cachedContentTokenCount\":2},\"modelVersion\":\"gemini-2.5-flash\"}", &u);
  json_is(r, "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gemini-2.5-flash\","
             "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How can I help?\","
             "\"reasoning_content\":\"Let me think.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":26,\"total_tokens\":31,"
             "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":19}}}");
  assert_true(u.seen);
  assert_int_equal(u.prompt, 5);
  assert_int_equal(u.candidates, 7);
  assert_int_equal(u.thoughts, 19);
  assert_int_equal(u.cached, 2);
  assert_int_equal(u.total, 31);
  json_decref(r);
  /* no thoughts: no reasoning_content key at all */
  r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"STOP\"}]}", NULL);
  assert_null(at(r, "choices.0.message.reasoning_content"));
  at_is(r, "usage.total_tokens", "0");
  json_decref(r);
}

static void test_response_tool_calls(void **state)
{
  json_t *r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
                     "\"thoughtSignature\":\"c2ln\"},{\"functionCall\":{\"name\":\"ping\"}}],\"role\":\"model\"},"
                     "\"finishReason\":\"STOP\",\"index\":0}]}", NULL);
  json_is(at(r, "choices.0"), "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                              "{\"id\":\"call_abc_0_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                              "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},\"extra_content\":{\"google\":{\"thought_signature\":\"c2ln\"}}},"
                              "{\"id\":\"call_abc_0_1\",\"type\":\"function\",\"function\":{\"name\":\"ping\",\"arguments\":\"{}\"}}]},"
                              "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}");
  json_decref(r);
  /* text with a call keeps the text */
  r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Checking.\"},{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},"
             "\"finishReason\":\"STOP\"}]}", NULL);
  at_is(r, "choices.0.message.content", "\"Checking.\"");
  at_is(r, "choices.0.finish_reason", "\"tool_calls\"");
  json_decref(r);
}

static void test_response_finish_reasons(void **state)
{
  const char *map[][2] = { { "STOP", "stop" }, { "MAX_TOKENS", "length" }, { "SAFETY", "content_filter" },
                           { "RECITATION", "content_filter" }, { "BLOCKLIST", "content_filter" },
                           { "PROHIBITED_CONTENT", "content_filter" }, { "SPII", "content_filter" },
                           { "MALFORMED_FUNCTION_CALL", "stop" }, { "OTHER", "stop" }, { "LANGUAGE", "stop" } };
  for(size_t i = 0; i < ARRAY_LEN(map); i++) {
    char g[256], want[32];
    snprintf(g, sizeof g, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"%s\"}]}", map[i][0]);
    snprintf(want, sizeof want, "\"%s\"", map[i][1]);
    json_t *r = answer(g, NULL);
    at_is(r, "choices.0.finish_reason", want);
    json_decref(r);
  }
}

static void test_response_blocked_and_n(void **state)
{
  json_t *r = answer("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}", NULL);
  json_is(at(r, "choices"), "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                            "\"finish_reason\":\"content_filter\"}]");
  at_is(r, "usage.prompt_tokens", "9");
  json_decref(r);
  /* a candidate blocked with no content at all */
  r = answer("{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0}]}", NULL);
  at_is(r, "choices.0.message.content", "\"\"");
  at_is(r, "choices.0.finish_reason", "\"content_filter\"");
  json_decref(r);
  r = answer("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]},\"finishReason\":\"STOP\",\"index\":0},"
             "{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"n\":12345678901234}}}]},\"finishReason\":\"STOP\",\"index\":1}]}", NULL);
  assert_int_equal(json_array_size(at(r, "choices")), 2);
  at_is(r, "choices.1.index", "1");
  at_is(r, "choices.1.message.tool_calls.0.id", "\"call_abc_1_0\"");
  at_is(r, "choices.1.message.tool_calls.0.function.arguments", "\"{\\\"n\\\":12345678901234}\"");
  json_decref(r);
}

static void test_response_bad_upstream(void **state)
{
  oai_error e;
  assert_null(oai_chat_response("<html>oops</html>", 17, &META, NULL, &e));
  assert_int_equal(e.status, 502);
  assert_null(oai_chat_response("", 0, &META, NULL, &e));
  assert_int_equal(e.status, 502);
  assert_null(oai_chat_response("[1]", 3, &META, NULL, &e));
  assert_int_equal(e.status, 502);
  const char *err = "{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}";
  assert_null(oai_chat_response(err, strlen(err), &META, NULL, &e));
  assert_int_equal(e.status, 503);
  assert_string_equal(e.message, "The model is overloaded.");
}

/* ---------------------------------------------------------------- streams */

static const char SSE[] =
  "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Four\"}],\"role\":\"model\"},\"index\":0}],"
  "\"usageMetadata\":{\"promptTokenCount\":51,\"candidatesTokenCount\":1,\"totalTokenCount\":52},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"ag4paQ\"}\r\n\r\n"
  "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" score and seven.\"}],\"role\":\"model\"},\"index\":0}],"
  "\"usageMetadata\":{\"promptTokenCount\":51,\"candidatesTokenCount\":5,\"totalTokenCount\":56}}\r\n\r\n"
  "data: {\"candidates\":[{\"content\":{\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
  "\"usageMetadata\":{\"promptTokenCount\":51,\"candidatesTokenCount\":5,\"totalTokenCount\":56}}\r\n\r\n";

#define HEAD "data: {\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gemini-2.5-flash\","

/* Translate src in pieces of step bytes (0: whole); the output, malloc'ed. */
static char *stream_all(const char *src, size_t n, size_t step, bool usage, int *end_rc)
{
  oai_stream *s = oai_stream_new(&META, usage);
  assert_non_null(s);
  oai_buf out = { 0 };
  int rc = OAI_STREAM_MORE;
  if(!step) step = n ? n : 1;
  for(size_t i = 0; i < n && rc == OAI_STREAM_MORE; i += step) rc = oai_stream_feed(s, src + i, i + step > n ? n - i : step, &out);
  if(rc == OAI_STREAM_MORE) rc = oai_stream_finish(s, &out);
  if(end_rc) *end_rc = rc;
  oai_buf_append(&out, "", 1);
  oai_stream_free(s);
  return out.p;
}

static void test_stream_text(void **state)
{
  int rc;
  char *o = stream_all(SSE, strlen(SSE), 0, false, &rc);
  assert_int_equal(rc, OAI_STREAM_MORE);
  assert_string_equal(o,
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Four\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" score and seven.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n");
  free(o);
}

static void test_stream_splits(void **state)
{
  size_t n = strlen(SSE);
  char *whole = stream_all(SSE, n, 0, true, NULL);
  for(size_t step = 1; step <= n; step += step < 64 ? 1 : 97) {
    char *o = stream_all(SSE, n, step, true, NULL);
    assert_string_equal(o, whole);
    free(o);
  }
  /* \n\n and \r\r separators, comments, other fields and a multi-line data field read the same */
  char alt[4096];
  size_t k = 0;
  for(size_t i = 0; i < n; i++) {
    if(!strncmp(SSE + i, "\r\n\r\n", 4)) {
      k += (size_t)sprintf(alt + k, (k % 2) ? "\n\n: keep-alive\nevent: x\n\n" : "\r\r");
      i += 3;
    } else alt[k++] = SSE[i];
  }
  alt[k] = '\0';
  char *o = stream_all(alt, k, 1, true, NULL);
  assert_string_equal(o, whole);
  free(o);
  const char *multi = "data: {\"candidates\":[{\"content\":{\"parts\":\ndata: [{\"text\":\"Hi\"}]},\"index\":0}]}\n\n";
  o = stream_all(multi, strlen(multi), 1, false, NULL);
  assert_non_null(strstr(o, "\"content\":\"Hi\""));
  free(o);
  free(whole);
}

static void test_stream_usage_chunk(void **state)
{
  char *o = stream_all(SSE, strlen(SSE), 0, true, NULL);
  assert_non_null(strstr(o, "\"finish_reason\":null}],\"usage\":null}\n\n"));
  const char *tail = HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":51,\"completion_tokens\":5,\"total_tokens\":56,"
                     "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
                     "data: [DONE]\n\n";
  size_t ol = strlen(o), tl = strlen(tail);
  assert_true(ol > tl);
  assert_string_equal(o + ol - tl, tail);
  free(o);
}

static void test_stream_tool_calls_and_reasoning(void **state)
{
  const char *src =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Plan: call tools.\",\"thought\":true}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{\"x\":1}}}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"b\"},\"thoughtSignature\":\"s\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":4,\"thoughtsTokenCount\":6,\"totalTokenCount\":13}}\r\n\r\n";
  oai_stream *s = oai_stream_new(&META, true);
  oai_buf out = { 0 };
  assert_int_equal(oai_stream_feed(s, src, strlen(src), &out), OAI_STREAM_MORE);
  assert_int_equal(oai_stream_finish(s, &out), OAI_STREAM_MORE);
  oai_buf_append(&out, "", 1);
  assert_non_null(strstr(out.p, "\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"Plan: call tools.\"}"));
  assert_null(strstr(out.p, "\"content\":\"Plan"));
  assert_non_null(strstr(out.p, "\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_abc_0_0\",\"type\":\"function\",\"function\":"
                                "{\"name\":\"a\",\"arguments\":\"{\\\"x\\\":1}\"}}]},\"logprobs\":null,\"finish_reason\":null}"));
  assert_non_null(strstr(out.p, "\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc_0_1\",\"type\":\"function\",\"function\":"
                                "{\"name\":\"b\",\"arguments\":\"{}\"},\"extra_content\":{\"google\":{\"thought_signature\":\"s\"}}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}"));
  assert_non_null(strstr(out.p, "\"completion_tokens\":10,\"total_tokens\":13"));
  assert_non_null(strstr(out.p, "\"reasoning_tokens\":6"));
  const oai_usage *u = oai_stream_usage(s);
  assert_int_equal(u->prompt, 3);
  assert_int_equal(u->thoughts, 6);
  assert_int_equal(u->total, 13);
  assert_null(oai_stream_error(s));
  /* exactly one role, one [DONE], at the end */
  assert_null(strstr(strstr(out.p, "\"role\"") + 1, "\"role\""));
  assert_string_equal(out.p + strlen(out.p) - 14, "data: [DONE]\n\n");
  oai_buf_free(&out);
  oai_stream_free(s);
}

static void test_stream_two_choices(void **state)
{
  const char *src =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]},\"index\":0},{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"index\":1}]}\n\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B2\"}]},\"finishReason\":\"MAX_TOKENS\",\"index\":1}]}\n\n";
  char *o = stream_all(src, strlen(src), 3, false, NULL);
  assert_string_equal(o,
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    HEAD "\"choices\":[{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"B\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    HEAD "\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B2\"},\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n");
  free(o);
}

static void test_stream_upstream_error(void **state)
{
  const char *src = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}]}\r\n\r\n"
                    "data: {\"error\":{\"code\":429,\"message\":\"Resource exhausted.\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n"
                    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"never\"}]},\"index\":0}]}\r\n\r\n";
  oai_stream *s = oai_stream_new(&META, true);
  oai_buf out = { 0 };
  assert_int_equal(oai_stream_feed(s, src, strlen(src), &out), OAI_STREAM_END);
  size_t n = out.n;
  assert_int_equal(oai_stream_feed(s, "data: {}\n\n", 10, &out), OAI_STREAM_END);
  assert_int_equal(oai_stream_finish(s, &out), OAI_STREAM_END);
  oai_stream_abort(s, NULL, &out);
  assert_int_equal(out.n, n);                       /* nothing after the end */
  oai_buf_append(&out, "", 1);
  assert_null(strstr(out.p, "never"));
  assert_null(strstr(out.p, "[DONE]"));
  const char *tail = "data: {\"error\":{\"message\":\"Resource exhausted.\",\"type\":\"rate_limit_error\",\"param\":null,"
                     "\"code\":\"rate_limit_exceeded\"}}\n\n";
  assert_string_equal(out.p + strlen(out.p) - strlen(tail), tail);
  assert_int_equal(oai_stream_error(s)->status, 429);
  oai_buf_free(&out);
  oai_stream_free(s);
}

static void test_stream_abort_and_garbage(void **state)
{
  oai_stream *s = oai_stream_new(&META, false);
  oai_buf out = { 0 };
  assert_int_equal(oai_stream_feed(s, SSE, 100, &out), OAI_STREAM_MORE);   /* mid-event */
  assert_int_equal(out.n, 0);
  oai_stream_abort(s, NULL, &out);
  oai_buf_append(&out, "", 1);
  assert_string_equal(out.p, "data: {\"error\":{\"message\":\"The upstream connection failed before the answer was complete.\","
                             "\"type\":\"api_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n");
  assert_int_equal(oai_stream_error(s)->status, 502);
  oai_buf_free(&out);
  oai_stream_free(s);

  int rc;
  char *o = stream_all("data: {nope\r\n\r\n", 15, 0, false, &rc);
  assert_int_equal(rc, OAI_STREAM_END);
  assert_non_null(strstr(o, "malformed"));
  free(o);
  o = stream_all("", 0, 0, false, &rc);               /* nothing at all is an error, not a clean end */
  assert_int_equal(rc, OAI_STREAM_END);
  assert_non_null(strstr(o, "\"error\""));
  free(o);
  const char *bad_index = "data: {\"candidates\":[{\"index\":99}]}\n\n";
  o = stream_all(bad_index, strlen(bad_index), 0, false, &rc);
  assert_int_equal(rc, OAI_STREAM_END);
  free(o);
  /* a last event without its blank line still counts */
  const char *unterminated = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"end\"}]},\"finishReason\":\"STOP\"}]}";
  o = stream_all(unterminated, strlen(unterminated), 7, false, &rc);
  assert_int_equal(rc, OAI_STREAM_MORE);
  assert_non_null(strstr(o, "\"content\":\"end\""));
  assert_non_null(strstr(o, "[DONE]"));
  free(o);
  /* random bytes: never a crash */
  srand(7);
  char junk[4096];
  for(int round = 0; round < 50; round++) {
    for(size_t i = 0; i < sizeof junk; i++) junk[i] = "data: {}[]\"\r\n\\x"[rand() % 16];
    o = stream_all(junk, sizeof junk, (size_t)(1 + rand() % 64), true, NULL);
    free(o);
  }
}

/* Whatever the bytes, the output does not depend on how they are cut. */
static void test_stream_split_invariance_fuzz(void **state)
{
  size_t n = strlen(SSE);
  char *buf = malloc(n);
  srand(11);
  for(int round = 0; round < 300; round++) {
    memcpy(buf, SSE, n);
    for(int k = 0; k < 1 + round % 4; k++) buf[rand() % n] = "\r\n:{}\"ax\\"[rand() % 9];
    int rc1, rc2;
    char *whole = stream_all(buf, n, 0, round % 2, &rc1);
    char *bytes = stream_all(buf, n, 1, round % 2, &rc2);
    assert_string_equal(whole, bytes);
    assert_int_equal(rc1, rc2);
    free(whole);
    free(bytes);
  }
  free(buf);
}

static void test_stream_blocked_and_empty(void **state)
{
  const char *src = "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4}}\r\n\r\n";
  char *o = stream_all(src, strlen(src), 0, false, NULL);
  assert_string_equal(o, HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"logprobs\":null,"
                            "\"finish_reason\":\"content_filter\"}]}\n\ndata: [DONE]\n\n");
  free(o);
  /* events with only usage still end with one choice */
  src = "data: {\"usageMetadata\":{\"promptTokenCount\":4}}\n\n";
  o = stream_all(src, strlen(src), 0, false, NULL);
  assert_non_null(strstr(o, "\"finish_reason\":\"stop\""));
  free(o);
}

static void test_stream_event_cap(void **state)
{
  oai_stream *s = oai_stream_new(&META, false);
  oai_buf out = { 0 };
  char *chunk = malloc(1 << 20);
  memset(chunk, 'a', 1 << 20);
  assert_int_equal(oai_stream_feed(s, "data: {\"x\":\"", 12, &out), OAI_STREAM_MORE);
  int rc = OAI_STREAM_MORE;
  for(int i = 0; i < 5 && rc == OAI_STREAM_MORE; i++) rc = oai_stream_feed(s, chunk, 1 << 20, &out);
  assert_int_equal(rc, OAI_STREAM_END);
  oai_buf_append(&out, "", 1);
  assert_non_null(strstr(out.p, "larger than"));
  free(chunk);
  oai_stream_free(s);
  /* endless empty data lines are capped too */
  s = oai_stream_new(&META, false);
  out.n = 0;
  rc = OAI_STREAM_MORE;
  for(size_t i = 0; i < OAI_EVENT_CAP / 1000 + 2 && rc == OAI_STREAM_MORE; i++) {
    static char lines[5000];
    if(!lines[0]) for(size_t k = 0; k < sizeof lines; k += 5) memcpy(lines + k, "data\n", 5);
    rc = oai_stream_feed(s, lines, sizeof lines, &out);
  }
  assert_int_equal(rc, OAI_STREAM_END);
  oai_buf_free(&out);
  oai_stream_free(s);
}

/* ---------------------------------------------------------------- errors */

static void google(int status, const char *body, int want_status, const char *type, const char *code, const char *msg)
{
  oai_error e;
  oai_google_error(status, body, body ? strlen(body) : 0, &e);
  assert_int_equal(e.status, want_status);
  assert_string_equal(e.type, type);
  assert_string_equal(e.code, code);
  assert_string_equal(e.message, msg);
}

static void test_google_errors(void **state)
{
  google(400, "{\"error\":{\"code\":400,\"message\":\"Bad field.\",\"status\":\"INVALID_ARGUMENT\"}}", 400,
         "invalid_request_error", "invalid_argument", "Bad field.");
  google(400, "{\"error\":{\"code\":400,\"message\":\"API key not valid.\",\"status\":\"INVALID_ARGUMENT\",\"details\":"
              "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}", 400,
         "invalid_request_error", "api_key_invalid", "API key not valid.");
  google(401, "{\"error\":{\"code\":401,\"message\":\"Unauthenticated.\",\"status\":\"UNAUTHENTICATED\"}}", 401,
         "authentication_error", "unauthenticated", "Unauthenticated.");
  google(403, "{\"error\":{\"code\":403,\"message\":\"Denied.\",\"status\":\"PERMISSION_DENIED\"}}", 403,
         "permission_error", "permission_denied", "Denied.");
  google(404, "{\"error\":{\"code\":404,\"message\":\"models/x is not found.\",\"status\":\"NOT_FOUND\"}}", 404,
         "not_found_error", "model_not_found", "models/x is not found.");
  google(429, "{\"error\":{\"code\":429,\"message\":\"Quota exceeded.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":["
              "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"22s\"}]}}", 429,
         "rate_limit_error", "rate_limit_exceeded", "Quota exceeded.");
  google(500, "{\"error\":{\"code\":500,\"message\":\"Internal.\",\"status\":\"INTERNAL\"}}", 500, "api_error", "internal", "Internal.");
  google(503, "<html>Service Unavailable</html>", 503, "api_error", "server_error", "The upstream answered HTTP 503.");
  google(504, NULL, 504, "api_error", "server_error", "The upstream answered HTTP 504.");
  google(302, "moved", 502, "api_error", "server_error", "The upstream answered HTTP 302.");
  google(413, "[{\"error\":{\"code\":413,\"message\":\"Too big.\"}}]", 413, "invalid_request_error", "", "Too big.");
}

static void test_error_json(void **state)
{
  oai_error e;
  oai_error_set(&e, 400, NULL, "invalid_value", "messages[0].role", "Bad role %s.", "x");
  json_t *j = oai_error_json(&e);
  json_is(j, "{\"error\":{\"message\":\"Bad role x.\",\"type\":\"invalid_request_error\",\"param\":\"messages[0].role\","
             "\"code\":\"invalid_value\"}}");
  json_decref(j);
  oai_error_set(&e, 503, "api_error", NULL, NULL, "No usable upstream key.");
  j = oai_error_json(&e);
  json_is(j, "{\"error\":{\"message\":\"No usable upstream key.\",\"type\":\"api_error\",\"param\":null,\"code\":null}}");
  json_decref(j);
  /* long messages are cut on a character boundary; stray bytes become '?' */
  char longmsg[2000];
  for(size_t i = 0; i + 2 < sizeof longmsg; i += 2) memcpy(longmsg + i, "\xc3\xa9", 2);   /* é… */
  longmsg[sizeof longmsg - 1] = '\0';
  oai_error_set(&e, 400, NULL, NULL, NULL, "x%s", longmsg);
  assert_true(strlen(e.message) < sizeof e.message);
  j = oai_error_json(&e);
  assert_non_null(j);
  assert_int_equal(json_string_length(at(j, "error.message")), strlen(e.message));
  json_decref(j);
  oai_error_set(&e, 400, NULL, NULL, NULL, "bad \xff\xfe byte %.3s", "\xe2\x82\xac\xe2");
  assert_string_equal(e.message, "bad ?? byte \xe2\x82\xac");
  oai_buf b = { 0 };
  oai_error_set(&e, 429, NULL, "rate_limit_exceeded", NULL, "Slow \"down\".");
  assert_int_equal(oai_sse_error(&b, &e), 0);
  oai_buf_append(&b, "", 1);
  assert_string_equal(b.p, "data: {\"error\":{\"message\":\"Slow \\\"down\\\".\",\"type\":\"rate_limit_error\","
                           "\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n");
  oai_buf_free(&b);
  assert_string_equal(oai_error_type(401), "authentication_error");
  assert_string_equal(oai_error_type(404), "not_found_error");
  assert_string_equal(oai_error_type(413), "invalid_request_error");
  assert_string_equal(oai_error_type(502), "api_error");
}

/* ---------------------------------------------------------------- models */

static void test_models(void **state)
{
  oai_error e;
  const char *g = "{\"models\":[{\"name\":\"models/gemini-2.5-flash\",\"version\":\"001\"},{\"name\":\"models/text-embedding-004\"},"
                  "{\"displayName\":\"nameless\"}],\"nextPageToken\":\"t\"}";
  json_t *r = oai_models(g, strlen(g), &e);
  json_is(r, "{\"object\":\"list\",\"data\":[{\"id\":\"gemini-2.5-flash\",\"object\":\"model\",\"created\":0,\"owned_by\":\"google\"},"
             "{\"id\":\"text-embedding-004\",\"object\":\"model\",\"created\":0,\"owned_by\":\"google\"}]}");
  json_decref(r);
  r = oai_models("{}", 2, &e);
  json_is(r, "{\"object\":\"list\",\"data\":[]}");
  json_decref(r);
  assert_null(oai_models("{\"models\":5}", 12, &e));
  assert_int_equal(e.status, 502);
  assert_null(oai_models("nope", 4, &e));
  r = oai_model("models/gemini-2.5-pro");
  json_is(r, "{\"id\":\"gemini-2.5-pro\",\"object\":\"model\",\"created\":0,\"owned_by\":\"google\"}");
  json_decref(r);
  assert_true(oai_model_ok("gemini-2.5-flash-preview-05-20"));
  assert_true(oai_model_ok("models/gemini-2.5-flash"));
  assert_false(oai_model_ok("gemini:generateContent"));
  assert_false(oai_model_ok("a/b"));
  assert_false(oai_model_ok("a b"));
  assert_false(oai_model_ok(""));
}

/* ---------------------------------------------------------------- embeddings */

static void b64_decode(const char *s, unsigned char *out, size_t *n)
{
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint32_t acc = 0;
  int bits = 0;
  *n = 0;
  for(; *s && *s != '='; s++) {
    acc = acc << 6 | (uint32_t)(strchr(A, *s) - A);
    if((bits += 6) >= 8) { bits -= 8; out[(*n)++] = (unsigned char)(acc >> bits); }
  }
}

static void test_embeddings(void **state)
{
  oai_embed r;
  oai_error e;
  const char *body = "{\"model\":\"text-embedding-004\",\"input\":[\"hello world\",\"日本語\"],\"dimensions\":3,\"encoding_format\":\"float\"}";
  assert_int_equal(oai_embed_parse(body, strlen(body), &r, &e), 0);
  assert_int_equal(r.nbatch, 1);
  assert_int_equal(r.ninputs, 2);
  assert_false(r.base64);
  assert_int_equal(r.est_tokens, 3 + 3);
  assert_string_equal(r.prompt, "hello world");
  json_is(r.batch[0], "{\"requests\":[{\"model\":\"models/text-embedding-004\",\"content\":{\"parts\":[{\"text\":\"hello world\"}]},"
                      "\"outputDimensionality\":3},{\"model\":\"models/text-embedding-004\",\"content\":{\"parts\":[{\"text\":\"日本語\"}]},"
                      "\"outputDimensionality\":3}]}");
  const char *g = "{\"embeddings\":[{\"values\":[0.1,-0.25,3]},{\"values\":[1.5,0,-2]}]}";
  str bodies[] = { { g, strlen(g) } };
  json_t *out = oai_embed_response(&r, bodies, 1, &e);
  json_is(out, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,-0.25,3]},"
               "{\"object\":\"embedding\",\"index\":1,\"embedding\":[1.5,0,-2]}],\"model\":\"text-embedding-004\","
               "\"usage\":{\"prompt_tokens\":6,\"total_tokens\":6}}");
  /* floats keep every digit through oai_dump */
  char *s = oai_dump(out, NULL);
  json_t *back = json_loads(s, 0, NULL);
  assert_true(json_equal(back, out));
  json_decref(back);
  free(s);
  json_decref(out);
  const char *short_answer = "{\"embeddings\":[{\"values\":[1]}]}";
  bodies[0] = (str){ short_answer, strlen(short_answer) };
  assert_null(oai_embed_response(&r, bodies, 1, &e));
  assert_int_equal(e.status, 502);
  assert_null(oai_embed_response(&r, bodies, 0, &e));
  oai_embed_free(&r);

  body = "{\"model\":\"models/gemini-embedding-001\",\"input\":\"x\",\"encoding_format\":\"base64\"}";
  assert_int_equal(oai_embed_parse(body, strlen(body), &r, &e), 0);
  assert_true(r.base64);
  assert_string_equal(r.model, "gemini-embedding-001");
  g = "{\"embeddings\":[{\"values\":[1.0,-2.5,0.125]}]}";
  bodies[0] = (str){ g, strlen(g) };
  out = oai_embed_response(&r, bodies, 1, &e);
  unsigned char raw[64];
  size_t n;
  b64_decode(json_string_value(at(out, "data.0.embedding")), raw, &n);
  assert_int_equal(n, 12);
  const float want[] = { 1.0f, -2.5f, 0.125f };
  for(int i = 0; i < 3; i++) {
    uint32_t u = (uint32_t)raw[i * 4] | (uint32_t)raw[i * 4 + 1] << 8 | (uint32_t)raw[i * 4 + 2] << 16 | (uint32_t)raw[i * 4 + 3] << 24;
    float f;
    memcpy(&f, &u, 4);
    assert_true(f == want[i]);
  }
  json_decref(out);
  oai_embed_free(&r);

  /* 250 inputs: three batches of at most 100, indexes continuing across them */
  oai_buf b = { 0 };
  oai_buf_append(&b, "{\"model\":\"text-embedding-004\",\"input\":[", 39);
  for(int i = 0; i < 250; i++) oai_buf_append(&b, i ? ",\"t\"" : "\"t\"", i ? 4 : 3);
  oai_buf_append(&b, "]}", 2);
  assert_int_equal(oai_embed_parse(b.p, b.n, &r, &e), 0);
  assert_int_equal(r.nbatch, 3);
  assert_int_equal(json_array_size(at(r.batch[2], "requests")), 50);
  oai_buf ans[3] = { { 0 } };
  str bs[3];
  for(int k = 0; k < 3; k++) {
    int cnt = k < 2 ? 100 : 50;
    oai_buf_append(&ans[k], "{\"embeddings\":[", 15);
    for(int i = 0; i < cnt; i++) oai_buf_append(&ans[k], i ? ",{\"values\":[1]}" : "{\"values\":[1]}", i ? 15 : 14);
    oai_buf_append(&ans[k], "]}", 2);
    bs[k] = (str){ ans[k].p, ans[k].n };
  }
  out = oai_embed_response(&r, bs, 3, &e);
  assert_non_null(out);
  at_is(out, "data.249.index", "249");
  json_decref(out);
  for(int k = 0; k < 3; k++) oai_buf_free(&ans[k]);
  oai_buf_free(&b);
  oai_embed_free(&r);
}

static void test_embedding_errors(void **state)
{
  static const char *const cases[][2] = {
    { "{\"input\":\"x\"}", "model" },
    { "{\"model\":\"e\"}", "input" },
    { "{\"model\":\"e\",\"input\":5}", "input" },
    { "{\"model\":\"e\",\"input\":\"\"}", "input" },
    { "{\"model\":\"e\",\"input\":[]}", "input" },
    { "{\"model\":\"e\",\"input\":[1,2,3]}", "input" },
    { "{\"model\":\"e\",\"input\":[[1,2],[3]]}", "input[0]" },
    { "{\"model\":\"e\",\"input\":[\"a\",null]}", "input[1]" },
    { "{\"model\":\"e\",\"input\":[\"a\",\"\"]}", "input[1]" },
    { "{\"model\":\"e\",\"input\":\"x\",\"dimensions\":0}", "dimensions" },
    { "{\"model\":\"e\",\"input\":\"x\",\"dimensions\":\"8\"}", "dimensions" },
    { "{\"model\":\"e\",\"input\":\"x\",\"encoding_format\":\"int8\"}", "encoding_format" },
    { "{\"model\":\"e\",\"input\":\"x\",\"encoding_format\":1}", "encoding_format" },
    { "{\"model\":\"e/../x\",\"input\":\"x\"}", "model" },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    oai_embed r;
    oai_error e;
    assert_int_equal(oai_embed_parse(cases[i][0], strlen(cases[i][0]), &r, &e), -1);
    if(e.status != 400 || strcmp(e.param, cases[i][1])) fail_msg("%s: %d '%s' %s", cases[i][0], e.status, e.param, e.message);
    assert_null(r.batch);
  }
  oai_embed r;
  oai_error e;
  assert_int_equal(oai_embed_parse("{x", 2, &r, &e), -1);
  assert_int_equal(e.status, 400);
}

/* ---------------------------------------------------------------- images */

static void test_images_imagen(void **state)
{
  oai_image r;
  oai_error e;
  const char *body = "{\"prompt\":\"a red fox\",\"n\":2,\"size\":\"1792x1024\",\"model\":\"dall-e-3\",\"quality\":\"hd\"}";
  assert_int_equal(oai_image_parse(body, strlen(body), &r, &e), 0);
  assert_string_equal(r.model, OAI_DEFAULT_IMAGE_MODEL);
  assert_false(r.gemini);
  assert_false(r.url);
  assert_string_equal(r.prompt, "a red fox");
  json_is(r.body, "{\"instances\":[{\"prompt\":\"a red fox\"}],\"parameters\":{\"sampleCount\":2,\"aspectRatio\":\"16:9\"}}");
  const char *g = "{\"predictions\":[{\"bytesBase64Encoded\":\"iVBORw0=\",\"mimeType\":\"image/png\"},{\"raiFilteredReason\":\"x\"},"
                  "{\"bytesBase64Encoded\":\"/9j/\",\"mimeType\":\"image/jpeg\"}]}";
  json_t *out = oai_image_response(&r, g, strlen(g), 1700000000, NULL, &e);
  json_is(out, "{\"created\":1700000000,\"data\":[{\"b64_json\":\"iVBORw0=\"},{\"b64_json\":\"/9j/\"}]}");
  json_decref(out);
  const char *none = "{\"predictions\":[{\"raiFilteredReason\":\"Blocked for safety.\"}]}";
  assert_null(oai_image_response(&r, none, strlen(none), 0, NULL, &e));
  assert_int_equal(e.status, 400);
  assert_string_equal(e.code, "content_policy_violation");
  assert_non_null(strstr(e.message, "Blocked for safety."));
  assert_null(oai_image_response(&r, "{}", 2, 0, NULL, &e));
  assert_null(oai_image_response(&r, "x", 1, 0, NULL, &e));
  assert_int_equal(e.status, 502);
  oai_image_free(&r);

  body = "{\"prompt\":\"p\",\"response_format\":\"url\",\"size\":\"1024x1536\"}";
  assert_int_equal(oai_image_parse(body, strlen(body), &r, &e), 0);
  at_is(r.body, "parameters", "{\"sampleCount\":1,\"aspectRatio\":\"3:4\"}");
  out = oai_image_response(&r, g, strlen(g), 5, NULL, &e);
  at_is(out, "data.0", "{\"url\":\"data:image/png;base64,iVBORw0=\"}");
  json_decref(out);
  oai_image_free(&r);
}

static void test_images_gemini(void **state)
{
  oai_image r;
  oai_error e;
  oai_usage u;
  const char *body = "{\"prompt\":\"a cat\",\"model\":\"gemini-2.5-flash-image\",\"size\":\"1536x1024\",\"response_format\":\"b64_json\"}";
  assert_int_equal(oai_image_parse(body, strlen(body), &r, &e), 0);
  assert_true(r.gemini);
  json_is(r.body, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a cat\"}]}],\"generationConfig\":"
                  "{\"responseModalities\":[\"TEXT\",\"IMAGE\"],\"imageConfig\":{\"aspectRatio\":\"3:2\"}}}");
  const char *g = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Here you go\"},{\"inlineData\":{\"mimeType\":\"image/png\","
                  "\"data\":\"QUJD\"}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1290,\"totalTokenCount\":1294}}";
  json_t *out = oai_image_response(&r, g, strlen(g), 9, &u, &e);
  json_is(out, "{\"created\":9,\"data\":[{\"b64_json\":\"QUJD\"}]}");
  assert_int_equal(u.candidates, 1290);
  json_decref(out);
  const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}";
  assert_null(oai_image_response(&r, blocked, strlen(blocked), 0, NULL, &e));
  assert_non_null(strstr(e.message, "SAFETY"));
  const char *err = "{\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}";
  assert_null(oai_image_response(&r, err, strlen(err), 0, NULL, &e));
  assert_int_equal(e.status, 429);
  oai_image_free(&r);
}

static void test_image_errors(void **state)
{
  static const char *const cases[][2] = {
    { "{}", "prompt" },
    { "{\"prompt\":5}", "prompt" },
    { "{\"prompt\":\"\"}", "prompt" },
    { "{\"prompt\":\"p\",\"n\":5}", "n" },
    { "{\"prompt\":\"p\",\"n\":\"1\"}", "n" },
    { "{\"prompt\":\"p\",\"size\":\"big\"}", "size" },
    { "{\"prompt\":\"p\",\"size\":\"0x10\"}", "size" },
    { "{\"prompt\":\"p\",\"size\":\"-5x3\"}", "size" },
    { "{\"prompt\":\"p\",\"size\":\"1024x1024x2\"}", "size" },
    { "{\"prompt\":\"p\",\"size\":1024}", "size" },
    { "{\"prompt\":\"p\",\"response_format\":\"png\"}", "response_format" },
    { "{\"prompt\":\"p\",\"model\":7}", "model" },
    { "{\"prompt\":\"p\",\"model\":\"imagen?x\"}", "model" },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    oai_image r;
    oai_error e;
    assert_int_equal(oai_image_parse(cases[i][0], strlen(cases[i][0]), &r, &e), -1);
    if(e.status != 400 || strcmp(e.param, cases[i][1])) fail_msg("%s: %d '%s' %s", cases[i][0], e.status, e.param, e.message);
    assert_null(r.body);
  }
}

/* ---------------------------------------------------------------- small parts */

static void test_buf_and_dump(void **state)
{
  oai_buf b = { 0 };
  for(int i = 0; i < 1000; i++) assert_int_equal(oai_buf_append(&b, "abc", 3), 0);
  assert_int_equal(b.n, 3000);
  b.n = 0;
  assert_int_equal(oai_buf_append(&b, "x", 1), 0);
  assert_int_equal(b.n, 1);
  oai_buf_free(&b);
  assert_null(b.p);
  json_t *j = json_pack("{s:f,s:I}", "t", 0.1 + 0.2, "big", (json_int_t)9007199254740993LL);
  char *s = oai_dump(j, NULL);
  json_t *back = json_loads(s, 0, NULL);
  assert_true(json_real_value(json_object_get(back, "t")) == 0.1 + 0.2);
  assert_true(json_integer_value(json_object_get(back, "big")) == 9007199254740993LL);
  json_decref(back);
  free(s);
  json_decref(j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chat_basic),
    cmocka_unit_test(test_chat_merge_and_developer),
    cmocka_unit_test(test_chat_system_only),
    cmocka_unit_test(test_chat_images),
    cmocka_unit_test(test_chat_too_many_fetches),
    cmocka_unit_test(test_chat_tool_round_trip),
    cmocka_unit_test(test_chat_tools_and_choice),
    cmocka_unit_test(test_schema_clean),
    cmocka_unit_test(test_schema_limits),
    cmocka_unit_test(test_response_format),
    cmocka_unit_test(test_generation_params),
    cmocka_unit_test(test_thinking),
    cmocka_unit_test(test_inject),
    cmocka_unit_test(test_chat_bad_json),
    cmocka_unit_test(test_chat_deep_and_huge),
    cmocka_unit_test(test_chat_wrong_fields),
    cmocka_unit_test(test_chat_mutations),
    cmocka_unit_test(test_response_text_and_thoughts),
    cmocka_unit_test(test_response_tool_calls),
    cmocka_unit_test(test_response_finish_reasons),
    cmocka_unit_test(test_response_blocked_and_n),
    cmocka_unit_test(test_response_bad_upstream),
    cmocka_unit_test(test_stream_text),
    cmocka_unit_test(test_stream_splits),
    cmocka_unit_test(test_stream_usage_chunk),
    cmocka_unit_test(test_stream_tool_calls_and_reasoning),
    cmocka_unit_test(test_stream_two_choices),
    cmocka_unit_test(test_stream_upstream_error),
    cmocka_unit_test(test_stream_abort_and_garbage),
    cmocka_unit_test(test_stream_split_invariance_fuzz),
    cmocka_unit_test(test_stream_blocked_and_empty),
    cmocka_unit_test(test_stream_event_cap),
    cmocka_unit_test(test_google_errors),
    cmocka_unit_test(test_error_json),
    cmocka_unit_test(test_models),
    cmocka_unit_test(test_embeddings),
    cmocka_unit_test(test_embedding_errors),
    cmocka_unit_test(test_images_imagen),
    cmocka_unit_test(test_images_gemini),
    cmocka_unit_test(test_image_errors),
    cmocka_unit_test(test_buf_and_dump),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
