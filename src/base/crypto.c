/* crypto — OpenSSL-backed primitives; contract in crypto.h. */
#include "base/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define NONCE_LEN 12
#define TAG_LEN 16

bool crypto_random(void *buf, size_t n)
{
  return n <= 0x7fffffff && RAND_bytes(buf, (int)n) == 1;
}

void crypto_sha256(const void *p, size_t n, uint8_t out[32])
{
  SHA256(p, n, out);
}

void crypto_hex(const uint8_t *p, size_t n, char *out)
{
  static const char hx[] = "0123456789abcdef";
  for(size_t i = 0; i < n; i++) { out[2 * i] = hx[p[i] >> 4]; out[2 * i + 1] = hx[p[i] & 15]; }
  out[2 * n] = '\0';
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int crypto_b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
  size_t need = (n * 4 + 2) / 3;
  if(need + 1 > cap) return -1;
  size_t o = 0;
  for(size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    if(i + 1 < n) out[o++] = B64[v >> 6 & 63];
    if(i + 2 < n) out[o++] = B64[v & 63];
  }
  out[o] = '\0';
  return (int)o;
}

/* Decodes base64url without padding; returns the length or -1 on a bad character. */
static long b64url_decode(const char *s, uint8_t *out, size_t cap)
{
  size_t n = strlen(s), o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for(size_t i = 0; i < n; i++) {
    const char *q = memchr(B64, s[i], 64);
    if(!q || !s[i]) return -1;
    acc = acc << 6 | (uint32_t)(q - B64);
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      if(o >= cap) return -1;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  return (long)o;
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9') return c - '0';
  if(c >= 'a' && c <= 'f') return c - 'a' + 10;
  if(c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool crypto_derive_key(const char *setting, uint8_t key[CRYPTO_KEY_LEN])
{
  if(!setting || !*setting) return false;
  if(strlen(setting) == 2 * CRYPTO_KEY_LEN) {
    bool hex = true;
    for(int i = 0; i < CRYPTO_KEY_LEN && hex; i++) {
      int a = hexval(setting[2 * i]), b = hexval(setting[2 * i + 1]);
      if(a < 0 || b < 0) hex = false;
      else key[i] = (uint8_t)(a << 4 | b);
    }
    if(hex) return true;
  }
  crypto_sha256(setting, strlen(setting), key);
  return true;
}

char *crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *plain)
{
  size_t n = strlen(plain);
  uint8_t *buf = malloc(NONCE_LEN + n + TAG_LEN);
  size_t cap = 3 + (NONCE_LEN + n + TAG_LEN) * 4 / 3 + 4;
  char *out = malloc(cap);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0, ok = buf && out && ctx && crypto_random(buf, NONCE_LEN) &&
                    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
                    EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &len, (const uint8_t *)plain, (int)n) == 1 &&
                    EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + len, &len) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if(ok) {
    memcpy(out, "v1:", 3);
    ok = crypto_b64url(buf, NONCE_LEN + n + TAG_LEN, out + 3, cap - 3) >= 0;
  }
  free(buf);
  if(!ok) { free(out); return NULL; }
  return out;
}

char *crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const char *sealed)
{
  if(strncmp(sealed, "v1:", 3)) return NULL;
  size_t cap = strlen(sealed);
  uint8_t *buf = malloc(cap);
  long n = buf ? b64url_decode(sealed + 3, buf, cap) : -1;
  if(n < NONCE_LEN + TAG_LEN) { free(buf); return NULL; }
  size_t clen = (size_t)n - NONCE_LEN - TAG_LEN;
  char *plain = malloc(clen + 1);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0, ok = plain && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
                    EVP_DecryptUpdate(ctx, (uint8_t *)plain, &len, buf + NONCE_LEN, (int)clen) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + NONCE_LEN + clen) == 1 &&
                    EVP_DecryptFinal_ex(ctx, (uint8_t *)plain + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  free(buf);
  if(!ok) { free(plain); return NULL; }
  plain[clen] = '\0';
  return plain;
}

/* ---------- the sealer ---------- */

#define SALT_LEN 16
#define KDF_SLOTS 4
#define SCRYPT_MEM_MAX (256u << 20)    /* parameters read from a value may not ask for more */

typedef struct kdf_slot {
  int logn, r, p;
  uint8_t salt[SALT_LEN];
  uint8_t key[CRYPTO_KEY_LEN];
} kdf_slot;

struct crypto_sealer {
  pthread_mutex_t mu;
  bool raw;                         /* 64 hex digits: key is the AES key */
  uint8_t key[CRYPTO_KEY_LEN];      /* raw: the key; passphrase: the legacy SHA-256 (v1 values) */
  char *pass;
  size_t passlen;
  bool salted;                      /* salt: the one new values get */
  uint8_t salt[SALT_LEN];
  kdf_slot slot[KDF_SLOTS];
  size_t nslot, next;               /* next: the slot to reuse when all are taken */
};

crypto_sealer *crypto_sealer_new(const char *setting)
{
  if(!setting || !*setting) return NULL;
  crypto_sealer *s = calloc(1, sizeof *s);
  if(!s) return NULL;
  pthread_mutex_init(&s->mu, NULL);
  crypto_derive_key(setting, s->key);
  s->raw = strlen(setting) == 2 * CRYPTO_KEY_LEN;
  for(size_t i = 0; s->raw && i < 2 * CRYPTO_KEY_LEN; i++) s->raw = hexval(setting[i]) >= 0;
  if(!s->raw) {
    s->passlen = strlen(setting);
    s->pass = malloc(s->passlen + 1);
    if(!s->pass) { crypto_sealer_free(s); return NULL; }
    memcpy(s->pass, setting, s->passlen + 1);
  }
  return s;
}

void crypto_sealer_free(crypto_sealer *s)
{
  if(!s) return;
  if(s->pass) OPENSSL_cleanse(s->pass, s->passlen);
  free(s->pass);
  OPENSSL_cleanse(s, sizeof *s);   /* keys, salts (the mutex is not in use any more) */
  free(s);
}

/* The key for (logn, r, p, salt), derived once and kept (mutex held).  NULL when scrypt fails. */
static const uint8_t *kdf(crypto_sealer *s, int logn, int r, int p, const uint8_t salt[SALT_LEN])
{
  for(size_t i = 0; i < s->nslot; i++) {
    kdf_slot *k = &s->slot[i];
    if(k->logn == logn && k->r == r && k->p == p && !memcmp(k->salt, salt, SALT_LEN)) return k->key;
  }
  kdf_slot fresh = { .logn = logn, .r = r, .p = p };
  memcpy(fresh.salt, salt, SALT_LEN);
  uint64_t mem = 128ull * (uint64_t)r * ((uint64_t)1 << logn) * (uint64_t)p;
  if(EVP_PBE_scrypt(s->pass, s->passlen, salt, SALT_LEN, (uint64_t)1 << logn, (uint64_t)r, (uint64_t)p,
                    mem + (1u << 20), fresh.key, CRYPTO_KEY_LEN) != 1) return NULL;
  kdf_slot *k = &s->slot[s->nslot < KDF_SLOTS ? s->nslot++ : s->next++ % KDF_SLOTS];
  *k = fresh;
  OPENSSL_cleanse(&fresh, sizeof fresh);
  return k->key;
}

char *crypto_sealer_seal(crypto_sealer *s, const char *plain)
{
  if(s->raw) return crypto_seal(s->key, plain);
  pthread_mutex_lock(&s->mu);
  if(!s->salted) s->salted = crypto_random(s->salt, SALT_LEN);
  const uint8_t *key = s->salted ? kdf(s, CRYPTO_SCRYPT_LOGN, CRYPTO_SCRYPT_R, CRYPTO_SCRYPT_P, s->salt) : NULL;
  uint8_t k[CRYPTO_KEY_LEN], salt[SALT_LEN];
  if(key) { memcpy(k, key, sizeof k); memcpy(salt, s->salt, SALT_LEN); }
  pthread_mutex_unlock(&s->mu);
  if(!key) return NULL;
  char *inner = crypto_seal(k, plain);
  OPENSSL_cleanse(k, sizeof k);
  char b64salt[32];
  crypto_b64url(salt, SALT_LEN, b64salt, sizeof b64salt);
  size_t cap = inner ? strlen(inner) + 64 : 0;
  char *out = inner ? malloc(cap) : NULL;
  if(out) snprintf(out, cap, "v2:scrypt:%d:%d:%d:%s:%s", CRYPTO_SCRYPT_LOGN, CRYPTO_SCRYPT_R, CRYPTO_SCRYPT_P,
                   b64salt, inner + 3);
  free(inner);
  return out;
}

/* A small decimal in [lo, hi] at *p, followed by ':'; moves *p past the colon.  -1 if not. */
static int param(const char **p, int lo, int hi)
{
  int v = 0, digits = 0;
  while(**p >= '0' && **p <= '9' && digits < 3) { v = v * 10 + (*(*p)++ - '0'); digits++; }
  if(!digits || **p != ':' || v < lo || v > hi) return -1;
  (*p)++;
  return v;
}

char *crypto_sealer_open(crypto_sealer *s, const char *sealed, bool *stale)
{
  bool old = false;
  char *plain = NULL;
  if(!strncmp(sealed, "v1:", 3)) {
    plain = crypto_open(s->key, sealed);
    old = plain && !s->raw;                        /* a passphrase's unsalted SHA-256 of old */
  } else if(!strncmp(sealed, "v2:scrypt:", 10) && !s->raw) {
    const char *p = sealed + 10;
    int logn = param(&p, 10, 24), r = logn < 0 ? -1 : param(&p, 1, 32), pp = r < 0 ? -1 : param(&p, 1, 16);
    const char *colon = pp < 0 ? NULL : strchr(p, ':');
    uint8_t salt[SALT_LEN + 2];
    char b64[32];
    if(!colon || (size_t)(colon - p) >= sizeof b64 ||
       128ull * (uint64_t)r * ((uint64_t)1 << logn) * (uint64_t)pp > SCRYPT_MEM_MAX) goto done;
    memcpy(b64, p, (size_t)(colon - p));
    b64[colon - p] = '\0';
    if(b64url_decode(b64, salt, sizeof salt) != SALT_LEN) goto done;
    pthread_mutex_lock(&s->mu);
    const uint8_t *key = kdf(s, logn, r, pp, salt);
    uint8_t k[CRYPTO_KEY_LEN];
    if(key) memcpy(k, key, sizeof k);
    bool current = logn >= CRYPTO_SCRYPT_LOGN && r >= CRYPTO_SCRYPT_R && pp >= CRYPTO_SCRYPT_P;
    pthread_mutex_unlock(&s->mu);
    if(!key) goto done;
    size_t n = strlen(colon + 1);
    char *v1 = malloc(n + 4);
    if(v1) {
      memcpy(v1, "v1:", 3);
      memcpy(v1 + 3, colon + 1, n + 1);
      plain = crypto_open(k, v1);
      free(v1);
    }
    OPENSSL_cleanse(k, sizeof k);
    old = plain && !current;
    /* Values opened with today's parameters lend their salt to the ones sealed next. */
    if(plain && current && logn == CRYPTO_SCRYPT_LOGN && r == CRYPTO_SCRYPT_R && pp == CRYPTO_SCRYPT_P) {
      pthread_mutex_lock(&s->mu);
      if(!s->salted) { memcpy(s->salt, salt, SALT_LEN); s->salted = true; }
      pthread_mutex_unlock(&s->mu);
    }
  }
done:
  if(stale) *stale = old;
  return plain;
}
