/* upsession — upload sessions; contract in upsession.h. */
#include "call/upsession.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

#define BUCKETS 1024

typedef struct session {
  struct session *hnext, *newer, *older;
  char token[UPLOAD_TOKEN_LEN + 1];
  bool bound;
  upload_session s;
} session;

struct uploads {
  pthread_mutex_t mu;
  session *buckets[BUCKETS];
  session *newest, *oldest;          /* by start: the oldest expire first */
  size_t n, cap;
  int64_t ttl_ms;
};

uploads *uploads_new(size_t cap, int64_t ttl_ms)
{
  uploads *u = calloc(1, sizeof *u);
  if(!u) return NULL;
  u->cap = cap ? cap : UPLOADS_MAX;
  u->ttl_ms = ttl_ms > 0 ? ttl_ms : 24 * 3600000LL;
  pthread_mutex_init(&u->mu, NULL);
  return u;
}

void uploads_free(uploads *u)
{
  if(!u) return;
  for(session *x = u->newest, *next; x; x = next) { next = x->older; free(x); }
  pthread_mutex_destroy(&u->mu);
  free(u);
}

static size_t bucket(str token) { return hash64(token.p, token.n) % BUCKETS; }

static session *find(uploads *u, str token)
{
  if(token.n != UPLOAD_TOKEN_LEN) return NULL;
  for(session *x = u->buckets[bucket(token)]; x; x = x->hnext)
    if(secret_eq(x->token, UPLOAD_TOKEN_LEN, token.p, token.n)) return x;
  return NULL;
}

static void drop(uploads *u, session *x)
{
  session **pp = &u->buckets[bucket((str){ x->token, UPLOAD_TOKEN_LEN })];
  while(*pp != x) pp = &(*pp)->hnext;
  *pp = x->hnext;
  if(x->newer) x->newer->older = x->older; else u->newest = x->older;
  if(x->older) x->older->newer = x->newer; else u->oldest = x->newer;
  u->n--;
  free(x);
}

bool uploads_reserve(uploads *u, const principal *who, int64_t now_ms, char *token)
{
  uint8_t rnd[UPLOAD_TOKEN_LEN / 2];
  if(!crypto_random(rnd, sizeof rnd)) return false;
  session *x = calloc(1, sizeof *x);
  if(!x) return false;
  crypto_hex(rnd, sizeof rnd, x->token);
  x->s.who = *who;
  pthread_mutex_lock(&u->mu);
  x->s.expires_ms = now_ms + u->ttl_ms;
  while(u->oldest && u->oldest->s.expires_ms <= now_ms) drop(u, u->oldest);
  bool ok = u->n < u->cap;
  if(ok) {
    session **b = &u->buckets[bucket((str){ x->token, UPLOAD_TOKEN_LEN })];
    x->hnext = *b;
    *b = x;
    x->older = u->newest;
    if(u->newest) u->newest->newer = x; else u->oldest = x;
    u->newest = x;
    u->n++;
    memcpy(token, x->token, UPLOAD_TOKEN_LEN + 1);
  }
  pthread_mutex_unlock(&u->mu);
  if(!ok) free(x);
  return ok;
}

bool upload_strip_key(const char *url, char *out, size_t cap)
{
  const char *q = strchr(url, '?');
  size_t n = q ? (size_t)(q - url) : strlen(url);
  if(n >= cap) return false;
  memcpy(out, url, n);
  char sep = '?';
  for(const char *p = q ? q + 1 : NULL; p && *p; ) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    bool key = (len >= 4 && !memcmp(p, "key=", 4)) || (len == 3 && !memcmp(p, "key", 3));
    if(!key && len) {
      if(n + len + 2 > cap) return false;
      out[n++] = sep;
      memcpy(out + n, p, len);
      n += len;
      sep = '&';
    }
    p = amp ? amp + 1 : NULL;
  }
  out[n] = '\0';
  return true;
}

bool uploads_bind(uploads *u, const char *token, const char *url, const char *key_hash)
{
  pthread_mutex_lock(&u->mu);
  session *x = find(u, str_c(token));
  bool ok = x && !x->bound && upload_strip_key(url, x->s.url, sizeof x->s.url) && key_hash[0];
  if(ok) {
    snprintf(x->s.key_hash, sizeof x->s.key_hash, "%s", key_hash);
    x->bound = true;
  } else if(x && !x->bound) {        /* a start that cannot be continued: forget it */
    drop(u, x);
  }
  pthread_mutex_unlock(&u->mu);
  return ok;
}

bool uploads_get(uploads *u, str token, int64_t now_ms, upload_session *out)
{
  pthread_mutex_lock(&u->mu);
  session *x = find(u, token);
  bool ok = x && x->bound && x->s.expires_ms > now_ms;
  if(ok) *out = x->s;
  pthread_mutex_unlock(&u->mu);
  return ok;
}

void uploads_remove(uploads *u, str token)
{
  pthread_mutex_lock(&u->mu);
  session *x = find(u, token);
  if(x) drop(u, x);
  pthread_mutex_unlock(&u->mu);
}

size_t uploads_count(uploads *u)
{
  pthread_mutex_lock(&u->mu);
  size_t n = u->n;
  pthread_mutex_unlock(&u->mu);
  return n;
}
