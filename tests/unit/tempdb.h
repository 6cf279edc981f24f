/* tempdb — a real SQLite store in a fresh temporary directory, for the unit tests that need a
 * database (no mocks: the same store, migrations and pool threads the gateway runs). */
#ifndef GEMGATE_TEST_TEMPDB_H
#define GEMGATE_TEST_TEMPDB_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

typedef struct tempdb {
  char dir[64], path[192];     /* /tmp/gg-<tag>-XXXXXX and its t.db */
  store *s;
  store_conn *c;               /* a connection of the test's own thread */
} tempdb;

/* Makes the directory and opens (migrates) t.db in it with `threads` pool threads and one
 * connection; fails the test on any error. */
static inline void tempdb_open(tempdb *t, const char *tag, int threads)
{
  snprintf(t->dir, sizeof t->dir, "/tmp/gg-%.20s-XXXXXX", tag);
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
  char err[256];
  t->s = store_open(t->path, threads, err, sizeof err);
  assert_non_null(t->s);
  t->c = store_connect(t->s, err, sizeof err);
  assert_non_null(t->c);
}

/* Closes the connection and the store, then removes the directory; 0 when all went. */
static inline int tempdb_close(tempdb *t)
{
  if(t->c) store_disconnect(t->c);
  if(t->s) store_close(t->s);
  t->c = NULL;
  t->s = NULL;
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
  return system(cmd);
}

#endif
