/* alias: GEMGATE_MODEL_ALIASES — exact entries, prefixes (longest wins), bad specs refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/alias.h"

static void test_resolve(void **state)
{
  model_aliases a;
  char err[160];
  assert_int_equal(aliases_parse(" claude-* = gemini-2.5-flash ; claude-opus-*=gemini-2.5-pro,gpt-5=gemini-2.5-pro,"
                                 "claude-opus-4-1=gemini-3-pro-preview\n", &a, err, sizeof err), 0);
  assert_int_equal(a.n, 4);
  assert_string_equal(aliases_resolve(&a, "claude-sonnet-4-5"), "gemini-2.5-flash");
  assert_string_equal(aliases_resolve(&a, "claude-opus-4-5"), "gemini-2.5-pro");      /* longest prefix */
  assert_string_equal(aliases_resolve(&a, "claude-opus-4-1"), "gemini-3-pro-preview"); /* exact wins */
  assert_string_equal(aliases_resolve(&a, "gpt-5"), "gemini-2.5-pro");
  assert_string_equal(aliases_resolve(&a, "gpt-5-mini"), "gpt-5-mini");             /* no entry: itself */
  assert_string_equal(aliases_resolve(NULL, "x"), "x");
  aliases_free(&a);
  assert_int_equal(aliases_parse("", &a, err, sizeof err), 0);
  assert_int_equal(a.n, 0);
}

static void test_bad(void **state)
{
  model_aliases a;
  char err[160];
  const char *bad[] = { "claude", "=gemini", "a=", "a*b=c", "a=b c", "a=b/c" };
  for(size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if(!aliases_parse(bad[i], &a, err, sizeof err)) fail_msg("accepted %s", bad[i]);
    assert_true(err[0]);
    assert_null(a.v);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_resolve), cmocka_unit_test(test_bad) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
