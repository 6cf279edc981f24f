/* openai: chat parts that name a Gemini Files API file become fileData, never a fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openai/openai.h"

static const oai_settings NO_SETTINGS = { 0 };

static void test_files_api_parts(void **state)
{
  const char *body = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":["
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://generativelanguage.googleapis.com/v1beta/files/abc123\"}},"
    "{\"type\":\"image_url\",\"image_url\":\"files/def\"},"
    "{\"type\":\"file\",\"file\":{\"file_id\":\"http://127.0.0.1:9/v1/files/ghi\"}},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/v1beta/files/cat.png\"}},"
    "{\"type\":\"text\",\"text\":\"describe\"}]}]}";
  oai_chat c;
  oai_error e;
  assert_int_equal(oai_chat_parse(body, strlen(body), &NO_SETTINGS, &c, &e), 0);
  json_t *parts = json_object_get(json_array_get(json_object_get(c.body, "contents"), 0), "parts");
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(parts, 0), "fileData"), "fileUri")),
                      "https://generativelanguage.googleapis.com/v1beta/files/abc123");
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(parts, 1), "fileData"), "fileUri")),
                      "files/def");
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(parts, 2), "fileData"), "fileUri")),
                      "http://127.0.0.1:9/v1/files/ghi");
  /* "cat.png" is no file id: an ordinary image URL, fetched */
  assert_int_equal(c.nfetch, 1);
  assert_string_equal(c.fetch[0].url, "https://example.com/v1beta/files/cat.png");
  oai_chat_free(&c);
  const char *bad = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":["
    "{\"type\":\"file\",\"file\":{\"file_id\":\"file-abc\"}}]}]}";
  assert_int_equal(oai_chat_parse(bad, strlen(bad), &NO_SETTINGS, &c, &e), -1);
  assert_int_equal(e.status, 400);
  assert_string_equal(e.param, "messages[0].content[0].file");
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_files_api_parts) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
