/* logs — the log routes; contract in logs.h.
 *
 * A live client (WebSocket or SSE) is a subscriber with a position in the log ring: a timer on
 * its worker's loop sends it, every LOGS_TICK_MS, the lines logged since, through its filter.
 * The ring is read without a lock (log_get); lines overwritten before a slow client got them
 * are announced as lost, and a client whose unsent output passes LOGS_WS_MAX_PENDING is
 * dropped (WebSocket close 1008; the event stream is cut). */
#include "admin/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/log.h"
#include "http/adminguard.h"
#include "http/auth.h"
#include "http/server.h"
#include "http/session.h"
#include "http/ws.h"
#include "store/query.h"

#define LINE_CAP (LOG_MSG_CAP + 1024)
#define MAX_PER_TICK 2000
#define SSE_KEEPALIVE_MS 15000

/* ---------- filters ---------- */

static gg_rc parse_filter(str qs, log_filter *f, int64_t *n, int64_t ndef, gg_err *e)
{
  *f = (log_filter){ -1, LOG_DEBUG, "" };
  char v[LOG_RID_CAP];
  bool has;
  gg_rc rc = query_int(qs, "n", ndef ? 1 : 0, LOGS_MAX_N, ndef, n, e);
  if(rc) return rc;
  if((rc = query_str(qs, "stream", v, sizeof v, &has, e))) return rc;
  if(has && v[0] && strcmp(v, "all") && (f->stream = log_parse_stream(v)) < 0)
    return gg_fail(e, GG_BAD_INPUT, "stream must be app, transaction or debug");
  if((rc = query_str(qs, "level", v, sizeof v, &has, e))) return rc;
  if(has && v[0] && (f->max_level = log_parse_level(v)) < 0)
    return gg_fail(e, GG_BAD_INPUT, "level must be error, warn, info or debug");
  if((rc = query_str(qs, "request_id", f->rid, sizeof f->rid, &has, e))) return rc;
  return GG_OK;
}

static size_t ring_size(void)
{
  log_stats s;
  log_get_stats(&s);
  return s.ring;
}

/* ---------- GET /api/status/logs ---------- */

typedef struct obuf { char *p; size_t n, cap; } obuf;

static bool ob_put(obuf *b, const char *s, size_t n)
{
  if(b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while(cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if(!p) return false;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  return true;
}

void logs_route_list(http_req *r)
{
  log_filter f;
  int64_t n;
  gg_err e = { 0 };
  if(parse_filter(r->query, &f, &n, 100, &e)) { http_error_rc(r, GG_BAD_INPUT, e.msg); return; }
  uint64_t head = log_head(), ring = ring_size();
  uint64_t low = head > ring ? head - ring : 0;
  uint64_t *pos = malloc((size_t)n * sizeof *pos);
  if(!pos) { http_error_rc(r, GG_NOMEM, NULL); return; }
  size_t k = 0;
  log_line l;
  for(uint64_t p = head; p > low && k < (size_t)n; p--)
    if(log_get(p - 1, &l) && log_match(&l, &f)) pos[k++] = p - 1;
  obuf b = { 0 };
  bool ok = ob_put(&b, "{\"lines\":[", 10);
  char line[LINE_CAP];
  size_t count = 0;
  for(size_t i = k; ok && i > 0; i--) {
    if(!log_get(pos[i - 1], &l)) continue;            /* overwritten meanwhile */
    size_t len = log_render(&l, true, line, sizeof line);
    ok = (!count || ob_put(&b, ",", 1)) && ob_put(&b, line, len);
    count++;
  }
  free(pos);
  log_stats st;
  log_get_stats(&st);
  char tail[160];
  int tl = snprintf(tail, sizeof tail, "],\"count\":%zu,\"next_seq\":%llu,\"dropped\":%lld,\"ring\":%zu}", count,
                    (unsigned long long)head, (long long)st.dropped, st.ring);
  ok = ok && ob_put(&b, tail, (size_t)tl);
  if(!ok) { free(b.p); http_error_rc(r, GG_NOMEM, NULL); return; }
  http_reply(r, 200, "application/json; charset=UTF-8", b.p, b.n, NULL);
  free(b.p);
}

/* ---------- live subscribers ---------- */

typedef struct sub {
  http_req *r;                 /* SSE: the request (NULL once over) */
  ws *s;                       /* WebSocket (NULL once over) */
  struct worker *w;
  struct event *tick;
  log_filter f;
  uint64_t next;
  bool paused, in_tick, gone;
  int64_t last_sent_ms;
} sub;

static void sub_free(sub *u)
{
  if(u->tick) event_free(u->tick);
  free(u);
}

/* The connection went (or we ended it).  In a tick the tick frees u at its end. */
static void mark_gone(sub *u)
{
  u->gone = true;
  u->r = NULL;
  u->s = NULL;
}

static void sub_gone(sub *u)
{
  mark_gone(u);
  if(!u->in_tick) sub_free(u);
}

/* One message to the client; false when the client is gone (or was just dropped as slow). */
static bool sub_send(sub *u, const char *p, size_t n, uint64_t seq)
{
  if(u->s) return ws_send_text(u->s, p, n);
  http_req *r = u->r;
  if(http_pending(r) > LOGS_WS_MAX_PENDING) {           /* a slow reader: cut it */
    http_abort(r);
    mark_gone(u);                                        /* only ever called in a tick */
    return false;
  }
  char head[48];
  int hl = seq == UINT64_MAX ? 0 : snprintf(head, sizeof head, "id: %llu\n", (unsigned long long)seq);
  if(hl) http_send(r, head, (size_t)hl);
  http_send(r, "data: ", 6);
  http_send(r, p, n);
  http_send(r, "\n\n", 2);
  return true;
}

/* Sends what is new; false when the client has gone. */
static bool pump(sub *u)
{
  uint64_t head = log_head(), ring = ring_size();
  char line[LINE_CAP];
  if(head - u->next > ring) {
    uint64_t lost = head - ring - u->next;
    u->next = head - ring;
    int n = snprintf(line, sizeof line, "{\"type\":\"lost\",\"count\":%llu}", (unsigned long long)lost);
    if(!sub_send(u, line, (size_t)n, UINT64_MAX)) return false;
  }
  log_line l;
  for(int sent = 0; u->next < head && sent < MAX_PER_TICK; u->next++) {
    if(!log_get(u->next, &l)) {
      if(log_head() - u->next > ring) continue;          /* overwritten while we looked */
      break;                                             /* being written: next tick */
    }
    if(!log_match(&l, &u->f)) continue;
    size_t n = log_render(&l, true, line, sizeof line);
    if(!sub_send(u, line, n, l.pos)) return false;
    sent++;
    u->last_sent_ms = now_ms();
  }
  return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  sub *u = arg;
  u->in_tick = true;
  if(u->w->draining) {                                   /* shutdown: end the stream cleanly */
    if(u->s) ws_close(u->s, 1001, "server shutting down");
    else if(u->r) { http_finish(u->r); mark_gone(u); }
  } else if(!u->paused && pump(u) && u->r && now_ms() - u->last_sent_ms > SSE_KEEPALIVE_MS) {
    http_send(u->r, ": keepalive\n\n", 13);
    u->last_sent_ms = now_ms();
  }
  u->in_tick = false;
  if(u->gone) sub_free(u);
}

static bool sub_start(sub *u, struct worker *w, int64_t backlog)
{
  u->w = w;
  uint64_t head = log_head();
  u->next = head;
  if(backlog > 0) {                                      /* the newest n matching lines first */
    uint64_t ring = ring_size(), low = head > ring ? head - ring : 0;
    int64_t k = 0;
    log_line l;
    for(uint64_t p = head; p > low && k < backlog; p--)
      if(log_get(p - 1, &l) && log_match(&l, &u->f)) { k++; u->next = p - 1; }
  }
  u->last_sent_ms = now_ms();
  u->tick = event_new(w->base, -1, EV_PERSIST, on_tick, u);
  if(!u->tick) return false;
  struct timeval tv = { 0, LOGS_TICK_MS * 1000 };
  event_add(u->tick, &tv);
  return true;
}

/* Who may watch live: the admin token (Bearer), a web UI session, a ticket, or — WebSocket
 * only — the token among the offered subprotocols.  *protocol: the one to select. */
static bool live_auth(http_req *r, bool websocket, const char **protocol)
{
  gateway *gw = r->w->gw;
  *protocol = NULL;
  str offered = http_header_get(r, STR("Sec-WebSocket-Protocol"));
  bool ok = auth_admin(gw, r);
  char t[SESSION_ID_CAP + 8];
  bool has;
  gg_err e;
  if(!ok && query_str(r->query, "ticket", t, sizeof t, &has, &e) == GG_OK && has)
    ok = session_ticket_use(str_c(t), now_ms());
  const char *tok = gw->cfg.admin_token;
  for(const char *p = offered.p, *end = offered.p ? offered.p + offered.n : NULL; websocket && p && p < end; ) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    if(!comma) comma = end;
    str v = { p, (size_t)(comma - p) };
    while(v.n && (*v.p == ' ' || *v.p == '\t')) { v.p++; v.n--; }
    while(v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t')) v.n--;
    if(str_eq(v, STR("gemgate"))) *protocol = "gemgate";
    else if(tok && admin_token_eq(tok, v.p, v.n)) ok = true;
    p = comma + 1;
  }
  if(ok) return true;
  http_error(r, 401, NULL, gw->cfg.admin_token ? "admin token required: Authorization: Bearer, a ticket from "
             "POST /admin/session, or (WebSocket) the token as a Sec-WebSocket-Protocol value"
             : "admin API disabled: set GEMGATE_ADMIN_TOKEN", NULL);
  return false;
}

/* ---------- WebSocket ---------- */

static void ws_text(ws *s, void *arg, const char *p, size_t n)
{
  sub *u = arg;
  json_error_t je;
  json_t *j = json_loadb(p, n, 0, &je);
  char reply[256];
  const char *err = NULL;
  if(!json_is_object(j)) err = "send a JSON object: {\"stream\",\"level\",\"request_id\",\"paused\"}";
  log_filter f = u->f;
  json_t *v;
  if(!err && (v = json_object_get(j, "stream"))) {
    const char *sv = json_string_value(v);
    if(json_is_null(v) || (sv && (!sv[0] || !strcmp(sv, "all")))) f.stream = -1;
    else if(!sv || (f.stream = log_parse_stream(sv)) < 0) err = "stream must be app, transaction or debug";
  }
  if(!err && (v = json_object_get(j, "level"))) {
    const char *sv = json_string_value(v);
    if(json_is_null(v) || (sv && !sv[0])) f.max_level = LOG_DEBUG;
    else if(!sv || (f.max_level = log_parse_level(sv)) < 0) err = "level must be error, warn, info or debug";
  }
  if(!err && (v = json_object_get(j, "request_id"))) {
    const char *sv = json_string_value(v);
    if(json_is_null(v)) f.rid[0] = '\0';
    else if(!sv || strlen(sv) >= sizeof f.rid) err = "request_id must be a string of at most 64 characters";
    else snprintf(f.rid, sizeof f.rid, "%s", sv);
  }
  bool paused = u->paused;
  if(!err && (v = json_object_get(j, "paused"))) {
    if(!json_is_boolean(v)) err = "paused must be true or false";
    else paused = json_is_true(v);
  }
  json_decref(j);
  int len;
  if(err) len = snprintf(reply, sizeof reply, "{\"type\":\"error\",\"message\":\"%s\"}", err);
  else {
    u->f = f;
    u->paused = paused;
    json_t *o = json_pack("{s:s,s:s?,s:s,s:s?,s:b}", "type", "filter", "stream",
                          f.stream >= 0 ? log_stream_name((log_stream)f.stream) : NULL,
                          "level", log_level_name((log_level)f.max_level), "request_id", f.rid[0] ? f.rid : NULL,
                          "paused", paused);
    char *d = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    len = snprintf(reply, sizeof reply, "%s", d ? d : "{}");
    free(d);
  }
  ws_send_text(s, reply, (size_t)len);
}

static void ws_gone(void *arg)
{
  sub_gone(arg);
}

static const ws_ops live_ops = { ws_text, ws_gone };

void logs_route_ws(http_req *r)
{
  const char *protocol;
  if(!live_auth(r, true, &protocol)) return;
  sub *u = calloc(1, sizeof *u);
  if(!u) { http_error_rc(r, GG_NOMEM, NULL); return; }
  int64_t n;
  gg_err e = { 0 };
  if(parse_filter(r->query, &u->f, &n, 0, &e)) { free(u); http_error_rc(r, GG_BAD_INPUT, e.msg); return; }
  struct worker *w = r->w;
  u->s = ws_accept(r, protocol, LOGS_WS_MAX_PENDING, &live_ops, u);
  if(!u->s) { free(u); return; }                         /* answered 400 / 426 */
  if(!sub_start(u, w, n)) ws_close(u->s, 1011, "out of memory");
}

/* ---------- text/event-stream ---------- */

static void sse_abort(http_req *r)
{
  sub_gone(r->ctx);
}

void logs_route_sse(http_req *r)
{
  const char *protocol;
  if(!live_auth(r, false, &protocol)) return;
  sub *u = calloc(1, sizeof *u);
  if(!u) { http_error_rc(r, GG_NOMEM, NULL); return; }
  int64_t n;
  gg_err e = { 0 };
  if(parse_filter(r->query, &u->f, &n, 0, &e)) { free(u); http_error_rc(r, GG_BAD_INPUT, e.msg); return; }
  if(!sub_start(u, r->w, n)) { sub_free(u); http_error_rc(r, GG_NOMEM, NULL); return; }
  str last = http_header_get(r, STR("Last-Event-ID"));
  if(last.p && last.n && last.n < 21) {
    char num[24];
    memcpy(num, last.p, last.n);
    num[last.n] = '\0';
    int64_t id = parse_int(num);
    if(id >= 0 && (uint64_t)id < log_head()) u->next = (uint64_t)id + 1;
  }
  u->r = r;
  r->ctx = u;
  r->on_abort = sse_abort;
  http_start(r, 200, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", -1);
  http_send(r, ": gemgate live log\n\n", 20);
}
