/* resource: the resource a path or a Files API URI names, and the 404 each kind answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/resource.h"

static void expect_path(const char *rest, const char *want, int kind)
{
  int k;
  str n = resource_in_path(str_c(rest), &k);
  if(!want) { assert_null(n.p); return; }
  assert_non_null(n.p);
  assert_int_equal(n.n, strlen(want));
  assert_memory_equal(n.p, want, n.n);
  assert_int_equal(k, kind);
}

static void test_in_path(void **state)
{
  expect_path("files/abc", "files/abc", OWN_FILE);
  expect_path("files/abc:download", "files/abc", OWN_FILE);
  expect_path("cachedContents/x", "cachedContents/x", OWN_CACHE);
  expect_path("batches/b1:cancel", "batches/b1", OWN_BATCH);
  expect_path("interactions/v1_abc", "interactions/v1_abc", OWN_INTERACTION);
  expect_path("tunedModels/t/operations/o", "tunedModels/t", OWN_TUNED_MODEL);
  expect_path("fileSearchStores/s/documents/d", "fileSearchStores/s", OWN_FILE_SEARCH_STORE);
  expect_path("models/veo-3/operations/op1", "models/veo-3/operations/op1", OWN_OPERATION);
  expect_path("operations/op2", "operations/op2", OWN_OPERATION);
  expect_path("models/gemini-2.5-flash:generateContent", NULL, -1);
  expect_path("files", NULL, -1);
  expect_path("files/", NULL, -1);
  expect_path("files/:x", NULL, -1);
  expect_path("models", NULL, -1);
}

static void expect_uri(const char *uri, const char *want)
{
  str n = resource_file_uri(str_c(uri));
  if(!want) { assert_null(n.p); return; }
  assert_non_null(n.p);
  assert_int_equal(n.n, strlen(want));
  assert_memory_equal(n.p, want, n.n);
}

static void test_file_uri(void **state)
{
  expect_uri("https://generativelanguage.googleapis.com/v1beta/files/abc123", "files/abc123");
  expect_uri("http://127.0.0.1:9/v1/files/x-y_z?alt=media", "files/x-y_z");
  expect_uri("files/abc", "files/abc");
  expect_uri("https://example.com/images/files/cat.png", NULL);
  expect_uri("https://example.com/v1beta/files/", NULL);
  expect_uri("https://example.com/v1beta/files/a/b", NULL);
  expect_uri("gs://bucket/v1beta/files", NULL);
  expect_uri("", NULL);
}

static void test_rest_and_not_found(void **state)
{
  str r = resource_rest(STR("/v1beta/files/x"));
  assert_true(str_eq(r, STR("files/x")));
  assert_true(str_eq(resource_rest(STR("/v1/cachedContents")), STR("cachedContents")));
  assert_true(str_eq(resource_rest(STR("/v1alpha/batches/b")), STR("batches/b")));
  assert_null(resource_rest(STR("/v2/files/x")).p);
  assert_true(str_eq(resource_rest(STR("/upload/v1beta/files")), STR("files")));
  assert_null(resource_rest(STR("/upload/files")).p);
  char m[300];
  resource_not_found(OWN_FILE, STR("files/abc"), m, sizeof m);
  assert_string_equal(m, "You do not have permission to access the File abc or it may not exist.");
  resource_not_found(OWN_CACHE, STR("cachedContents/x"), m, sizeof m);
  assert_string_equal(m, "CachedContent not found (or permission denied)");
  resource_not_found(OWN_BATCH, STR("batches/x"), m, sizeof m);
  assert_string_equal(m, "Requested entity was not found.");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_in_path),
    cmocka_unit_test(test_file_uri),
    cmocka_unit_test(test_rest_and_not_found),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
