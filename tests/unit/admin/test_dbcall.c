/* dbcall: a JSON job runs on a store pool thread and answers on the request's loop; a failure
 * is answered in Google's shape; a full store queue is refused with 503 + Retry-After; a client
 * that leaves while its job runs gets its argument freed once, after the job.  The requests are
 * real: a socketpair handed to http_accept on a worker with a libevent loop, and a SQLite store
 * in a temp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin/dbcall.h"
#include "base/util.h"
#include "http/server.h"
#include "store/store.h"

static char dir[64], path[192];
static gateway gw;
static worker w;
static pthread_t loop_thread;

/* ---- a gate the pool-thread work waits at ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int work_started, work_ran, frees, frees_on_loop, dummies_done;
static atomic_bool work_on_pool;

static void gate_set(bool open)
{
  pthread_mutex_lock(&gate_mu);
  gate_open = open;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
}

static void gate_wait(void)
{
  pthread_mutex_lock(&gate_mu);
  while(!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
}

/* ---- the jobs ---- */

typedef struct arg { int kind; } arg;     /* 0: answer from SQL, 1: not found, 2: wait at the gate */

static void arg_free(void *p)
{
  frees++;
  if(pthread_equal(pthread_self(), loop_thread)) frees_on_loop++;
  free(p);
}

static gg_rc work(store_conn *c, void *p, json_t **out, gg_err *e)
{
  arg *a = p;
  work_started++;
  work_on_pool = !pthread_equal(pthread_self(), loop_thread);
  if(a->kind == 2) gate_wait();
  work_ran++;
  if(a->kind == 1) return gg_fail(e, GG_NOT_FOUND, "no such thing here");
  store_stmt *st = store_prepare(c, "SELECT 40 + 2");
  if(!st || store_step(st) != STORE_ROW) return gg_fail(e, GG_DB, "select failed");
  int64_t v = store_col_int(st, 0);
  store_reset(st);
  *out = json_pack("{s:I}", "answer", (json_int_t)v);
  return GG_OK;
}

/* The worker's handler: the path names the job. */
static void handler(http_req *r)
{
  arg *a = malloc(sizeof *a);
  a->kind = str_eq(r->path, STR("/missing")) ? 1 : str_eq(r->path, STR("/wait")) ? 2 : 0;
  dbcall_json(r, a, arg_free, work, 201);
}

static void noop_work(store_conn *c, void *p) { gate_wait(); }
static void noop_done(void *p) { dummies_done++; }

/* ---- a client on the other end of a socketpair ---- */

static int connect_client(void)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  http_accept(&w, sv[0], "127.0.0.1");
  return sv[1];
}

static void send_request(int fd, const char *p)
{
  char req[256];
  int n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", p);
  assert_int_equal(write(fd, req, (size_t)n), n);
}

/* Runs the loop until cond() holds, at most 5 s. */
static bool spin(bool (*cond)(void *), void *ctx)
{
  for(int64_t end = now_ms() + 5000; now_ms() < end;) {
    if(cond(ctx)) return true;
    event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    usleep(1000);
  }
  return cond(ctx);
}

typedef struct reply { int fd; char buf[4096]; size_t n; } reply;

/* A whole response (head and Content-Length bytes of body) has arrived. */
static bool got_reply(void *p)
{
  reply *rp = p;
  ssize_t k = recv(rp->fd, rp->buf + rp->n, sizeof rp->buf - 1 - rp->n, MSG_DONTWAIT);
  if(k > 0) rp->n += (size_t)k;
  rp->buf[rp->n] = '\0';
  char *end = strstr(rp->buf, "\r\n\r\n"), *cl = strcasestr(rp->buf, "Content-Length: ");
  return end && cl && rp->n >= (size_t)(end + 4 - rp->buf) + strtoul(cl + 16, NULL, 10);
}

static bool no_conns(void *p) { return w.nconns == 0; }
static bool work_is_running(void *p) { return work_started > 0; }
static bool all_dummies_done(void *p) { return dummies_done == *(int *)p; }

static void request(const char *p, reply *rp)
{
  memset(rp, 0, sizeof *rp);
  rp->fd = connect_client();
  send_request(rp->fd, p);
  assert_true(spin(got_reply, rp));
}

static void hang_up(int fd)
{
  close(fd);
  assert_true(spin(no_conns, NULL));
}

/* ---- set-up ---- */

static int setup(void **state)
{
  snprintf(dir, sizeof dir, "/tmp/gg-dbcall-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  evthread_use_pthreads();
  char err[256] = "";
  memset(&gw, 0, sizeof gw);
  gw.cfg.idle_timeout_ms = 5000;
  gw.cfg.max_body = 1 << 20;
  gw.cfg.max_header = 16384;
  gw.cfg.max_conns = 16;
  gw.store = store_open(path, 1, err, sizeof err);
  assert_non_null(gw.store);
  memset(&w, 0, sizeof w);
  w.gw = &gw;
  w.cfg = &gw.cfg;
  w.base = event_base_new();
  w.handler = handler;
  loop_thread = pthread_self();
  work_started = work_ran = frees = frees_on_loop = dummies_done = 0;
  gate_set(true);
  return 0;
}

static int teardown(void **state)
{
  gate_set(true);
  http_close_all(&w);
  store_close(gw.store);
  event_base_free(w.base);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

/* ---- tests ---- */

static void test_answers_on_its_loop(void **state)
{
  reply rp;
  request("/answer", &rp);
  assert_int_equal(strncmp(rp.buf, "HTTP/1.1 201", 12), 0);          /* ok_status */
  assert_non_null(strstr(rp.buf, "{\"answer\":42}"));                 /* the work's SQL answer */
  assert_true(work_on_pool);                                           /* work ran off the loop */
  assert_int_equal(frees, 1);
  assert_int_equal(frees_on_loop, 1);                                  /* freed on the loop, after the reply */
  hang_up(rp.fd);
  assert_int_equal(frees, 1);
}

static void test_failure_in_google_shape(void **state)
{
  reply rp;
  request("/missing", &rp);
  assert_int_equal(strncmp(rp.buf, "HTTP/1.1 404", 12), 0);
  assert_non_null(strstr(rp.buf, "\"message\":\"no such thing here\""));
  assert_non_null(strstr(rp.buf, "\"status\":\"NOT_FOUND\""));
  assert_int_equal(frees, 1);
  hang_up(rp.fd);
}

static void test_full_queue_refused(void **state)
{
  /* The pool's one thread waits at the gate; the queue behind it fills up. */
  gate_set(false);
  int n = 0;
  while(store_submit(gw.store, w.base, noop_work, noop_done, NULL, NULL)) n++;
  assert_true(n >= STORE_MAX_JOBS);
  reply rp;
  request("/answer", &rp);
  assert_int_equal(strncmp(rp.buf, "HTTP/1.1 503", 12), 0);
  assert_non_null(strstr(rp.buf, "Retry-After: 1\r\n"));
  assert_int_equal(work_started, 0);                                    /* never queued */
  assert_int_equal(frees, 1);                                           /* arg freed at once */
  gate_set(true);
  assert_true(spin(all_dummies_done, &n));
  hang_up(rp.fd);
  assert_int_equal(frees, 1);
}

static void test_client_leaves_while_job_runs(void **state)
{
  gate_set(false);
  int fd = connect_client();
  send_request(fd, "/wait");
  assert_true(spin(work_is_running, NULL));
  hang_up(fd);                                  /* on_abort ran: the request is gone */
  assert_int_equal(frees, 0);                   /* the work still uses arg: not freed yet */
  gate_set(true);
  for(int64_t end = now_ms() + 5000; frees == 0 && now_ms() < end;) usleep(1000);
  assert_int_equal(work_ran, 1);
  assert_int_equal(frees, 1);                   /* freed by the drop, once */
  for(int i = 0; i < 50; i++) { event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK); usleep(1000); }
  assert_int_equal(frees, 1);                   /* and never again (no reply ran) */
  assert_int_equal(frees_on_loop, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_answers_on_its_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failure_in_google_shape, setup, teardown),
    cmocka_unit_test_setup_teardown(test_full_queue_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_leaves_while_job_runs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
