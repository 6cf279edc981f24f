/* persist — what the gateway keeps in its database, opened at start and closed at stop: the
 * store, the price table, users and access keys, the upstream keys managed through the admin
 * API, the per-model meters and the ledger.  Everything the request path needs is loaded into
 * memory here, before the workers start. */
#ifndef GEMGATE_PERSIST_H
#define GEMGATE_PERSIST_H

#include "http/server.h"

#define PERSIST_DB_THREADS 2

/* Open GEMGATE_DB (migrating it), load the caches, start the ledger writer, and merge the
 * stored upstream keys into the pool.  0, or -1 after logging why. */
int persist_open(gateway *gw);

/* After server_run: drain the ledger (no recorded row is lost), then close everything. */
void persist_close(gateway *gw);

#endif
