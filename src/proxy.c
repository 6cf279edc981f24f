#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "keypool.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "usage.h"

#define MAX_TRIES 21          /* 1 + the largest GEMGATE_MAX_RETRIES */
#define ERRBODY_CAP (256 * 1024)

typedef struct call {
  http_req *r;
  worker *w;
  gateway *gw;
  principal who;
  char model[64];
  bool stream, sse;
  char *url;
  char **hdrs;                 /* client headers worth forwarding, then the key header */
  size_t nhdrs;
  kp_key *key;
  kp_key *tried[MAX_TRIES];
  size_t ntried;
  up_call *up;
  struct event *backoff;
  int64_t attempt_t0;
  int status;                  /* upstream status of the current attempt */
  bool passing;                /* this attempt's answer goes to the client as it comes */
  char *errbody;               /* a non-2xx answer, kept to classify it */
  size_t errlen;
  char errhead[2048];          /* its forwardable headers */
  usage_scan usage;
  char last_error[256];
} call;

/* ---------- parsing helpers ---------- */

void proxy_parse_model(str path, char *out, size_t cap, str *action)
{
  out[0] = '\0';
  *action = (str){ NULL, 0 };
  const char *p = path.p, *end = path.p + path.n;
  const char *m = NULL;
  for(const char *q = p; q + 7 <= end; q++)
    if(!memcmp(q, "models/", 7) && (q == p || q[-1] == '/')) { m = q + 7; break; }
  if(!m) return;
  const char *e = m;
  while(e < end && *e != ':' && *e != '/') e++;
  size_t n = (size_t)(e - m);
  if(n >= cap) n = cap - 1;
  memcpy(out, m, n);
  out[n] = '\0';
  if(e < end && *e == ':') *action = (str){ e + 1, (size_t)(end - e - 1) };
}

int64_t proxy_retry_delay(const char *body, size_t len)
{
  const char *p = memmem(body, len, "\"retryDelay\"", 12);
  if(!p) return -1;
  const char *end = body + len;
  p += 12;
  while(p < end && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  if(p >= end || *p != '"') return -1;
  char num[32];
  size_t n = 0;
  for(p++; p < end && *p != '"' && n < sizeof num - 1; p++) num[n++] = *p;
  num[n] = '\0';
  if(n < 2 || num[n - 1] != 's') return -1;
  num[n - 1] = '\0';
  char *e;
  double secs = strtod(num, &e);
  if(*e || secs < 0) return -1;
  return (int64_t)(secs * 1000 + 0.5);
}

bool proxy_key_invalid(const char *body, size_t len)
{
  return memmem(body, len, "API_KEY_INVALID", 15) != NULL;
}

/* ---------- request preparation ---------- */

static bool hop_by_hop(str name)
{
  static const str drop[] = {
    STR("Host"), STR("Connection"), STR("Keep-Alive"), STR("Proxy-Connection"),
    STR("Proxy-Authorization"), STR("TE"), STR("Trailer"), STR("Transfer-Encoding"),
    STR("Upgrade"), STR("Content-Length"), STR("Expect"), STR("x-goog-api-key"),
    STR("Authorization"), STR("Accept-Encoding"), STR("Cookie"), STR("X-Generation-Type"),
  };
  for(size_t i = 0; i < ARRAY_LEN(drop); i++)
    if(str_ieq(name, drop[i])) return true;
  return false;
}

/* The upstream URL: base + path + the query without the client's key=. */
static char *build_url(const char *base, const http_req *r)
{
  size_t cap = strlen(base) + r->target.n + 2;
  char *url = malloc(cap);
  if(!url) return NULL;
  size_t n = (size_t)snprintf(url, cap, "%s%.*s", base, (int)r->path.n, r->path.p);
  char sep = '?';
  const char *p = r->query.p, *end = p + r->query.n;
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    bool is_key = (amp - p >= 4 && !memcmp(p, "key=", 4)) || (amp - p == 3 && !memcmp(p, "key", 3));
    if(!is_key && amp > p) {
      url[n++] = sep;
      memcpy(url + n, p, (size_t)(amp - p));
      n += (size_t)(amp - p);
      sep = '&';
    }
    p = amp + 1;
  }
  url[n] = '\0';
  return url;
}

static char **build_headers(const http_req *r, size_t *count)
{
  char **h = calloc(r->nhdr + 1, sizeof *h);
  size_t n = 0;
  if(!h) return NULL;
  for(size_t i = 0; i < r->nhdr; i++) {
    if(hop_by_hop(r->hdr[i].name)) continue;
    size_t len = r->hdr[i].name.n + r->hdr[i].value.n + 3;
    h[n] = malloc(len);
    snprintf(h[n], len, "%.*s: %.*s", (int)r->hdr[i].name.n, r->hdr[i].name.p,
             (int)r->hdr[i].value.n, r->hdr[i].value.p);
    n++;
  }
  *count = n;   /* slot n is the key header, filled per attempt */
  return h;
}

/* ---------- lifetime ---------- */

static void call_free(call *c)
{
  if(c->up) up_cancel(c->up);
  if(c->backoff) event_free(c->backoff);
  if(c->key) kp_release(c->gw->pool, c->key);
  for(size_t i = 0; i <= c->nhdrs && c->hdrs; i++) free(c->hdrs[i]);
  free(c->hdrs);
  free(c->url);
  free(c->errbody);
  free(c);
}

/* One line per finished call, for the operator.  The ledger takes over in a later module. */
static void record(call *c, int status, const char *outcome)
{
  http_req *r = c->r;
  gateway *gw = c->gw;
  atomic_fetch_add(&gw->tokens_in, c->usage.u.prompt);
  atomic_fetch_add(&gw->tokens_out, c->usage.u.candidates + c->usage.u.thoughts);
  log_info("call %s %s %.*s model=%s status=%d outcome=%s attempts=%zu tokens=%lld/%lld ms=%lld",
           c->who.label, r->ip, (int)r->path.n, r->path.p, c->model[0] ? c->model : "-", status,
           outcome, c->ntried, (long long)c->usage.u.prompt,
           (long long)(c->usage.u.candidates + c->usage.u.thoughts),
           (long long)((mono_us() - r->t0_us) / 1000));
}

/* Report the current attempt to the pool and drop the key. */
static void report(call *c, kp_outcome o, int64_t retry_delay_ms)
{
  if(!c->key) return;
  int64_t now = now_ms();
  bool failed = o != KP_OK && o != KP_CLIENT_ERROR && o != KP_ABORTED;
  kp_result res = { o, retry_delay_ms, now - c->attempt_t0, c->usage.u.total,
                    failed && c->last_error[0] ? c->last_error : NULL };
  kp_report(c->gw->pool, c->key, c->model, now, &res);
  c->key = NULL;
}

static void on_abort(http_req *r)
{
  call *c = r->ctx;
  report(c, KP_ABORTED, -1);
  record(c, 499, "client_closed");
  call_free(c);
}

/* ---------- answering ---------- */

static void try_next(call *c);

static const up_callbacks callbacks;

/* Forwardable response headers as preformatted lines (drops hop-by-hop and our own). */
static void format_headers(char *out, size_t cap, const http_header *h, size_t n, int64_t *content_length)
{
  size_t len = 0;
  *content_length = -1;
  out[0] = '\0';
  for(size_t i = 0; i < n; i++) {
    str name = h[i].name;
    if(str_ieq(name, STR("Content-Length"))) {
      char num[24];
      if(h[i].value.n < sizeof num) {
        memcpy(num, h[i].value.p, h[i].value.n);
        num[h[i].value.n] = '\0';
        *content_length = parse_int(num);
      }
      continue;
    }
    if(str_ieq(name, STR("Transfer-Encoding")) || str_ieq(name, STR("Connection")) ||
       str_ieq(name, STR("Keep-Alive")) || str_ieq(name, STR("Date")) || str_ieq(name, STR("Server")) ||
       str_ieq(name, STR("Alt-Svc")) || str_ieq(name, STR("Upgrade")) || str_ieq(name, STR("Trailer")))
      continue;
    int w = snprintf(out + len, cap - len, "%.*s: %.*s\r\n", (int)name.n, name.p,
                     (int)h[i].value.n, h[i].value.p);
    if(w < 0 || (size_t)w >= cap - len) { out[len] = '\0'; break; }
    len += (size_t)w;
  }
}

static void on_head(void *ctx, int status, const http_header *h, size_t n)
{
  call *c = ctx;
  c->status = status;
  int64_t cl;
  format_headers(c->errhead, sizeof c->errhead, h, n, &cl);
  if(status >= 200 && status < 300) {
    c->passing = true;
    http_start(c->r, status, c->errhead, cl);
  }
}

static void on_drain(http_req *r)
{
  call *c = r->ctx;
  r->on_drain = NULL;
  if(c->up) up_resume(c->up);
}

static int on_data(void *ctx, const char *p, size_t n)
{
  call *c = ctx;
  if(!c->passing) {                       /* an error answer: keep it to classify it */
    if(c->errlen + n > ERRBODY_CAP) n = ERRBODY_CAP - c->errlen;
    char *b = realloc(c->errbody, c->errlen + n + 1);
    if(!b) return UP_CONTINUE;
    c->errbody = b;
    memcpy(b + c->errlen, p, n);
    c->errlen += n;
    b[c->errlen] = '\0';
    return UP_CONTINUE;
  }
  if(http_pending(c->r) > HTTP_HIGH_WATER) {  /* slow client: hold the upstream */
    c->r->on_drain = on_drain;
    return UP_PAUSE;
  }
  usage_feed(&c->usage, p, n);
  http_send(c->r, p, n);
  return UP_CONTINUE;
}

static void backoff_fire(evutil_socket_t fd, short what, void *arg) { try_next(arg); }

/* Waits retry_backoff·2^(attempt-1), ±50 % jitter, then tries the next key. */
static void schedule_retry(call *c)
{
  int64_t base = c->gw->cfg.retry_backoff_ms;
  int64_t d = base << (c->ntried - 1 < 10 ? c->ntried - 1 : 10);
  if(d > 0) d = d / 2 + (int64_t)(random() % (d + 1));
  atomic_fetch_add(&c->gw->retries, 1);
  if(!c->backoff) c->backoff = evtimer_new(c->w->base, backoff_fire, c);
  struct timeval tv = { d / 1000, (d % 1000) * 1000 };
  evtimer_add(c->backoff, &tv);
}

/* Sends the kept upstream error answer to the client as it came. */
static void forward_error(call *c, const char *extra)
{
  char head[sizeof c->errhead + 64];
  snprintf(head, sizeof head, "%s%s", c->errhead, extra ? extra : "");
  http_start(c->r, c->status, head, (int64_t)c->errlen);
  http_send(c->r, c->errbody, c->errlen);
  record(c, c->status, "upstream_error");
  http_finish(c->r);
  call_free(c);
}

/* No upstream answer to pass on: a gateway error naming the last failure. */
static void fail_unreachable(call *c, int status)
{
  char m[sizeof c->last_error + 64];
  snprintf(m, sizeof m, "upstream request failed after %zu attempts: %s", c->ntried, c->last_error);
  record(c, status, "upstream_unreachable");
  http_error(c->r, status, NULL, m, NULL);
  call_free(c);
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  call *c = ctx;
  c->up = NULL;
  http_req *r = c->r;
  if(c->passing) {
    if(err == UP_OK) {
      report(c, KP_OK, -1);
      record(c, c->status, "success");
      http_finish(r);
    } else {
      snprintf(c->last_error, sizeof c->last_error, "stream cut: %s", msg);
      report(c, err == UP_ERR_TIMEOUT || err == UP_ERR_RECV ? KP_NETWORK_ERROR : KP_SERVER_ERROR, -1);
      record(c, 502, "stream_cut");
      if(c->sse) {
        static const char ev[] = "data: {\"error\":{\"code\":502,\"message\":\"upstream stream was cut\","
                                 "\"status\":\"UNAVAILABLE\"}}\r\n\r\n";
        http_send(r, ev, sizeof ev - 1);
      }
      http_abort(r);
    }
    call_free(c);
    return;
  }

  kp_outcome o;
  int64_t delay = -1;
  if(err != UP_OK) {
    o = KP_NETWORK_ERROR;
    snprintf(c->last_error, sizeof c->last_error, "%s", msg);
  } else if(c->status == 429) {
    o = KP_RATE_LIMITED;
    delay = proxy_retry_delay(c->errbody ? c->errbody : "", c->errlen);
    snprintf(c->last_error, sizeof c->last_error, "429 rate limited");
  } else if(c->status == 401 || c->status == 403 ||
            (c->status == 400 && proxy_key_invalid(c->errbody ? c->errbody : "", c->errlen))) {
    o = KP_INVALID;
    snprintf(c->last_error, sizeof c->last_error, "%d key rejected", c->status);
  } else if(c->status >= 500) {
    o = KP_SERVER_ERROR;
    snprintf(c->last_error, sizeof c->last_error, "%d upstream error", c->status);
  } else {
    o = KP_CLIENT_ERROR;                 /* the request's fault: back to the client at once */
  }
  report(c, o, delay);
  if(o == KP_CLIENT_ERROR) { forward_error(c, NULL); return; }
  atomic_fetch_add(&c->gw->upstream_errors, 1);
  if(c->ntried <= (size_t)c->gw->cfg.max_retries) { schedule_retry(c); return; }

  /* Out of retries: the client gets the last upstream answer, or a gateway error. */
  if(err == UP_OK) { forward_error(c, NULL); return; }
  fail_unreachable(c, err == UP_ERR_TIMEOUT ? 504 : 502);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

/* Picks a key and starts an attempt, or answers when no key can serve. */
static void try_next(call *c)
{
  gateway *gw = c->gw;
  int64_t now = now_ms();
  int64_t retry_after = -1;
  kp_rotation_check(gw->pool, now);
  kp_key *k = c->ntried < MAX_TRIES ? kp_acquire(gw->pool, c->model, now, c->tried, c->ntried, &retry_after) : NULL;
  if(!k) {
    if(c->ntried && c->status) { forward_error(c, NULL); return; }   /* every key tried */
    if(c->ntried) { fail_unreachable(c, 502); return; }
    char extra[64] = "";
    int64_t secs = retry_after > 0 ? (retry_after + 999) / 1000 : 60;
    snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)secs);
    record(c, 503, "no_key");
    http_error(c->r, 503, NULL, "no usable upstream key: all are cooling down, disabled or invalid", extra);
    call_free(c);
    return;
  }
  c->key = k;
  c->tried[c->ntried++] = k;
  c->status = 0;
  c->errlen = 0;
  c->attempt_t0 = now;
  usage_init(&c->usage);
  const char *secret = kp_key_secret(k);
  size_t hl = strlen(secret) + 17;
  free(c->hdrs[c->nhdrs]);
  c->hdrs[c->nhdrs] = malloc(hl);
  snprintf(c->hdrs[c->nhdrs], hl, "x-goog-api-key: %s", secret);
  const config *cfg = &gw->cfg;
  const char *proxy = cfg->proxies.n ? cfg->proxies.v[hash64(secret, strlen(secret)) % cfg->proxies.n] : NULL;
  char method[16];
  snprintf(method, sizeof method, "%.*s", (int)c->r->method.n, c->r->method.p);
  up_request req = {
    .method = method, .url = c->url, .headers = (const char *const *)c->hdrs, .n_headers = c->nhdrs + 1,
    .body = c->r->body, .body_len = c->r->body_len, .proxy = proxy,
    .timeout_ms = cfg->timeout_ms, .idle_ms = cfg->stream_idle_ms, .stream = c->stream,
  };
  atomic_fetch_add(&gw->upstream_attempts, 1);
  c->up = up_start(c->w->up, &req, &callbacks, c);
  if(!c->up) on_done(c, UP_ERR_OTHER, "could not start the upstream request");
}

void proxy_native(http_req *r, const principal *who)
{
  worker *w = r->w;
  call *c = calloc(1, sizeof *c);
  if(!c) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  c->r = r;
  c->w = w;
  c->gw = w->gw;
  c->who = *who;
  str action;
  proxy_parse_model(r->path, c->model, sizeof c->model, &action);
  c->stream = str_starts(action, STR("streamGenerateContent"));
  str alt = http_query_get(r, STR("alt"));
  c->sse = c->stream && str_eq(alt, STR("sse"));
  c->url = build_url(w->cfg->upstream, r);
  c->hdrs = build_headers(r, &c->nhdrs);
  if(!c->url || !c->hdrs) { http_error(r, 500, NULL, "out of memory", NULL); call_free(c); return; }
  r->ctx = c;
  r->on_abort = on_abort;
  atomic_fetch_add(&c->gw->requests, 1);
  try_next(c);
}
