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

/* True when the request carries the admin token.  Always false when none is configured. */
bool auth_admin(gateway *gw, const http_req *r);

#endif
