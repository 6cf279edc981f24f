/* crypto: AES-256-GCM round trips, tampering, key derivation, base64url.  Keys sealed at rest in
 * the database: pool/test_keystore. */
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

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seal_open),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
