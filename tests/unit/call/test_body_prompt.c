/* body_prompt: the prompt the ledger shows for a request body, per client dialect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "call/body_prompt.h"

static char out[1504];

static const char *gemini(const char *body) { body_prompt_gemini(body, strlen(body), out, sizeof out, 500); return out; }
static const char *openai(const char *body) { body_prompt_openai(body, strlen(body), out, sizeof out, 500); return out; }

static void test_gemini(void **state)
{
  const char *gem = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"first\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"reply\"}]},"
                    "{\"role\":\"user\",\"parts\":[{\"text\":\"春天的花园\"},{\"inlineData\":{}},{\"text\":\"阳光\"}]}]}";
  assert_string_equal(gemini(gem), "春天的花园\n阳光");
  /* the tree-less walk: braces and quotes inside strings, nested values, escapes, a role-less
   * last turn after a model turn, keys in any order */
  const char *tricky = "{\"generationConfig\":{\"stop\":[\"}]\"]},\"contents\":[{\"role\":\"model\",\"parts\":[{\"text\":\"no\"}]},"
                       "{\"parts\":[{\"inlineData\":{\"data\":\"x\\\"}]{\"}},{\"text\":\"tab\\there \\u00e9\"}]}],\"x\":[1,2.5e3,true,null]}";
  assert_string_equal(gemini(tricky), "tab\there é");
  const char *cut = "{\"contents\":[{\"parts\":[{\"text\":\"fine\"}]}";   /* not closed: jansson refuses, the scan finds it */
  assert_string_equal(gemini(cut), "fine");
  assert_string_equal(gemini("{\"instances\":[{\"prompt\":\"a cat\"}]}"), "a cat");                        /* Imagen */
  assert_string_equal(gemini("{\"content\":{\"parts\":[{\"text\":\"embed me\"}]}}"), "embed me");         /* embedContent */
  assert_string_equal(gemini("{\"requests\":[{\"content\":{\"parts\":[{\"text\":\"one\"}]}},"
                             "{\"content\":{\"parts\":[{\"text\":\"two\"}]}}]}"), "one");                 /* batchEmbedContents */
  assert_string_equal(gemini("not json"), "");
  assert_string_equal(gemini("{}"), "");
  /* 500 characters, whatever their width */
  char big[4000] = "{\"contents\":[{\"parts\":[{\"text\":\"";
  for(int i = 0; i < 600; i++) strcat(big, "é");
  strcat(big, "\"}]}]}");
  assert_int_equal(strlen(gemini(big)), 1000);
  /* bodies too big to parse: the first "text" string, escapes decoded */
  size_t n = BODY_PROMPT_PARSE_MAX + 10;
  char *huge = malloc(n + 1);
  memset(huge, ' ', n);
  memcpy(huge, "{\"contents\":[{\"parts\":[{\"text\": \"line\\none \\u00e9\\\"q\\\"\"}", 57);
  huge[n] = '\0';
  body_prompt_gemini(huge, n, out, sizeof out, 500);
  assert_string_equal(out, "line\none é\"q\"");
  free(huge);
}

static void test_openai(void **state)
{
  const char *chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}";
  assert_string_equal(openai(chat), "hi");
  assert_string_equal(openai("{\"messages\":[{\"role\":\"user\",\"content\":\"old\"},{\"role\":\"assistant\",\"content\":\"a\"},"
                             "{\"role\":\"user\",\"content\":\"new\"}]}"), "new");
  assert_string_equal(openai("{\"model\":\"e\",\"input\":[\"first\",\"second\"]}"), "first");               /* embeddings */
  assert_string_equal(openai("{\"model\":\"e\",\"input\":\"only\"}"), "only");
  assert_string_equal(openai("{\"model\":\"imagen\",\"prompt\":\"a dog\",\"n\":1}"), "a dog");             /* images */
  assert_string_equal(openai("not json"), "");
  assert_string_equal(openai("{\"messages\":[]}"), "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gemini),
    cmocka_unit_test(test_openai),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
