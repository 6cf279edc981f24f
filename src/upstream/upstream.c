#include "upstream/upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "upstream/h1client.h"
#include "upstream/h1parse.h"
#include "base/log.h"

#define HEAD_CAP (64 * 1024)      /* largest upstream response head we accept */
#define POOL_MAX 64               /* spare easy handles kept per worker */

struct upstream {
  struct event_base *base;
  const config *cfg;
  h1_client *h1;                 /* direct calls (h1client.h) */
  CURLM *multi;
  struct event *timer;
  CURL *spare[POOL_MAX];
  size_t nspare, active;
};

struct up_call {
  up_tag tag;                    /* first member, curl = true: see h1client.h */
  upstream *u;
  CURL *easy;
  struct curl_slist *hdrs;
  up_callbacks cb;
  void *ctx;
  struct event *idle;            /* the call's timer: the total timeout, or a stream's idle one */
  int64_t idle_ms;               /* stream idle timeout; 0: idle is the total timeout */
  int64_t timeout_ms, deadline_us, left_ms;   /* the total timeout, as in h1client.c */
  bool head_done, paused, follow;
  bool bad_head;                 /* a header line failed h1_field_ok: the call fails */
  int status;
  char *head;                    /* raw header lines of the final response */
  size_t head_len;
  char errbuf[CURL_ERROR_SIZE];
};

/* A socket's libevent event, kept as curl's socket pointer. */
typedef struct sock { struct event *ev; } sock;

static void check_done(upstream *u);

/* ---------- curl <-> libevent glue ---------- */

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
  upstream *u = arg;
  int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(u->multi, fd, flags, &running);
  check_done(u);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
  upstream *u = arg;
  int running;
  curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(u);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
  upstream *u = userp;
  sock *sk = socketp;
  if(what == CURL_POLL_REMOVE) {
    if(sk) { event_free(sk->ev); free(sk); }
    curl_multi_assign(u->multi, s, NULL);
    return 0;
  }
  short ev = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
  if(!sk) {
    sk = calloc(1, sizeof *sk);
    if(!sk) return -1;
    curl_multi_assign(u->multi, s, sk);
  } else {
    event_free(sk->ev);
  }
  sk->ev = event_new(u->base, s, ev, on_socket_event, u);
  event_add(sk->ev, NULL);
  return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
  upstream *u = userp;
  if(timeout_ms < 0) { evtimer_del(u->timer); return 0; }
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  evtimer_add(u->timer, &tv);
  return 0;
}

upstream *up_new(struct event_base *base, const config *cfg)
{
  upstream *u = calloc(1, sizeof *u);
  if(!u) return NULL;
  u->base = base;
  u->cfg = cfg;
  u->h1 = h1_new(base, cfg->ca_file);
  u->multi = curl_multi_init();
  u->timer = evtimer_new(base, on_timer, u);
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
  return u;
}

void up_free(upstream *u)
{
  if(!u) return;
  h1_free(u->h1);
  for(size_t i = 0; i < u->nspare; i++) curl_easy_cleanup(u->spare[i]);
  curl_multi_cleanup(u->multi);
  event_free(u->timer);
  free(u);
}

size_t up_active(const upstream *u) { return u->active + (u->h1 ? h1_active(u->h1) : 0); }

const config *up_config(const upstream *u) { return u->cfg; }

/* ---------- one call ---------- */

static void call_free(up_call *c)
{
  upstream *u = c->u;
  curl_multi_remove_handle(u->multi, c->easy);
  if(u->nspare < POOL_MAX) { curl_easy_reset(c->easy); u->spare[u->nspare++] = c->easy; }
  else curl_easy_cleanup(c->easy);
  curl_slist_free_all(c->hdrs);
  if(c->idle) event_free(c->idle);
  free(c->head);
  free(c);
  u->active--;
}

static void timer_add(struct event *ev, int64_t ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(ev, &tv);
}

/* Another byte came: a stream's idle period starts again (the total timeout keeps running). */
static void idle_arm(up_call *c)
{
  if(c->idle && c->idle_ms > 0) timer_add(c->idle, c->idle_ms);
}

/* A slow client paused the call.  curl's own CURLOPT_TIMEOUT would keep running while paused
 * and blame the key for the client's slowness, so the total timeout is ours: it stops here and
 * resumes with what was left (as in h1client.c). */
static void timer_pause(up_call *c)
{
  if(!c->idle) return;
  if(!c->idle_ms) {
    int64_t left = (c->deadline_us - mono_us() + 999) / 1000;
    c->left_ms = left > 0 ? left : 1;
  }
  evtimer_del(c->idle);
}

static void timer_resume(up_call *c)
{
  if(!c->idle) return;
  if(c->idle_ms) { timer_add(c->idle, c->idle_ms); return; }
  c->deadline_us = mono_us() + c->left_ms * 1000;
  timer_add(c->idle, c->left_ms);
}

/* Ends the call with err, reporting once. */
static void call_end(up_call *c, up_error err, const char *msg)
{
  up_callbacks cb = c->cb;
  void *ctx = c->ctx;
  call_free(c);
  cb.on_done(ctx, err, msg);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
  up_call *c = arg;
  char m[96];
  if(c->idle_ms) snprintf(m, sizeof m, "%s", c->head_done ? "upstream stream idle timeout" : "upstream timeout");
  else snprintf(m, sizeof m, "upstream timeout after %lld ms", (long long)c->timeout_ms);
  call_end(c, UP_ERR_TIMEOUT, m);
}

/* Parses the collected head into headers and reports it.  false (and nothing reported) when
 * a field line is malformed or holds a CTL: it would break the client's head (h1parse.h). */
static bool deliver_head(up_call *c)
{
  http_header h[H1_MAX_HEADERS];
  size_t n = 0;
  char *p = c->head, *end = c->head + c->head_len;
  char *eol = memchr(p, '\n', (size_t)(end - p));   /* skip the status line */
  for(p = eol ? eol + 1 : end; p < end; p = eol + 1) {
    eol = memchr(p, '\n', (size_t)(end - p));
    if(!eol) break;
    char *le = eol;
    if(le > p && le[-1] == '\r') le--;
    if(le == p || *p == ' ' || *p == '\t') continue;      /* the blank line; obs-fold dropped */
    char *colon = memchr(p, ':', (size_t)(le - p));
    if(!colon) { c->bad_head = true; return false; }
    char *v = colon + 1;
    while(v < le && (*v == ' ' || *v == '\t')) v++;
    while(le > v && (le[-1] == ' ' || le[-1] == '\t')) le--;
    if(!h1_field_ok(p, (size_t)(colon - p), v, (size_t)(le - v))) { c->bad_head = true; return false; }
    if(n < H1_MAX_HEADERS) h[n++] = (http_header){ { p, (size_t)(colon - p) }, { v, (size_t)(le - v) } };
  }
  c->head_done = true;
  c->cb.on_head(c->ctx, c->status, h, n);
  return true;
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
  up_call *c = arg;
  size_t n = size * nmemb;
  if(n >= 5 && !memcmp(p, "HTTP/", 5)) {          /* a new response (after 100 Continue, too) */
    c->head_len = 0;
    long code = 0;
    const char *sp = memchr(p, ' ', n);
    if(sp) code = strtol(sp + 1, NULL, 10);
    c->status = (int)code;
  }
  if(c->head_len + n > HEAD_CAP) return 0;        /* fails the call */
  if(!c->head) c->head = malloc(HEAD_CAP);
  if(!c->head) return 0;
  memcpy(c->head + c->head_len, p, n);
  c->head_len += n;
  if((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
    bool redirect = c->follow && c->status >= 300 && c->status < 400 && c->status != 304;
    if(c->status >= 200 && !redirect && !deliver_head(c)) return 0;
  }
  return n;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
  up_call *c = arg;
  size_t n = size * nmemb;
  if(!c->head_done && !deliver_head(c)) return 0;
  int rc = c->cb.on_data(c->ctx, p, n);
  if(rc == UP_ABORT) return 0;
  if(rc == UP_PAUSE) {
    c->paused = true;
    timer_pause(c);                     /* a paused call is neither idle nor waiting on the upstream */
    return CURL_WRITEFUNC_PAUSE;
  }
  idle_arm(c);
  return n;
}

/* True for addresses a client-named URL must not reach: loopback, private, link-local,
 * unspecified, multicast, carrier-grade NAT, and their IPv6 counterparts. */
static bool private_addr(const struct sockaddr *sa)
{
  if(sa->sa_family == AF_INET) {
    uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xA9FE ||
           (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8 || (a >> 22) == (100u << 2 | 1) || (a >> 28) >= 0xE;
  }
  if(sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if(IN6_IS_ADDR_V4MAPPED(a)) {
      struct sockaddr_in v4 = { .sin_family = AF_INET };
      memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
      return private_addr((const struct sockaddr *)&v4);
    }
    return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
           IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xFE) == 0xFC;
  }
  return true;
}

static curl_socket_t open_public_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
  if(private_addr(&addr->addr)) return CURL_SOCKET_BAD;
  return socket(addr->family, addr->socktype, addr->protocol);
}

/* Direct calls go to our own HTTP/1.1 client; libcurl keeps what needs its features: outbound
 * proxies (HTTP, SOCKS5) and client-named fetches (redirects, the private-address check), and
 * any URL h1client declines. */
up_call *up_start(upstream *u, const up_request *req, const up_callbacks *cb, void *ctx)
{
  if(!req->proxy && !req->fetch && u->h1) {
    h1_call *h = h1_start(u->h1, req, cb, ctx);
    if(h) return (up_call *)h;
  }
  if(req->body_read) return NULL;          /* streamed bodies: our own client only */
  up_call *c = calloc(1, sizeof *c);
  if(!c) return NULL;
  c->tag.curl = true;
  c->u = u;
  c->cb = *cb;
  c->ctx = ctx;
  c->easy = u->nspare ? u->spare[--u->nspare] : curl_easy_init();
  if(!c->easy) { free(c); return NULL; }
  CURL *e = c->easy;
  const config *cfg = u->cfg;
  for(size_t i = 0; i < req->n_headers; i++) c->hdrs = curl_slist_append(c->hdrs, req->headers[i]);
  c->hdrs = curl_slist_append(c->hdrs, "Expect:");   /* never wait for 100-continue */
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  if(!strcmp(req->method, "GET")) curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  else if(!strcmp(req->method, "HEAD")) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    if(strcmp(req->method, "POST")) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
  }
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(e, CURLOPT_PRIVATE, c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L * 1024);
  if(cfg->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
  /* "" when none: only GEMGATE_PROXY decides, never http_proxy and friends from the environment */
  curl_easy_setopt(e, CURLOPT_PROXY, req->proxy ? req->proxy : "");
  if(req->fetch) {
    c->follow = true;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    if(!cfg->fetch_private) curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_public_socket);
  }
  /* Streams with an idle timeout: the call's own timeout until the first byte, then the idle
   * one; others: the total timeout.  Both on our timer, which stops while paused. */
  c->timeout_ms = req->timeout_ms;
  c->idle_ms = req->stream && req->idle_ms > 0 ? req->idle_ms : 0;
  if(req->timeout_ms > 0 || c->idle_ms) {
    c->idle = evtimer_new(u->base, on_idle, c);
    if(req->timeout_ms > 0 && c->idle) {
      c->deadline_us = mono_us() + req->timeout_ms * 1000;
      timer_add(c->idle, req->timeout_ms);
    }
  }
  if(curl_multi_add_handle(u->multi, e) != CURLM_OK) {
    curl_slist_free_all(c->hdrs);
    if(c->idle) event_free(c->idle);
    curl_easy_cleanup(e);
    free(c);
    return NULL;
  }
  u->active++;
  return c;
}

void up_resume(up_call *c)
{
  if(!c->tag.curl) { h1_resume((h1_call *)c); return; }
  if(!c->paused) return;
  c->paused = false;
  timer_resume(c);
  curl_easy_pause(c->easy, CURLPAUSE_CONT);
}

void up_body_ready(up_call *c)
{
  if(!c->tag.curl) h1_body_ready((h1_call *)c);
}

void up_cancel(up_call *c)
{
  if(!c->tag.curl) { h1_cancel((h1_call *)c); return; }
  call_free(c);
}

static up_error classify(CURLcode rc)
{
  switch(rc) {
  case CURLE_OK: return UP_OK;
  case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
    return UP_ERR_CONNECT;
  case CURLE_OPERATION_TIMEDOUT: return UP_ERR_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
    return UP_ERR_TLS;
  case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_SEND_ERROR:
    return UP_ERR_RECV;
  default: return UP_ERR_OTHER;
  }
}

/* Reports every finished transfer.  A call's on_done may start or cancel other calls. */
static void check_done(upstream *u)
{
  CURLMsg *m;
  int left;
  while((m = curl_multi_info_read(u->multi, &left))) {
    if(m->msg != CURLMSG_DONE) continue;
    up_call *c;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
    CURLcode rc = m->data.result;
    if(rc == CURLE_OK && !c->head_done && !deliver_head(c)) rc = CURLE_WRITE_ERROR;   /* empty body */
    if(c->bad_head) { call_end(c, UP_ERR_RECV, "malformed upstream response head"); continue; }
    char msg[CURL_ERROR_SIZE + 64];
    snprintf(msg, sizeof msg, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    call_end(c, classify(rc), msg);
  }
}
