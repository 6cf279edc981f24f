/* crypto: AES-256-GCM round trips, tampering, key derivation, base64url; the sealer (raw keys,
 * passphrases through scrypt with their parameters in the value, the old unsalted form opened
 * once as stale).  Keys sealed at rest in the database: pool/test_keystore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

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

#define RAW "0001020304050607080910111213141516171819202122232425262728293031"
#define PASS "a passphrase, not a key"

static void test_sealer_raw_key(void **state)
{
  assert_null(crypto_sealer_new(NULL));
  assert_null(crypto_sealer_new(""));
  crypto_sealer *s = crypto_sealer_new(RAW);
  char *v = crypto_sealer_seal(s, "AIzaSecret");
  assert_int_equal(strncmp(v, "v1:", 3), 0);              /* a raw key needs no KDF: as before */
  uint8_t k[32];
  crypto_derive_key(RAW, k);
  char *p = crypto_open(k, v);
  assert_string_equal(p, "AIzaSecret");
  free(p);
  bool stale = true;
  p = crypto_sealer_open(s, v, &stale);
  assert_string_equal(p, "AIzaSecret");
  assert_false(stale);
  free(p);
  free(v);
  crypto_sealer_free(s);
}

static void test_sealer_passphrase(void **state)
{
  crypto_sealer *s = crypto_sealer_new(PASS);
  char *a = crypto_sealer_seal(s, "AIzaSecretOne"), *b = crypto_sealer_seal(s, "AIzaSecretTwo");
  assert_non_null(a);
  assert_int_equal(strncmp(a, "v2:scrypt:15:8:1:", 17), 0);   /* the parameters travel with it */
  assert_null(strstr(a, "Secret"));
  /* one salt for the sealer's values (one derivation per store), a nonce of their own */
  const char *sa = a + 17, *sb = b + 17;
  assert_int_equal(strchr(sa, ':') - sa, 22);                  /* 16 bytes, base64url */
  assert_memory_equal(sa, sb, 22);
  assert_string_not_equal(strchr(sa, ':'), strchr(sb, ':'));
  /* no longer the unsalted SHA-256 of the passphrase */
  uint8_t old[32];
  crypto_derive_key(PASS, old);
  char *v1 = malloc(strlen(a));
  snprintf(v1, strlen(a), "v1:%s", strchr(sa, ':') + 1);
  assert_null(crypto_open(old, v1));
  free(v1);
  /* another sealer with the passphrase opens them (a restart), and seals with their salt */
  crypto_sealer *t = crypto_sealer_new(PASS);
  bool stale = true;
  char *p = crypto_sealer_open(t, a, &stale);
  assert_string_equal(p, "AIzaSecretOne");
  assert_false(stale);
  free(p);
  char *c = crypto_sealer_seal(t, "AIzaSecretThree");
  assert_memory_equal(c + 17, sa, 22);
  /* the wrong passphrase, an altered value, altered parameters, absurd parameters: NULL */
  crypto_sealer *w = crypto_sealer_new("the wrong passphrase");
  assert_null(crypto_sealer_open(w, a, &stale));
  char *bad = strdup(a);
  bad[strlen(bad) - 3] ^= 1;
  assert_null(crypto_sealer_open(t, bad, &stale));
  memcpy(bad, a, strlen(a) + 1);
  bad[10] = '1'; bad[11] = '4';                                /* logN 14: another key */
  assert_null(crypto_sealer_open(t, bad, &stale));
  assert_null(crypto_sealer_open(t, "v2:scrypt:30:8:1:AAAAAAAAAAAAAAAAAAAAAA:AAAA", &stale));
  assert_null(crypto_sealer_open(t, "v2:scrypt:15:8:1:short:AAAA", &stale));
  assert_null(crypto_sealer_open(t, "v2:scrypt:15:8:", &stale));
  assert_null(crypto_sealer_open(t, "plain:x", &stale));
  /* a raw-key sealer does not take passphrase values */
  crypto_sealer *r = crypto_sealer_new(RAW);
  assert_null(crypto_sealer_open(r, a, &stale));
  free(bad); free(a); free(b); free(c);
  crypto_sealer_free(r);
  crypto_sealer_free(w);
  crypto_sealer_free(t);
  crypto_sealer_free(s);
}

/* Values sealed before the KDF (the unsalted SHA-256, "v1:") or with weaker scrypt parameters
 * still open — once, as stale, so the keystore seals them again. */
static void test_sealer_migration(void **state)
{
  crypto_sealer *s = crypto_sealer_new(PASS);
  uint8_t old[32];
  crypto_derive_key(PASS, old);
  char *legacy = crypto_seal(old, "AIzaLegacy");
  bool stale = false;
  char *p = crypto_sealer_open(s, legacy, &stale);
  assert_string_equal(p, "AIzaLegacy");
  assert_true(stale);
  free(p);
  /* weaker parameters (N = 2^10), sealed by hand */
  uint8_t salt[16] = { 1, 2, 3 }, k[32];
  assert_int_equal(EVP_PBE_scrypt(PASS, strlen(PASS), salt, 16, 1 << 10, 8, 1, 1 << 24, k, 32), 1);
  char *inner = crypto_seal(k, "AIzaWeak"), b64[32], weak[256];
  crypto_b64url(salt, 16, b64, sizeof b64);
  snprintf(weak, sizeof weak, "v2:scrypt:10:8:1:%s:%s", b64, inner + 3);
  p = crypto_sealer_open(s, weak, &stale);
  assert_string_equal(p, "AIzaWeak");
  assert_true(stale);
  free(p);
  /* its salt is not taken for new values: today's parameters get a salt of their own */
  char *n = crypto_sealer_seal(s, "AIzaNew");
  assert_memory_not_equal(n + 17, b64, 22);
  free(n); free(inner); free(legacy);
  crypto_sealer_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seal_open),
    cmocka_unit_test(test_sealer_raw_key),
    cmocka_unit_test(test_sealer_passphrase),
    cmocka_unit_test(test_sealer_migration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
