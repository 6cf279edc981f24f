/* auth — who is calling.  Client calls carry an access key as x-goog-api-key, ?key= or
 * Authorization: Bearer (or, last, x-api-key, as Anthropic's clients send it); admin calls carry GEMGATE_ADMIN_TOKEN as a Bearer token.  Access keys
 * are the static GEMGATE_ACCESS_KEYS (all of them user 0, "static") and the per-user keys of
 * users.h, checked against its in-memory cache (no database call on the request path). */
#ifndef GEMGATE_AUTH_H
#define GEMGATE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "http/server.h"
#include "users/principal.h"

typedef enum { AUTH_OK, AUTH_MISSING, AUTH_BAD } auth_result;


/* The credential the client sent, from whichever place it used first, percent-decoded into buf
 * (at most cap-1 bytes).  Returns its length, or -1 when there is none. */
int auth_credential(const http_req *r, char *buf, size_t cap);

auth_result auth_client(gateway *gw, const http_req *r, principal *out);

/* auth_client for routes of the gateway's own that take an access key: false when the caller
 * is not authenticated, after answering 401 in Google's error shape. */
bool auth_require(gateway *gw, http_req *r, principal *out);

/* True when the request carries the admin token, or comes from a web UI session
 * (auth_admin_session).  Always false when no token is configured. */
bool auth_admin(gateway *gw, const http_req *r);

/* The admin signed in through the web UI (session.h): a live session cookie, and for any
 * method but GET and HEAD the session's CSRF token as X-CSRF-Token. */
bool auth_admin_session(gateway *gw, const http_req *r);

/* The guard before an admin credential is looked at (http/adminguard.h): false after answering
 * 429 + Retry-After when the caller's address has failed too often within the minute. */
bool auth_admin_allowed(http_req *r);

/* An admin credential was sent and was wrong: counted against the caller's address. */
void auth_admin_failed(const http_req *r);

#endif
