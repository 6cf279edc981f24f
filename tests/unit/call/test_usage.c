/* usage: token counts from the last usageMetadata, fed in arbitrary pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "call/usage.h"
#include "ledger/ledger.h"

static const char SSE[] =
  "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"say \\\"usageMetadata\\\": {\\\"totalTokenCount\\\": 999}\"}]}}],"
  "\"usageMetadata\":{\"promptTokenCount\":51,\"candidatesTokenCount\":1,\"totalTokenCount\":52}}\r\n\r\n"
  "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":51,\"candidatesTokenCount\":5,"
  "\"totalTokenCount\":80,\"thoughtsTokenCount\":24,\"cachedContentTokenCount\":7,"
  "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":51}]},\"modelVersion\":\"x\"}\r\n\r\n";

/* Feeding the same bytes in every split must give the same counts. */
static void test_every_split(void **state)
{
  size_t n = strlen(SSE);
  for(size_t step = 1; step <= n; step += (step < 20 ? 1 : 37)) {
    usage_scan s;
    usage_init(&s);
    for(size_t i = 0; i < n; i += step) usage_feed(&s, SSE + i, i + step > n ? n - i : step);
    assert_true(s.u.seen);
    assert_int_equal(s.u.prompt, 51);
    assert_int_equal(s.u.candidates, 5);
    assert_int_equal(s.u.total, 80);
    assert_int_equal(s.u.thoughts, 24);
    assert_int_equal(s.u.cached, 7);
  }
}

static void test_pretty_printed_array(void **state)
{
  const char *arr = "[{\n  \"candidates\": [],\n  \"usageMetadata\": {\n    \"promptTokenCount\": 3,\n"
                    "    \"candidatesTokenCount\": 9,\n    \"totalTokenCount\": 12\n  }\n}\n,\r\n{}\n]";
  usage_scan s;
  usage_init(&s);
  usage_feed(&s, arr, strlen(arr));
  assert_int_equal(s.u.prompt, 3);
  assert_int_equal(s.u.candidates, 9);
  assert_int_equal(s.u.total, 12);
}

static void test_text_mentioning_the_key_is_ignored(void **state)
{
  const char *t = "{\"text\":\"\\\"usageMetadata\\\":{\\\"promptTokenCount\\\":5}\"}";
  usage_scan s;
  usage_init(&s);
  usage_feed(&s, t, strlen(t));
  assert_false(s.u.seen);
}

static void test_no_usage(void **state)
{
  usage_scan s;
  usage_init(&s);
  usage_feed(&s, "{\"error\":{\"code\":500}}", 22);
  assert_false(s.u.seen);
  assert_int_equal(s.u.total, 0);
}

/* Counts enter clamped to [0, 2^40]: negative, huge and out-of-range numbers alike. */
static void test_counts_clamped(void **state)
{
  const char *a = "{\"usageMetadata\":{\"promptTokenCount\":-7,\"candidatesTokenCount\":9223372036854775807,"
                  "\"thoughtsTokenCount\":123456789012345678901234567890,\"cachedContentTokenCount\":1099511627776,"
                  "\"totalTokenCount\":-99999999999999999999999}}";
  usage_scan s;
  usage_init(&s);
  usage_feed(&s, a, strlen(a));
  assert_true(s.u.seen);
  assert_int_equal(s.u.prompt, 0);
  assert_int_equal(s.u.candidates, LEDGER_MAX_TOKENS);
  assert_int_equal(s.u.thoughts, LEDGER_MAX_TOKENS);
  assert_int_equal(s.u.cached, LEDGER_MAX_TOKENS);     /* 2^40 itself is allowed */
  assert_int_equal(s.u.total, 0);
}

/* Per-modality details and tool-use tokens: the AUDIO part of the prompt and of the cache, the
 * IMAGE part of the output; absent or other modalities give 0. */
static void test_modalities(void **state)
{
  const char *a = "{\"usageMetadata\": {\"promptTokenCount\": 1000, \"candidatesTokenCount\": 1300,"
                  " \"toolUsePromptTokenCount\": 12, \"cachedContentTokenCount\": 300,"
                  " \"promptTokensDetails\": [ {\"modality\": \"TEXT\", \"tokenCount\": 600},"
                  " {\"tokenCount\": 400, \"modality\": \"AUDIO\"} ],"
                  " \"cacheTokensDetails\": [{\"modality\":\"AUDIO\",\"tokenCount\":100}],"
                  " \"candidatesTokensDetails\": [{\"modality\":\"TEXT\",\"tokenCount\":10},{\"modality\":\"IMAGE\",\"tokenCount\":1290}],"
                  " \"totalTokenCount\": 2312}}";
  usage_scan s;
  usage_init(&s);
  for(size_t i = 0, n = strlen(a); i < n; i += 7) usage_feed(&s, a + i, i + 7 > n ? n - i : 7);
  assert_int_equal(s.u.prompt, 1000);
  assert_int_equal(s.u.tool, 12);
  assert_int_equal(s.u.audio_in, 400);
  assert_int_equal(s.u.audio_cached, 100);
  assert_int_equal(s.u.image_out, 1290);
  assert_int_equal(s.u.total, 2312);
  const char *b = "{\"usageMetadata\":{\"promptTokenCount\":5,\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":5}]}}";
  usage_init(&s);
  usage_feed(&s, b, strlen(b));
  assert_int_equal(s.u.audio_in, 0);
  assert_int_equal(s.u.image_out, 0);
  assert_int_equal(s.u.tool, 0);
}

/* Imagen answers: images counted however the bytes are split, and only when asked. */
static void test_images_counted(void **state)
{
  const char *a = "{\"predictions\":[{\"bytesBase64Encoded\":\"iVBO\",\"mimeType\":\"image/png\"},"
                  "{\"bytesBase64Encoded\":\"iVBO\"},{\"bytesBase64Encoded\":\"x\"}]}";
  size_t n = strlen(a);
  for(size_t step = 1; step <= n; step++) {
    usage_scan s;
    usage_init(&s);
    s.want_images = true;
    for(size_t i = 0; i < n; i += step) usage_feed(&s, a + i, i + step > n ? n - i : step);
    assert_int_equal(s.images, 3);
    assert_false(s.error_seen);
  }
  usage_scan s;
  usage_init(&s);
  usage_feed(&s, a, n);
  assert_int_equal(s.images, 0);
}

/* A stream's error object, compact (SSE) or pretty (the array form), in any split; never the
 * same words inside a text. */
static void test_stream_error_seen(void **state)
{
  const char *sse = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"error\\\":{\\\"code\\\":1}\"}]}}]}\r\n\r\n"
                    "data: {\"error\":{\"code\":500,\"message\":\"Internal error encountered.\"}}\r\n\r\n";
  const char *arr = "[{\"candidates\":[]}\n,\r\n{\n  \"error\": {\n    \"code\": 500\n  }\n}\n]";
  const char *const bodies[] = { sse, arr };
  for(int b = 0; b < 2; b++) {
    size_t n = strlen(bodies[b]);
    for(size_t step = 1; step <= n; step += 3) {
      usage_scan s;
      usage_init(&s);
      s.want_errors = true;
      for(size_t i = 0; i < n; i += step) usage_feed(&s, bodies[b] + i, i + step > n ? n - i : step);
      assert_true(s.error_seen);
    }
  }
  const char *fine = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"error\\\":{\\\"code\\\":1}\"}]}}]}\r\n\r\n";
  usage_scan s;
  usage_init(&s);
  s.want_errors = true;
  usage_feed(&s, fine, strlen(fine));
  assert_false(s.error_seen);                                /* escaped inside a text: not an error */
}

/* A finished batch: the same two responses in metadata.output and in response; the sum is one
 * list's, whatever the piece size (the "done" needle and the objects cut anywhere). */
static void test_batch_sum_one_list(void **state)
{
  (void)state;
  static const char R[] = "{\"response\":{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\": 10,"
                          "\"candidatesTokenCount\": 3,\"cacheTokensDetails\":[{\"modality\":\"AUDIO\",\"tokenCount\":2}]}}}";
  char body[4096];
  snprintf(body, sizeof body, "{\"name\":\"batches/1\",\"metadata\":{\"output\":{\"inlinedResponses\":"
           "{\"inlinedResponses\":[%s,%s]}},\"state\":\"BATCH_STATE_SUCCEEDED\"},\n  \"done\": true,"
           "\"response\":{\"inlinedResponses\":{\"inlinedResponses\":[%s,%s]}}}", R, R, R, R);
  size_t n = strlen(body);
  for(size_t step = 1; step <= n; step++) {
    usage_scan s;
    usage_init(&s);
    s.want_sum = true;
    for(size_t i = 0; i < n; i += step) usage_feed(&s, body + i, i + step > n ? n - i : step);
    usage u;
    assert_int_equal(usage_sum(&s, &u), 2);
    assert_true(s.done_seen);
    assert_int_equal(u.prompt, 20);
    assert_int_equal(u.candidates, 6);
    assert_int_equal(u.audio_cached, 4);
  }
  /* Only in metadata (no "done" before them): that list. */
  usage_scan s;
  usage_init(&s);
  s.want_sum = true;
  snprintf(body, sizeof body, "{\"metadata\":{\"output\":{\"inlinedResponses\":{\"inlinedResponses\":[%s,%s,%s]}}}}", R, R, R);
  usage_feed(&s, body, strlen(body));
  usage u;
  assert_int_equal(usage_sum(&s, &u), 3);
  assert_false(s.done_seen);
  assert_int_equal(u.prompt, 30);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_split),
    cmocka_unit_test(test_pretty_printed_array),
    cmocka_unit_test(test_text_mentioning_the_key_is_ignored),
    cmocka_unit_test(test_no_usage),
    cmocka_unit_test(test_counts_clamped),
    cmocka_unit_test(test_modalities),
    cmocka_unit_test(test_images_counted),
    cmocka_unit_test(test_stream_error_seen),
    cmocka_unit_test(test_batch_sum_one_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
