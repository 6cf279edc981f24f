/* crypto and keystore: AES-256-GCM round trips, tampering, key derivation; upstream keys sealed
 * at rest, re-sealed when a key is configured later, unreadable without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"
#include "pool/keystore.h"
#include "store/store.h"

static void test_seal_open(void **state)
{
  uint8_t k[32], k2[32];
  assert_true(crypto_derive_key("a passphrase", k));
  assert_true(crypto_derive_key("0001020304050607080910111213141516171819202122232425262728293031", k2));
  assert_int_equal(k2[0], 0);
  assert_int_equal(k2[31], 0x31);
  assert_false(crypto_derive_key("", k2));
  char *s = crypto_seal(k, "AIzaSyExampleSecret1234");
  char *t = crypto_seal(k, "AIzaSyExampleSecret1234");
  assert_non_null(s);
  assert_string_not_equal(s, t);                          /* random nonces */
  assert_null(strstr(s, "Example"));
  char *p = crypto_open(k, s);
  assert_string_equal(p, "AIzaSyExampleSecret1234");
  free(p);
  s[10] = s[10] == 'A' ? 'B' : 'A';                       /* tampered */
  assert_null(crypto_open(k, s));
  assert_null(crypto_open(k2, t));                        /* wrong key */
  assert_null(crypto_open(k, "v1:!!"));
  assert_null(crypto_open(k, "plain:x"));
  free(s);
  free(t);
  uint8_t raw[3] = { 0xfb, 0xff, 0x00 };
  char b[8];
  assert_int_equal(crypto_b64url(raw, 3, b, sizeof b), 4);
  assert_string_equal(b, "-_8A");
}

static int64_t stored_plain(store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT COUNT(*) FROM upstream_keys WHERE secret LIKE 'plain:%'");
  store_step(st);
  int64_t n = store_col_int(st, 0);
  store_reset(st);
  return n;
}

static void test_keystore_at_rest(void **state)
{
  char dir[] = "/tmp/gg-keys-XXXXXX", path[64], err[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  store *s = store_open(path, 1, err, sizeof err);
  store_conn *c = store_connect(s, err, sizeof err);
  store_do(c, "INSERT INTO upstream_keys (secret, hash, masked, enabled, created_at, updated_at)"
              " VALUES ('plain:AIzaFake-ok-1111', 'h1', 'AIza…1111', 1, 1, 1), ('plain:AIzaFake-ok-2222', 'h2', 'AIza…2222', 0, 1, 1)", NULL);
  keystore *ks = keystore_new(NULL);
  assert_int_equal(keystore_load(ks, c), 0);
  strlist l = { 0 };
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);                               /* the disabled one stays out */
  assert_string_equal(l.v[0], "AIzaFake-ok-1111");
  strlist_free(&l);
  keystore_free(ks);
  assert_int_equal(stored_plain(c), 2);
  ks = keystore_new("my passphrase");                     /* a key configured later seals them */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_free(ks);
  assert_int_equal(stored_plain(c), 0);
  ks = keystore_new("my passphrase");                     /* and they open again */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);
  strlist_free(&l);
  keystore_free(ks);
  ks = keystore_new("another");                           /* the wrong key: skipped, not crashed */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 0);
  keystore_free(ks);
  store_disconnect(c);
  store_close(s);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seal_open),
    cmocka_unit_test(test_keystore_at_rest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
