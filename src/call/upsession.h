/* upsession — the sessions behind the gateway's upload URLs (upload.h): token → the upstream's
 * upload URL (without its key=), the key that started it, the caller, the expiry.  In memory
 * only, at most `cap` at once, the oldest expiring first.  Thread-safe (one mutex); tokens are
 * compared in constant time. */
#ifndef GEMGATE_UPSESSION_H
#define GEMGATE_UPSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "users/principal.h"

#define UPLOADS_MAX 10000
#define UPLOAD_URL_MAX 2048
#define UPLOAD_TOKEN_LEN 32

typedef struct uploads uploads;

/* One session, as uploads_get copies it out. */
typedef struct upload_session {
  char url[UPLOAD_URL_MAX];          /* the upstream's upload URL without key= */
  char key_hash[65];
  principal who;
  int64_t expires_ms;
} upload_session;

uploads *uploads_new(size_t cap, int64_t ttl_ms);
void uploads_free(uploads *u);

/* A new session for who, not usable until bound: its token into token[UPLOAD_TOKEN_LEN + 1].
 * false when cap sessions are live (expired ones are dropped first) or randomness failed. */
bool uploads_reserve(uploads *u, const principal *who, int64_t now_ms, char *token);
/* Gives a reserved session its upstream URL (key= is removed here) and key.  false when the
 * token is unknown or the URL too long (the session is dropped then). */
bool uploads_bind(uploads *u, const char *token, const char *url, const char *key_hash);
/* A bound, unexpired session into *out. */
bool uploads_get(uploads *u, str token, int64_t now_ms, upload_session *out);
void uploads_remove(uploads *u, str token);
size_t uploads_count(uploads *u);

/* url without its key= query parameter into out (cap bytes); false when it does not fit. */
bool upload_strip_key(const char *url, char *out, size_t cap);

#endif
