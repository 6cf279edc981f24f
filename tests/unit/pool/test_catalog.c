/* catalog_parse: the model names in a page of Google's models.list answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pool/catalog.h"

static void free_names(char **v, size_t n)
{
  for(size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void test_pages(void **state)
{
  char **names = NULL, *next = NULL;
  size_t n = 0, cap = 0;
  const char *p1 = "{\"models\":[{\"name\":\"models/gemini-2.5-flash\",\"version\":\"001\"},"
                   "{\"name\":\"models/gemini-2.5-pro\"},{\"name\":\"tunedModels/x\"},{\"displayName\":\"no name\"},"
                   "{\"name\":\"models/\"},{\"name\":7}],\"nextPageToken\":\"Ch0K+/=\"}";
  assert_int_equal(catalog_parse(p1, strlen(p1), &names, &n, &cap, 100, &next), 0);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "gemini-2.5-flash");
  assert_string_equal(names[1], "gemini-2.5-pro");
  assert_string_equal(next, "Ch0K+/=");
  free(next);
  const char *p2 = "{\"models\":[{\"name\":\"models/text-embedding-004\"}]}";
  assert_int_equal(catalog_parse(p2, strlen(p2), &names, &n, &cap, 100, &next), 0);
  assert_int_equal(n, 3);                          /* appended to the first page's */
  assert_null(next);                               /* the last page */
  assert_int_equal(catalog_parse(p2, strlen(p2), &names, &n, &cap, 3, &next), 0);
  assert_int_equal(n, 3);                          /* at the cap: no more */
  free_names(names, n);
}

static void test_not_a_list(void **state)
{
  char **names = NULL, *next = NULL;
  size_t n = 0, cap = 0;
  const char *bad[] = { "", "[]", "{\"error\":{\"code\":403}", "not json" };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(catalog_parse(bad[i], strlen(bad[i]), &names, &n, &cap, 100, &next), -1);
  const char *empty = "{}";                        /* a key with no models: a list, empty */
  assert_int_equal(catalog_parse(empty, strlen(empty), &names, &n, &cap, 100, &next), 0);
  assert_int_equal(n, 0);
  free_names(names, n);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pages),
    cmocka_unit_test(test_not_a_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
