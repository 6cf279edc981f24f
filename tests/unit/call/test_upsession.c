/* upsession: the sessions behind the gateway's upload URLs — tokens, binding (the key= dropped),
 * expiry, the cap — and upload_strip_key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "call/upsession.h"

static const char *H = "abababababababababababababababababababababababababababababababab";

static void test_strip_key(void **state)
{
  char out[256];
  assert_true(upload_strip_key("https://g.example/upload/v1beta/files?key=AIzaSECRET&upload_id=U1&upload_protocol=resumable", out, sizeof out));
  assert_string_equal(out, "https://g.example/upload/v1beta/files?upload_id=U1&upload_protocol=resumable");
  assert_true(upload_strip_key("http://h/upload/v1/files?upload_id=U&key=AIza%2Dx", out, sizeof out));
  assert_string_equal(out, "http://h/upload/v1/files?upload_id=U");
  assert_true(upload_strip_key("http://h/u?key", out, sizeof out));
  assert_string_equal(out, "http://h/u");
  assert_true(upload_strip_key("http://h/u?keyring=1", out, sizeof out));
  assert_string_equal(out, "http://h/u?keyring=1");
  assert_false(upload_strip_key("http://h/a-long-url", out, 8));
}

static void test_sessions(void **state)
{
  uploads *u = uploads_new(2, 1000);
  principal who = { .user_id = 7 };
  char t1[UPLOAD_TOKEN_LEN + 1], t2[UPLOAD_TOKEN_LEN + 1], t3[UPLOAD_TOKEN_LEN + 1];
  assert_true(uploads_reserve(u, &who, 0, t1));
  assert_int_equal(strlen(t1), 32);
  for(size_t i = 0; i < 32; i++) assert_non_null(strchr("0123456789abcdef", t1[i]));
  upload_session s;
  assert_false(uploads_get(u, str_c(t1), 1, &s));          /* reserved, not bound: unusable */
  assert_true(uploads_bind(u, t1, "http://g/upload/v1beta/files?key=SECRET&upload_id=X", H));
  assert_false(uploads_bind(u, t1, "http://g/other", H));  /* bound once */
  assert_true(uploads_get(u, str_c(t1), 1, &s));
  assert_string_equal(s.url, "http://g/upload/v1beta/files?upload_id=X");
  uploads_remove(u, str_c(t1));
  assert_false(uploads_get(u, str_c(t1), 1, &s));
  char toolong[UPLOAD_URL_MAX + 10];
  memset(toolong, 'a', sizeof toolong - 1);
  toolong[sizeof toolong - 1] = '\0';
  assert_true(uploads_reserve(u, &who, 10, t1));
  assert_false(uploads_bind(u, t1, toolong, H));           /* cannot be kept: dropped */
  assert_int_equal(uploads_count(u), 0);
  assert_true(uploads_reserve(u, &who, 10, t1));
  assert_true(uploads_bind(u, t1, "http://g/upload/v1beta/files?key=SECRET&upload_id=X", H));
  assert_true(uploads_get(u, str_c(t1), 20, &s));
  assert_string_equal(s.url, "http://g/upload/v1beta/files?upload_id=X");
  assert_null(strstr(s.url, "SECRET"));
  assert_string_equal(s.key_hash, H);
  assert_int_equal(s.who.user_id, 7);
  assert_int_equal(s.expires_ms, 1010);
  assert_true(uploads_reserve(u, &who, 20, t2));
  assert_string_not_equal(t1, t2);
  assert_false(uploads_reserve(u, &who, 30, t3));         /* the cap */
  assert_false(uploads_get(u, str_c(t1), 1010, &s));      /* expired */
  assert_true(uploads_reserve(u, &who, 1011, t3));        /* expired ones make room */
  assert_false(uploads_get(u, STR("0123"), 0, &s));
  assert_false(uploads_get(u, STR("00000000000000000000000000000000"), 0, &s));
  uploads_remove(u, str_c(t3));
  assert_int_equal(uploads_count(u), 1);
  uploads_free(u);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strip_key),
    cmocka_unit_test(test_sessions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
