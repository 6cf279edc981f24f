#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "base/log.h"
#include "http/reqid.h"
#include "http/reqparse.h"
#include "http/server.h"

typedef enum { C_HEAD, C_BODY, C_CHUNKED, C_HANDLER, C_STREAM, C_CLOSING, C_LINGER } conn_state;

struct conn {
  struct worker *w;
  struct bufferevent *bev;
  struct conn *prev, *next;      /* the worker's list, for shutdown */
  conn_state state;
  bool keep_alive, expect_continue, in_process, freed_in_process;
  size_t scanned;                /* head bytes already searched for the blank line */
  int64_t t_head_us, t_body_us;  /* mono_us of the head's first byte, of the body's start */
  char *head;                    /* this request's head (the request's strs point into it) */
  size_t head_cap;
  size_t body_cap;
  int64_t content_length;        /* C_BODY */
  rp_chunked chunks;             /* C_CHUNKED: where the body's framing stands (reqparse.h) */
  bool stream_chunked, stream_done;   /* C_STREAM: the handler pulls the body (http_body_read) */
  int64_t stream_left;           /* C_STREAM with Content-Length: bytes still to come */
  char ip[64];                   /* the peer, copied into each request */
  const http_upgrade_ops *up_ops; /* set: taken over by http_upgrade (WebSocket) */
  void *up_arg;
  http_req req;
};

static void conn_process(struct conn *c);
static void flush_now(struct conn *c);

/* ---------- small helpers ---------- */

const char *http_reason(int s)
{
  switch(s) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default:  return "Unknown";
  }
}

str http_header_get(const http_req *r, str name)
{
  for(size_t i = 0; i < r->nhdr; i++)
    if(str_ieq(r->hdr[i].name, name)) return r->hdr[i].value;
  return (str){ NULL, 0 };
}

str http_query_get(const http_req *r, str name)
{
  const char *p = r->query.p, *end = p ? p + r->query.n : NULL;   /* NULL + 0 is UB */
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    const char *eq = memchr(p, '=', (size_t)(amp - p));
    str k = { p, (size_t)((eq ? eq : amp) - p) };
    if(str_eq(k, name)) return eq ? (str){ eq + 1, (size_t)(amp - eq - 1) } : (str){ amp, 0 };
    p = amp + 1;
  }
  return (str){ NULL, 0 };
}

/* "Sun, 22 Nov 2026 00:44:06 GMT", cached per thread per second. */
static const char *http_date(void)
{
  static __thread char buf[40];
  static __thread time_t last;
  time_t t = time(NULL);
  if(t != last) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = t;
  }
  return buf;
}

/* ---------- connection lifetime ---------- */

static void conn_free(struct conn *c)
{
  struct worker *w = c->w;
  if(c->up_ops) {
    const http_upgrade_ops *ops = c->up_ops;
    c->up_ops = NULL;
    if(ops->on_close) ops->on_close(c->up_arg);
  }
  if((c->state == C_HANDLER || c->state == C_STREAM) && c->req.on_abort) {
    void (*abort_cb)(http_req *) = c->req.on_abort;
    c->req.on_abort = NULL;
    abort_cb(&c->req);
  }
  if(c->prev) c->prev->next = c->next; else w->conns = c->next;
  if(c->next) c->next->prev = c->prev;
  w->nconns--;
  atomic_fetch_sub(&w->gw->connections, 1);
  bufferevent_free(c->bev);
  free(c->head);
  free(c->req.body);
  if(c->in_process) { c->freed_in_process = true; return; }  /* conn_process frees it */
  free(c);
}

static void set_read_timeout(struct conn *c, bool on)
{
  int64_t ms = c->w->cfg->idle_timeout_ms;
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  bufferevent_set_timeouts(c->bev, on ? &tv : NULL, &tv);
}

/* Reset for the next request on a kept-alive connection. */
static void conn_next(struct conn *c)
{
  free(c->req.body);
  memset(&c->req, 0, sizeof c->req);
  c->req.conn = c;
  c->req.w = c->w;
  c->req.minor = 1;
  memcpy(c->req.ip, c->ip, sizeof c->ip);
  c->scanned = 0;
  c->body_cap = 0;
  c->stream_chunked = c->stream_done = false;
  c->stream_left = 0;
  c->state = C_HEAD;
  set_read_timeout(c, true);
  bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
}

/* An error answered by the connection layer itself, before any handler: always closes. */
static void conn_fail(struct conn *c, int status, const char *msg)
{
  c->keep_alive = false;
  c->state = C_HANDLER;
  http_error(&c->req, status, NULL, msg, NULL);
}

/* Parses the head in c->head[0..n) (through its blank line) into c->req and the body's
 * framing.  false after answering the error the parser found. */
static bool parse_head(struct conn *c, size_t n)
{
  http_req *r = &c->req;
  rp_head h;
  const config *cfg = c->w->cfg;
  /* The head is parsed against the larger limit; which one applies depends on the route. */
  int64_t max = cfg->max_upload > cfg->max_body ? cfg->max_upload : cfg->max_body;
  rp_limits lim = { (size_t)cfg->max_header, max };
  rp_step st = rp_head_parse_complete(c->head, n, &lim, &h, r->hdr, HTTP_MAX_HEADERS);
  r->minor = h.minor;                  /* the error answer, too, speaks the client's version */
  r->nhdr = h.nhdr;
  if(st != RP_DONE) { conn_fail(c, h.status, h.error); return false; }
  r->method = h.method;
  r->target = h.target;
  r->path = h.path;
  r->query = h.query;
  c->keep_alive = h.keep_alive;
  c->expect_continue = h.expect_continue;
  /* Authentication and routing before the body: a refused caller's body is never read (nor held),
   * and its connection closes after the answer (lingering, so the answer arrives). */
  if(h.framing != RP_BODY_NONE && c->w->gw->admit) {
    bool keep = c->keep_alive;
    c->keep_alive = false;
    c->state = C_HANDLER;
    if(!c->w->gw->admit(r)) return false;
    c->keep_alive = keep;
  }
  c->t_head_us = 0;                    /* the next request's head starts afresh */
  c->t_body_us = mono_us();
  bool stream = c->w->gw->stream_body && c->w->gw->stream_body(r);
  max = stream ? cfg->max_upload : cfg->max_body;
  if(h.framing == RP_BODY_LENGTH && h.content_length > max) { conn_fail(c, 413, "request body too large"); return false; }
  if(stream) {
    c->state = C_STREAM;
    c->stream_chunked = h.framing == RP_BODY_CHUNKED;
    c->stream_left = h.content_length;
    if(c->stream_chunked) rp_chunked_init(&c->chunks, max);
    r->body_stream = true;
    r->body_size = c->stream_chunked ? -1 : h.content_length;
  } else if(h.framing == RP_BODY_CHUNKED) {
    rp_chunked_init(&c->chunks, c->w->cfg->max_body);
    c->state = C_CHUNKED;
  } else {
    c->content_length = h.content_length;
    c->state = C_BODY;
  }
  return true;
}

/* Make room for n more body bytes; false when that would pass max_body. */
static bool body_reserve(struct conn *c, size_t n)
{
  http_req *r = &c->req;
  if(r->body_len + n > (size_t)c->w->cfg->max_body) return false;
  if(r->body_len + n + 1 > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while(cap < r->body_len + n + 1) cap *= 2;
    char *b = realloc(r->body, cap);
    if(!b) return false;
    r->body = b;
    c->body_cap = cap;
  }
  return true;
}

/* A streamed body: the handler runs now and pulls the body; the connection keeps reading it
 * (bounded by the read watermark) and times the client out if it stalls. */
static void dispatch_stream(struct conn *c)
{
  http_req *r = &c->req;
  r->body = malloc(1);
  if(r->body) r->body[0] = '\0';
  r->body_len = 0;
  c->stream_done = !c->stream_chunked && c->stream_left == 0;
  bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_HIGH_WATER);
  r->t0_us = mono_us();
  c->w->handler(r);
}

long http_body_read(http_req *r, char *buf, size_t cap)
{
  struct conn *c = r->conn;
  if(!r->body_stream || c->state != C_STREAM || c->stream_done) return HTTP_BODY_END;
  if(r->body_error) return HTTP_BODY_ERROR;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  if(!c->stream_chunked) {
    size_t n = evbuffer_get_length(in);
    if((int64_t)n > c->stream_left) n = (size_t)c->stream_left;
    if(n > cap) n = cap;
    if(!n) return 0;
    evbuffer_remove(in, buf, n);
    if((c->stream_left -= (int64_t)n) == 0) c->stream_done = true;
    return (long)n;
  }
  for(;;) {
    size_t avail = evbuffer_get_length(in);
    if(c->chunks.state == RP_CHUNK_DATA) {
      size_t n = rp_chunked_data(&c->chunks, avail < cap ? avail : cap);
      if(!n) return 0;
      evbuffer_remove(in, buf, n);
      return (long)n;
    }
    size_t win = avail < RP_CHUNK_WINDOW ? avail : RP_CHUNK_WINDOW;
    const char *p = win ? (const char *)evbuffer_pullup(in, (ssize_t)win) : NULL;
    int status;
    const char *msg;
    long used = rp_chunked_frame(&c->chunks, p, win, &status, &msg);
    if(used < 0) { r->body_error = status; c->keep_alive = false; return HTTP_BODY_ERROR; }
    if(used == 0) return 0;
    evbuffer_drain(in, (size_t)used);
    if(c->chunks.state == RP_CHUNK_END) { c->stream_done = true; return HTTP_BODY_END; }
  }
}

/* A request that arrives too slowly (slowloris): its head past GEMGATE_HEADER_TIMEOUT, or its
 * body past GEMGATE_BODY_TIMEOUT while averaging less than GEMGATE_BODY_MIN_RATE bytes a
 * second.  Checked as bytes arrive (a drip is bytes); total silence is the idle timeout's.  The
 * reason, or NULL.  A zero timeout (a configuration built by hand) sets no deadline.  Streamed bodies (uploads) are bounded by the idle timeout and MAX_UPLOAD. */
static const char *too_slow(struct conn *c, size_t avail)
{
  const config *cfg = c->w->cfg;
  if(c->state == C_HEAD)
    return c->t_head_us && cfg->header_timeout_ms > 0 && mono_us() - c->t_head_us > cfg->header_timeout_ms * 1000
           ? "request head not received in time" : NULL;
  if((c->state != C_BODY && c->state != C_CHUNKED) || cfg->body_timeout_ms <= 0) return NULL;
  int64_t took_ms = (mono_us() - c->t_body_us) / 1000;
  if(took_ms <= cfg->body_timeout_ms) return NULL;
  int64_t got = (int64_t)(c->req.body_len + avail);
  if(cfg->body_min_rate > 0 && got >= took_ms * cfg->body_min_rate / 1000) return NULL;
  return "request body not received in time";
}

static void dispatch(struct conn *c)
{
  http_req *r = &c->req;
  if(!r->body) { r->body = malloc(1); r->body_len = 0; }
  r->body[r->body_len] = '\0';
  c->state = C_HANDLER;
  set_read_timeout(c, false);
  /* While the handler runs, read only enough to notice the client leaving. */
  bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)c->w->cfg->max_header);
  r->t0_us = mono_us();
  reqid_assign(r);
  c->w->handler(r);
}

/* Runs the state machine over whatever input is buffered.  Guarded against re-entry: a
 * handler that finishes synchronously comes back here through http_finish. */
static void conn_process(struct conn *c)
{
  if(c->in_process) return;
  c->in_process = true;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  for(;;) {
    if(c->freed_in_process) break;
    size_t avail = evbuffer_get_length(in);
    if(c->state == C_HEAD && avail && !c->t_head_us) c->t_head_us = mono_us();
    const char *slow = too_slow(c, avail);
    if(slow) { conn_fail(c, 408, slow); continue; }
    if(c->state == C_HEAD) {
      if(avail == 0) break;
      struct evbuffer_ptr start;
      evbuffer_ptr_set(in, &start, c->scanned > 3 ? c->scanned - 3 : 0, EVBUFFER_PTR_SET);
      struct evbuffer_ptr found = evbuffer_search(in, "\r\n\r\n", 4, &start);
      if(found.pos < 0) {
        if(avail > (size_t)c->w->cfg->max_header) { conn_fail(c, 431, "request head too large"); continue; }
        c->scanned = avail;
        break;
      }
      size_t n = (size_t)found.pos + 4;
      if(n > (size_t)c->w->cfg->max_header) { conn_fail(c, 431, "request head too large"); continue; }
      if(n > c->head_cap) {
        free(c->head);
        c->head_cap = n < 1024 ? 1024 : n;
        c->head = malloc(c->head_cap);
      }
      evbuffer_remove(in, c->head, n);
      if(!parse_head(c, n)) continue;
      if(c->expect_continue)
      { bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25); flush_now(c); }
      if(c->state == C_STREAM) dispatch_stream(c);
      continue;
    }
    if(c->state == C_BODY) {
      size_t want = (size_t)c->content_length;
      if(avail < want) break;
      if(want) {
        if(!body_reserve(c, want)) { conn_fail(c, 413, "request body too large"); continue; }
        evbuffer_remove(in, c->req.body, want);
        c->req.body_len = want;
      }
      dispatch(c);
      continue;
    }
    if(c->state == C_CHUNKED && c->chunks.state == RP_CHUNK_DATA) {
      size_t n = rp_chunked_data(&c->chunks, avail);
      if(n == 0) break;
      evbuffer_remove(in, c->req.body + c->req.body_len, n);
      c->req.body_len += n;
      continue;
    }
    if(c->state == C_CHUNKED) {          /* a size line, a data CRLF or a trailer line */
      size_t win = avail < RP_CHUNK_WINDOW ? avail : RP_CHUNK_WINDOW;
      const char *p = win ? (const char *)evbuffer_pullup(in, (ssize_t)win) : NULL;
      int status;
      const char *msg;
      long used = rp_chunked_frame(&c->chunks, p, win, &status, &msg);
      if(used < 0) { conn_fail(c, status, msg); continue; }
      if(used == 0) break;
      evbuffer_drain(in, (size_t)used);
      if(c->chunks.state == RP_CHUNK_DATA && !body_reserve(c, (size_t)c->chunks.left)) {
        conn_fail(c, 413, "request body too large");
        continue;
      }
      if(c->chunks.state == RP_CHUNK_END) dispatch(c);
      continue;
    }
    break;   /* C_HANDLER, C_STREAM (the handler pulls), C_CLOSING, C_LINGER: wait */
  }
  c->in_process = false;
  if(c->freed_in_process) free(c);
}

/* Writes what is queued now, instead of waiting a loop turn for the socket to be reported
 * writable: an answer that fits the socket buffer leaves at once and costs no epoll_ctl.  What
 * the socket does not take waits for EV_WRITE, which is enabled only then (on_write disables it
 * again once all is out). */
static void flush_now(struct conn *c)
{
  struct evbuffer *out = bufferevent_get_output(c->bev);
  if(!evbuffer_get_length(out)) return;
  evbuffer_unfreeze(out, 1);      /* a socket bufferevent keeps its output's front frozen */
  evbuffer_write(out, bufferevent_getfd(c->bev));   /* errors: the bufferevent's write reports them */
  evbuffer_freeze(out, 1);
  if(evbuffer_get_length(out)) bufferevent_enable(c->bev, EV_WRITE);
}

/* ---------- libevent callbacks ---------- */

/* The last response is written: half-close and read until the client closes (or 2 s), so
 * that a request it sent meanwhile does not make our close a reset that destroys the response
 * still on its way (the "lingering close" of RFC 9112 §9.6). */
static void conn_linger(struct conn *c)
{
  c->state = C_LINGER;
  shutdown(bufferevent_getfd(c->bev), SHUT_WR);
  struct evbuffer *in = bufferevent_get_input(c->bev);
  evbuffer_drain(in, evbuffer_get_length(in));
  struct timeval tv = { 2, 0 };
  bufferevent_set_timeouts(c->bev, &tv, NULL);
  bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
  bufferevent_enable(c->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
  struct conn *c = arg;
  if(c->state == C_CLOSING || c->state == C_LINGER) {   /* nothing more will be answered */
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  if(c->up_ops) { c->up_ops->on_read(c->up_arg, bufferevent_get_input(bev)); return; }
  if(c->state == C_HANDLER) return;   /* pipelined: later */
  if(c->state == C_STREAM) {           /* more of a streamed body: its handler pulls it */
    if(!c->stream_done && c->req.on_body) c->req.on_body(&c->req);
    return;
  }
  conn_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
  struct conn *c = arg;
  size_t left = evbuffer_get_length(bufferevent_get_output(bev));
  if(c->state == C_CLOSING) {
    if(left == 0) conn_linger(c);
    return;
  }
  if(left == 0) bufferevent_disable(bev, EV_WRITE);   /* flush_now writes the next answer */
  if(c->up_ops) { if(c->up_ops->on_drain && left <= HTTP_LOW_WATER) c->up_ops->on_drain(c->up_arg); return; }
  if(c->state == C_HANDLER && c->req.on_drain && left <= HTTP_LOW_WATER) c->req.on_drain(&c->req);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
  struct conn *c = arg;
  if((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->state != C_HANDLER && c->state != C_STREAM &&
     c->state != C_CLOSING && c->state != C_LINGER && (c->state != C_HEAD || evbuffer_get_length(bufferevent_get_input(bev)) > 0)) {
    conn_fail(c, 408, "request not received in time");
    return;
  }
  conn_free(c);   /* EOF, error, idle keep-alive, or a reader stalled past the timeout */
}

void http_accept(struct worker *w, int fd, const char *ip)
{
  struct bufferevent *bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
  struct conn *c = calloc(1, sizeof *c);
  if(!bev || !c) { if(bev) bufferevent_free(bev); else close(fd); free(c); return; }
  c->w = w;
  c->bev = bev;
  c->next = w->conns;
  if(w->conns) w->conns->prev = c;
  w->conns = c;
  if(++w->nconns > w->peak_conns) w->peak_conns = w->nconns;
  atomic_fetch_add(&w->gw->connections, 1);
  bufferevent_setcb(bev, on_read, on_write, on_event, c);
  bufferevent_setwatermark(bev, EV_WRITE, HTTP_LOW_WATER, 0);
  snprintf(c->ip, sizeof c->ip, "%s", ip);
  conn_next(c);
  bufferevent_disable(bev, EV_WRITE);                /* on by default: only while output waits */
  bufferevent_enable(bev, EV_READ);
  if(w->nconns > (size_t)w->cfg->max_conns || w->draining) {
    conn_fail(c, 503, w->draining ? "server is shutting down" : "too many connections");
  }
}

void http_drain(struct worker *w)
{
  for(struct conn *c = w->conns, *next; c; c = next) {
    next = c->next;
    c->keep_alive = false;
    if(c->state == C_HEAD && c->scanned == 0 &&
       evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
      conn_free(c);
  }
}

void http_close_all(struct worker *w)
{
  while(w->conns) conn_free(w->conns);
}

/* ---------- responses ---------- */

/* Writes the status line and the common headers. */
static void write_head(http_req *r, int status, const char *ctype, const char *extra, int64_t len)
{
  struct conn *c = r->conn;
  if(c->w->draining) c->keep_alive = false;
  if(c->state == C_STREAM && !c->stream_done) c->keep_alive = false;   /* the rest is not read */
  r->status = status;
  r->started = true;
  char mem[4096];
  sbuf b = { mem, 0, sizeof mem, false };
  SB_LIT(&b, "HTTP/1.");
  sb_u64(&b, (uint64_t)r->minor);
  SB_LIT(&b, " ");
  sb_u64(&b, (uint64_t)status);
  SB_LIT(&b, " ");
  sb_str(&b, http_reason(status));
  SB_LIT(&b, "\r\nDate: ");
  sb_str(&b, http_date());
  SB_LIT(&b, "\r\nServer: gemgate\r\n");
  if(!r->rid[0]) reqid_assign(r);      /* answered before a handler (a bad request) */
  SB_LIT(&b, "X-Request-Id: ");
  sb_str(&b, r->rid);
  SB_LIT(&b, "\r\n");
  if(ctype) { SB_LIT(&b, "Content-Type: "); sb_str(&b, ctype); SB_LIT(&b, "\r\n"); }
  if(len >= 0) { SB_LIT(&b, "Content-Length: "); sb_u64(&b, (uint64_t)len); SB_LIT(&b, "\r\n"); }
  else if(r->minor == 1) { SB_LIT(&b, "Transfer-Encoding: chunked\r\n"); r->chunked = true; }
  else c->keep_alive = false;   /* HTTP/1.0 and no length: the close ends the body */
  if(!c->keep_alive) SB_LIT(&b, "Connection: close\r\n");
  else if(r->minor == 0) SB_LIT(&b, "Connection: keep-alive\r\n");
  struct evbuffer *out = bufferevent_get_output(c->bev);
  size_t el = extra ? strlen(extra) : 0;
  if(b.n + el + 2 <= b.cap) {          /* the usual case: the whole head in one piece */
    if(el) sb_put(&b, extra, el);
    SB_LIT(&b, "\r\n");
    evbuffer_add(out, b.p, b.n);
    return;
  }
  evbuffer_add(out, b.p, b.n);
  if(el) evbuffer_add(out, extra, el);
  evbuffer_add(out, "\r\n", 2);
}

void http_start(http_req *r, int status, const char *headers, int64_t content_length)
{
  write_head(r, status, NULL, headers, content_length);
  if(content_length < 0) flush_now(r->conn);   /* a stream's client waits for the head; else it goes with the body */
}

void http_send(http_req *r, const void *data, size_t len)
{
  if(!len) return;
  struct evbuffer *out = bufferevent_get_output(r->conn->bev);
  if(r->chunked) {
    char mem[24];
    sbuf b = { mem, 0, sizeof mem, false };
    sb_hex(&b, len);
    SB_LIT(&b, "\r\n");
    evbuffer_add(out, b.p, b.n);
    evbuffer_add(out, data, len);
    evbuffer_add(out, "\r\n", 2);
  } else {
    evbuffer_add(out, data, len);
  }
  r->bytes_out += (int64_t)len;
  flush_now(r->conn);
}

void http_finish(http_req *r)
{
  struct conn *c = r->conn;
  if(c->state == C_STREAM && !c->stream_done) c->keep_alive = false;
  r->on_body = NULL;
  if(r->chunked) evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
  r->on_abort = NULL;
  r->on_drain = NULL;
  c->w->requests_done++;
  flush_now(c);
  if(!c->keep_alive) {
    c->state = C_CLOSING;
    if(evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_linger(c);
    return;
  }
  conn_next(c);
  if(evbuffer_get_length(bufferevent_get_input(c->bev))) conn_process(c);
}

void http_abort(http_req *r)
{
  r->chunked = false;
  r->conn->keep_alive = false;
  http_finish(r);
}

void http_reply(http_req *r, int status, const char *ctype, const char *body, size_t len, const char *extra)
{
  write_head(r, status, ctype, extra, (int64_t)len);
  if(len) evbuffer_add(bufferevent_get_output(r->conn->bev), body, len);
  r->bytes_out += (int64_t)len;
  http_finish(r);
}

void http_reply_json(http_req *r, int status, json_t *j, const char *extra)
{
  char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(j);
  if(!s) { http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL); return; }
  http_reply(r, status, "application/json; charset=UTF-8", s, strlen(s), extra);
  free(s);
}

const char *http_grpc_status(int status)
{
  switch(status) {
  case 400: return "INVALID_ARGUMENT";
  case 401: return "UNAUTHENTICATED";
  case 403: return "PERMISSION_DENIED";
  case 404: return "NOT_FOUND";
  case 405: return "METHOD_NOT_ALLOWED";
  case 408: case 504: return "DEADLINE_EXCEEDED";
  case 409: return "ALREADY_EXISTS";
  case 410: return "NOT_FOUND";            /* Google has no GONE: the thing is not there any more */
  case 413: return "INVALID_ARGUMENT";
  case 429: return "RESOURCE_EXHAUSTED";
  case 501: return "UNIMPLEMENTED";
  case 502: case 503: return "UNAVAILABLE";
  default:  return "INTERNAL";
  }
}

json_t *http_error_json(int status, const char *gstatus, const char *message)
{
  return json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "message", message ? message : "",
                   "status", gstatus ? gstatus : http_grpc_status(status));
}

void http_error(http_req *r, int status, const char *gstatus, const char *message, const char *extra)
{
  http_reply_json(r, status, http_error_json(status, gstatus, message), extra);
}

bool http_hop_by_hop(str name)
{
  switch(name.n) {                    /* by length first: every forwarded header passes here */
  case 2: return str_ieq(name, STR("TE"));
  case 7: return str_ieq(name, STR("Trailer")) || str_ieq(name, STR("Upgrade"));
  case 10: return str_ieq(name, STR("Connection")) || str_ieq(name, STR("Keep-Alive"));
  case 16: return str_ieq(name, STR("Proxy-Connection"));
  case 17: return str_ieq(name, STR("Transfer-Encoding"));
  default: return false;
  }
}

int http_status_of(gg_rc rc)
{
  switch(rc) {
  case GG_OK: return 200;
  case GG_BAD_INPUT: return 400;
  case GG_FORBIDDEN: return 403;
  case GG_NOT_FOUND: return 404;
  case GG_CONFLICT: return 409;
  case GG_LIMITED: return 429;
  case GG_BUSY: case GG_UNAVAILABLE: return 503;
  default: return 500;
  }
}

void http_error_rc(http_req *r, gg_rc rc, const char *message)
{
  static const char *const generic[] = {
    [GG_NOMEM] = "out of memory", [GG_BAD_INPUT] = "the request is not valid",
    [GG_NOT_FOUND] = "not found", [GG_CONFLICT] = "conflicts with the current state",
    [GG_FORBIDDEN] = "not allowed", [GG_LIMITED] = "over a limit",
    [GG_DB] = "the database failed", [GG_BUSY] = "busy: try again",
    [GG_UNAVAILABLE] = "not available", [GG_INTERNAL] = "internal error",
  };
  if(!message || !message[0])
    message = (unsigned)rc < ARRAY_LEN(generic) && generic[rc] ? generic[rc] : "internal error";
  http_error(r, http_status_of(rc), NULL, message, rc == GG_BUSY ? "Retry-After: 1\r\n" : NULL);
}

json_t *http_body_object(http_req *r)
{
  json_t *b = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : json_object();
  if(json_is_object(b)) return b;
  json_decref(b);
  http_error(r, 400, NULL, "body must be a JSON object", NULL);
  return NULL;
}

/* ---------- upgraded connections ---------- */

struct conn *http_upgrade(http_req *r, const char *head, size_t len, const http_upgrade_ops *ops, void *arg)
{
  struct conn *c = r->conn;
  r->on_abort = NULL;
  r->on_drain = NULL;
  r->started = true;
  r->status = 101;
  c->keep_alive = false;
  c->up_ops = ops;
  c->up_arg = arg;
  c->w->requests_done++;
  evbuffer_add(bufferevent_get_output(c->bev), head, len);
  flush_now(c);
  set_read_timeout(c, false);            /* the peer may be silent; a stalled write still times out */
  bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
  if(evbuffer_get_length(bufferevent_get_input(c->bev)))
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
  return c;
}

void http_upgraded_send(struct conn *c, const void *p, size_t n)
{
  evbuffer_add(bufferevent_get_output(c->bev), p, n);
  flush_now(c);
}

size_t http_upgraded_pending(const struct conn *c)
{
  return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void http_upgraded_close(struct conn *c)
{
  c->up_ops = NULL;
  c->state = C_CLOSING;
  flush_now(c);
  if(evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_linger(c);
}

struct worker *http_upgraded_worker(const struct conn *c)
{
  return c->w;
}

int http_upgraded_fd(const struct conn *c)
{
  return bufferevent_getfd(c->bev);
}

size_t http_pending(const http_req *r)
{
  return evbuffer_get_length(bufferevent_get_output(r->conn->bev));
}
