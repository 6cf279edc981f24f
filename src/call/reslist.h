/* reslist — tenancy for the list routes: GET {v}/files, {v}/cachedContents and {v}/batches answer
 * only the caller's own resources, merged across every upstream key that holds them.
 *
 * Upstream keys are shared by all users, so Google's own lists would show user A what user B
 * created on the same key (and nothing A made on the other keys).  The gateway answers from its
 * record of owners (pool/owners.h) instead: one page of the caller's names, newest first, each
 * read fresh from its owning key (GET {v}/{name}, all at once), in Google's shape —
 * {"files"|"cachedContents"|"operations":[…],"nextPageToken"} ({} when there are none).
 * pageSize: default 10, at most 100; pageToken: the gateway's own, opaque.  A resource whose
 * key answers 403/404 no longer exists upstream (deleted, expired): it is left out and forgotten.
 * A resource whose key left the pool or is out of service is left out.  Any other failure of a
 * read answers 502 naming the resource. */
#ifndef GEMGATE_RESLIST_H
#define GEMGATE_RESLIST_H

#include <stdbool.h>

#include "http/auth.h"
#include "http/http.h"

/* true when r is one of the list routes (and has been taken over: answered now or later). */
bool reslist_handle(http_req *r, const principal *who);

#endif
