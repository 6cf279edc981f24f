/* auth — who is calling.  Client calls carry an access key as x-goog-api-key, ?key= or
 * Authorization: Bearer; admin calls carry GEMGATE_ADMIN_TOKEN as a Bearer token.  Today the
 * access keys are the static GEMGATE_ACCESS_KEYS; per-user keys with quotas slot in here, behind
 * the same principal. */
#ifndef GEMGATE_AUTH_H
#define GEMGATE_AUTH_H

#include <stdbool.h>

#include "http.h"
#include "server.h"

typedef enum { AUTH_OK, AUTH_MISSING, AUTH_BAD } auth_result;

typedef struct principal {
  int static_key;          /* 1-based index into GEMGATE_ACCESS_KEYS, or 0 */
  char label[32];          /* for logs: "static#2" — never the key itself */
} principal;

/* The credential the client sent, from whichever place it used first, percent-decoded into buf
 * (at most cap-1 bytes).  Returns its length, or -1 when there is none. */
int auth_credential(const http_req *r, char *buf, size_t cap);

auth_result auth_client(gateway *gw, const http_req *r, principal *out);

/* True when the request carries the admin token.  Always false when none is configured. */
bool auth_admin(gateway *gw, const http_req *r);

#endif
