/* verdict: which upstream answers are the key's fault, which the request's, and what a 429 says
 * about the quota it broke.  Bodies are Google's shapes (docs/fake-upstream.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/utc.h"
#include "pool/verdict.h"

static verdict read(int status, const char *body)
{
  verdict v;
  verdict_read(status, body, body ? strlen(body) : 0, &v);
  return v;
}

#define ERRINFO(code, status, reason) \
  "{\"error\":{\"code\":" #code ",\"message\":\"API key not valid. Please pass a valid API key.\"," \
  "\"status\":\"" status "\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\"," \
  "\"reason\":\"" reason "\",\"domain\":\"googleapis.com\",\"metadata\":{\"service\":" \
  "\"generativelanguage.googleapis.com\"}}]}}"

static void test_key_verdicts(void **state)
{
  const char *reasons[] = { "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED",
                            "SERVICE_DISABLED", "CONSUMER_SUSPENDED", "ACCESS_TOKEN_TYPE_UNSUPPORTED" };
  for(size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
    char body[1024];
    snprintf(body, sizeof body, "{\"error\":{\"code\":400,\"message\":\"x\",\"status\":\"INVALID_ARGUMENT\","
             "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"%s\"}]}}", reasons[i]);
    verdict v = read(i % 2 ? 403 : 400, body);
    assert_int_equal(v.kind, VERDICT_KEY);
    assert_string_equal(v.reason, reasons[i]);
  }
  verdict v = read(400, ERRINFO(400, "INVALID_ARGUMENT", "API_KEY_INVALID"));
  assert_int_equal(v.kind, VERDICT_KEY);

  v = read(403, "{\"error\":{\"code\":403,\"message\":\"Your API key was reported as leaked. Please use another API key.\",\"status\":\"PERMISSION_DENIED\"}}");
  assert_int_equal(v.kind, VERDICT_KEY);
  assert_string_equal(v.reason, "LEAKED");

  v = read(401, "not json at all");
  assert_int_equal(v.kind, VERDICT_KEY);
  assert_string_equal(v.reason, "HTTP_401");
}

static void test_request_faults(void **state)
{
  /* The text API_KEY_INVALID inside a message (an echoed prompt) is not Google's verdict. */
  verdict v = read(400, "{\"error\":{\"code\":400,\"message\":\"* GenerateContentRequest.contents: "
                        "API_KEY_INVALID is not a valid role\",\"status\":\"INVALID_ARGUMENT\"}}");
  assert_int_equal(v.kind, VERDICT_REQUEST);
  assert_string_equal(v.reason, "");

  /* A file or cache that does not exist, or belongs to another project. */
  v = read(403, "{\"error\":{\"code\":403,\"message\":\"You do not have permission to access the File nope "
                "or it may not exist.\",\"status\":\"PERMISSION_DENIED\"}}");
  assert_int_equal(v.kind, VERDICT_REQUEST);
  v = read(404, "{\"error\":{\"code\":404,\"message\":\"CachedContent not found\",\"status\":\"NOT_FOUND\"}}");
  assert_int_equal(v.kind, VERDICT_REQUEST);

  /* An ErrorInfo with a reason that is not about the key. */
  v = read(403, "{\"error\":{\"code\":403,\"status\":\"PERMISSION_DENIED\",\"details\":[{\"@type\":"
                "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"ACCESS_DENIED\"}]}}");
  assert_int_equal(v.kind, VERDICT_REQUEST);

  /* A 5xx stays a server error even with an ErrorInfo in it; garbage bodies are fine. */
  v = read(503, ERRINFO(503, "UNAVAILABLE", "API_KEY_INVALID"));
  assert_int_equal(v.kind, VERDICT_SERVER);
  v = read(500, "\xff\xfe{{{");
  assert_int_equal(v.kind, VERDICT_SERVER);
  v = read(200, NULL);
  assert_int_equal(v.kind, VERDICT_OK);
}

static const char QUOTA_MINUTE[] =
  "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota.\",\"status\":\"RESOURCE_EXHAUSTED\","
  "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
  "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\",\"quotaId\":"
  "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\",\"quotaDimensions\":{\"location\":\"global\","
  "\"model\":\"gemini-2.5-flash\"},\"quotaValue\":\"15\"}]},{\"@type\":\"type.googleapis.com/google.rpc.Help\","
  "\"links\":[]},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"20.04466179s\"}]}}";

static const char QUOTA_DAY[] =
  "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
  "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
  "\"generativelanguage.googleapis.com/generate_content_free_tier_input_token_count\",\"quotaId\":"
  "\"GenerateContentInputTokensPerModelPerMinute-FreeTier\",\"quotaValue\":\"250000\"},{\"quotaMetric\":"
  "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\",\"quotaId\":"
  "\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\",\"quotaValue\":\"1500\"}]},{\"@type\":"
  "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"3s\"}]}}";

static void test_quota(void **state)
{
  verdict v = read(429, QUOTA_MINUTE);
  assert_int_equal(v.kind, VERDICT_QUOTA);
  assert_int_equal(v.period, QUOTA_PER_MINUTE);
  assert_int_equal(v.metric, QUOTA_REQUESTS);
  assert_int_equal(v.quota_value, 15);
  assert_int_equal(v.retry_delay_ms, 20045);

  v = read(429, QUOTA_DAY);                       /* the per-day violation wins */
  assert_int_equal(v.period, QUOTA_PER_DAY);
  assert_int_equal(v.metric, QUOTA_REQUESTS);
  assert_int_equal(v.quota_value, 1500);
  assert_int_equal(v.retry_delay_ms, 3000);

  v = read(429, "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\","
                "\"status\":\"RESOURCE_EXHAUSTED\"}}");
  assert_int_equal(v.kind, VERDICT_QUOTA);
  assert_int_equal(v.period, QUOTA_UNSTATED);
  assert_int_equal(v.retry_delay_ms, -1);
  assert_int_equal(v.quota_value, -1);
}

static void test_durations(void **state)
{
  assert_int_equal(verdict_duration_ms("27s"), 27000);
  assert_int_equal(verdict_duration_ms("0.5s"), 500);
  assert_int_equal(verdict_duration_ms("1.0004s"), 1000);
  assert_int_equal(verdict_duration_ms("1.0005s"), 1001);
  assert_int_equal(verdict_duration_ms("0s"), 0);
  /* Nothing absurd passes through: the caller falls back to its own backoff. */
  const char *bad[] = { "inf", "infs", "nans", "1e20s", "-5s", "+5s", "5", "5 s", "s", ".5s", "5.s",
                        "99999999999s", "2592001s", "0x10s", "", "27sx" };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(verdict_duration_ms(bad[i]), -1);
  assert_int_equal(verdict_duration_ms(NULL), -1);
  assert_int_equal(verdict_duration_ms("2592000s"), 30LL * UTC_DAY_MS);

  verdict v = read(429, "{\"error\":{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
                        "\"retryDelay\":\"1e20s\"}]}}");
  assert_int_equal(v.retry_delay_ms, -1);
  v = read(429, "{\"error\":{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
                "\"retryDelay\":12}]}}");
  assert_int_equal(v.retry_delay_ms, -1);
}

static int64_t at(const char *iso)
{
  int64_t ms = 0;
  assert_true(utc_parse(iso, &ms));
  return ms;
}

static void test_pacific_midnight(void **state)
{
  /* Winter (PST, UTC-8) and summer (PDT, UTC-7). */
  assert_int_equal(verdict_next_pacific_midnight(at("2026-12-01T19:30:00Z")), at("2026-12-02T08:00:00Z"));
  assert_int_equal(verdict_next_pacific_midnight(at("2026-07-01T12:00:00Z")), at("2026-07-02T07:00:00Z"));
  /* Late evening in California is already the next UTC day. */
  assert_int_equal(verdict_next_pacific_midnight(at("2026-07-02T06:59:59Z")), at("2026-07-02T07:00:00Z"));
  assert_int_equal(verdict_next_pacific_midnight(at("2026-07-02T07:00:00Z")), at("2026-07-03T07:00:00Z"));
  /* Around the switches of 2026: 8 March (to PDT) and 1 November (to PST). */
  assert_int_equal(verdict_next_pacific_midnight(at("2026-03-07T20:00:00Z")), at("2026-03-08T08:00:00Z"));
  assert_int_equal(verdict_next_pacific_midnight(at("2026-03-08T09:30:00Z")), at("2026-03-09T07:00:00Z"));
  assert_int_equal(verdict_next_pacific_midnight(at("2026-10-31T20:00:00Z")), at("2026-11-01T07:00:00Z"));
  assert_int_equal(verdict_next_pacific_midnight(at("2026-11-01T12:00:00Z")), at("2026-11-02T08:00:00Z"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_key_verdicts),
    cmocka_unit_test(test_request_faults),
    cmocka_unit_test(test_quota),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_pacific_midnight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
