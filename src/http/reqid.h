/* reqid — every request's id (X-Request-Id).  An id the client sent is kept only when the peer
 * is one of GEMGATE_TRUSTED_PROXIES and the id is 1..64 characters of [A-Za-z0-9._:-];
 * otherwise the gateway makes one: 16 hex digits, a random prefix per worker thread and a
 * counter, so ids do not repeat across workers or restarts.  The id is returned on every
 * response and carried in the request's log lines and ledger row. */
#ifndef GEMGATE_REQID_H
#define GEMGATE_REQID_H

#include <stdbool.h>

#include "base/util.h"
#include "http/http.h"

/* Sets r->rid (once; a second call keeps it).  No allocation, no syscall after a thread's first. */
void reqid_assign(http_req *r);

/* Whether v is an id the gateway would accept from a trusted proxy. */
bool reqid_valid(str v);

/* A fresh id into out (at least 17 bytes). */
void reqid_make(char *out);

#endif
