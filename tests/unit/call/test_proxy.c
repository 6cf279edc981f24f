/* proxy's parsing of Gemini paths, and config's value parsers.  (Error bodies are read by
 * pool/verdict: tests/unit/pool/test_verdict.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/proxy.h"
#include "base/util.h"

static void test_model_from_path(void **state)
{
  char m[64];
  str action;
  proxy_parse_model(STR("/v1beta/models/gemini-2.5-flash:streamGenerateContent"), m, sizeof m, &action);
  assert_string_equal(m, "gemini-2.5-flash");
  assert_true(str_eq(action, STR("streamGenerateContent")));
  proxy_parse_model(STR("/v1/models/text-embedding-004"), m, sizeof m, &action);
  assert_string_equal(m, "text-embedding-004");
  assert_null(action.p);
  proxy_parse_model(STR("/v1beta/models"), m, sizeof m, &action);
  assert_string_equal(m, "");
  proxy_parse_model(STR("/v1beta/tunedModels/x:generateContent"), m, sizeof m, &action);
  assert_string_equal(m, "");
  char tiny[8];
  proxy_parse_model(STR("/v1/models/a-very-long-model-name:x"), tiny, sizeof tiny, &action);
  assert_string_equal(tiny, "a-very-");
}

static void test_value_parsers(void **state)
{
  assert_int_equal(parse_duration_ms("10"), 10000);
  assert_int_equal(parse_duration_ms("1.5s"), 1500);
  assert_int_equal(parse_duration_ms("250ms"), 250);
  assert_int_equal(parse_duration_ms("2m"), 120000);
  assert_int_equal(parse_duration_ms("-1"), -1);
  assert_int_equal(parse_duration_ms("10 s"), -1);
  assert_int_equal(parse_duration_ms("abc"), -1);
  assert_int_equal(parse_size("20m"), 20 * 1048576);
  assert_int_equal(parse_size("64k"), 65536);
  assert_int_equal(parse_size("1g"), -1);
  assert_int_equal(parse_int("42"), 42);
  assert_int_equal(parse_int("4x"), -1);
  assert_int_equal(parse_int("99999999999999999999999"), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_model_from_path),
    cmocka_unit_test(test_value_parsers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
