/* crypto — OpenSSL-backed primitives; contract in crypto.h. */
#include "base/crypto.h"

#include <stdlib.h>
#include <string.h>

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
