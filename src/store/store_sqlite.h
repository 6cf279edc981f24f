/* store_sqlite — the SQLite backend of the store, and the backend interface every backend
 * implements (a PostgreSQL one would be store_pg.c with its own migrations).  Only store.c
 * includes this header. */
#ifndef GEMGATE_STORE_SQLITE_H
#define GEMGATE_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct store_backend {
  const char *name;
  void *(*open)(const char *target, char *err, size_t cap);   /* a connection handle */
  int (*migrate)(void *h, char *err, size_t cap);              /* once, at store_open */
  void (*close)(void *h);
  void *(*prepare)(void *h, const char *sql);
  void (*finalize)(void *st);
  void (*bind_int)(void *st, int idx, int64_t v);
  void (*bind_text)(void *st, int idx, const char *s);
  void (*bind_null)(void *st, int idx);
  store_rc (*step)(void *st);
  int64_t (*col_int)(void *st, int i);
  const char *(*col_text)(void *st, int i);
  bool (*col_null)(void *st, int i);
  void (*reset)(void *st);                                     /* and clear bindings */
  int (*exec)(void *h, const char *sql);
  int64_t (*changes)(void *h);
  const char *(*errmsg)(void *h);
  int (*backup)(void *h, const char *path, char *err, size_t cap);
  const char *begin_sql;                                       /* a write transaction */
} store_backend;

extern const store_backend store_sqlite;

/* The schema version store_sqlite's migrations bring a database to. */
int store_sqlite_version(void);

#endif
