/* store_pg — the PostgreSQL backend of the store (libpq; the interface: backend.h), for
 * GEMGATE_DB=postgres://... or postgresql://... (libpq's URL: user, password, host or
 * ?host=/socket/dir, port, database, parameters).  Only store.c includes this header.
 *
 * The dialect, seen from callers: `?`/`?N` become $N; integer bindings are bigint parameters;
 * integers come back from text (booleans as 1/0, a numeric SUM as its integer part); text
 * columns compare byte by byte (COLLATE "C"), as SQLite's do; two-argument scalar MAX/MIN on
 * integers exist (SQLite has them built in).  Each connection is one server session: its
 * statements are prepared on it, lazily, and again after a reconnect. */
#ifndef GEMGATE_STORE_PG_H
#define GEMGATE_STORE_PG_H

#include "store/backend.h"

extern const store_backend store_pg;

/* store_pg_schema.c: migration i brings a PostgreSQL database to version i+1, the same version
 * store_sqlite's migration i brings an SQLite file to. */
extern const char *const store_pg_migrations[];
int store_pg_version(void);

#endif
