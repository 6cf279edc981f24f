/* store on PostgreSQL: migrations (once, also when instances start together; the same schema as
 * SQLite's), the dialect seen through the portable subset, bulk rows by COPY, the pool, and a
 * lost connection.  Needs a server: GEMGATE_TEST_PG=<url of a database to create others from>
 * (`make test` starts one with scripts/pg.sh); without it every test is skipped.  Each test
 * gets a fresh database, dropped afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"

static const char *base_url;      /* GEMGATE_TEST_PG */
static PGconn *admin;             /* on base: creates, drops, cuts connections */
static char url[700], dbname[64];
static int seq;

/* base_url with its database replaced by name. */
static void url_of(const char *name, char *out, size_t cap)
{
  const char *auth = strstr(base_url, "://") + 3;
  const char *path = auth + strcspn(auth, "/?");
  const char *query = path + strcspn(path, "?");
  snprintf(out, cap, "%.*s/%s%s", (int)(path - base_url), base_url, name, query);
}

static void sql_admin(const char *fmt, ...)
{
  char sql[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  PGresult *r = PQexec(admin, sql);
  ExecStatusType es = PQresultStatus(r);
  if(es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
  assert_true(es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK);
  PQclear(r);
}

static void quiet(void *arg, const char *msg) { (void)arg; (void)msg; }

static int group_setup(void **state)
{
  base_url = getenv("GEMGATE_TEST_PG");
  if(!base_url || !*base_url) { fprintf(stderr, "test_store_pg: GEMGATE_TEST_PG is not set: skipped\n"); base_url = NULL; return 0; }
  admin = PQconnectdb(base_url);
  if(PQstatus(admin) != CONNECTION_OK) { fprintf(stderr, "test_store_pg: %s", PQerrorMessage(admin)); return -1; }
  PQsetNoticeProcessor(admin, quiet, NULL);
  return 0;
}

static int group_teardown(void **state) { PQfinish(admin); return 0; }

/* A fresh database for the test (skips the test without a server). */
static int setup(void **state)
{
  if(!base_url) return 0;
  snprintf(dbname, sizeof dbname, "gg_unit_%d_%d", (int)getpid(), ++seq);
  sql_admin("CREATE DATABASE %s", dbname);
  url_of(dbname, url, sizeof url);
  return 0;
}

static int teardown(void **state)
{
  if(base_url) sql_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
  return 0;
}

#define NEED_PG() do { if(!base_url) skip(); } while(0)

static store *open_ok(int threads)
{
  char err[512] = "";
  store *s = store_open(url, threads, err, sizeof err);
  if(!s) fprintf(stderr, "store_open: %s\n", err);
  assert_non_null(s);
  return s;
}

static store_conn *conn_ok(store *s)
{
  char err[512];
  store_conn *c = store_connect(s, err, sizeof err);
  assert_non_null(c);
  return c;
}

static int64_t one_int(store_conn *c, const char *sql)
{
  store_stmt *st = store_prepare(c, sql);
  assert_non_null(st);
  assert_int_equal(store_step(st), STORE_ROW);
  int64_t n = store_col_int(st, 0);
  store_reset(st);
  return n;
}

/* ---- migrations ---- */

/* "name|type|notnull|default" per column, in order, for each table (tables sorted), and the
 * index names: what both schemas must agree on. */
static void describe(store_conn *c, bool pg, char *out, size_t cap)
{
  size_t n = 0;
  out[0] = '\0';
  const char *tables_sql = pg ? "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                                " ORDER BY 1"
                              : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1";
  char tables[32][64];
  int nt = 0;
  store_stmt *st = store_prepare(c, tables_sql);
  assert_non_null(st);
  while(store_step(st) == STORE_ROW && nt < 32) snprintf(tables[nt++], sizeof tables[0], "%s", store_col_text(st, 0));
  store_reset(st);
  for(int t = 0; t < nt; t++) {
    n += (size_t)snprintf(out + n, cap - n, "%s:", tables[t]);
    st = store_prepare(c, pg ? "SELECT column_name, data_type, is_nullable = 'NO', column_default, COALESCE(collation_name, '')"
                               " FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
                               " ORDER BY ordinal_position"
                             : "SELECT name, type, \"notnull\" OR pk > 0, dflt_value, '' FROM pragma_table_info(?)");
    assert_non_null(st);
    store_bind_text(st, 1, tables[t]);
    while(store_step(st) == STORE_ROW) {
      const char *type = store_col_text(st, 1), *def = store_col_text(st, 3), *coll = store_col_text(st, 4);
      char d[64] = "";
      if(def) snprintf(d, sizeof d, "%.*s", (int)strcspn(def, ":"), def);   /* PostgreSQL's ''::text → '' */
      type = !strcmp(type, "bigint") ? "INTEGER" : !strcmp(type, "text") ? "TEXT" : type;
      if(pg && !strcmp(type, "TEXT")) assert_string_equal(coll, "C");          /* compares bytes, as SQLite */
      n += (size_t)snprintf(out + n, cap - n, " %s|%s|%lld|%s", store_col_text(st, 0), type,
                            (long long)store_col_int(st, 2), d);
    }
    store_reset(st);
    n += (size_t)snprintf(out + n, cap - n, "\n");
  }
  st = store_prepare(c, pg ? "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                             " AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY 1"   /* not PK/UNIQUE's */
                           : "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY 1");
  assert_non_null(st);
  n += (size_t)snprintf(out + n, cap - n, "indexes:");
  while(store_step(st) == STORE_ROW) n += (size_t)snprintf(out + n, cap - n, " %s", store_col_text(st, 0));
  store_reset(st);
  assert_true(n < cap);
}

static void test_migrations_once_same_schema_as_sqlite(void **state)
{
  NEED_PG();
  assert_int_equal(store_pg_version(), store_sqlite_version());   /* every SQLite migration is ported */
  store *s = open_ok(1);
  store_conn *c = conn_ok(s);
  assert_int_equal(one_int(c, "SELECT MAX(version) FROM schema_migrations"), store_pg_version());
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM schema_migrations"), store_pg_version());
  static char pg[16384], sq[16384];
  describe(c, true, pg, sizeof pg);
  store_disconnect(c);
  store_close(s);
  s = open_ok(1);                                        /* reopening applies nothing twice */
  c = conn_ok(s);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM schema_migrations"), store_pg_version());
  store_disconnect(c);
  store_close(s);

  char dir[] = "/tmp/gg-pgschema-XXXXXX", path[64], err[256], cmd[80];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  s = store_open(path, 1, err, sizeof err);
  assert_non_null(s);
  c = conn_ok(s);
  describe(c, false, sq, sizeof sq);
  store_disconnect(c);
  store_close(s);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  if(strcmp(pg, sq)) fprintf(stderr, "PostgreSQL:\n%s\nSQLite:\n%s\n", pg, sq);
  assert_string_equal(pg, sq);
}

static void *open_in_thread(void *arg)
{
  char err[512];
  store *s = store_open(url, 1, err, sizeof err);
  if(!s) fprintf(stderr, "store_open: %s\n", err);
  return s;
}

static void test_instances_starting_together_migrate_once(void **state)
{
  NEED_PG();
  pthread_t t[6];
  for(int i = 0; i < 6; i++) pthread_create(&t[i], NULL, open_in_thread, NULL);
  store *s[6];
  for(int i = 0; i < 6; i++) { pthread_join(t[i], (void **)&s[i]); assert_non_null(s[i]); }
  store_conn *c = conn_ok(s[0]);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM schema_migrations"), store_pg_version());
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM users"), 0);
  store_disconnect(c);
  for(int i = 0; i < 6; i++) store_close(s[i]);
}

/* ---- the dialect ---- */

static void test_statements(void **state)
{
  NEED_PG();
  store *s = open_ok(1);
  store_conn *c = conn_ok(s);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)", "tti", "a", "x'); DROP TABLE users; --", (int64_t)1), 1);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)", "tti", "a", "y", (int64_t)2), -2);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM users"), 0);           /* the "injection" was a value */
  store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  assert_ptr_equal(st, store_prepare(c, "SELECT value FROM settings WHERE name = ?"));   /* cached by text */
  store_bind_text(st, 1, "a");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_string_equal(store_col_text(st, 0), "x'); DROP TABLE users; --");
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);

  /* A time in ms next to an integer literal: a bigint parameter, not an overflowing int4. */
  st = store_prepare(c, "SELECT ? / 3600000, ? * 1000, 'what?', ?");
  store_bind_int(st, 1, 1764612000000LL);
  store_bind_int(st, 2, 1764612000LL);
  store_bind_text(st, 3, "third");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_int_equal(store_col_int(st, 0), 490170);
  assert_int_equal(store_col_int(st, 1), 1764612000000LL);
  assert_string_equal(store_col_text(st, 2), "what?");                     /* a ? in a literal is text */
  assert_string_equal(store_col_text(st, 3), "third");
  store_reset(st);
  /* The same statement with a text where an integer was: prepared again, still right. */
  store_bind_text(st, 1, "7200000");
  store_bind_int(st, 2, 2);
  store_bind_null(st, 3);
  assert_int_equal(store_step(st), STORE_ROW);
  assert_int_equal(store_col_int(st, 0), 2);
  assert_true(store_col_null(st, 3));
  assert_null(store_col_text(st, 3));
  store_reset(st);

  /* ?N numbered, reused; scalar MAX/MIN; booleans and numeric sums as integers. */
  st = store_prepare(c, "SELECT MAX(?1, 0), MIN(?1, 0), ?1 < 0, ?2 > 0, SUM(x) FROM (VALUES (9000000000), (1)) v(x)");
  store_bind_int(st, 1, -5);
  store_bind_int(st, 2, 3);
  assert_int_equal(store_step(st), STORE_ROW);
  assert_int_equal(store_col_int(st, 0), 0);
  assert_int_equal(store_col_int(st, 1), -5);
  assert_int_equal(store_col_int(st, 2), 1);
  assert_int_equal(store_col_int(st, 3), 1);
  assert_int_equal(store_col_int(st, 4), 9000000001LL);
  store_reset(st);

  /* RETURNING, rows changed, an upsert with excluded. */
  st = store_prepare(c, "INSERT INTO users (name, created_at, updated_at) VALUES (?, ?, ?) RETURNING id");
  store_bind_text(st, 1, "u");
  store_bind_int(st, 2, 1);
  store_bind_int(st, 3, 1);
  assert_int_equal(store_step(st), STORE_ROW);
  int64_t id = store_col_int(st, 0);
  assert_true(id > 0);
  store_reset(st);
  assert_int_equal(store_do(c, "UPDATE users SET rpm = ? WHERE id = ? OR id = ?", "iii", (int64_t)5, id, id + 100), 1);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name)"
                               " DO UPDATE SET value = settings.value || excluded.value", "tti", "a", "!", (int64_t)3), 1);
  assert_int_equal(one_int(c, "SELECT LENGTH(value) FROM settings WHERE name = 'a'"), 26);

  /* A rolled back transaction; a failed one whose COMMIT rolls back is a failure. */
  assert_int_equal(store_begin(c), 0);
  store_do(c, "DELETE FROM settings", NULL);
  store_rollback(c);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 1);
  assert_int_equal(store_begin(c), 0);
  store_do(c, "DELETE FROM settings", NULL);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES ('b', NULL, 1)", NULL), -2);
  assert_int_equal(store_commit(c), -1);
  assert_non_null(strstr(store_error(c), "rolled back"));
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 1);        /* the DELETE did not stick */

  st = store_prepare(c, "SELEKT nonsense");                               /* reported by its first step */
  assert_true(!st || store_step(st) == STORE_ERROR);
  store_reset(st);
  /* More distinct statements than the cache holds: the oldest are deallocated, all still work. */
  for(int i = 0; i < 100; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d", i);
    assert_int_equal(one_int(c, sql), i);
  }
  assert_true(one_int(c, "SELECT COUNT(*) FROM pg_prepared_statements") <= 64);
  store_disconnect(c);
  store_close(s);
}

/* ---- bulk rows ---- */

#define RU "INSERT INTO usage_dim (dim, day, value, status, calls, cost_nanos) VALUES (?, ?, ?, ?, ?, ?)" \
           " ON CONFLICT (dim, day, value, status) DO UPDATE SET calls = usage_dim.calls + excluded.calls," \
           " cost_nanos = usage_dim.cost_nanos + excluded.cost_nanos"

static void test_bulk_rows_by_copy(void **state)
{
  NEED_PG();
  store *s = open_ok(1);
  store_conn *c = conn_ok(s), *other = conn_ok(s);
  const char *const texts[] = { "tab\there", "line\nbreak\r\n", "back\\slash \\N", "春天的花园", "", NULL };
  assert_int_equal(store_begin(c), 0);
  for(int i = 0; i < 6; i++) {
    store_stmt *st = store_prepare_bulk(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)");
    char name[16];
    snprintf(name, sizeof name, "k%d", i);
    store_bind_text(st, 1, name);
    store_bind_text(st, 2, texts[i] ? texts[i] : "null stays");
    store_bind_int(st, 3, INT64_MAX - i);
    assert_int_equal(store_step(st), STORE_DONE);
    store_reset(st);
  }
  for(int round = 0; round < 2; round++) {                 /* upserts: merged into the table */
    store_stmt *st = store_prepare_bulk(c, RU);
    for(int k = 0; k < 3; k++) {
      char v[16];
      snprintf(v, sizeof v, "v%d", k);
      store_bind_text(st, 1, "model");
      store_bind_int(st, 2, -1);
      store_bind_text(st, 3, v);
      store_bind_text(st, 4, "success");
      store_bind_int(st, 5, k + 1);
      store_bind_int(st, 6, 5000000000LL);
      assert_int_equal(store_step(st), STORE_DONE);
      store_reset(st);
    }
    if(!round) assert_int_equal(store_flush(c), 0);       /* the second round merges into the first */
  }
  assert_int_equal(one_int(other, "SELECT COUNT(*) FROM settings"), 0);   /* nothing before the commit */
  assert_int_equal(store_commit(c), 0);
  store_stmt *st = store_prepare(other, "SELECT value, updated_at FROM settings ORDER BY name");
  for(int i = 0; i < 6; i++) {
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_col_text(st, 0), texts[i] ? texts[i] : "null stays");
    assert_int_equal(store_col_int(st, 1), INT64_MAX - i);
  }
  store_reset(st);
  assert_int_equal(one_int(other, "SELECT SUM(calls) FROM usage_dim"), 12);
  assert_int_equal(one_int(other, "SELECT SUM(cost_nanos) FROM usage_dim"), 30000000000LL);

  /* A bad row fails the flush (here: the commit), and none of the batch is written. */
  assert_int_equal(store_begin(c), 0);
  st = store_prepare_bulk(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)");
  store_bind_text(st, 1, "fine");
  store_bind_text(st, 2, "v");
  store_bind_int(st, 3, 1);
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);
  store_bind_text(st, 1, "k0");                           /* a duplicate key */
  store_bind_text(st, 2, "v");
  store_bind_int(st, 3, 1);
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);
  assert_int_equal(store_commit(c), -1);
  store_rollback(c);
  assert_int_equal(one_int(other, "SELECT COUNT(*) FROM settings WHERE name = 'fine'"), 0);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 6);      /* and c works again */
  /* Queued rows go before the connection's next statement, in order. */
  assert_int_equal(store_begin(c), 0);
  st = store_prepare_bulk(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)");
  store_bind_text(st, 1, "next");
  store_bind_text(st, 2, "v");
  store_bind_int(st, 3, 1);
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 7);
  store_rollback(c);
  /* Outside a transaction an upsert's flush is a transaction of its own (the staging table
   * empties at each commit). */
  st = store_prepare_bulk(c, RU);
  store_bind_text(st, 1, "model");
  store_bind_int(st, 2, -1);
  store_bind_text(st, 3, "v0");
  store_bind_text(st, 4, "success");
  store_bind_int(st, 5, 100);
  store_bind_int(st, 6, 0);
  assert_int_equal(store_step(st), STORE_DONE);
  store_reset(st);
  assert_int_equal(store_flush(c), 0);
  assert_int_equal(one_int(other, "SELECT SUM(calls) FROM usage_dim"), 112);
  store_disconnect(other);
  store_disconnect(c);
  store_close(s);
}

/* ---- the pool ---- */

typedef struct job { int64_t n; int done, dropped; struct event_base *base; int *finished; } job;

static void work(store_conn *c, void *arg) { ((job *)arg)->n = one_int(c, "SELECT COUNT(*) FROM prices") + 7; }
static void drop(void *arg) { ((job *)arg)->dropped++; }
static void done(void *arg)
{
  job *j = arg;
  j->done++;
  if(++*j->finished == 8) event_base_loopbreak(j->base);
}
static void stop_loop(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(arg); }

static void run_jobs(store *s, int n)
{
  struct event_base *base = event_base_new();
  int finished = 8 - n;
  job jobs[8];
  for(int i = 0; i < n; i++) {
    jobs[i] = (job){ .base = base, .finished = &finished };
    assert_non_null(store_submit(s, base, work, done, drop, &jobs[i]));
  }
  struct event *keep = evtimer_new(base, stop_loop, base);
  struct timeval ten = { 10, 0 };
  evtimer_add(keep, &ten);
  event_base_dispatch(base);
  event_free(keep);
  for(int i = 0; i < n; i++) {
    assert_int_equal(jobs[i].done, 1);
    assert_int_equal(jobs[i].n, 7);
  }
  event_base_free(base);
}

static void test_pool_threads_each_with_a_connection(void **state)
{
  NEED_PG();
  evthread_use_pthreads();
  store *s = open_ok(3);
  run_jobs(s, 8);
  store_conn *c = conn_ok(s);
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '%s'", dbname);
  int64_t n = 0;
  for(int i = 0; i < 40 && (n = one_int(c, sql)) != 4; i++) usleep(50000);   /* the migration's is closing */
  assert_int_equal(n, 4);                                  /* 3 pool threads and this one */
  store_disconnect(c);
  store_close(s);
}

/* ---- connection loss ---- */

static void cut_connections(void)
{
  sql_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'", dbname);
  usleep(200000);                                          /* the backends are gone */
}

static void test_lost_connection(void **state)
{
  NEED_PG();
  evthread_use_pthreads();
  store *s = open_ok(1);
  store_conn *c = conn_ok(s);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM users"), 0);

  /* Between transactions a server-side disconnect is invisible: the next use reconnects. */
  cut_connections();
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM users"), 0);
  run_jobs(s, 2);
  assert_false(store_is_down(s));

  /* Inside one, it fails until the rollback: never half a transaction in a new session. */
  assert_int_equal(store_begin(c), 0);
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES ('x', 'y', 1)", NULL), 1);
  cut_connections();
  assert_int_equal(store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES ('z', 'y', 1)", NULL), -1);
  assert_true(store_conn_lost(c));
  assert_int_equal(store_commit(c), -1);
  store_rollback(c);
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 0);
  assert_false(store_conn_lost(c));

  /* The server refuses connections: the store is down, submits are refused; when it takes them
   * again an idle pool thread notices within about a second, and work is accepted again. */
  sql_admin("ALTER DATABASE %s ALLOW_CONNECTIONS false", dbname);
  cut_connections();
  assert_int_equal(store_do(c, "SELECT 1", NULL), -1);
  assert_true(store_conn_lost(c));
  assert_true(store_is_down(s));
  struct event_base *base = event_base_new();
  int finished = 0;
  job j = { .base = base, .finished = &finished };
  assert_null(store_submit(s, base, work, done, drop, &j));
  event_base_free(base);
  sql_admin("ALTER DATABASE %s ALLOW_CONNECTIONS true", dbname);
  for(int i = 0; i < 40 && store_is_down(s); i++) usleep(100000);
  assert_false(store_is_down(s));
  run_jobs(s, 1);
  usleep(1100000);                                         /* c's own retry is due again */
  assert_int_equal(one_int(c, "SELECT COUNT(*) FROM settings"), 0);
  store_disconnect(c);
  store_close(s);
}

static void test_unreachable_server_fails_clearly_without_the_password(void **state)
{
  char err[512] = "";
  assert_null(store_open("postgresql://gg:s3cret-pw@/x?host=/nonexistent-dir&connect_timeout=1", 1, err, sizeof err));
  assert_non_null(strstr(err, "PostgreSQL"));
  assert_null(strstr(err, "s3cret-pw"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_migrations_once_same_schema_as_sqlite, setup, teardown),
    cmocka_unit_test_setup_teardown(test_instances_starting_together_migrate_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_rows_by_copy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_threads_each_with_a_connection, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lost_connection, setup, teardown),
    cmocka_unit_test(test_unreachable_server_fails_clearly_without_the_password),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
