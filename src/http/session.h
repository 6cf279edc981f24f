/* session — the admin web UI's sign-in sessions and the short-lived tickets that stand for the
 * admin token where a header cannot be set (a browser's WebSocket or EventSource).
 *
 * A session is created by signing in with the admin token; the browser keeps its id in an
 * HttpOnly, SameSite=Strict cookie (SESSION_COOKIE) and sends its CSRF token, which only
 * same-origin script can read (from the sign-in answer or GET /admin/session), as X-CSRF-Token
 * with every request that changes something.  Sessions live in memory (a restart signs everyone
 * out), at most SESSION_MAX of them, for SESSION_TTL_MS each; the oldest goes when full.  A
 * ticket is good for one use within TICKET_TTL_MS.  Ids and tokens are 32 random bytes in
 * base64url; compared in constant time.  Thread-safe (one mutex; no I/O under it). */
#ifndef GEMGATE_SESSION_H
#define GEMGATE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

#define SESSION_COOKIE "gemgate_session"
#define SESSION_MAX 256
#define SESSION_TTL_MS (12LL * 3600 * 1000)
#define TICKET_TTL_MS (60LL * 1000)
#define SESSION_ID_CAP 48                /* 43 characters and the NUL */

/* A new session: its id and CSRF token into id and csrf.  false when out of randomness. */
bool session_create(int64_t now_ms, char id[SESSION_ID_CAP], char csrf[SESSION_ID_CAP]);

/* Whether id names a live session; its CSRF token into csrf (may be NULL). */
bool session_valid(str id, int64_t now_ms, char csrf[SESSION_ID_CAP]);

/* Ends the session id (sign-out); unknown ids are ignored. */
void session_end(str id);

/* A one-use ticket into out; false when out of randomness. */
bool session_ticket(int64_t now_ms, char out[SESSION_ID_CAP]);

/* Uses up ticket t: true once, within its lifetime. */
bool session_ticket_use(str t, int64_t now_ms);

/* The value of cookie name in a Cookie header's value, or {NULL, 0}. */
str session_cookie(str header, str name);

#endif
