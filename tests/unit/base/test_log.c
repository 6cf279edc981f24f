/* log: lines through the ring into files as JSON and text, the three streams apart, rotation by
 * size and count, reopening after an outside rename, the ring read back with filters, and a
 * stalled output that drops (and counts) lines instead of blocking the caller, and a reader
 * copying lines while producers reuse their slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static char dir[64];

static char *slurp(const char *name)
{
  char p[128];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "r");
  if(!f) return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strdup(buf);
}

static bool exists(const char *name)
{
  char p[128];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

static int setup(void **state)
{
  snprintf(dir, sizeof dir, "/tmp/gemgate-logtest-XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

static int teardown(void **state)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void test_json_files_and_streams(void **state)
{
  log_threshold = LOG_DEBUG;
  char err[256];
  log_opts o = { dir, true, 0, 3, 1024 };
  assert_int_equal(log_start(&o, err, sizeof err), 0);
  assert_false(exists("debug.log"));                       /* appears with its first line */
  log_info("hello \"quoted\"\nnext line\x01");
  log_tx t = { .request_id = "rid-1", .user = "user#3/key#7", .ip = "10.0.0.1", .method = "POST",
               .route = "/v1beta/models/m:generateContent", .model = "m", .key = "AIza…wxyz",
               .outcome = "success", .status = 200, .attempts = 2, .tokens_in = 5, .tokens_out = 7,
               .latency_ms = 12, .ttfb_ms = 3 };
  log_transaction(&t);
  log_debug("a debug line");
  log_line_rid(LOG_WARN, LOG_APP, "rid-1", "about %s", "rid-1");
  assert_true(log_flush(2000));

  char *app = slurp("app.log"), *tx = slurp("transaction.log"), *dbg = slurp("debug.log");
  assert_non_null(app); assert_non_null(tx); assert_non_null(dbg);
  /* app.log: two JSON lines, the control characters flattened, quotes escaped */
  char *nl = strchr(app, '\n');
  assert_non_null(nl);
  *nl = '\0';
  json_error_t je;
  json_t *j = json_loads(app, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "msg")), "hello \"quoted\" next line ");
  assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
  assert_string_equal(json_string_value(json_object_get(j, "stream")), "app");
  assert_null(json_object_get(j, "request_id"));
  json_decref(j);
  j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &je);
  assert_string_equal(json_string_value(json_object_get(j, "request_id")), "rid-1");
  json_decref(j);
  /* transaction.log: the call's fields as JSON keys */
  j = json_loads(tx, JSON_DISABLE_EOF_CHECK, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "stream")), "transaction");
  assert_string_equal(json_string_value(json_object_get(j, "key")), "AIza…wxyz");
  assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
  assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
  assert_int_equal(json_integer_value(json_object_get(j, "tokens_out")), 7);
  json_decref(j);
  assert_non_null(strstr(dbg, "\"msg\":\"a debug line\""));
  assert_null(strstr(app, "a debug line"));
  free(app); free(tx); free(dbg);

  /* the ring: the newest lines, with filters */
  uint64_t h = log_head();
  log_filter f = { LOG_TX, LOG_DEBUG, "" };
  int found = 0;
  log_line l;
  for(uint64_t p = h - 4; p < h; p++)
    if(log_get(p, &l) && log_match(&l, &f)) { found++; assert_true(l.is_tx); }
  assert_int_equal(found, 1);
  f = (log_filter){ -1, LOG_WARN, "rid-1" };
  found = 0;
  for(uint64_t p = h - 4; p < h; p++)
    if(log_get(p, &l) && log_match(&l, &f)) found++;
  assert_int_equal(found, 1);                              /* the warn line; the tx line is info */
  assert_false(log_get(h, &l));                            /* not yet logged */
  char text[1024];
  assert_true(log_get(h - 3, &l));
  log_render(&l, false, text, sizeof text);
  assert_non_null(strstr(text, " info  call user#3/key#7 10.0.0.1 /v1beta/models/m:generateContent model=m status=200"
                               " outcome=success attempts=2 tokens=5/7 ms=12"));
  assert_non_null(strstr(text, "rid=rid-1"));
  log_stop();
  log_threshold = LOG_INFO;
}

static void test_rotation_and_reopen(void **state)
{
  char err[256];
  log_opts o = { dir, false, 4096, 2, 1024 };
  assert_int_equal(log_start(&o, err, sizeof err), 0);
  char pad[200];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = '\0';
  for(int i = 0; i < 200; i++) {
    log_info("line %d %s", i, pad);
    if(i % 10 == 9) assert_true(log_flush(2000));          /* several batches, several rotations */
  }
  assert_true(log_flush(2000));
  assert_true(exists("app.log"));
  assert_true(exists("app.log.1"));
  assert_true(exists("app.log.2"));
  assert_false(exists("app.log.3"));                       /* GEMGATE_LOG_MAX_FILES=2 */
  struct stat st;
  char p[128];
  snprintf(p, sizeof p, "%s/app.log.1", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_true(st.st_size <= 4096);
  char *last = slurp("app.log");
  assert_non_null(strstr(last, "line 199 "));
  free(last);
  log_stats s;
  log_get_stats(&s);
  assert_true(s.rotations >= 2);

  /* an outside rotation: rename the file away, reopen, and lines go to a new app.log */
  char to[128];
  snprintf(to, sizeof to, "%s/moved.log", dir);
  rename(p, to);
  snprintf(p, sizeof p, "%s/app.log", dir);
  rename(p, to);
  log_reopen();
  log_info("after the reopen");
  assert_true(log_flush(2000));
  usleep(30000);
  char *now = slurp("app.log");
  assert_non_null(now);
  assert_non_null(strstr(now, "after the reopen"));
  assert_null(strstr(now, "line 199"));
  free(now);
  log_stop();
}

static void *reader(void *arg)
{
  int fd = *(int *)arg;
  char buf[65536];
  while(read(fd, buf, sizeof buf) > 0) {}
  return NULL;
}

/* stdout is a pipe nobody reads: the logger thread blocks on write, the ring fills, and further
 * lines are dropped and counted — the callers never wait. */
static void test_stalled_output_drops(void **state)
{
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  int saved = dup(STDOUT_FILENO);
  dup2(pfd[1], STDOUT_FILENO);
  char err[256];
  log_opts o = { NULL, true, 0, 0, 1024 };
  assert_int_equal(log_start(&o, err, sizeof err), 0);
  log_stats before;
  log_get_stats(&before);
  int64_t t0 = mono_us();
  for(int i = 0; i < 20000; i++) log_info("filler line %d with some words to take room in the pipe", i);
  int64_t took = mono_us() - t0;
  log_stats s;
  log_get_stats(&s);
  assert_true(s.dropped - before.dropped > 10000);
  assert_true(took < 2000000);                             /* no caller waited for the pipe */
  pthread_t th;
  pthread_create(&th, NULL, reader, &pfd[0]);
  log_stop();
  dup2(saved, STDOUT_FILENO);
  close(saved);
  close(pfd[1]);
  pthread_join(th, NULL);
  close(pfd[0]);
  log_get_stats(&s);
  assert_int_equal(s.lines - before.lines, 20000);
  assert_int_equal(s.written - before.written + s.dropped - before.dropped, 20000);
}

/* Producers log lines of many lengths into a small ring while a reader copies lines out of it
 * (log_get) as the slots are reused: every copy it is given is one whole line — its position,
 * header and text all of the same line, never a mix of an old and a new one (under TSan: no
 * race between the copy in and the copy out). */
#define RACE_THREADS 3
#define RACE_LINES 20000
static atomic_int producing;

static void fill_for(int t, int k, char *m, size_t cap)
{
  int n = snprintf(m, cap, "w%d n%d ", t, k);
  int len = k % 300;
  for(int i = 0; i < len && (size_t)n + 1 < cap; i++) m[n++] = (char)('a' + (k * 7 + t) % 26);
  m[n] = '\0';
}

static void *producer(void *arg)
{
  int t = (int)(intptr_t)arg;
  char m[LOG_MSG_CAP], rid[32];
  for(int k = 0; k < RACE_LINES; k++) {
    snprintf(rid, sizeof rid, "r%d-%d", t, k);
    if(k % 5 == 0) {
      char user[32];
      snprintf(user, sizeof user, "u%d-%d", t, k);
      log_tx x = { .request_id = rid, .user = user, .route = "/r", .status = k, .attempts = t };
      log_transaction(&x);
    } else {
      fill_for(t, k, m, sizeof m);
      log_line_rid(LOG_INFO, LOG_APP, rid, "%s", m);
    }
  }
  atomic_fetch_sub(&producing, 1);
  return NULL;
}

/* A copied line is whole: its rid names the same (thread, line) as its text or its fields. */
static bool whole(const log_line *l)
{
  int t, k;
  if(sscanf(l->rid, "r%d-%d", &t, &k) != 2) return false;
  char want[LOG_MSG_CAP];
  if(l->is_tx) {
    snprintf(want, sizeof want, "u%d-%d", t, k);
    return !strcmp(l->u.tx.user, want) && l->u.tx.status == k && l->u.tx.attempts == t;
  }
  fill_for(t, k, want, sizeof want);
  return !strcmp(l->u.msg, want);
}

static void test_reader_races_reuse(void **state)
{
  char err[256];
  log_opts o = { dir, true, 0, 0, 1024 };
  assert_int_equal(log_start(&o, err, sizeof err), 0);
  atomic_store(&producing, RACE_THREADS);
  pthread_t th[RACE_THREADS];
  for(int i = 0; i < RACE_THREADS; i++) pthread_create(&th[i], NULL, producer, (void *)(intptr_t)i);
  long copies = 0, broken = 0;
  log_line l;
  while(atomic_load(&producing) > 0) {
    uint64_t h = log_head();                 /* the oldest lines: their slots are next */
    for(uint64_t p = h > 1024 ? h - 1024 : 0; p < h && p < h - 1024 + 32; p++) {
      if(!log_get(p, &l)) continue;
      copies++;
      if(l.pos != p || !whole(&l)) broken++;
    }
  }
  for(int i = 0; i < RACE_THREADS; i++) pthread_join(th[i], NULL);
  log_stop();
  assert_true(copies > 0);
  assert_int_equal(broken, 0);
}

static void test_names(void **state)
{
  assert_int_equal(log_parse_level("warn"), LOG_WARN);
  assert_int_equal(log_parse_level("loud"), -1);
  assert_int_equal(log_parse_stream("transaction"), LOG_TX);
  assert_int_equal(log_parse_stream("debug"), LOG_DBG);
  assert_int_equal(log_parse_stream("x"), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_json_files_and_streams, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rotation_and_reopen, setup, teardown),
    cmocka_unit_test(test_stalled_output_drops),
    cmocka_unit_test_setup_teardown(test_reader_races_reuse, setup, teardown),
    cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
