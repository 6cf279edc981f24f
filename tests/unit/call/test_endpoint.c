/* endpoint: the one map from a client request to the kind the ledger records (its endpoint
 * column, and the generation type of an unlabelled call). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "call/endpoint.h"
#include "call/resbill.h"

static void test_kinds(void **state)
{
  static const struct { const char *method, *path, *kind; } t[] = {
    /* native Gemini, both API versions: by the action after the last ':' */
    { "POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generate" },
    { "POST", "/v1/models/gemini-2.5-flash:generateContent", "generate" },
    { "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "stream" },
    { "POST", "/v1/models/gemini-2.5-flash:streamGenerateContent", "stream" },
    { "POST", "/v1beta/models/m:countTokens", "count_tokens" },
    { "POST", "/v1beta/models/text-embedding-004:embedContent", "embed" },
    { "POST", "/v1beta/models/text-embedding-004:batchEmbedContents", "embed" },
    { "POST", "/v1beta/models/imagen-4.0-generate-001:predict", "image" },
    { "POST", "/v1beta/models/veo-3.0-generate-001:predictLongRunning", "image" },
    { "POST", "/v1beta/models/imagen-4.0-generate-001:generateImages", "image" },
    /* exact actions: a longer or unknown one is not the known kind */
    { "POST", "/v1beta/models/m:generateContentX", "other" },
    { "POST", "/v1beta/models/m:streamGenerateContents", "other" },
    { "POST", "/v1beta/models/m:predictX", "other" },
    { "POST", "/v1beta/models/m:batchGenerateContent", "batch" },
    { "POST", "/v1beta/models/gemini-embedding-001:asyncBatchEmbedContents", "batch" },
    { "POST", "/v1beta/tunedModels/t:generateContent", "generate" },
    /* model listing and lookup */
    { "GET", "/v1beta/models", "models" },
    { "GET", "/v1beta/models/gemini-2.5-flash", "models" },
    { "GET", "/v1/models", "models" },
    { "GET", "/v1/models/gemini-2.5-flash", "models" },
    /* OpenAI */
    { "POST", "/v1/chat/completions", "chat" },
    { "POST", "/v1/embeddings", "embed" },
    { "POST", "/v1/images/generations", "image" },
    /* the other dialects: the endpoint names the dialect */
    { "POST", "/v1/messages", "messages" },
    { "POST", "/v1/messages/count_tokens", "count_tokens" },
    { "POST", "/v1/messages/batches", "other" },
    { "POST", "/v1/responses", "responses" },
    { "GET", "/v1/responses/resp_1", "other" },
    { "DELETE", "/v1/responses/resp_1", "other" },
    { "POST", "/api/chat/sessions/chat_1/messages", "chat_session" },
    { "GET", "/api/chat/sessions/chat_1/messages", "other" },
    { "POST", "/api/chat/sessions", "other" },
    /* everything else */
    { "POST", "/v1beta/cachedContents", "cache" },
    { "GET", "/v1beta/cachedContents", "other" },
    { "PATCH", "/v1beta/cachedContents/abc", "cache_update" },
    { "GET", "/v1beta/cachedContents/abc", "other" },
    { "GET", "/v1beta/files/abc", "other" },
    { "POST", "/upload/v1beta/files", "other" },
    { "POST", "/v1/chat/completions/x", "other" },
    { "GET", "/", "other" },
    { "GET", "", "other" },
  };
  for(size_t i = 0; i < sizeof t / sizeof *t; i++) {
    const char *k = call_endpoint_kind(str_c(t[i].method), str_c(t[i].path));
    if(strcmp(k, t[i].kind)) fail_msg("%s %s: %s, want %s", t[i].method, t[i].path, k, t[i].kind);
  }
}

/* An unlabelled call of a dialect kind is a chat; the other kinds are their own type. */
static void test_gen_types(void **state)
{
  static const char *const t[][2] = { { "messages", "chat" }, { "responses", "chat" }, { "chat_session", "chat" },
                                      { "count_tokens", "count_tokens" }, { "generate", "generate" }, { "other", "other" } };
  for(size_t i = 0; i < sizeof t / sizeof *t; i++) assert_string_equal(call_gen_type(t[i][0]), t[i][1]);
}

/* Every billable kind is billed now; what still cannot be is named, the rest is not. */
static void test_unbillable(void **state)
{
  assert_true(call_kind_billed("batch"));
  assert_true(call_kind_billed("cache_update"));
  assert_false(call_kind_billed("other"));
  const char *inl = "{\"batch\":{\"inputConfig\":{\"requests\":{\"requests\":[{\"request\":{}}]}}}}";
  const char *file = "{\"batch\":{\"input_config\":{\"file_name\":\"files/x\"}}}";
  const char *text = "{\"batch\":{\"inputConfig\":{\"requests\":{\"requests\":[{\"request\":{\"contents\":"
                     "[{\"parts\":[{\"text\":\"\\\"fileName\\\"\"}]}]}}]}}}}";
  str gen = STR("/v1beta/models/gemini-2.5-flash:batchGenerateContent");
  assert_null(resbill_unbillable("batch", gen, "gemini-2.5-flash", inl, strlen(inl)));
  assert_null(resbill_unbillable("batch", gen, "gemini-2.5-flash", text, strlen(text)));   /* text, not a key */
  assert_non_null(strstr(resbill_unbillable("batch", gen, "gemini-2.5-flash", file, strlen(file)), "file"));
  assert_non_null(strstr(resbill_unbillable("batch", STR("/v1beta/models/gemini-embedding-001:asyncBatchEmbedContents"),
                                            "gemini-embedding-001", inl, strlen(inl)), "embedding"));
  assert_non_null(resbill_unbillable("cache_update", STR("/v1beta/cachedContents/x"), "", "{}", 2));
  assert_null(resbill_unbillable("cache_update", STR("/v1beta/cachedContents/x"), "gemini-2.5-flash", "{}", 2));
  assert_null(resbill_unbillable("generate", STR("/v1beta/models/m:generateContent"), "", file, strlen(file)));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kinds),
    cmocka_unit_test(test_gen_types),
    cmocka_unit_test(test_unbillable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
