/* sharing — several instances as one gateway (issue 11): starts the shared state (shared/rshare.h)
 * when GEMGATE_REDIS is set, and reloads what another instance changed (settings, the key
 * list) from the shared database when its notice arrives.  Without GEMGATE_REDIS nothing runs
 * and gw->shared stays NULL: everything is in process, as before. */
#ifndef GEMGATE_SHARING_H
#define GEMGATE_SHARING_H

#include "http/server.h"

/* After persist_open (the store and the pool are loaded).  0, or -1 after logging why (a bad
 * GEMGATE_REDIS); a Redis that is not reachable yet is not an error. */
int sharing_start(gateway *gw);

/* Before persist_close.  Safe when sharing_start did nothing. */
void sharing_stop(gateway *gw);

#endif
