/* crypto — the few primitives the store needs, all from OpenSSL: random secrets, SHA-256, hex and
 * base64url, and AES-256-GCM for upstream keys at rest (GEMGATE_ENCRYPTION_KEY).  Stateless and
 * thread-safe; nothing here allocates except crypto_seal/crypto_open (caller frees). */
#ifndef GEMGATE_CRYPTO_H
#define GEMGATE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32

/* n bytes from OpenSSL's CSPRNG.  false if it failed (then buf must not be used). */
bool crypto_random(void *buf, size_t n);

/* SHA-256 of p[0..n) into out[32]. */
void crypto_sha256(const void *p, size_t n, uint8_t out[32]);

/* Lower-case hex of p[0..n) into out (2n+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *p, size_t n, char *out);

/* base64url without padding of p[0..n) into out (cap bytes).  Returns the length, or -1 if it
 * does not fit. */
int crypto_b64url(const uint8_t *p, size_t n, char *out, size_t cap);

/* The AES-256 key from GEMGATE_ENCRYPTION_KEY: 64 hex digits are taken as the raw key, anything
 * else is hashed with SHA-256 (so use a long random passphrase).  false for an empty string. */
bool crypto_derive_key(const char *setting, uint8_t key[CRYPTO_KEY_LEN]);

/* AES-256-GCM with a random 96-bit nonce.  crypto_seal returns "v1:" + base64url(nonce ‖
 * ciphertext ‖ tag), malloc'ed; crypto_open reverses it (malloc'ed plaintext, NUL-terminated)
 * and returns NULL when the text was altered or the key is wrong. */
char *crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *plain);
char *crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const char *sealed);

#endif
