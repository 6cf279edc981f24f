/* h1client — upstream calls over our own HTTP/1.1 client; contract in h1client.h. */
#include "upstream/h1client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "upstream/h1conn.h"
#include "upstream/h1parse.h"

#define FREE_MAX 256              /* spare call structs kept per worker */
#define INLINE_BODY (16 * 1024)   /* TLS: a body this small goes out in the head's buffer */
#define READ_ROUNDS 16            /* reads per event before giving other sockets a turn */
#define SBUF (64 * 1024)          /* a streamed body's send buffer (chunk framing included) */
#define SBUF_HEAD 18              /* room before the data for a chunk-size line */

enum { MORE, PAUSED, ENDED };     /* what consume / send left the call in */

struct h1_client {
  struct event_base *base;
  h1_pool *pool;
  h1_call *calls;                 /* in flight */
  h1_call *spare;                 /* free list, through next */
  size_t active, nspare;
};

struct h1_call {
  up_tag tag;                     /* first member, curl = false: see h1client.h */
  h1_client *cl;
  h1_call *prev, *next;
  up_callbacks cb;
  void *ctx;
  struct event *timer;            /* timeouts, and failures reported from the loop */
  h1_origin *o;
  h1_conn *k;
  char *req;                      /* the request head (and a small TLS body); kept when spare */
  size_t req_len, req_cap;
  const char *body;               /* borrowed; NULL when inlined into req */
  size_t body_len, sent;
  int64_t timeout_ms, idle_ms;
  int64_t deadline_us;            /* mono_us the total timeout ends, while it runs */
  int64_t left_ms;                /* what was left of it when the call paused */
  bool idle_mode;                 /* stream with an idle timeout */
  bool head_req, head_done, paused, retried, got_byte, sent_all, send_broken, connected;
  bool starting;                  /* inside h1_start: failures wait for the loop */
  bool pending;                   /* a failure waits for the timer event */
  up_error pend_err;
  char pend_msg[256];
  h1_head h;
  h1_body b;
  /* A streamed body (up_request.body_read): pulled into sbuf[soff..slen) and sent from there. */
  long (*body_read)(void *ctx, char *buf, size_t cap);
  bool body_chunked, body_eof, body_wait;
  char *sbuf;
  size_t soff, slen;
};

/* ---------- URLs and requests ---------- */

typedef struct target {
  bool tls;
  const char *host;               /* without IPv6 brackets */
  size_t hostn;
  unsigned port;
  const char *path;               /* from the first '/' or '?', fragment cut; may be empty */
  size_t pathn;
} target;

/* Bytes that may not appear in a request line or Host: controls, space, DEL. */
static bool bad_char(char ch) { return (unsigned char)ch <= 0x20 || ch == 0x7f; }

/* Splits an http(s) URL.  False for anything this client leaves to libcurl. */
static bool parse_url(const char *url, target *t)
{
  const char *p;
  if(!strncasecmp(url, "http://", 7)) { t->tls = false; t->port = 80; p = url + 7; }
  else if(!strncasecmp(url, "https://", 8)) { t->tls = true; t->port = 443; p = url + 8; }
  else return false;
  const char *a = p;
  while(*p && *p != '/' && *p != '?' && *p != '#') p++;
  const char *ae = p, *h = a, *he, *port;
  if(h < ae && *h == '[') {
    he = memchr(h, ']', (size_t)(ae - h));
    if(!he) return false;
    h++;
    port = he + 1;
    if(port < ae && *port != ':') return false;
  } else {
    he = memchr(h, ':', (size_t)(ae - h));
    if(!he) he = ae;
    port = he;
  }
  if(he == h || he - h > 255) return false;
  for(const char *q = h; q < he; q++)
    if(bad_char(*q) || *q == '@' || *q == '%' || *q == '/' || *q == '\\') return false;
  if(port < ae && port + 1 < ae) {
    unsigned v = 0;
    for(const char *q = port + 1; q < ae; q++) {
      if(*q < '0' || *q > '9' || (v = v * 10 + (unsigned)(*q - '0')) > 65535) return false;
    }
    if(v == 0) return false;
    t->port = v;
  }
  t->host = h;
  t->hostn = (size_t)(he - h);
  t->path = ae;
  t->pathn = strcspn(ae, "#");
  for(size_t i = 0; i < t->pathn; i++)
    if(bad_char(ae[i])) return false;
  return true;
}

/* Appends n bytes to the request buffer.  False on OOM. */
static bool put(h1_call *c, const char *p, size_t n)
{
  if(c->req_len + n > c->req_cap) {
    size_t cap = c->req_cap ? c->req_cap : 1024;
    while(cap < c->req_len + n) cap *= 2;
    char *r = realloc(c->req, cap);
    if(!r) return false;
    c->req = r;
    c->req_cap = cap;
  }
  memcpy(c->req + c->req_len, p, n);
  c->req_len += n;
  return true;
}

#define PUTS(c, lit) put(c, lit, sizeof lit - 1)

/* The request head: request line, Host, the caller's headers, Content-Length.  As with libcurl,
 * "Name:" with nothing after it is not sent and "Name;" sends an empty header.  Lines with CR
 * or LF inside are dropped: they would split the head. */
static bool build_request(h1_call *c, const up_request *req, const target *t)
{
  const char *m = req->method;
  size_t mn = strlen(m);
  if(!mn || mn > 32 || strpbrk(m, " \r\n\t")) return false;
  bool get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD");
  bool own_host = true;
  for(size_t i = 0; i < req->n_headers; i++)
    if(!strncasecmp(req->headers[i], "Host:", 5)) own_host = false;
  c->req_len = 0;
  bool ok = put(c, m, mn) && PUTS(c, " ") &&
            (t->pathn == 0 || t->path[0] != '/' ? PUTS(c, "/") : true) && put(c, t->path, t->pathn) &&
            PUTS(c, " HTTP/1.1\r\n");
  if(ok && own_host) {
    size_t hn;
    const char *hh = h1_origin_hosthdr(c->o, &hn);
    ok = PUTS(c, "Host: ") && put(c, hh, hn) && PUTS(c, "\r\n");
  }
  for(size_t i = 0; ok && i < req->n_headers; i++) {
    const char *h = req->headers[i];
    size_t n = strlen(h);
    if(!n || strpbrk(h, "\r\n")) continue;
    const char *colon = memchr(h, ':', n);
    if(!colon) {
      if(n > 1 && h[n - 1] == ';') ok = put(c, h, n - 1) && PUTS(c, ":\r\n");   /* "Name;" */
      continue;
    }
    if(colon == h) continue;
    const char *v = colon + 1;
    while(*v == ' ' || *v == '\t') v++;
    if(!*v) continue;                                             /* "Name:" */
    ok = put(c, h, n) && PUTS(c, "\r\n");
  }
  c->head_req = head;
  c->body = NULL;
  c->body_len = 0;
  if(ok && !get && !head && req->body_read && req->body_size < 0) {
    ok = PUTS(c, "Transfer-Encoding: chunked\r\n");
  } else if(ok && !get && !head) {
    char num[24], *d = num + sizeof num;
    size_t v = req->body_read ? (size_t)req->body_size : req->body_len;
    do *--d = (char)('0' + v % 10); while((v /= 10));
    ok = PUTS(c, "Content-Length: ") && put(c, d, (size_t)(num + sizeof num - d)) && PUTS(c, "\r\n");
    c->body = req->body_len && !req->body_read ? req->body : NULL;
    c->body_len = c->body ? req->body_len : 0;
  }
  ok = ok && PUTS(c, "\r\n");
  if(ok && c->body && c->o && t->tls && c->body_len <= INLINE_BODY) {
    /* TLS writes one buffer at a time: one record and one write beat two. */
    ok = put(c, c->body, c->body_len);
    c->body = NULL;
    c->body_len = 0;
  }
  return ok;
}

/* ---------- call lifetime ---------- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* (Re)starts c's timer: ms from now (0 or less: no timeout). */
static void arm(h1_call *c, int64_t ms)
{
  if(ms <= 0) return;
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(c->timer, &tv);
}

/* Starts the total timeout: ms from now. */
static void arm_total(h1_call *c, int64_t ms)
{
  c->deadline_us = mono_us() + ms * 1000;
  arm(c, ms);
}

/* A slow client paused the call: the total timeout stops, so only time spent waiting on the
 * upstream counts against it (and against the key).  A paused stream is not idle either. */
static void timer_pause(h1_call *c)
{
  if(!c->idle_mode && c->timeout_ms > 0) {
    int64_t left = (c->deadline_us - mono_us() + 999) / 1000;
    c->left_ms = left > 0 ? left : 1;
  }
  evtimer_del(c->timer);
}

/* The client drained: the remainder of the total timeout, or a fresh idle period. */
static void timer_resume(h1_call *c)
{
  if(c->idle_mode) arm(c, c->idle_ms);
  else if(c->timeout_ms > 0) arm_total(c, c->left_ms);
}

/* A spare call struct (timer and request buffer kept from its last use), or a new one. */
static h1_call *call_get(h1_client *cl)
{
  h1_call *c = cl->spare;
  if(c) {
    cl->spare = c->next;
    cl->nspare--;
  } else {
    c = calloc(1, sizeof *c);
    if(!c) return NULL;
    c->cl = cl;
    c->timer = evtimer_new(cl->base, on_timer, c);
    if(!c->timer) { free(c); return NULL; }
  }
  return c;
}

/* Keeps a finished call struct for reuse (freed beyond FREE_MAX). */
static void call_put(h1_call *c)
{
  h1_client *cl = c->cl;
  if(cl->nspare >= FREE_MAX) {
    event_free(c->timer);
    free(c->req);
    free(c);
    return;
  }
  c->next = cl->spare;
  cl->spare = c;
  cl->nspare++;
}

/* Takes c out of flight: closes its connection if it still has one (a connection that could be
 * reused was handed back before), stops its timer, and keeps the struct for the next call. */
static void call_release(h1_call *c)
{
  h1_client *cl = c->cl;
  if(c->k) { h1conn_close(c->k); c->k = NULL; }
  evtimer_del(c->timer);
  free(c->sbuf);                                   /* streamed bodies are rare: not kept */
  c->sbuf = NULL;
  if(c->prev) c->prev->next = c->next; else cl->calls = c->next;
  if(c->next) c->next->prev = c->prev;
  cl->active--;
  call_put(c);
}

/* Ends the call and reports it once.  The struct may be reused by a call on_done starts, so
 * nothing of it is touched after (msg is copied first). */
static void call_end(h1_call *c, up_error err, const char *msg)
{
  up_callbacks cb = c->cb;
  void *ctx = c->ctx;
  char m[256];
  if(*msg) snprintf(m, sizeof m, "%s", msg); else m[0] = '\0';
  call_release(c);
  cb.on_done(ctx, err, m);
}

/* Fails the call: at once, or from the loop while h1_start has not returned yet. */
static void call_fail(h1_call *c, up_error err, const char *msg)
{
  if(!c->starting) { call_end(c, err, msg); return; }
  if(c->k) { h1conn_close(c->k); c->k = NULL; }
  if(c->pending) return;
  c->pending = true;
  c->pend_err = err;
  snprintf(c->pend_msg, sizeof c->pend_msg, "%s", msg);
  event_active(c->timer, EV_TIMEOUT, 1);
}

/* The call's timer: a failure deferred out of h1_start, or a timeout. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
  h1_call *c = arg;
  char m[128];
  if(c->pending) { call_end(c, c->pend_err, c->pend_msg); return; }
  if(c->idle_mode) snprintf(m, sizeof m, "%s", c->head_done ? "upstream stream idle timeout" : "upstream timeout");
  else snprintf(m, sizeof m, "upstream %s timeout after %lld ms", c->connected ? "response" : "connect",
                (long long)c->timeout_ms);
  call_end(c, UP_ERR_TIMEOUT, m);
}

/* The response is complete: the connection goes back to the pool when it can carry another
 * request, then the caller hears. */
static void call_complete(h1_call *c)
{
  h1_conn *k = c->k;
  bool reuse = c->sent_all && !c->send_broken && h1_head_keep_alive(&c->h) && !h1_body_eof(&c->b) &&
               k->rpos == k->rlen && !h1conn_pending(k);
  c->k = NULL;
  if(reuse) h1conn_release(k); else h1conn_close(k);
  call_end(c, UP_OK, "");
}

/* ---------- sending and receiving ---------- */

static int call_send(h1_call *c);
static void call_pump(h1_call *c);

/* A new connection for c (a fresh one: never from the pool). */
static void call_connect(h1_call *c)
{
  up_error err;
  char msg[256];
  c->connected = false;
  c->k = h1conn_open(c->o, c, &err, msg, sizeof msg);
  if(!c->k) call_fail(c, err, msg);
}

/* The reused connection had gone stale before any answer: once, the same request goes out
 * again on a fresh connection.  No byte reached the caller, so nothing is repeated for it. */
static void call_retry(h1_call *c)
{
  h1conn_close(c->k);
  c->k = NULL;
  c->retried = true;
  c->sent = 0;
  c->sent_all = c->send_broken = c->got_byte = false;
  call_connect(c);
}

/* A failure now may be a stale pooled connection, and nothing was delivered yet. */
static bool may_retry(const h1_call *c) { return !c->got_byte && !c->retried && c->k->uses > 1; }

/* The peer closed (eof) or the connection failed (msg), with the call still waiting for bytes. */
static void call_broken(h1_call *c, bool eof, const char *msg)
{
  if(eof && c->head_done && h1_body_eof(&c->b)) { call_complete(c); return; }   /* close-delimited */
  if(may_retry(c)) { call_retry(c); return; }
  if(eof) msg = c->got_byte ? "upstream closed the connection before the response ended"
                            : "upstream closed the connection without answering";
  call_fail(c, UP_ERR_RECV, msg);
}

/* Works through the buffered bytes: skips 1xx heads, reports the head, then passes body data
 * to on_data until it pauses, the bytes run out (MORE) or the message ends (ENDED). */
static int consume(h1_call *c)
{
  h1_conn *k = c->k;
  if(!c->head_done) {
    http_header hdr[H1_MAX_HEADERS];
    for(;;) {
      long n = h1_parse_head(k->buf + k->rpos, k->rlen - k->rpos, &c->h, hdr, H1_MAX_HEADERS);
      if(n == 0) return MORE;
      if(n < 0) { call_fail(c, UP_ERR_RECV, "malformed upstream response head"); return ENDED; }
      k->rpos += (size_t)n;
      if(c->h.status == 101) { call_fail(c, UP_ERR_RECV, "upstream switched protocols"); return ENDED; }
      if(c->h.status >= 200) break;                /* 100 Continue, 103 Early Hints: skipped */
    }
    h1_body_init(&c->b, &c->h, c->head_req);
    c->head_done = true;
    c->cb.on_head(c->ctx, c->h.status, hdr, c->h.nhdr);
    if(c->idle_mode) arm(c, c->idle_ms);
  }
  for(;;) {
    size_t skip, len;
    h1_step s = h1_body_step(&c->b, k->buf + k->rpos, k->rlen - k->rpos, &skip, &len);
    k->rpos += skip;
    if(s == H1_NEED) return MORE;
    if(s == H1_END) { call_complete(c); return ENDED; }
    if(s == H1_BAD) { call_fail(c, UP_ERR_RECV, "malformed chunked body from the upstream"); return ENDED; }
    int r = c->cb.on_data(c->ctx, k->buf + k->rpos, len);
    if(r == UP_PAUSE) {                            /* keep the bytes; stop reading the socket */
      c->paused = true;
      h1conn_pause(k, true);
      timer_pause(c);
      return PAUSED;
    }
    if(r == UP_ABORT) { call_fail(c, UP_ERR_OTHER, "the upstream response was refused by its reader"); return ENDED; }
    h1_body_take(&c->b, len);
    k->rpos += len;
    if(c->idle_mode) arm(c, c->idle_ms);
  }
}

/* Reads and consumes until the socket has nothing more now, the call pauses or ends. */
static void call_pump(h1_call *c)
{
  h1_conn *k = c->k;
  char msg[256];
  if(k->rpos < k->rlen && consume(c) != MORE) return;          /* bytes kept while paused */
  for(int round = 0; round < READ_ROUNDS; round++) {
    if(k->rpos) {                                              /* keep a partial line at the front */
      memmove(k->buf, k->buf + k->rpos, k->rlen - k->rpos);
      k->rlen -= k->rpos;
      k->rpos = 0;
    }
    if(k->rlen == H1_BUF) {
      call_fail(c, UP_ERR_OTHER, c->head_done ? "upstream chunk framing line too long"
                                              : "upstream response head larger than 64 KiB");
      return;
    }
    size_t room = H1_BUF - k->rlen;
    long n = h1conn_read(k, msg, sizeof msg);
    if(n == H1_AGAIN) return;
    if(n == 0 || n == H1_ERROR) { call_broken(c, n == 0, msg); return; }
    c->got_byte = true;
    if(consume(c) != MORE) return;
    /* A short read drained the socket; the loop reports the next bytes.  TLS may hold some
     * already (read-ahead), which the loop cannot see. */
    if((size_t)n < room && !h1conn_pending(k)) return;
  }
  h1conn_kick(k);                                              /* more later: others' turn */
}

/* Writing failed: stop sending and read what the peer may have answered (call_send's way). */
static int send_broken(h1_call *c)
{
  c->send_broken = c->sent_all = true;
  h1conn_want_write(c->k, false);
  if(c->starting) { h1conn_kick(c->k); return MORE; }
  call_pump(c);
  return ENDED;
}

/* The streamed body after the head: pulls a piece when the buffer is empty (framed when
 * chunked), writes it, and again, until the socket is full, no piece is ready (wait for
 * h1_body_ready, the timer off: the client's pace is not the upstream's fault) or all is out.
 * Each bit of progress restarts the timeout. */
static int send_stream(h1_call *c)
{
  h1_conn *k = c->k;
  char msg[256];
  for(;;) {
    if(c->soff == c->slen) {
      if(c->body_eof) break;
      if(!c->sbuf && !(c->sbuf = malloc(SBUF))) { call_fail(c, UP_ERR_OTHER, "out of memory"); return ENDED; }
      long n = c->body_read(c->ctx, c->sbuf + SBUF_HEAD, SBUF - SBUF_HEAD - 7);
      if(n == UP_BODY_ERROR) { call_fail(c, UP_ERR_OTHER, "the request body broke off"); return ENDED; }
      if(n == 0) {
        c->body_wait = true;
        h1conn_want_write(k, false);
        evtimer_del(c->timer);
        return MORE;
      }
      c->soff = c->slen = SBUF_HEAD;
      if(n == UP_BODY_END) {
        c->body_eof = true;
        if(!c->body_chunked) break;
        memcpy(c->sbuf + c->slen, "0\r\n\r\n", 5);
        c->slen += 5;
      } else {
        c->slen += (size_t)n;
        if(c->body_chunked) {              /* "<hex>\r\n" before the data, "\r\n" after */
          char line[SBUF_HEAD];
          int hl = snprintf(line, sizeof line, "%lx\r\n", (unsigned long)n);
          c->soff -= (size_t)hl;
          memcpy(c->sbuf + c->soff, line, (size_t)hl);
          memcpy(c->sbuf + c->slen, "\r\n", 2);
          c->slen += 2;
        }
      }
    }
    struct iovec iov = { c->sbuf + c->soff, c->slen - c->soff };
    long w = h1conn_write(k, &iov, 1, msg, sizeof msg);
    if(w == H1_AGAIN) return MORE;
    if(w <= 0) return send_broken(c);
    c->soff += (size_t)w;
    arm_total(c, c->timeout_ms);
  }
  c->sent_all = true;
  h1conn_want_write(k, false);
  arm_total(c, c->timeout_ms);                           /* now the answer */
  return MORE;
}

void h1_body_ready(h1_call *c)
{
  if(!c->body_wait || !c->k) return;
  c->body_wait = false;
  arm_total(c, c->timeout_ms);
  h1conn_want_write(c->k, true);                   /* the send goes on from the loop */
}

/* Writes what is left of the request.  ENDED when the call ended (or was retried and the old
 * connection is gone: the caller must not touch it). */
static int call_send(h1_call *c)
{
  h1_conn *k = c->k;
  char msg[256];
  size_t total = c->req_len + c->body_len;
  while(c->sent < total) {
    struct iovec iov[2];
    int n = 0;
    if(c->sent < c->req_len) {
      iov[n++] = (struct iovec){ c->req + c->sent, c->req_len - c->sent };
      if(c->body_len) iov[n++] = (struct iovec){ (void *)c->body, c->body_len };
    } else {
      iov[n++] = (struct iovec){ (void *)(c->body + (c->sent - c->req_len)), total - c->sent };
    }
    long w = h1conn_write(k, iov, n, msg, sizeof msg);
    if(w == H1_AGAIN) return MORE;                 /* io follows once writable */
    if(w <= 0) {
      /* Stop sending.  An answer may already wait (an early error response); reading tells
       * whether the peer is gone — and a stale pooled connection is retried from there. */
      c->send_broken = c->sent_all = true;
      h1conn_want_write(k, false);
      if(c->starting) { h1conn_kick(k); return MORE; }
      call_pump(c);
      return ENDED;
    }
    c->sent += (size_t)w;
  }
  if(c->body_read) return send_stream(c);
  c->sent_all = true;
  h1conn_want_write(k, false);
  return MORE;
}

/* ---------- connection events ---------- */

/* h1_conn_ops: a new connection is open (TLS done): the request goes out. */
static void conn_ready(void *owner)
{
  h1_call *c = owner;
  c->connected = true;
  call_send(c);
}

/* h1_conn_ops: the socket is writable (the rest of the request) or readable (the answer). */
static void conn_io(void *owner, short what)
{
  h1_call *c = owner;
  if(!c->sent_all && call_send(c) == ENDED) return;
  if((what & EV_READ) && !c->paused) call_pump(c);
}

/* h1_conn_ops: opening a connection failed: so does the call (no retry: nothing was stale). */
static void conn_failed(void *owner, up_error err, const char *msg)
{
  h1_call *c = owner;
  c->k = NULL;                                     /* already closed */
  call_fail(c, err, msg);
}

static const h1_conn_ops conn_ops = { conn_ready, conn_io, conn_failed };

/* ---------- the API ---------- */

h1_client *h1_new(struct event_base *base, const char *ca_file)
{
  h1_client *cl = calloc(1, sizeof *cl);
  if(!cl) return NULL;
  cl->base = base;
  cl->pool = h1pool_new(base, ca_file, &conn_ops);
  if(!cl->pool) { free(cl); return NULL; }
  return cl;
}

void h1_free(h1_client *cl)
{
  if(!cl) return;
  while(cl->calls) call_release(cl->calls);
  h1pool_free(cl->pool);
  for(h1_call *c = cl->spare, *nx; c; c = nx) {
    nx = c->next;
    event_free(c->timer);
    free(c->req);
    free(c);
  }
  free(cl);
}

h1_call *h1_start(h1_client *cl, const up_request *req, const up_callbacks *cb, void *ctx)
{
  target t;
  if(!parse_url(req->url, &t)) return NULL;
  h1_origin *o = h1pool_origin(cl->pool, t.tls, t.host, t.hostn, (uint16_t)t.port);
  if(!o) return NULL;
  h1_call *c = call_get(cl);
  if(!c) return NULL;
  c->o = o;
  if(!build_request(c, req, &t)) { call_put(c); return NULL; }
  c->tag.curl = false;
  c->cb = *cb;
  c->ctx = ctx;
  c->k = NULL;
  c->sent = 0;
  c->timeout_ms = req->timeout_ms;
  c->idle_ms = req->idle_ms;
  c->idle_mode = req->stream && req->idle_ms > 0;
  c->head_done = c->paused = c->retried = c->got_byte = c->sent_all = c->send_broken = false;
  c->connected = c->pending = false;
  c->body_read = req->body_read;
  c->body_chunked = req->body_read && req->body_size < 0;
  c->body_eof = c->body_wait = false;
  c->soff = c->slen = 0;
  c->prev = NULL;
  c->next = cl->calls;
  if(cl->calls) cl->calls->prev = c;
  cl->calls = c;
  cl->active++;
  c->starting = true;
  arm_total(c, c->timeout_ms);                     /* connect included; streams: to the first byte */
  c->k = c->body_read ? NULL : h1pool_take(o, c);  /* a streamed body cannot be sent twice: a fresh connection */
  if(c->k) { c->connected = true; call_send(c); }
  else call_connect(c);
  c->starting = false;
  return c;
}

void h1_resume(h1_call *c)
{
  if(!c->paused) return;
  c->paused = false;
  timer_resume(c);
  h1conn_pause(c->k, false);                       /* io(EV_READ) follows: kept bytes first */
}

void h1_cancel(h1_call *c) { call_release(c); }   /* a half-read connection is closed, never reused */

size_t h1_active(const h1_client *cl) { return cl->active; }
