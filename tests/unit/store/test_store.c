/* store: migrations, statements, the pool's delivery onto a loop, cancellation, backup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "store/store.h"
#include "store/store_sqlite.h"

static char dir[64], path[192];

static int setup(void **state)
{
  snprintf(dir, sizeof dir, "/tmp/gg-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  return 0;
}

static int teardown(void **state)
{
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static store *open_ok(int threads)
{
  char err[256] = "";
  store *s = store_open(path, threads, err, sizeof err);
  if(!s) fprintf(stderr, "store_open: %s\n", err);
  assert_non_null(s);
  return s;
}

static int64_t count(store_conn *c, const char *sql)
{
  store_stmt *st = store_prepare(c, sql);
  assert_non_null(st);
  assert_int_equal(store_step(st), STORE_ROW);
  int64_t n = store_col_int(st, 0);
  store_reset(st);
  return n;
}

static void test_migrations_once(void **state)
{
  store *s = open_ok(1);
  char err[256];
  store_conn *c = store_connect(s, err, sizeof err);
  assert_int_equal(count(c, "SELECT MAX(version) FROM schema_migrations"), store_sqlite_version());
  assert_int_equal(count(c, "SELECT COUNT(*) FROM schema_migrations"), store_sqlite_version());
  store_disconnect(c);
  store_close(s);
  s = open_ok(1);                                        /* reopening applies nothing twice */
  c = store_connect(s, err, sizeof err);
  assert_int_equal(count(c, "SELECT COUNT(*) FROM schema_migrations"), store_sqlite_version());
  store_stmt *st = store_prepare(c, "PRAGMA journal_mode");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_string_equal(store_col_text(st, 0), "wal");
  store_reset(st);
  store_disconnect(c);
  store_close(s);
}

static void test_statements(void **state)
{
  store *s = open_ok(1);
  char err[256];
  store_conn *c = store_connect(s, err, sizeof err);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)", "tti", "a", "x'); DROP TABLE users; --", (int64_t)1), 1);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)", "tti", "a", "y", (int64_t)2), -2);
  assert_int_equal(count(c, "SELECT COUNT(*) FROM users"), 0);     /* the "injection" was a value */
  store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  store_stmt *again = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  assert_ptr_equal(st, again);                                      /* cached by text */
  store_bind_text(st, 1, "a");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_string_equal(store_col_text(st, 0), "x'); DROP TABLE users; --");
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);
  assert_int_equal(store_begin(c), 0);
  store_do(c, "DELETE FROM settings", NULL);
  store_rollback(c);
  assert_int_equal(count(c, "SELECT COUNT(*) FROM settings"), 1);
  assert_null(store_prepare(c, "SELEKT nonsense"));
  /* More distinct statements than the cache holds: the oldest are finalized, all still work. */
  for(int i = 0; i < 100; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d", i);
    assert_int_equal(count(c, sql), i);
  }
  store_disconnect(c);
  store_close(s);
}

/* ---- the pool ---- */

/* dropped is atomic: drop runs on a store thread (store.h), the test reads it after a sleep. */
typedef struct job { int n, done; atomic_int dropped; struct event_base *base; int *finished; } job;

static void work(store_conn *c, void *arg)
{
  job *j = arg;
  j->n = (int)count(c, "SELECT COUNT(*) FROM prices") + 7;
}

static void slow_work(store_conn *c, void *arg) { usleep(100000); work(c, arg); }

static void done(void *arg)
{
  job *j = arg;
  j->done++;
  if(++*j->finished == 8) event_base_loopbreak(j->base);
}

static void drop(void *arg) { ((job *)arg)->dropped++; }

static void stop_loop(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(arg); }

static void test_pool_delivers_on_the_loop(void **state)
{
  evthread_use_pthreads();
  store *s = open_ok(3);
  struct event_base *base = event_base_new();
  int finished = 0;
  job jobs[8];
  for(int i = 0; i < 8; i++) {
    jobs[i] = (job){ .base = base, .finished = &finished };
    assert_non_null(store_submit(s, base, work, done, drop, &jobs[i]));
  }
  /* A pending timer keeps the loop running, as a worker's listener and tick do. */
  struct event *keep = evtimer_new(base, stop_loop, base);
  struct timeval ten = { 10, 0 };
  evtimer_add(keep, &ten);
  event_base_dispatch(base);
  event_free(keep);
  for(int i = 0; i < 8; i++) {
    assert_int_equal(jobs[i].done, 1);
    assert_int_equal(jobs[i].dropped, 0);
    assert_int_equal(jobs[i].n, 7);
  }
  event_base_free(base);
  store_close(s);
}

static void test_cancel(void **state)
{
  store *s = open_ok(1);
  struct event_base *base = event_base_new();
  int finished = 0;
  job a = { .base = base, .finished = &finished }, b = a;
  store_job *ja = store_submit(s, base, slow_work, done, drop, &a);   /* running when cancelled */
  store_job *jb = store_submit(s, base, work, done, drop, &b);        /* still queued */
  usleep(20000);
  store_cancel(ja);
  store_cancel(jb);
  usleep(250000);
  struct timeval tv = { 0, 50000 };
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
  assert_int_equal(a.done + b.done, 0);
  assert_int_equal(a.dropped, 1);
  assert_int_equal(b.dropped, 1);
  /* Finished but not yet delivered (the loop has not run): cancel drops it at once. */
  job c = { .base = base, .finished = &finished };
  store_job *jc = store_submit(s, base, work, done, drop, &c);
  usleep(100000);
  store_cancel(jc);
  assert_int_equal(c.dropped, 1);
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
  assert_int_equal(c.done, 0);
  event_base_free(base);
  store_close(s);
}

static void test_backup(void **state)
{
  store *s = open_ok(1);
  char err[256], to[160];
  store_conn *c = store_connect(s, err, sizeof err);
  store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES ('k', 'v', 1)", NULL);
  snprintf(to, sizeof to, "%s/backup.db", dir);
  assert_int_equal(store_backup(c, to, err, sizeof err), 0);
  assert_int_equal(store_backup(c, to, err, sizeof err), -1);          /* never overwrites */
  assert_non_null(strstr(err, "exists"));
  store_disconnect(c);
  store_close(s);
  snprintf(path, sizeof path, "%s", to);                                /* the copy opens and has the row */
  s = open_ok(1);
  c = store_connect(s, err, sizeof err);
  assert_int_equal(count(c, "SELECT COUNT(*) FROM settings WHERE value = 'v'"), 1);
  store_disconnect(c);
  store_close(s);
}

/* A PostgreSQL URL selects that backend: a server that is not there fails the start clearly
 * (tests/unit/store/test_store_pg.c tests a real one), and a URL in a log line loses its password. */
static void test_postgres_url(void **state)
{
  char err[256] = "", out[160];
  assert_null(store_open("postgres://x@/z?host=/nonexistent-dir&connect_timeout=1", 1, err, sizeof err));
  assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
  assert_null(store_open("/nonexistent-dir/x/y.db", 1, err, sizeof err));
  store_url_redact("postgresql://gg:s3cret@db.internal:5432/gemgate?sslmode=require", out, sizeof out);
  assert_string_equal(out, "postgresql://gg:***@db.internal:5432/gemgate?sslmode=require");
  store_url_redact("postgres://gg@db/gemgate?sslmode=require&password=s3cret&x=1", out, sizeof out);
  assert_string_equal(out, "postgres://gg@db/gemgate?sslmode=require&password=***&x=1");
  store_url_redact("postgres://db/gemgate", out, sizeof out);
  assert_string_equal(out, "postgres://db/gemgate");
  store_url_redact("/var/lib/gemgate/a:b@c.db", out, sizeof out);         /* a file name stays as it is */
  assert_string_equal(out, "/var/lib/gemgate/a:b@c.db");
}

/* On SQLite a bulk statement is an ordinary one: each step inserts at once. */
static void test_bulk_on_sqlite(void **state)
{
  store *s = open_ok(1);
  char err[256];
  store_conn *c = store_connect(s, err, sizeof err);
  assert_int_equal(store_begin(c), 0);
  for(int round = 0; round < 2; round++) {
    store_stmt *st = store_prepare_bulk(c, "INSERT INTO usage_dim (dim, day, value, status, calls) VALUES (?, ?, ?, ?, ?)"
                                           " ON CONFLICT (dim, day, value, status) DO UPDATE SET calls = usage_dim.calls + excluded.calls");
    assert_non_null(st);
    store_bind_text(st, 1, "all");
    store_bind_int(st, 2, -1);
    store_bind_text(st, 3, "");
    store_bind_text(st, 4, "success");
    store_bind_int(st, 5, 5);
    assert_int_equal(store_step(st), STORE_DONE);
    store_reset(st);
    assert_int_equal(count(c, "SELECT SUM(calls) FROM usage_dim"), 5 * (round + 1));
  }
  assert_int_equal(store_flush(c), 0);
  assert_int_equal(store_commit(c), 0);
  assert_false(store_conn_lost(c));
  assert_false(store_is_down(s));
  store_disconnect(c);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_migrations_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_delivers_on_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_on_sqlite, setup, teardown),
    cmocka_unit_test(test_postgres_url),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
