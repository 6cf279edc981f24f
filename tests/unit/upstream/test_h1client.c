/* h1client against a scripted HTTP/1.1 server (a thread with blocking sockets on loopback): the
 * callbacks' contract, keep-alive reuse, the stale-connection retry, framing, pause/resume,
 * timeouts, errors, cancel, DNS through evdns (localhost). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "upstream/h1client.h"

/* ---------- the scripted server ---------- */

static int lfd, port;
static pthread_t server;
static void (*script)(void);
static int accepted;

static int acc(void)
{
  int fd = accept(lfd, NULL, NULL);
  accepted++;
  return fd;
}

/* Reads one request (head and Content-Length body) into out; its length, 0 at EOF. */
static size_t read_req(int fd, char *out, size_t cap)
{
  size_t n = 0;
  for(;;) {
    char *end = n ? memmem(out, n, "\r\n\r\n", 4) : NULL;
    if(end) {
      size_t head = (size_t)(end + 4 - out), body = 0;
      char *cl = memmem(out, head, "Content-Length: ", 16);
      if(cl) body = strtoul(cl + 16, NULL, 10);
      if(n >= head + body) { out[n] = '\0'; return n; }
    }
    ssize_t r = read(fd, out + n, cap - 1 - n);
    if(r <= 0) return 0;
    n += (size_t)r;
  }
}

static void say(int fd, const char *s) { assert_true(write(fd, s, strlen(s)) == (ssize_t)strlen(s)); }

/* acc, giving up after ms (-1 then): a script that waits for a connection the client should
 * open must not hang the suite when it does not. */
static int acc_within(int ms)
{
  struct pollfd p = { .fd = lfd, .events = POLLIN };
  if(poll(&p, 1, ms) != 1) return -1;
  return acc();
}

static char last_req[8192];

static void *server_main(void *arg)
{
  script();
  return NULL;
}

static void serve(void (*fn)(void))
{
  script = fn;
  accepted = 0;
  pthread_create(&server, NULL, server_main, NULL);
}

/* ---------- the client side ---------- */

typedef struct rec {
  int heads, dones, status, pauses_left;
  up_error err;
  char msg[256];
  char body[65536 * 4];
  size_t len;
  int abort_at;                  /* on_data call that answers UP_ABORT (1-based; 0: never) */
  int datas;
  int hdr_seen;
  up_call *self;
} rec;

static struct event_base *base;
static h1_client *cl;
static bool in_start;

static void on_head(void *ctx, int status, const http_header *h, size_t n)
{
  rec *r = ctx;
  assert_false(in_start);
  r->heads++;
  r->status = status;
  for(size_t i = 0; i < n; i++)
    if(h[i].name.n == 5 && !memcmp(h[i].name.p, "X-Tag", 5)) r->hdr_seen = 1;
}

static int on_data(void *ctx, const char *p, size_t n)
{
  rec *r = ctx;
  assert_false(in_start);
  assert_int_equal(r->heads, 1);
  r->datas++;
  if(r->abort_at && r->datas == r->abort_at) return UP_ABORT;
  if(r->pauses_left > 0) { r->pauses_left--; return UP_PAUSE; }
  assert_true(r->len + n <= sizeof r->body);
  memcpy(r->body + r->len, p, n);
  r->len += n;
  return UP_CONTINUE;
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  rec *r = ctx;
  assert_false(in_start);
  r->dones++;
  r->err = err;
  snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static const up_callbacks cbs = { on_head, on_data, on_done };

static h1_call *start(rec *r, const char *method, const char *path, const char *body, int64_t timeout_ms)
{
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  const char *hdrs[] = { "Content-Type: application/json", "X-Empty:", "x-goog-api-key: SECRETKEY" };
  up_request req = { .method = method, .url = url, .headers = hdrs, .n_headers = 3, .body = body,
                     .body_len = body ? strlen(body) : 0, .timeout_ms = timeout_ms };
  in_start = true;
  h1_call *c = h1_start(cl, &req, &cbs, r);
  in_start = false;
  assert_non_null(c);
  return c;
}

/* Runs the loop until every rec in rs has its on_done (or 5 s pass). */
static void wait_done(rec *a, rec *b)
{
  for(int i = 0; i < 5000 && (a->dones == 0 || (b && b->dones == 0)); i++) {
    struct timeval ms = { 0, 1000 };
    event_base_loopexit(base, &ms);
    event_base_dispatch(base);
  }
  assert_int_equal(a->dones, 1);
  if(b) assert_int_equal(b->dones, 1);
}

static int setup(void **state)
{
  signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();
  base = event_base_new();
  cl = h1_new(base, NULL);
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  bind(lfd, (struct sockaddr *)&sa, sizeof sa);
  listen(lfd, 16);
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  port = ntohs(sa.sin_port);
  return 0;
}

static int teardown(void **state)
{
  h1_free(cl);
  event_base_free(base);
  close(lfd);
  return 0;
}

/* ---------- scenarios ---------- */

static void two_on_one(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Tag: 1\r\nContent-Length: 5\r\n\r\nhello");
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n");
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");        /* HEAD: no body follows */
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.0 200 OK\r\n\r\nuntil close");
  close(fd);
}

static void test_keepalive_framing(void **state)
{
  serve(two_on_one);
  rec a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
  start(&a, "POST", "/v1/x?alt=sse", "{\"q\":1}", 5000);
  wait_done(&a, NULL);
  assert_int_equal(a.err, UP_OK);
  assert_int_equal(a.status, 200);
  assert_int_equal(a.hdr_seen, 1);
  assert_int_equal(a.len, 5);
  assert_memory_equal(a.body, "hello", 5);
  start(&b, "GET", "/two", NULL, 5000);
  wait_done(&b, NULL);
  assert_int_equal(b.status, 201);
  assert_int_equal(b.len, 5);
  assert_memory_equal(b.body, "abcde", 5);
  assert_non_null(strstr(last_req, "GET /two HTTP/1.1\r\nHost: 127.0.0.1:"));
  assert_null(strstr(last_req, "Content-Length"));
  assert_null(strstr(last_req, "X-Empty"));
  start(&c, "HEAD", "/three", NULL, 5000);
  wait_done(&c, NULL);
  assert_int_equal(c.err, UP_OK);
  assert_int_equal(c.len, 0);
  start(&d, "GET", "", NULL, 5000);
  wait_done(&d, NULL);
  assert_int_equal(d.err, UP_OK);
  assert_memory_equal(d.body, "until close", 11);
  pthread_join(server, NULL);
  assert_int_equal(accepted, 1);                    /* all four on one connection */
  assert_int_equal(h1_active(cl), 0);
}

static void stale_then_fresh(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  close(fd);                                        /* keep-alive promised, then gone */
  fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain");
  close(fd);
}

static rec retry_b;

/* Starts the next call from on_done, before the loop can see the first connection's EOF. */
static void chain_done(void *ctx, up_error err, const char *msg)
{
  on_done(ctx, err, msg);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/b", port);
  up_request req = { .method = "POST", .url = url, .body = "{}", .body_len = 2, .timeout_ms = 5000 };
  usleep(20000);                                    /* the server's FIN is in by now */
  assert_non_null(h1_start(cl, &req, &cbs, &retry_b));
}

static void test_stale_retry(void **state)
{
  serve(stale_then_fresh);
  rec a = { 0 };
  memset(&retry_b, 0, sizeof retry_b);
  static const up_callbacks chain = { on_head, on_data, chain_done };
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/a", port);
  up_request req = { .method = "GET", .url = url, .timeout_ms = 5000 };
  assert_non_null(h1_start(cl, &req, &chain, &a));
  wait_done(&a, &retry_b);
  pthread_join(server, NULL);
  assert_int_equal(a.err, UP_OK);
  assert_int_equal(retry_b.err, UP_OK);
  assert_memory_equal(retry_b.body, "again", 5);
  assert_int_equal(accepted, 2);
}

static void big_body(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  static char buf[200000];
  memset(buf, 'x', sizeof buf);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n");
  assert_true(write(fd, buf, sizeof buf) == sizeof buf);
  read_req(fd, last_req, sizeof last_req);          /* the next request: reused after pauses */
  say(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  close(fd);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg) { h1_resume(arg); }

static void test_pause_resume(void **state)
{
  serve(big_body);
  rec a = { .pauses_left = 300 };
  h1_call *c = start(&a, "GET", "/big", NULL, 5000);
  struct event *ev = event_new(base, -1, EV_PERSIST, resume_cb, c);
  struct timeval tick = { 0, 2000 };
  event_add(ev, &tick);                             /* resume every 2 ms: pause on every piece */
  wait_done(&a, NULL);
  event_free(ev);
  assert_int_equal(a.err, UP_OK);
  assert_int_equal(a.len, 200000);
  assert_true(a.datas > 300);                        /* every pause gave the same bytes again */
  rec b = { 0 };
  start(&b, "GET", "/after", NULL, 5000);
  wait_done(&b, NULL);
  assert_int_equal(b.status, 204);
  pthread_join(server, NULL);
  assert_int_equal(accepted, 1);
}

static void silent(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  usleep(400000);
  close(fd);
}

static void test_timeout_and_refused(void **state)
{
  serve(silent);
  rec a = { 0 };
  start(&a, "GET", "/hang", NULL, 150);
  wait_done(&a, NULL);
  assert_int_equal(a.err, UP_ERR_TIMEOUT);
  assert_int_equal(a.heads, 0);
  pthread_join(server, NULL);
  int s = socket(AF_INET, SOCK_STREAM, 0);           /* a port with nobody listening */
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  bind(s, (struct sockaddr *)&sa, sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(s, (struct sockaddr *)&sa, &len);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
  up_request req = { .method = "GET", .url = url, .timeout_ms = 1000 };
  rec b = { 0 };
  in_start = true;
  assert_non_null(h1_start(cl, &req, &cbs, &b));
  in_start = false;
  wait_done(&b, NULL);
  close(s);
  assert_int_equal(b.err, UP_ERR_CONNECT);
  assert_non_null(strstr(b.msg, "127.0.0.1"));
}

/* ---------- slow clients: a paused call's total timeout stops ---------- */

static void run_for(int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

static void whole_then_close(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  static char buf[200000];
  memset(buf, 'y', sizeof buf);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n");
  assert_true(write(fd, buf, sizeof buf) == sizeof buf);
  usleep(700000);
  close(fd);
}

static void test_paused_call_does_not_time_out(void **state)
{
  serve(whole_then_close);
  rec a = { .pauses_left = 1 };
  h1_call *c = start(&a, "GET", "/slow-reader", NULL, 150);
  run_for(400);                                      /* paused for longer than the timeout */
  assert_int_equal(a.heads, 1);
  assert_int_equal(a.dones, 0);
  h1_resume(c);
  wait_done(&a, NULL);
  assert_int_equal(a.err, UP_OK);
  assert_int_equal(a.len, 200000);
  pthread_join(server, NULL);
}

static void some_then_silent(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\nfirst bytes");
  usleep(1500000);
  close(fd);
}

static void test_resumed_call_times_out_on_the_upstream(void **state)
{
  serve(some_then_silent);
  rec a = { .pauses_left = 1 };
  h1_call *c = start(&a, "GET", "/then-silent", NULL, 150);
  run_for(300);
  assert_int_equal(a.dones, 0);                      /* the pause did not count */
  h1_resume(c);
  wait_done(&a, NULL);                               /* the rest of 150 ms, long before 1.5 s */
  assert_int_equal(a.err, UP_ERR_TIMEOUT);
  assert_memory_equal(a.body, "first bytes", 11);
  pthread_join(server, NULL);
}

static void errors(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  usleep(50000);
  close(fd);                                        /* RST mid-body */
  fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nX-Big: ");
  static char big[70000];
  memset(big, 'a', sizeof big);
  write(fd, big, sizeof big);
  usleep(50000);
  close(fd);
  fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd");
  usleep(50000);
  close(fd);
}

static void test_errors(void **state)
{
  serve(errors);
  rec a = { 0 }, b = { 0 }, c = { .abort_at = 1 };
  start(&a, "GET", "/reset", NULL, 5000);
  wait_done(&a, NULL);
  assert_int_equal(a.err, UP_ERR_RECV);
  assert_int_equal(a.heads, 1);
  assert_null(strstr(a.msg, "SECRETKEY"));
  start(&b, "GET", "/bighead", NULL, 5000);
  wait_done(&b, NULL);
  assert_int_equal(b.err, UP_ERR_OTHER);
  assert_int_equal(b.heads, 0);
  start(&c, "GET", "/abort", NULL, 5000);
  wait_done(&c, NULL);
  assert_int_equal(c.err, UP_ERR_OTHER);
  pthread_join(server, NULL);
}

/* ---------- an upstream that sends what nobody asked for ---------- */

static const char smuggled[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstolen";

/* Junk right behind a complete response, in the same write, then a second response sent
 * after a pause (when the client has read the first and not yet polled again). */
static void junk_after(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK");
  int fd2 = acc_within(2000);
  if(fd2 < 0) { close(fd); return; }
  read_req(fd2, last_req, sizeof last_req);
  say(fd2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  usleep(5000);
  say(fd2, smuggled);                               /* a response to no request */
  int fd3 = acc_within(2000);
  if(fd3 >= 0) {
    read_req(fd3, last_req, sizeof last_req);
    say(fd3, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
    close(fd3);
  }
  usleep(20000);
  close(fd2);
  close(fd);
}

static rec junk_c;

/* The next call starts from on_done, once the smuggled bytes are in but before the loop has
 * polled the idle connection again: only the take-time check can see them. */
static void junk_chain(void *ctx, up_error err, const char *msg)
{
  on_done(ctx, err, msg);
  usleep(30000);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/c", port);
  up_request req = { .method = "GET", .url = url, .timeout_ms = 3000 };
  assert_non_null(h1_start(cl, &req, &cbs, &junk_c));
}

static void test_unexpected_bytes_close(void **state)
{
  serve(junk_after);
  rec a = { 0 }, b = { 0 };
  memset(&junk_c, 0, sizeof junk_c);
  start(&a, "GET", "/a", NULL, 3000);
  wait_done(&a, NULL);
  assert_int_equal(a.err, UP_OK);
  assert_memory_equal(a.body, "ok", 2);
  static const up_callbacks chain = { on_head, on_data, junk_chain };
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/b", port);
  up_request req = { .method = "GET", .url = url, .timeout_ms = 3000 };
  assert_non_null(h1_start(cl, &req, &chain, &b));
  wait_done(&b, &junk_c);
  pthread_join(server, NULL);
  assert_int_equal(b.err, UP_OK);
  assert_memory_equal(b.body, "hi", 2);               /* junk behind "ok": not reused */
  assert_int_equal(junk_c.err, UP_OK);
  assert_int_equal(junk_c.len, 5);
  assert_memory_equal(junk_c.body, "fresh", 5);       /* never the smuggled "stolen" */
  assert_int_equal(accepted, 3);
}

/* A header value with a NUL or a bare CR: the call fails as a malformed head, no head reported. */
static void bad_values(void)
{
  static const char nul[] = "HTTP/1.1 200 OK\r\nX-V: a\0b\r\nContent-Length: 0\r\n\r\n";
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  assert_true(write(fd, nul, sizeof nul - 1) == (ssize_t)(sizeof nul - 1));
  usleep(20000);
  close(fd);
  fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nX-V: a\rInjected: 1\r\nContent-Length: 0\r\n\r\n");
  usleep(20000);
  close(fd);
}

static void test_bad_header_values(void **state)
{
  serve(bad_values);
  rec a = { 0 }, b = { 0 };
  start(&a, "GET", "/nul", NULL, 3000);
  wait_done(&a, NULL);
  start(&b, "GET", "/cr", NULL, 3000);
  wait_done(&b, NULL);
  pthread_join(server, NULL);
  for(rec *r = &a; r; r = r == &a ? &b : NULL) {
    assert_int_equal(r->err, UP_ERR_RECV);
    assert_int_equal(r->heads, 0);
    assert_string_equal(r->msg, "malformed upstream response head");
  }
}

static int peer_saw_eof;

static void cancelled(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
  char b[16];
  peer_saw_eof = read(fd, b, sizeof b) <= 0;        /* the client closed the half-read connection */
  close(fd);
}

static void test_cancel(void **state)
{
  serve(cancelled);
  rec a = { 0 };
  h1_call *c = start(&a, "GET", "/stream", NULL, 5000);
  for(int i = 0; i < 5000 && a.len == 0; i++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
  assert_int_equal(a.len, 5);
  h1_cancel(c);
  pthread_join(server, NULL);
  assert_true(peer_saw_eof);
  assert_int_equal(a.dones, 0);
  assert_int_equal(h1_active(cl), 0);
}

static void named(void)
{
  int fd = acc();
  read_req(fd, last_req, sizeof last_req);
  say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  close(fd);
}

static void test_dns_name(void **state)
{
  serve(named);
  char url[64];
  snprintf(url, sizeof url, "http://localhost:%d/n", port);
  up_request req = { .method = "GET", .url = url, .timeout_ms = 3000 };
  rec a = { 0 };
  in_start = true;
  assert_non_null(h1_start(cl, &req, &cbs, &a));
  in_start = false;
  wait_done(&a, NULL);
  pthread_join(server, NULL);
  assert_int_equal(a.err, UP_OK);
  assert_non_null(strstr(last_req, "Host: localhost:"));
  up_request ftp = { .method = "GET", .url = "ftp://x/", .timeout_ms = 10 };
  assert_null(h1_start(cl, &ftp, &cbs, &a));       /* left to libcurl */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_keepalive_framing),
    cmocka_unit_test(test_stale_retry),
    cmocka_unit_test(test_pause_resume),
    cmocka_unit_test(test_timeout_and_refused),
    cmocka_unit_test(test_paused_call_does_not_time_out),
    cmocka_unit_test(test_resumed_call_times_out_on_the_upstream),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_unexpected_bytes_close),
    cmocka_unit_test(test_bad_header_values),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test(test_dns_name),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
