/* store_sqlite — the SQLite backend of the store (the interface it implements: backend.h).
 * Only store.c includes this header. */
#ifndef GEMGATE_STORE_SQLITE_H
#define GEMGATE_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"

extern const store_backend store_sqlite;

/* The schema version store_sqlite's migrations bring a database to. */
int store_sqlite_version(void);

#endif
