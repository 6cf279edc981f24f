/* crypto — the few primitives the store needs, all from OpenSSL: random secrets, SHA-256, hex and
 * base64url, and AES-256-GCM for upstream keys at rest (GEMGATE_ENCRYPTION_KEY), through a
 * sealer that runs a passphrase through scrypt.  Thread-safe; the functions are stateless but
 * for the sealer (its own lock); what they return malloc'ed the caller frees. */
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

/* The AES-256 key GEMGATE_ENCRYPTION_KEY gave before passphrases went through a KDF: 64 hex
 * digits taken as the raw key, anything else one unsalted SHA-256.  The sealer opens "v1:"
 * values sealed so under a passphrase with it, once, to re-seal them.  false for "". */
bool crypto_derive_key(const char *setting, uint8_t key[CRYPTO_KEY_LEN]);

/* AES-256-GCM with a random 96-bit nonce.  crypto_seal returns "v1:" + base64url(nonce ‖
 * ciphertext ‖ tag), malloc'ed; crypto_open reverses it (malloc'ed plaintext, NUL-terminated)
 * and returns NULL when the text was altered or the key is wrong. */
char *crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *plain);
char *crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const char *sealed);

/* ---------- a sealer: GEMGATE_ENCRYPTION_KEY as the key of values at rest ---------- */

/* 64 hex digits: a raw AES-256 key, values "v1:" + crypto_seal's form.  Anything else: a
 * passphrase, through scrypt (N = 2^CRYPTO_SCRYPT_LOGN, r, p; a random 16-byte salt), values
 *   "v2:scrypt:<log2 N>:<r>:<p>:<salt, base64url>:<nonce ‖ ciphertext ‖ tag, base64url>"
 * — the parameters and salt travel with the value, so it opens whatever the defaults become.
 * One salt serves every value a sealer seals (the first it opens with today's parameters, else
 * a fresh one), so a store of many keys costs one derivation, not one per key; derived keys are
 * kept for the few salts seen. */
#define CRYPTO_SCRYPT_LOGN 15      /* N = 32768: 32 MiB and ~0.1 s per derivation */
#define CRYPTO_SCRYPT_R 8
#define CRYPTO_SCRYPT_P 1

typedef struct crypto_sealer crypto_sealer;

/* NULL for NULL or "" (values stay plain), or when out of memory. */
crypto_sealer *crypto_sealer_new(const char *setting);
void crypto_sealer_free(crypto_sealer *s);   /* wipes what it held */

/* The sealed form of plain (malloc'ed), or NULL. */
char *crypto_sealer_seal(crypto_sealer *s, const char *plain);

/* The plain text of a sealed value (malloc'ed), or NULL (altered, another key, not a sealed
 * form).  *stale (may be NULL): it opened, but should be sealed again — a "v1:" value under a
 * passphrase (the unsalted SHA-256 of old), or scrypt parameters below today's. */
char *crypto_sealer_open(crypto_sealer *s, const char *sealed, bool *stale);

#endif
