/* clientip — the address a call came from.  X-Forwarded-For is believed only when the peer is
 * one of GEMGATE_TRUSTED_PROXIES (addresses or CIDR blocks, IPv4 or IPv6; parsed into the
 * config's trusted_nets, base/cidr.h): the list is walked from the right, skipping trusted
 * hops, and the first untrusted address is the client.  A malformed entry stops the walk (the
 * hop that added it is the client then). */
#ifndef GEMGATE_CLIENTIP_H
#define GEMGATE_CLIENTIP_H

#include <stddef.h>

#include "base/cidr.h"
#include "http/http.h"

/* The client address of r into out, trusting the proxies of r's worker's configuration. */
void clientip_of(const http_req *r, char *out, size_t cap);

/* clientip_of with the trusted blocks given: the pure walk over r's peer and headers. */
void clientip_from(const cidr_list *trusted, const http_req *r, char *out, size_t cap);

#endif
