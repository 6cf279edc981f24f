/* call/path: which client paths are canonical, which query pairs stay with the gateway, and
 * the model member of a JSON body as Google's parser would read it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/path.h"

static void test_canonical_paths_pass(void **state)
{
  static const char *const ok[] = {
    "/v1beta/models/gemini-2.5-flash:generateContent",
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    "/v1/models/text-embedding-004",
    "/v1beta/models",
    "/v1beta/files/abc-123",
    "/v1beta/tunedModels/my-model:generateContent",
    "/v1beta/models/veo-3.0-generate-preview/operations/op1",
    "/v1beta/cachedContents/x%20y",        /* an escape that moves nothing */
    "/v1beta/models/a...b",                 /* dots inside a segment are a name */
    "/v1/chat/completions",
  };
  for(size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if(path_refusal(str_c(ok[i]))) fail_msg("%s refused: %s", ok[i], path_refusal(str_c(ok[i])));
}

static void test_traversal_refused(void **state)
{
  static const char *const bad[] = {
    "/v1beta/models/gemini-2.5-flash/../gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash/..",
    "/v1beta/./models/gemini-2.5-pro:generateContent",
    "/v1beta/models/.",
    "/v1beta//models/gemini-2.5-pro:generateContent",
    "/v1beta/models/",
    "/v1beta/models/gemini-2.5-flash%2f..%2fgemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash%2F..%2Fgemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash/%2e%2e/gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash/%2E%2E/gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash/.%2e/gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash%252f..%252fgemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash/%252e%252e/gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash\\..\\gemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-flash%5c..%5cgemini-2.5-pro:generateContent",
    "/v1beta/models/gemini-2.5-pr%6f:generateContent",     /* a hidden name */
    "/v1beta/models/gemini-2.5-pro%3agenerateContent",     /* a hidden method separator */
    "/v1beta/models/gemini%2D2.5-pro:generateContent",
    "/v1beta/models/x%00:generateContent",
    "/v1beta/models/x%zz",
    "/v1beta/models/x%2",
    "/v1beta/models/x%",
    "/v1beta/models/\xc0\xae\xc0\xae",
    "",
    "v1beta/models",
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if(!path_refusal(str_c(bad[i]))) fail_msg("%s passed", bad[i]);
  assert_non_null(strstr(path_refusal(STR("/v1beta/models/a/../b")), "\"..\""));
}

static void test_query_dropped(void **state)
{
  static const char *const drop[] = {
    "key=abc", "key", "$key=abc", "%24key=abc", "%6Bey=abc", "KEY=abc", "access_token=t",
    "quotaUser=u", "$userProject=p", "%24userProject=p", "fields=candidates", "$fields=x",
    "$ct=application/x-protobuf", "$.xgafv=1", "$apiVersion=v2",
  };
  for(size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    if(!path_query_dropped(str_c(drop[i]))) fail_msg("%s kept", drop[i]);
  static const char *const keep[] = {
    "alt=sse", "pageSize=10", "pageToken=abc", "foo=bar", "updateMask=ttl", "keys=1", "monkey=1", "",
  };
  for(size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    if(path_query_dropped(str_c(keep[i]))) fail_msg("%s dropped", keep[i]);
}

static void test_query_refusal(void **state)
{
  assert_null(path_query_refusal((str){ NULL, 0 }));
  assert_null(path_query_refusal(STR("alt=sse")));
  assert_null(path_query_refusal(STR("alt=json;enum-encoding=int&pageSize=3")));
  assert_null(path_query_refusal(STR("$alt=media")));
  assert_null(path_query_refusal(STR("foo=proto")));
  assert_non_null(path_query_refusal(STR("alt=proto")));
  assert_non_null(path_query_refusal(STR("pageSize=1&%24alt=proto")));
  assert_non_null(path_query_refusal(STR("alt=pr%6fto")));
  assert_non_null(path_query_refusal(STR("alt=%zz")));
}

static int member(const char *body, char *out, size_t cap)
{
  return path_body_member(body, strlen(body), "model", out, cap);
}

static void test_body_member(void **state)
{
  char m[64];
  assert_int_equal(member("{\"model\":\"models/gemini-2.5-pro\",\"contents\":[]}", m, sizeof m), 1);
  assert_string_equal(m, "models/gemini-2.5-pro");
  assert_int_equal(member(" {\n\"input\":{\"model\":\"x\"},\"a\":[1,{\"b\":\"}\"}],\"n\":-1.5e3,\"t\":true, \"model\" : \"gemini-2.5-flash\" } ", m, sizeof m), 1);
  assert_string_equal(m, "gemini-2.5-flash");              /* only the top level counts */
  assert_int_equal(member("{\"mod\\u0065l\":\"gemini-2.5-pro\"}", m, sizeof m), 1);
  assert_string_equal(m, "gemini-2.5-pro");                /* the key as Google reads it */
  assert_int_equal(member("{\"contents\":[],\"s\":\"a\\\"model\\\":\"}", m, sizeof m), 0);
  assert_int_equal(member("{}", m, sizeof m), 0);
  assert_int_equal(member("{\"model\\u0000\":\"gemini-2.5-pro\"}", m, sizeof m), 0);
  /* refused: ambiguous or hidden */
  assert_int_equal(member("{\"model\":\"gemini-2.5-flash\",\"model\":\"gemini-2.5-pro\"}", m, sizeof m), -1);
  assert_int_equal(member("{\"model\":\"gemini-2.5-flash\",\"mod\\u0065l\":\"gemini-2.5-pro\"}", m, sizeof m), -1);
  assert_int_equal(member("{\"model\":\"gemini-2.5-pr\\u006f\"}", m, sizeof m), -1);
  assert_int_equal(member("{\"model\":5}", m, sizeof m), -1);
  assert_int_equal(member("[{\"model\":\"x\"}]", m, sizeof m), -1);
  assert_int_equal(member("", m, sizeof m), -1);
  assert_int_equal(member("{\"model\":\"gemini", m, sizeof m), -1);
  assert_int_equal(member("{\"a\":[1,2}", m, sizeof m), -1);
  assert_int_equal(member("{\"a\" 1}", m, sizeof m), -1);
  char tiny[8];
  assert_int_equal(member("{\"model\":\"gemini-2.5-pro\"}", tiny, sizeof tiny), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_canonical_paths_pass),
    cmocka_unit_test(test_traversal_refused),
    cmocka_unit_test(test_query_dropped),
    cmocka_unit_test(test_query_refusal),
    cmocka_unit_test(test_body_member),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
