/* tempdb — a real SQLite store in a fresh temporary directory, for the unit tests that need a
 * database (no mocks: the same store, migrations and pool threads the gateway runs).  With
 * GEMGATE_TEST_PG set (`make test-pg`), a fresh database on that PostgreSQL server instead,
 * dropped by tempdb_close: the same tests then run on the other backend. */
#ifndef GEMGATE_TEST_TEMPDB_H
#define GEMGATE_TEST_TEMPDB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

typedef struct tempdb {
  char dir[64], path[192];     /* /tmp/gg-<tag>-XXXXXX and its t.db */
  char pg[40];                 /* the PostgreSQL database, "" on SQLite */
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
  char err[256], url[640], cmd[800];
  const char *base = getenv("GEMGATE_TEST_PG");
  t->pg[0] = '\0';
  if(base && *base) {          /* base with its database replaced by a new one */
    static int seq;
    snprintf(t->pg, sizeof t->pg, "tempdb_%d_%d", (int)getpid(), ++seq);
    snprintf(cmd, sizeof cmd, "psql '%s' -qXc 'CREATE DATABASE %s'", base, t->pg);
    assert_int_equal(system(cmd), 0);
    const char *auth = strstr(base, "://") + 3, *path = auth + strcspn(auth, "/?");
    snprintf(url, sizeof url, "%.*s/%s%s", (int)(path - base), base, t->pg, path + strcspn(path, "?"));
  }
  t->s = store_open(t->pg[0] ? url : t->path, threads, err, sizeof err);
  if(!t->s) fprintf(stderr, "tempdb: %s\n", err);
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
  char cmd[800];
  const char *base = getenv("GEMGATE_TEST_PG");
  if(t->pg[0] && base) {
    snprintf(cmd, sizeof cmd, "psql '%s' -qXc 'DROP DATABASE IF EXISTS %s WITH (FORCE)'", base, t->pg);
    if(system(cmd)) return -1;
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
  return system(cmd);
}

#endif
