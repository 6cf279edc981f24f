/* auth: where the credential is taken from (x-goog-api-key, then ?key= percent-decoded, then
 * Authorization: Bearer), static and per-user access keys, and the admin token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/auth.h"
#include "store/store.h"
#include "tempdb.h"
#include "users/users.h"

static tempdb tdb;
static store *st;
static store_conn *sc;

static int setup(void **state)
{
  tempdb_open(&tdb, "auth", 1);
  st = tdb.s;
  sc = tdb.c;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

/* A request with the given query (may be NULL) and header pairs (name, value, ..., NULL). */
static http_req *req(const char *query, ...)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.method = STR("POST");
  r.path = STR("/v1beta/models/m:generateContent");
  r.query = query ? str_c(query) : (str){ NULL, 0 };
  va_list ap;
  va_start(ap, query);
  for(const char *name; (name = va_arg(ap, const char *)); ) {
    const char *value = va_arg(ap, const char *);
    r.hdr[r.nhdr++] = (http_header){ str_c(name), str_c(value) };
  }
  va_end(ap);
  return &r;
}

static const char *cred(const http_req *r)
{
  static char buf[512];
  int n = auth_credential(r, buf, sizeof buf);
  if(n < 0) return NULL;
  assert_int_equal((size_t)n, strlen(buf));
  return buf;
}

static void test_credential_precedence(void **state)
{
  /* all three: the header wins, then the query, then Bearer */
  assert_string_equal(cred(req("key=q", "Authorization", "Bearer b", "X-Goog-Api-Key", "h", NULL)), "h");
  assert_string_equal(cred(req("alt=sse&key=q", "Authorization", "Bearer b", NULL)), "q");
  assert_string_equal(cred(req("alt=sse", "Authorization", "Bearer b", NULL)), "b");
  /* an empty header or parameter does not count: the next place is looked at */
  assert_string_equal(cred(req("key=q", "x-goog-api-key", "", NULL)), "q");
  assert_string_equal(cred(req("key=", "Authorization", "Bearer b", NULL)), "b");
  assert_string_equal(cred(req("key", "Authorization", "Bearer b", NULL)), "b");
  /* the first x-goog-api-key header is the one */
  assert_string_equal(cred(req(NULL, "x-goog-api-key", "one", "x-goog-api-key", "two", NULL)), "one");
  /* nothing */
  assert_null(cred(req(NULL, NULL)));
  assert_null(cred(req("alt=sse&keys=x", "Host", "a", NULL)));
}

static void test_credential_forms(void **state)
{
  /* ?key= is percent-decoded ('+' is a space); headers are taken as they are */
  assert_string_equal(cred(req("key=a%2Bb%20c+d%3d", NULL)), "a+b c d=");
  assert_string_equal(cred(req("key=%zz%4", NULL)), "%zz%4");          /* not an escape: kept */
  assert_string_equal(cred(req(NULL, "x-goog-api-key", "a%2Bb+c", NULL)), "a%2Bb+c");
  /* Bearer: any case, blanks after it skipped; other schemes are no credential */
  assert_string_equal(cred(req(NULL, "authorization", "bEARER   tok", NULL)), "tok");
  assert_null(cred(req(NULL, "Authorization", "Bearer ", NULL)));
  assert_null(cred(req(NULL, "Authorization", "Bearer    ", NULL)));
  assert_null(cred(req(NULL, "Authorization", "Basic dXNlcjpwYXNz", NULL)));
  assert_null(cred(req(NULL, "Authorization", "Bearertok", NULL)));
  /* longer than the buffer: none at all */
  char big[600];
  memset(big, 'k', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_null(cred(req(NULL, "x-goog-api-key", big, NULL)));
  char buf[4];
  assert_int_equal(auth_credential(req(NULL, "x-goog-api-key", "abc", NULL), buf, sizeof buf), 3);
  assert_int_equal(auth_credential(req(NULL, "x-goog-api-key", "abcd", NULL), buf, sizeof buf), -1);
}

static void test_client_static_keys(void **state)
{
  static gateway gw;
  memset(&gw, 0, sizeof gw);
  strlist_split(&gw.cfg.access_keys, "first-key, second-key");
  principal p;
  memset(&p, 0xaa, sizeof p);
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "second-key", NULL), &p), AUTH_OK);
  assert_int_equal(p.static_key, 2);
  assert_int_equal(p.user_id, 0);
  assert_int_equal(p.access_key_id, 0);
  assert_string_equal(p.name, "static");
  assert_string_equal(p.label, "static#2");
  assert_int_equal(auth_client(&gw, req("key=first-key", NULL), &p), AUTH_OK);
  assert_int_equal(p.static_key, 1);
  assert_int_equal(auth_client(&gw, req(NULL, "Authorization", "Bearer first-key", NULL), &p), AUTH_OK);
  /* wrong, a prefix, another case: bad; none: missing */
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "third-key", NULL), &p), AUTH_BAD);
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "first-ke", NULL), &p), AUTH_BAD);
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "FIRST-KEY", NULL), &p), AUTH_BAD);
  assert_int_equal(auth_client(&gw, req(NULL, NULL), &p), AUTH_MISSING);
  /* a wrong key in the winning place is not rescued by a right one further down */
  assert_int_equal(auth_client(&gw, req("key=first-key", "x-goog-api-key", "nope", NULL), &p), AUTH_BAD);
  strlist_free(&gw.cfg.access_keys);
  /* no keys configured at all: every credential is bad */
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "first-key", NULL), &p), AUTH_BAD);
}

static void test_client_user_keys(void **state)
{
  static gateway gw;
  memset(&gw, 0, sizeof gw);
  strlist_split(&gw.cfg.access_keys, "static-key");
  gw.users = users_new();
  assert_non_null(gw.users);
  user_limits l = { 0 };
  json_t *out = NULL;
  assert_int_equal(users_create(gw.users, sc, "alice", &l, NULL, &out, NULL), GG_OK);
  char key[128];
  snprintf(key, sizeof key, "%s", json_string_value(json_object_get(out, "key")));
  int64_t uid = json_integer_value(json_object_get(out, "user_id"));
  json_decref(out);

  principal p;
  assert_int_equal(auth_client(&gw, req(NULL, "Authorization", "Bearer static-key", NULL), &p), AUTH_OK);
  assert_int_equal(p.static_key, 1);
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", key, NULL), &p), AUTH_OK);
  assert_int_equal(p.static_key, 0);
  assert_int_equal(p.user_id, uid);
  assert_true(p.access_key_id > 0);
  assert_string_equal(p.name, "alice");
  char q[160];
  snprintf(q, sizeof q, "alt=sse&key=%s", key);
  assert_int_equal(auth_client(&gw, req(q, NULL), &p), AUTH_OK);
  assert_int_equal(p.user_id, uid);
  key[strlen(key) - 1] ^= 1;                              /* one character off */
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", key, NULL), &p), AUTH_BAD);
  assert_int_equal(auth_client(&gw, req(NULL, "x-goog-api-key", "gg-nope", NULL), &p), AUTH_BAD);
  users_free(gw.users);
  strlist_free(&gw.cfg.access_keys);
}

static void test_admin_token(void **state)
{
  static gateway gw;
  memset(&gw, 0, sizeof gw);
  /* no token configured: nobody is admin, whatever they send */
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer ", NULL)));
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer anything", NULL)));
  assert_false(auth_admin(&gw, req(NULL, NULL)));
  gw.cfg.admin_token = "s3cret-admin";
  assert_true(auth_admin(&gw, req(NULL, "Authorization", "Bearer s3cret-admin", NULL)));
  assert_true(auth_admin(&gw, req(NULL, "authorization", "bearer s3cret-admin", NULL)));
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer s3cret-admin2", NULL)));
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer s3cret-admi", NULL)));
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer  s3cret-admin", NULL)));  /* exact */
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Bearer", NULL)));
  assert_false(auth_admin(&gw, req(NULL, "Authorization", "Basic s3cret-admin", NULL)));
  /* only as a Bearer token: not as an access key */
  assert_false(auth_admin(&gw, req("key=s3cret-admin", "x-goog-api-key", "s3cret-admin", NULL)));
  /* and the admin token is no access key */
  principal p;
  assert_int_equal(auth_client(&gw, req(NULL, "Authorization", "Bearer s3cret-admin", NULL), &p), AUTH_BAD);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_credential_precedence),
    cmocka_unit_test(test_credential_forms),
    cmocka_unit_test(test_client_static_keys),
    cmocka_unit_test_setup_teardown(test_client_user_keys, setup, teardown),
    cmocka_unit_test(test_admin_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
