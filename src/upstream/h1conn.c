/* h1conn — opening, I/O and pooling of upstream connections; contract in h1conn.h. */
#include "upstream/h1conn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "upstream/h1tls.h"
#include "base/log.h"
#include "base/util.h"

enum { K_RESOLVING, K_CONNECTING, K_HANDSHAKE, K_OPEN };

#define SWEEP_MS 10000

struct h1_origin {
  h1_pool *pool;
  h1_origin *next;
  bool tls, numeric;
  uint16_t port;
  char *host, *hosthdr;           /* NUL-terminated */
  size_t hostn, hosthdrn;
  h1_addrs addrs;                 /* numeric hosts: the address, parsed once */
  h1_conn *idle, *idle_tail;      /* most recently used first */
  size_t nidle;
  SSL_SESSION *sessions[4];       /* for the next handshakes (TLS resumption), newest last */
  int nsessions;
};

struct h1_pool {
  struct event_base *base;
  const h1_conn_ops *ops;
  const char *ca_file;
  SSL_CTX *ctx;                   /* shared (h1tls), acquired at the first TLS connection */
  h1dns *dns;
  h1_origin *origins;
  struct event *sweep;
  bool sweeping;                  /* sweep is armed (a flag: event_pending takes the base lock) */
};

/* rev: handshake progress, an idle connection's peer closing, or input for the owner. */
static void on_read(evutil_socket_t fd, short what, void *arg);
/* wev (one-shot): connect done, handshake progress, or room for the owner's request. */
static void on_write(evutil_socket_t fd, short what, void *arg);

/* Monotonic milliseconds, for idle ages. */
static int64_t mono_ms(void) { return mono_us() / 1000; }

/* ---------- pool and origins ---------- */

static void on_sweep(evutil_socket_t fd, short what, void *arg);

h1_pool *h1pool_new(struct event_base *base, const char *ca_file, const h1_conn_ops *ops)
{
  h1_pool *p = calloc(1, sizeof *p);
  if(!p) return NULL;
  p->base = base;
  p->ops = ops;
  p->ca_file = ca_file;
  p->dns = h1dns_new(base);
  p->sweep = evtimer_new(base, on_sweep, p);
  if(!p->dns || !p->sweep) { h1pool_free(p); return NULL; }
  return p;
}

void h1pool_free(h1_pool *p)
{
  if(!p) return;
  for(h1_origin *o = p->origins, *nx; o; o = nx) {
    nx = o->next;
    while(o->idle) h1conn_close(o->idle);
    for(int i = 0; i < o->nsessions; i++) SSL_SESSION_free(o->sessions[i]);
    free(o->host);
    free(o->hosthdr);
    free(o);
  }
  if(p->sweep) event_free(p->sweep);
  h1dns_free(p->dns);
  if(p->ctx) h1tls_release();
  free(p);
}

h1_origin *h1pool_origin(h1_pool *p, bool tls, const char *host, size_t hostn, uint16_t port)
{
  for(h1_origin *o = p->origins; o; o = o->next)
    if(o->port == port && o->tls == tls && o->hostn == hostn && !memcmp(o->host, host, hostn)) return o;
  h1_origin *o = calloc(1, sizeof *o);
  if(!o) return NULL;
  o->host = str_dup((str){ host, hostn });
  char hh[300];
  bool v6 = memchr(host, ':', hostn) != NULL;
  int n = snprintf(hh, sizeof hh, "%s%.*s%s", v6 ? "[" : "", (int)hostn, host, v6 ? "]" : "");
  if(port != (tls ? 443 : 80)) n += snprintf(hh + n, sizeof hh - (size_t)n, ":%u", (unsigned)port);
  o->hosthdr = n > 0 && (size_t)n < sizeof hh ? strdup(hh) : NULL;
  if(!o->host || !o->hosthdr) { free(o->host); free(o->hosthdr); free(o); return NULL; }
  o->pool = p;
  o->tls = tls;
  o->port = port;
  o->hostn = hostn;
  o->hosthdrn = (size_t)n;
  o->numeric = h1dns_numeric(o->host, &o->addrs);
  o->next = p->origins;
  p->origins = o;
  return o;
}

const char *h1_origin_hosthdr(const h1_origin *o, size_t *len)
{
  *len = o->hosthdrn;
  return o->hosthdr;
}

/* Takes k out of its origin's idle list. */
static void idle_unlink(h1_conn *k)
{
  h1_origin *o = k->o;
  if(k->prev) k->prev->next = k->next; else o->idle = k->next;
  if(k->next) k->next->prev = k->prev; else o->idle_tail = k->prev;
  k->prev = k->next = NULL;
  k->idle = false;
  o->nidle--;
}

/* Nothing arrived on idle k since its last response.  The loop drops an idle connection that
 * turns readable, but only once it polls: bytes that came after the last read of a response
 * and before this take (the same loop turn) would otherwise be read as the next caller's
 * answer — another caller's.  So one peek (TLS: what SSL_read makes of it, as idle_readable). */
static bool idle_quiet(h1_conn *k)
{
  char b;
  ssize_t r = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if(r < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  if(r == 0 || !k->ssl) return false;                 /* closed, or bytes nobody asked for */
  ERR_clear_error();
  int n = SSL_read(k->ssl, k->buf, H1_BUF);
  bool quiet = n <= 0 && SSL_get_error(k->ssl, n) == SSL_ERROR_WANT_READ;   /* a ticket, say */
  ERR_clear_error();
  return quiet;
}

h1_conn *h1pool_take(h1_origin *o, void *owner)
{
  h1_conn *k;
  while((k = o->idle)) {
    idle_unlink(k);
    if(idle_quiet(k)) break;
    h1conn_close(k);
  }
  if(!k) return NULL;
  k->owner = owner;
  k->uses++;
  return k;
}

void h1conn_release(h1_conn *k)
{
  h1_origin *o = k->o;
  k->owner = NULL;
  k->rpos = k->rlen = 0;
  h1conn_want_write(k, false);
  h1conn_pause(k, false);
  if(o->nidle >= H1_IDLE_MAX) { h1conn_close(k); return; }
  k->idle = true;
  k->idle_since_ms = mono_ms();
  k->prev = NULL;
  k->next = o->idle;
  if(o->idle) o->idle->prev = k; else o->idle_tail = k;
  o->idle = k;
  o->nidle++;
  if(!o->pool->sweeping) {
    struct timeval tv = { SWEEP_MS / 1000, 0 };
    evtimer_add(o->pool->sweep, &tv);
    o->pool->sweeping = true;
  }
}

/* Closes connections idle longer than H1_IDLE_MS (the oldest sit at the tails). */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
  h1_pool *p = arg;
  int64_t now = mono_ms();
  bool left = false;
  p->sweeping = false;
  for(h1_origin *o = p->origins; o; o = o->next) {
    while(o->idle_tail && now - o->idle_tail->idle_since_ms >= H1_IDLE_MS) h1conn_close(o->idle_tail);
    left |= o->nidle > 0;
  }
  if(left) {
    struct timeval tv = { SWEEP_MS / 1000, 0 };
    evtimer_add(p->sweep, &tv);
    p->sweeping = true;
  }
}

/* ---------- opening ---------- */

void h1conn_close(h1_conn *k)
{
  if(k->state == K_RESOLVING) h1dns_cancel(&k->dw);
  if(k->idle) idle_unlink(k);
  if(k->ssl) SSL_free(k->ssl);
  if(k->rev) event_free(k->rev);
  if(k->wev) event_free(k->wev);
  if(k->fd >= 0) close(k->fd);
  free(k);
}

/* Opening failed: the connection goes, then its owner hears why. */
static void fail(h1_conn *k, up_error err, const char *msg)
{
  void *owner = k->owner;
  const h1_conn_ops *ops = k->o->pool->ops;
  h1conn_close(k);
  ops->failed(owner, err, msg);
}

/* Starts a non-blocking connect to the next address that takes one.  False when none did. */
static bool connect_next(h1_conn *k, char *msg, size_t cap)
{
  h1_origin *o = k->o;
  int err = 0;
  for(; k->ai < k->addrs.n; k->ai++) {
    h1_sockaddr sa = k->addrs.a[k->ai];
    bool v6 = sa.sa.sa_family == AF_INET6;
    if(v6) sa.in6.sin6_port = htons(o->port); else sa.in.sin_port = htons(o->port);
    int fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if(fd < 0) { err = errno; break; }                 /* out of descriptors: no point going on */
    /* No Nagle delay on a request's last segment; keep-alive probes after a minute
     * idle (as libcurl did) so a pooled connection behind a silent NAT drop is found. */
    int one = 1, sixty = 60;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &sixty, sizeof sixty);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &sixty, sizeof sixty);
    if(connect(fd, &sa.sa, v6 ? sizeof sa.in6 : sizeof sa.in) == 0 || errno == EINPROGRESS) {
      k->fd = fd;
      k->state = K_CONNECTING;
      k->rev = event_new(o->pool->base, fd, EV_READ | EV_PERSIST, on_read, k);
      k->wev = event_new(o->pool->base, fd, EV_WRITE, on_write, k);
      if(!k->rev || !k->wev) { err = ENOMEM; break; }
      h1conn_want_write(k, true);                     /* writable = connected (or refused) */
      return true;
    }
    err = errno;
    close(fd);
  }
  snprintf(msg, cap, "could not connect to %s port %u: %s", o->host, (unsigned)o->port, strerror(err ? err : ENETUNREACH));
  return false;
}

/* h1dns answered for a connection waiting in K_RESOLVING. */
static void on_dns(h1dns_wait *w, const h1_addrs *a, const char *err)
{
  h1_conn *k = (h1_conn *)((char *)w - offsetof(h1_conn, dw));
  char msg[200];
  k->state = K_CONNECTING;                            /* no longer waiting on h1dns */
  if(!a) { fail(k, UP_ERR_CONNECT, err); return; }
  k->addrs = *a;
  if(!connect_next(k, msg, sizeof msg)) fail(k, UP_ERR_CONNECT, msg);
}

h1_conn *h1conn_open(h1_origin *o, void *owner, up_error *err, char *msg, size_t cap)
{
  h1_conn *k = malloc(sizeof *k + H1_BUF);
  if(!k) { *err = UP_ERR_OTHER; snprintf(msg, cap, "out of memory"); return NULL; }
  memset(k, 0, sizeof *k);
  k->o = o;
  k->owner = owner;
  k->fd = -1;
  k->uses = 1;
  *err = UP_ERR_CONNECT;
  int r = 1;
  if(o->numeric) k->addrs = o->addrs;
  else r = h1dns_lookup(o->pool->dns, o->host, &k->addrs, &k->dw, on_dns, msg, cap);
  if(r == 0) { k->state = K_RESOLVING; return k; }
  if(r < 0 || !connect_next(k, msg, cap)) { h1conn_close(k); return NULL; }
  return k;
}

/* The shared SSL_CTX's new-session callback: the origin keeps the newest few sessions (we own
 * them: return 1) for the next handshakes — a TLS 1.3 server sends two tickets per handshake,
 * and a burst of new connections can use one each.  Runs on the worker that owns ssl. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
  h1_conn *k = SSL_get_app_data(ssl);
  if(!k) return 0;
  h1_origin *o = k->o;
  int cap = (int)(sizeof o->sessions / sizeof o->sessions[0]);
  if(o->nsessions == cap) {                          /* full: drop the oldest */
    SSL_SESSION_free(o->sessions[0]);
    memmove(o->sessions, o->sessions + 1, (size_t)(cap - 1) * sizeof o->sessions[0]);
    o->nsessions--;
  }
  o->sessions[o->nsessions++] = sess;
  return 1;
}

/* Drives the TLS handshake; done → the owner may send. */
static void handshake(h1_conn *k)
{
  ERR_clear_error();
  int r = SSL_connect(k->ssl);
  if(r == 1) {
    log_debug("upstream %s port %u: %s, %s", k->o->host, (unsigned)k->o->port, SSL_get_version(k->ssl),
              SSL_session_reused(k->ssl) ? "session resumed" : "full handshake");
    h1conn_want_write(k, false);
    k->state = K_OPEN;
    k->o->pool->ops->ready(k->owner);
    return;
  }
  int e = SSL_get_error(k->ssl, r), sys = errno;
  if(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {   /* rev is always on */
    h1conn_want_write(k, e == SSL_ERROR_WANT_WRITE);
    return;
  }
  char msg[256];
  h1tls_describe(k->ssl, e, sys, msg, sizeof msg);
  fail(k, UP_ERR_TLS, msg);
}

/* Connected: set up TLS for the origin (SNI, peer check, a kept session) and start the handshake. */
static void start_tls(h1_conn *k)
{
  h1_origin *o = k->o;
  h1_pool *p = o->pool;
  char msg[256];
  if(!p->ctx && !(p->ctx = h1tls_acquire(p->ca_file, on_new_session, msg, sizeof msg))) {
    fail(k, UP_ERR_TLS, msg);
    return;
  }
  k->ssl = SSL_new(p->ctx);
  if(!k->ssl || !SSL_set_fd(k->ssl, k->fd) || !h1tls_set_peer(k->ssl, o->host)) {
    fail(k, UP_ERR_TLS, "upstream TLS (SSL): cannot set up the connection");
    return;
  }
  SSL_set_app_data(k->ssl, k);
  if(o->nsessions) {
    SSL_SESSION *sess = o->sessions[o->nsessions - 1];
    SSL_set_session(k->ssl, sess);
    /* TLS 1.3 tickets are meant for one use; the handshake brings fresh ones. */
    if(SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION) {
      SSL_SESSION_free(sess);
      o->nsessions--;
    }
  }
  k->state = K_HANDSHAKE;
  handshake(k);
}

/* The connect finished (either way). */
static void connected(h1_conn *k)
{
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if(getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
  if(soerr) {
    char msg[200];
    event_free(k->rev);
    event_free(k->wev);
    k->rev = k->wev = NULL;
    k->rev_on = k->wev_on = false;
    close(k->fd);
    k->fd = -1;
    k->ai++;
    if(k->ai < k->addrs.n && connect_next(k, msg, sizeof msg)) return;
    snprintf(msg, sizeof msg, "could not connect to %s port %u: %s", k->o->host, (unsigned)k->o->port, strerror(soerr));
    fail(k, UP_ERR_CONNECT, msg);
    return;
  }
  h1conn_pause(k, false);                             /* reading from now on: see the header */
  if(k->o->tls) { start_tls(k); return; }
  k->state = K_OPEN;
  k->o->pool->ops->ready(k->owner);
}

/* ---------- events ---------- */

/* Readable while idle: the peer closed, reset, or sent what nobody asked for (TLS: unless it
 * was a post-handshake message such as a session ticket, which SSL_read takes silently). */
static void idle_readable(h1_conn *k)
{
  if(k->ssl) {
    ERR_clear_error();
    int r = SSL_read(k->ssl, k->buf, H1_BUF);
    if(r <= 0 && SSL_get_error(k->ssl, r) == SSL_ERROR_WANT_READ) return;
    ERR_clear_error();
  }
  h1conn_close(k);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
  h1_conn *k = arg;
  if(k->state == K_HANDSHAKE) handshake(k);
  else if(k->idle) idle_readable(k);
  else if(k->state == K_OPEN) k->o->pool->ops->io(k->owner, EV_READ);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
  h1_conn *k = arg;
  k->wev_on = false;                                  /* a one-shot event */
  if(k->state == K_CONNECTING) connected(k);
  else if(k->state == K_HANDSHAKE) handshake(k);
  else if(k->owner) k->o->pool->ops->io(k->owner, EV_WRITE);
}

void h1conn_want_write(h1_conn *k, bool on)
{
  if(on == k->wev_on || !k->wev) return;
  if(on) event_add(k->wev, NULL); else event_del(k->wev);
  k->wev_on = on;
}

void h1conn_pause(h1_conn *k, bool paused)
{
  if(!k->rev) return;
  if(paused) {
    if(k->rev_on) event_del(k->rev);
    k->rev_on = false;
    return;
  }
  if(!k->rev_on) {
    event_add(k->rev, NULL);
    k->rev_on = true;
    if(k->state == K_OPEN && k->owner) event_active(k->rev, EV_READ, 1);
  }
}

/* ---------- I/O ---------- */

long h1conn_read(h1_conn *k, char *msg, size_t cap)
{
  char *p = k->buf + k->rlen;
  size_t room = H1_BUF - k->rlen;
  if(!k->ssl) {
    ssize_t n = read(k->fd, p, room);
    if(n >= 0) { k->rlen += (size_t)n; return (long)n; }
    if(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return H1_AGAIN;
    snprintf(msg, cap, "upstream connection: %s", strerror(errno));
    return H1_ERROR;
  }
  ERR_clear_error();
  int n = SSL_read(k->ssl, p, (int)room);
  if(n > 0) { k->rlen += (size_t)n; return n; }
  int e = SSL_get_error(k->ssl, n), sys = errno;
  if(e == SSL_ERROR_WANT_READ) return H1_AGAIN;
  if(e == SSL_ERROR_WANT_WRITE) { h1conn_want_write(k, true); return H1_AGAIN; }
  if(e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && sys == 0)) { ERR_clear_error(); return 0; }
  if(e == SSL_ERROR_SYSCALL) { ERR_clear_error(); snprintf(msg, cap, "upstream connection: %s", strerror(sys)); }
  else h1tls_describe(k->ssl, e, sys, msg, cap);
  return H1_ERROR;
}

long h1conn_write(h1_conn *k, const struct iovec *iov, int n, char *msg, size_t cap)
{
  if(!k->ssl) {
    struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    ssize_t w = sendmsg(k->fd, &m, MSG_NOSIGNAL);
    if(w >= 0) return (long)w;
    if(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { h1conn_want_write(k, true); return H1_AGAIN; }
    snprintf(msg, cap, "upstream connection: %s", strerror(errno));
    return H1_ERROR;
  }
  while(n > 0 && iov->iov_len == 0) { iov++; n--; }
  if(n == 0) return 0;
  ERR_clear_error();
  int len = iov->iov_len > (1u << 30) ? 1 << 30 : (int)iov->iov_len;
  int w = SSL_write(k->ssl, iov->iov_base, len);
  if(w > 0) return w;
  int e = SSL_get_error(k->ssl, w), sys = errno;
  if(e == SSL_ERROR_WANT_WRITE) { h1conn_want_write(k, true); return H1_AGAIN; }
  if(e == SSL_ERROR_WANT_READ) return H1_AGAIN;      /* rev is on: io(EV_READ) follows */
  if(e == SSL_ERROR_SYSCALL) { ERR_clear_error(); snprintf(msg, cap, "upstream connection: %s", strerror(sys ? sys : EPIPE)); }
  else h1tls_describe(k->ssl, e, sys, msg, cap);
  return H1_ERROR;
}

void h1conn_kick(h1_conn *k)
{
  if(k->rev && k->rev_on) event_active(k->rev, EV_READ, 1);
}

bool h1conn_pending(const h1_conn *k)
{
  return k->ssl && SSL_has_pending(k->ssl);
}
