/* adminguard — the admin token against guessing; contract in adminguard.h. */
#include "http/adminguard.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "base/util.h"

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static unsigned char hkey[32];

static void key_init(void)
{
  if(RAND_bytes(hkey, sizeof hkey) != 1) memset(hkey, 0x5a, sizeof hkey);   /* still constant time */
}

static void digest(const void *p, size_t n, unsigned char out[32])
{
  unsigned int len = 32;
  if(!HMAC(EVP_sha256(), hkey, sizeof hkey, p, n, out, &len)) memset(out, 0, 32);
}

bool admin_token_eq(const char *configured, const char *sent, size_t n)
{
  if(!configured || !sent) return false;
  pthread_once(&key_once, key_init);
  unsigned char a[32], b[32];
  digest(configured, strlen(configured), a);
  digest(sent, n, b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

typedef struct slot {
  char ip[64];
  int64_t start;                 /* the window's first failure; 0: free */
  int fails;
} slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static slot slots[ADMIN_GUARD_SLOTS];

#define PROBE 8                  /* an address lives in one of 8 slots after its hash */

/* The address's live slot (mutex held); create: a free one of its 8, else the oldest of them. */
static slot *find(const char *ip, int64_t now, bool create)
{
  size_t h = (size_t)hash64(ip, strlen(ip));
  slot *free_s = NULL, *old = NULL;
  for(size_t i = 0; i < PROBE; i++) {
    slot *s = &slots[(h + i) % ADMIN_GUARD_SLOTS];
    if(s->start && now - s->start >= ADMIN_GUARD_WINDOW_MS) s->start = 0;   /* expired: free */
    if(!s->start) { if(!free_s) free_s = s; continue; }
    if(!strcmp(s->ip, ip)) return s;
    if(!old || s->start < old->start) old = s;
  }
  if(!create) return NULL;
  slot *s = free_s ? free_s : old;
  snprintf(s->ip, sizeof s->ip, "%s", ip);
  s->start = now;
  s->fails = 0;
  return s;
}

int64_t admin_guard_wait(const char *ip, int64_t now_ms)
{
  pthread_mutex_lock(&mu);
  slot *s = find(ip, now_ms, false);
  int64_t wait = s && s->fails >= ADMIN_GUARD_FAILS ? (s->start + ADMIN_GUARD_WINDOW_MS - now_ms + 999) / 1000 : 0;
  pthread_mutex_unlock(&mu);
  return wait > 0 ? wait : 0;
}

void admin_guard_fail(const char *ip, int64_t now_ms)
{
  pthread_mutex_lock(&mu);
  slot *s = find(ip, now_ms, true);
  bool limit = ++s->fails == ADMIN_GUARD_FAILS;
  pthread_mutex_unlock(&mu);
  if(limit)
    log_warn("admin: %d failed admin logins from %s within a minute; refusing it for the rest of the minute",
             ADMIN_GUARD_FAILS, ip);
}

void admin_guard_reset(void)
{
  pthread_mutex_lock(&mu);
  memset(slots, 0, sizeof slots);
  pthread_mutex_unlock(&mu);
}
