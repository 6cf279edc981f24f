/* session — sign-in sessions and tickets; contract in session.h. */
#include "http/session.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

typedef struct entry {
  char id[SESSION_ID_CAP], csrf[SESSION_ID_CAP];
  int64_t expires;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry sessions[SESSION_MAX], tickets[SESSION_MAX];

static bool token(char out[SESSION_ID_CAP])
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char r[33];
  if(getrandom(r, 32, 0) != 32) return false;
  r[32] = 0;
  size_t n = 0;
  for(size_t i = 0; i < 33 && n < 43; i += 3) {
    uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)(i + 1 < 33 ? r[i + 1] : 0) << 8 | (i + 2 < 33 ? r[i + 2] : 0);
    for(int k = 3; k >= 0 && n < 43; k--) out[n++] = b64[(v >> (6 * k)) & 63];
  }
  out[43] = '\0';
  return true;
}

/* The slot for a new entry: a free or expired one, else the one expiring first. */
static entry *slot(entry *t, int64_t now)
{
  entry *best = &t[0];
  for(size_t i = 0; i < SESSION_MAX; i++) {
    if(!t[i].id[0] || t[i].expires <= now) return &t[i];
    if(t[i].expires < best->expires) best = &t[i];
  }
  return best;
}

static entry *find(entry *t, str id, int64_t now)
{
  entry *hit = NULL;
  if(id.n != 43) return NULL;
  for(size_t i = 0; i < SESSION_MAX; i++)   /* no early exit: the time does not tell which */
    if(t[i].id[0] && t[i].expires > now && secret_eq(t[i].id, 43, id.p, id.n) && !hit) hit = &t[i];
  return hit;
}

bool session_create(int64_t now, char id[SESSION_ID_CAP], char csrf[SESSION_ID_CAP])
{
  if(!token(id) || !token(csrf)) return false;
  pthread_mutex_lock(&mu);
  entry *e = slot(sessions, now);
  memcpy(e->id, id, SESSION_ID_CAP);
  memcpy(e->csrf, csrf, SESSION_ID_CAP);
  e->expires = now + SESSION_TTL_MS;
  pthread_mutex_unlock(&mu);
  return true;
}

bool session_valid(str id, int64_t now, char csrf[SESSION_ID_CAP])
{
  pthread_mutex_lock(&mu);
  entry *e = find(sessions, id, now);
  if(e && csrf) memcpy(csrf, e->csrf, SESSION_ID_CAP);
  pthread_mutex_unlock(&mu);
  return e != NULL;
}

void session_end(str id)
{
  pthread_mutex_lock(&mu);
  entry *e = find(sessions, id, INT64_MIN);
  if(e) memset(e, 0, sizeof *e);
  pthread_mutex_unlock(&mu);
}

bool session_ticket(int64_t now, char out[SESSION_ID_CAP])
{
  if(!token(out)) return false;
  pthread_mutex_lock(&mu);
  entry *e = slot(tickets, now);
  memcpy(e->id, out, SESSION_ID_CAP);
  e->expires = now + TICKET_TTL_MS;
  pthread_mutex_unlock(&mu);
  return true;
}

bool session_ticket_use(str t, int64_t now)
{
  pthread_mutex_lock(&mu);
  entry *e = find(tickets, t, now);
  if(e) memset(e, 0, sizeof *e);
  pthread_mutex_unlock(&mu);
  return e != NULL;
}

str session_cookie(str h, str name)
{
  if(!h.p) return (str){ NULL, 0 };              /* no Cookie header (and no NULL + 0) */
  const char *p = h.p, *end = h.p + h.n;
  while(p && p < end) {
    while(p < end && (*p == ' ' || *p == ';')) p++;
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if(!semi) semi = end;
    const char *eq = memchr(p, '=', (size_t)(semi - p));
    if(eq && str_eq((str){ p, (size_t)(eq - p) }, name)) return (str){ eq + 1, (size_t)(semi - eq - 1) };
    p = semi;
  }
  return (str){ NULL, 0 };
}
