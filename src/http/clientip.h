/* clientip — the address a call came from.  X-Forwarded-For is believed only when the peer is
 * one of GEMGATE_TRUSTED_PROXIES (addresses or CIDR blocks, IPv4 or IPv6): the list is walked
 * from the right, skipping trusted hops, and the first untrusted address is the client.  A
 * malformed entry stops the walk (the hop that added it is the client then). */
#ifndef GEMGATE_CLIENTIP_H
#define GEMGATE_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

typedef struct clientip_net clientip_net;

/* Parses a comma separated list of addresses/CIDRs.  Returns the number parsed, -1 on a bad
 * entry (with its text in bad).  Replaces the current list; call before the workers start. */
int clientip_set(const char *const *entries, size_t n, char *bad, size_t badcap);

/* True when ip (text) is in the trusted list. */
bool clientip_trusted(const char *ip);

/* The client address of r into out. */
void clientip_of(const http_req *r, char *out, size_t cap);

#endif
