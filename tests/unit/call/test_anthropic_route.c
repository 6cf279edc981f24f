/* anthropic_route: which /v1/ requests are the Anthropic API's — /v1/messages… always, the
 * model list only for a caller that says anthropic-version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/anthropic_route.h"

static bool wants(const char *method, const char *path, bool version)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.method = str_c(method);
  r.path = str_c(path);
  r.hdr[r.nhdr++] = (http_header){ STR("x-api-key"), STR("k") };
  if(version) r.hdr[r.nhdr++] = (http_header){ STR("anthropic-version"), STR("2023-06-01") };
  return anthropic_wants(&r);
}

static void test_paths(void **state)
{
  static const struct { const char *method, *path; bool version, want; } t[] = {
    { "POST", "/v1/messages", false, true },
    { "POST", "/v1/messages", true, true },
    { "GET", "/v1/messages", false, true },               /* 405, answered in Anthropic's shape */
    { "POST", "/v1/messages/count_tokens", false, true },
    { "POST", "/v1/messages/batches", false, true },      /* 404, never forwarded */
    { "GET", "/v1/models", true, true },
    { "GET", "/v1/models/claude-sonnet-4-5", true, true },
    { "GET", "/v1/models", false, false },                /* Gemini's or OpenAI's */
    { "POST", "/v1/models/gemini-2.5-flash:generateContent", true, false },
    { "GET", "/v1/models/a/b", true, false },
    { "POST", "/v1beta/messages", true, false },
    { "POST", "/v1/messagesx", false, false },
    { "POST", "/v1/chat/completions", true, false },
  };
  for(size_t i = 0; i < sizeof t / sizeof *t; i++)
    if(wants(t[i].method, t[i].path, t[i].version) != t[i].want)
      fail_msg("%s %s (anthropic-version %d): want %d", t[i].method, t[i].path, t[i].version, t[i].want);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_paths) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
