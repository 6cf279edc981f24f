/* record: a client request and how its call ended, as the plain facts of a ledger row (caller,
 * client address, endpoint kind, generation type, stream flag, body and prompt extractor,
 * status, error, timings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "call/body_prompt.h"
#include "call/record.h"
#include "base/cidr.h"
#include "http/clientip.h"
#include "http/server.h"

static char body[] = "{\"contents\":[{\"parts\":[{\"text\":\"hello\"}]}]}";

static gateway gw;
static worker row_worker = { .gw = &gw, .cfg = &gw.cfg };   /* clientip reads the trusted proxies here */

static http_req *req(const char *path, const char *ip, const char *xff, const char *gtype)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.w = &row_worker;
  r.method = STR("POST");
  r.path = str_c(path);
  snprintf(r.ip, sizeof r.ip, "%s", ip);
  if(xff) r.hdr[r.nhdr++] = (http_header){ STR("X-Forwarded-For"), str_c(xff) };
  if(gtype) r.hdr[r.nhdr++] = (http_header){ STR("X-Generation-Type"), str_c(gtype) };
  r.body = body;
  r.body_len = strlen(body);
  r.t0_us = mono_us();
  return &r;
}

#define STREAM "/v1beta/models/gemini-2.5-flash:streamGenerateContent"

static void test_begin(void **state)
{
  const char *const trusted[] = { "10.0.0.0/8", "::1" };
  char bad[64];
  assert_int_equal(cidr_list_parse(&gw.cfg.trusted_nets, trusted, 2, bad, sizeof bad), 2);
  principal who = { .user_id = 7, .access_key_id = 9 };
  ledger_row r;
  int64_t before = now_ms();
  record_begin(&r, req(STREAM, "10.1.2.3", "203.0.113.9, 10.9.9.9", "ip_image"), &who, "gemini-2.5-flash",
               body_prompt_gemini);
  assert_string_equal(r.ip, "203.0.113.9");                  /* trusted hops skipped from the right */
  assert_string_equal(r.gen_type, "ip_image");
  assert_string_equal(r.endpoint, "stream");
  assert_string_equal(r.model, "gemini-2.5-flash");
  assert_true(r.stream);
  assert_string_equal(r.prompt, "");                          /* the writer extracts it ... */
  assert_ptr_equal(r.body, body);                             /* ... from the body ... */
  assert_int_equal(r.body_len, strlen(body));
  assert_ptr_equal(r.prompt_of, body_prompt_gemini);          /* ... with the dialect's extractor */
  assert_int_equal(r.user_id, 7);
  assert_int_equal(r.access_key_id, 9);
  assert_true(r.created_ms >= before && r.created_ms <= now_ms());
  assert_int_equal(r.http_status, 0);
  assert_string_equal(r.upstream_key, "");
  record_begin(&r, req(STREAM, "198.51.100.1", "203.0.113.9", "bad label!"), &who, "m", NULL);
  assert_string_equal(r.ip, "198.51.100.1");                 /* untrusted peer: header ignored */
  assert_string_equal(r.gen_type, "stream");                 /* invalid label: the endpoint kind */
  record_begin(&r, req(STREAM, "::1", "garbage, 10.0.0.7", NULL), &who, "m", NULL);
  assert_string_equal(r.ip, "10.0.0.7");                     /* malformed entry stops the walk */
  record_begin(&r, req(STREAM, "::ffff:10.0.0.1", "[2001:db8::1]:443", NULL), &who, "m", NULL);
  assert_string_equal(r.ip, "2001:db8::1");
  record_begin(&r, req("/v1/chat/completions", "1.2.3.4", NULL, NULL), NULL, NULL, body_prompt_openai);
  assert_string_equal(r.endpoint, "chat");                   /* unlabelled: typed by the endpoint */
  assert_string_equal(r.gen_type, "chat");
  assert_false(r.stream);
  assert_string_equal(r.model, "");
  assert_int_equal(r.user_id, 0);                            /* no principal */
  assert_string_equal(r.ip, "1.2.3.4");
  record_begin(&r, req("/v1beta/models/m:generateContent", "1.2.3.4", NULL,
                       "a_label.that-is-31-characters-x"), &who, "m", NULL);
  assert_string_equal(r.gen_type, "a_label.that-is-31-characters-x");
  record_begin(&r, req("/v1beta/models/m:generateContent", "1.2.3.4", NULL,
                       "a_label.that-is-32-characters-xy"), &who, "m", NULL);
  assert_string_equal(r.gen_type, "generate");               /* too long: not a label */
  const char *const none[] = { "10.0.0.0/33" };
  assert_int_equal(cidr_list_parse(&gw.cfg.trusted_nets, none, 1, bad, sizeof bad), -1);
  assert_string_equal(bad, "10.0.0.0/33");
  cidr_list_free(&gw.cfg.trusted_nets);
}

static void test_end(void **state)
{
  ledger_row r;
  http_req *q = req(STREAM, "1.2.3.4", NULL, NULL);
  q->t0_us = mono_us() - 1500 * 1000;                         /* the head came 1.5 s ago */
  record_begin(&r, q, NULL, "m", NULL);
  record_end(&r, q->t0_us, 200, NULL, q->t0_us + 250 * 1000);
  assert_true(r.success);
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.error, "");
  assert_true(r.latency_ms >= 1500 && r.latency_ms < 60000);
  assert_int_equal(r.ttfb_ms, 250);
  record_begin(&r, q, NULL, "m", NULL);
  record_end(&r, q->t0_us, 200, "stream cut: reset", 0);             /* an error fails even a 200 */
  assert_false(r.success);
  assert_string_equal(r.error, "stream cut: reset");
  assert_int_equal(r.ttfb_ms, 0);                             /* nothing sent */
  record_begin(&r, q, NULL, "m", NULL);
  record_end(&r, q->t0_us, 429, "daily limit reached", 0);
  assert_false(r.success);
  assert_int_equal(r.http_status, 429);
}

/* A context cache's model and TTL, from its creation body (scanned, not parsed). */
static void test_cache_facts(void **state)
{
  char model[64];
  int64_t secs, now = 1800000000000LL;
  const char *b1 = "{\"contents\":[{\"role\": \"model\",\"parts\":[{\"text\":\"ttl\"}]}],"
                   "\"model\" : \"models/gemini-2.5-flash\", \"ttl\": \"7200.5s\"}";
  record_cache_facts(b1, strlen(b1), now, model, sizeof model, &secs);
  assert_string_equal(model, "gemini-2.5-flash");            /* the key, not "role": "model" */
  assert_int_equal(secs, 7201);
  const char *b2 = "{\"model\":\"gemini-2.5-pro\",\"expireTime\":\"2027-01-15T09:00:00Z\"}";   /* 1 h after now */
  record_cache_facts(b2, strlen(b2), now, model, sizeof model, &secs);
  assert_string_equal(model, "gemini-2.5-pro");
  assert_int_equal(secs, 3600);
  record_cache_facts("{}", 2, now, model, sizeof model, &secs);
  assert_string_equal(model, "");
  assert_int_equal(secs, 3600);                               /* Google's default: an hour */
  const char *b3 = "{\"model\":\"m\",\"ttl\":\"forever\"}";
  record_cache_facts(b3, strlen(b3), now, model, sizeof model, &secs);
  assert_int_equal(secs, 3600);
}

/* A batch creation's most: all its bytes as prompt, the first maxOutputTokens per request, the
 * inlined requests counted by their "request" keys (not "requests", not text). */
static void test_batch_estimate(void **state)
{
  int64_t prompt, out, n;
  const char *b = "{\"batch\":{\"inputConfig\":{\"requests\":{\"requests\":["
                  "{\"request\": {\"contents\":[{\"parts\":[{\"text\":\"say \\\"request\\\": no\"}]}],"
                  "\"generationConfig\":{\"maxOutputTokens\":50}}},"
                  "{\"request\":{\"contents\":[]},\"metadata\":{\"key\":\"b\"}}]}}}}";
  record_batch_estimate(b, strlen(b), &prompt, &out, &n);
  assert_int_equal(prompt, (int64_t)(strlen(b) + 3) / 4);
  assert_int_equal(out, 50);
  assert_int_equal(n, 2);
  const char *f = "{\"batch\":{\"inputConfig\":{\"fileName\":\"files/x\"}}}";
  record_batch_estimate(f, strlen(f), &prompt, &out, &n);
  assert_int_equal(out, -1);                                   /* the model's largest */
  assert_int_equal(n, 1);                                      /* a file's requests are not known */
  record_batch_estimate(NULL, 0, &prompt, &out, &n);
  assert_int_equal(prompt, 0);
  assert_int_equal(n, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_begin),
    cmocka_unit_test(test_end),
    cmocka_unit_test(test_cache_facts),
    cmocka_unit_test(test_batch_estimate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
