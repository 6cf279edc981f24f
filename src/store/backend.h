/* backend — what a database backend of the store implements (store_sqlite.c, store_pg.c).
 * Only store.c and the backends include this header; callers see store.h.
 *
 * A handle `h` is one connection, a statement handle `st` one prepared statement of it; both
 * are used by one thread at a time.  Optional hooks are NULL when the backend has no use for
 * them (store.c then does the portable thing). */
#ifndef GEMGATE_STORE_BACKEND_H
#define GEMGATE_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct store_bulk_ops {
  void (*bind_int)(void *st, int idx, int64_t v);
  void (*bind_text)(void *st, int idx, const char *s);
  void (*bind_null)(void *st, int idx);
  store_rc (*step)(void *st);                                  /* queue the row */
  void (*reset)(void *st);                                     /* clear the next row's bindings */
  int (*flush)(void *st);
  void (*drop)(void *st);
  void (*finalize)(void *st);
} store_bulk_ops;

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

  /* Optional.  A statement whose steps only queue the row, sent by flush (store_prepare_bulk);
   * NULL: store.c uses prepare, every step runs at once. */
  void *(*prepare_bulk)(void *h, const char *sql);
  int (*flush)(void *h);                                       /* 0 or -1 */
  /* Optional: true once the connection to the server is gone (a network database); the
   * connection then reconnects by itself on its next use outside a transaction. */
  bool (*lost)(void *h);
  /* Optional: how the statements of prepare_bulk are bound and stepped, when they are not the
   * backend's ordinary statements (SQLite: the rows are kept and inserted many per statement).
   * flush sends what is queued (0 or -1, the error on the connection), drop forgets it; store.c
   * flushes at the connection's next other statement, store_flush and COMMIT, and drops at
   * ROLLBACK.  NULL: the ordinary hooks serve bulk statements too. */
  const struct store_bulk_ops *bulk;
  /* Optional: the last failure may pass on a retry (store_transient); NULL: never. */
  bool (*transient)(void *h);
  /* Optional: wait up to ms for a lock held by another connection (store_lock_wait). */
  void (*lock_wait)(void *h, int ms);
  /* Optional: keep at most kib KiB of pages cached on this connection (store_cache_limit). */
  void (*cache_limit)(void *h, int kib);
  /* Optional: reconnect now if lost (at most once a second); 0 when connected. */
  int (*ping)(void *h);
} store_backend;

#endif
