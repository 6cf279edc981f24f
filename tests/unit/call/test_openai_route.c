/* openai_route: which /v1/ requests are the OpenAI API's (served or answered 404/405 locally)
 * and which stay Gemini's, by path, method and the caller's credential style. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/openai_route.h"

enum { BEARER, GOOG, QUERYKEY, ANTHROPIC };

static bool wants(const char *method, const char *path, int cred)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.method = str_c(method);
  r.path = str_c(path);
  if(cred == BEARER) r.hdr[r.nhdr++] = (http_header){ STR("Authorization"), STR("Bearer k") };
  if(cred == GOOG) r.hdr[r.nhdr++] = (http_header){ STR("x-goog-api-key"), STR("k") };
  if(cred == QUERYKEY) r.query = STR("key=k");
  if(cred == ANTHROPIC) {
    r.hdr[r.nhdr++] = (http_header){ STR("x-api-key"), STR("k") };
    r.hdr[r.nhdr++] = (http_header){ STR("anthropic-version"), STR("2023-06-01") };
  }
  return openai_wants(&r);
}

static void test_openai_paths(void **state)
{
  static const struct { const char *method, *path; int cred; bool openai; } cases[] = {
    { "POST", "/v1/chat/completions", GOOG, true },         /* served, whatever the credential */
    { "GET", "/v1/chat/completions", BEARER, true },        /* 405 */
    { "GET", "/v1/chat/completions/x", GOOG, true },        /* 404 */
    { "POST", "/v1/embeddings", BEARER, true },
    { "POST", "/v1/images/generations", BEARER, true },
    { "POST", "/v1/images/edits", BEARER, true },
    { "POST", "/v1/responses", GOOG, true },                /* OpenAI-only words */
    { "POST", "/v1/completions", QUERYKEY, true },
    { "POST", "/v1/audio/speech", BEARER, true },
    { "GET", "/v1/moderations", BEARER, true },
    { "GET", "/v1/models", BEARER, true },
    { "GET", "/v1/models/gemini-2.5-flash", BEARER, true },
    { "POST", "/v1/models", BEARER, true },                 /* 405 */
    { "GET", "/v1/files", BEARER, true },
    { "POST", "/v1/batches", BEARER, true },
    /* Gemini's */
    { "GET", "/v1/models", GOOG, false },
    { "GET", "/v1/models/gemini-2.5-flash", QUERYKEY, false },
    { "POST", "/v1/models/gemini-2.5-flash:generateContent", BEARER, false },
    { "GET", "/v1/models/veo-3/operations/x", BEARER, false },
    { "GET", "/v1/files", GOOG, false },
    { "GET", "/v1/files/abc", GOOG, false },
    { "GET", "/v1/batches/b1", QUERYKEY, false },
    { "GET", "/v1/tunedModels", BEARER, false },
    { "POST", "/v1beta/responses", BEARER, false },         /* /v1beta/ is never OpenAI's */
    { "POST", "/v1beta/chat/completions", BEARER, false },
    { "POST", "/v1/completionsx", BEARER, false },
    /* Anthropic's (call/anthropic_route.c) */
    { "POST", "/v1/messages", BEARER, false },
    { "POST", "/v1/messages/count_tokens", ANTHROPIC, false },
    { "GET", "/v1/models", ANTHROPIC, false },
    { "GET", "/v1/models/claude-x", ANTHROPIC, false },
  };
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if(wants(cases[i].method, cases[i].path, cases[i].cred) != cases[i].openai)
      fail_msg("%s %s (credential %d): openai_wants should be %d", cases[i].method, cases[i].path,
               cases[i].cred, cases[i].openai);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_openai_paths) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
