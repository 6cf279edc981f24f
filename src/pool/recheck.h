/* recheck — the background re-test of invalid, disabled and suspect keys: a probe (probe.h) per
 * due key; a key that answers 200 comes back into the pool, a suspect one the upstream refuses
 * becomes invalid.  The same tick lists the upstream's models when the pool asks (catalog.h). */
#ifndef GEMGATE_RECHECK_H
#define GEMGATE_RECHECK_H

#include "base/config.h"
#include "pool/keypool.h"
#include "upstream/upstream.h"

/* Start probes for the keys of pool that are due, on up (a worker's upstream client: the
 * probes end on its loop) with cfg's upstream URL, timeout and proxies.  Called once a second
 * on one worker. */
void recheck_tick(keypool *pool, upstream *up, const config *cfg);

#endif
