#include "call/proxy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pool/keypool.h"
#include "pool/learned.h"
#include "pool/verdict.h"
#include "ledger/ledger.h"
#include "base/log.h"
#include "base/metrics.h"
#include "http/server.h"
#include "upstream/upstream.h"
#include "call/endpoint.h"
#include "call/mask.h"
#include "call/record.h"
#include "call/resbill.h"
#include "call/resource.h"
#include "call/txlog.h"
#include "call/usage.h"
#include "ledger/prices.h"
#include "users/users.h"
#include "shared/rshare.h"
#include "base/utc.h"

#define MAX_TRIES 21          /* 1 + the largest GEMGATE_MAX_RETRIES */
#define ERRBODY_CAP (256 * 1024)

typedef struct call {
  http_req *r;
  worker *w;
  gateway *gw;
  proxy_spec s;
  kp_key *key;
  kp_key *tried[MAX_TRIES];
  size_t ntried;
  kp_key *marked;              /* the key this request marked invalid (referenced), or NULL */
  up_call *up;
  struct event *backoff;
  int64_t attempt_t0;
  int64_t attempt_us, upstream_us;   /* this attempt's start (mono_us); all attempts' time */
  int64_t ttfb_us;             /* first byte to the client, or 0 */
  int status;                  /* upstream status of the current attempt */
  bool passing;                /* this attempt's answer goes to the client as it comes */
  char *errbody;               /* a non-2xx answer, kept to classify it */
  size_t errlen;
  char *okbody;                /* spec.capture: the 2xx answer's first PROXY_CAPTURE_MAX bytes */
  size_t oklen;
  int64_t t0_us;               /* the request's head (its clock outlives the request) */
  /* The engine's verdict on the answer being written; the codec may amend it (proxy_settle). */
  int v_status;
  const char *v_outcome;       /* "success", "upstream_error", "stream_cut", "client_closed", … */
  bool v_refused;              /* turned away by users_check */
  int64_t storage_seconds;     /* a context cache's asked-for life (kind "cache") */
  int64_t storage_tokens;      /* set with storage_set by a billing hook (proxy_set_storage) */
  bool storage_set;
  bool settled;                /* the row is recorded */
  struct rshare_wait *shared_wait;   /* the shared per-user windows' verdict, pending (rshare.h) */
  /* Large buffers last: proxy_start zeroes only what comes before them. */
  char head[2048];             /* the upstream's forwardable response headers */
  mask_stream mask;            /* the 2xx body on its way out: pooled secrets masked (mask.h) */
  usage_scan usage;
  char keymask[32];            /* the last key tried, masked, for the ledger */
  char last_error[256];
  ledger_row row;              /* begun from the request at the start; finished by settle */
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

char *proxy_error_body(int status, const char *message, size_t *len)
{
  json_t *j = http_error_json(status, NULL, message);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  *len = s ? strlen(s) : 0;
  return s;
}

/* ---------- request preparation ---------- */

/* A client header the upstream must not see: hop-by-hop, framing we set ourselves, the client's
 * credentials and cookies, our own X-Generation-Type, addresses and proxy hops, and Google's
 * system parameters that would move the bill or the quota to another project, reroute or
 * reshape the call (a field mask could strip usageMetadata, which the gateway meters), or claim
 * an app identity for the pooled key's restrictions.  README.md "Headers" lists them. */
static bool not_forwarded(str name)
{
  static const str drop[] = {
    STR("Host"), STR("Proxy-Authorization"), STR("Content-Length"), STR("Expect"),
    STR("x-goog-api-key"), STR("x-api-key"), STR("Authorization"), STR("Accept-Encoding"), STR("Cookie"),
    STR("X-Generation-Type"), STR("Forwarded"), STR("Via"), STR("X-Real-IP"),
    STR("X-Goog-User-Project"), STR("X-Goog-Quota-User"), STR("X-Goog-Request-Params"),
    STR("X-Goog-FieldMask"), STR("X-Goog-Api-Version"), STR("X-Server-Timeout"),
    STR("X-HTTP-Method-Override"), STR("X-HTTP-Method"), STR("X-Method-Override"),
    STR("X-Android-Package"), STR("X-Android-Cert"), STR("X-Ios-Bundle-Identifier"),
  };
  static const str prefix[] = { STR("X-Forwarded-") };
  if(http_hop_by_hop(name)) return true;
  for(size_t i = 0; i < ARRAY_LEN(drop); i++)
    if(str_ieq(name, drop[i])) return true;
  for(size_t i = 0; i < ARRAY_LEN(prefix); i++)
    if(name.n >= prefix[i].n && str_ieq((str){ name.p, prefix[i].n }, prefix[i])) return true;
  return false;
}

char **proxy_client_headers(const http_req *r, size_t *count)
{
  char **h = calloc(r->nhdr + 1, sizeof *h);
  size_t n = 0;
  if(!h) return NULL;
  for(size_t i = 0; i < r->nhdr; i++) {
    if(not_forwarded(r->hdr[i].name)) continue;
    str k = r->hdr[i].name, v = r->hdr[i].value;
    char *line = malloc(k.n + v.n + 3);
    if(!line) break;
    memcpy(line, k.p, k.n);
    memcpy(line + k.n, ": ", 2);
    memcpy(line + k.n + 2, v.p, v.n);
    line[k.n + 2 + v.n] = '\0';
    h[n++] = line;
  }
  *count = n;
  return h;
}

static void spec_free(proxy_spec *s)
{
  for(size_t i = 0; s->hdrs && i <= s->nhdrs; i++) free(s->hdrs[i]);
  free(s->hdrs);
  free(s->url);
  free(s->body_owned);
  if(s->codec && s->codec->free) s->codec->free(s->codec_state);
}

/* ---------- lifetime ---------- */

static void call_free(call *c)
{
  atomic_fetch_sub(&metrics.calls_open, 1);
  if(c->s.stream) atomic_fetch_sub(&metrics.streams_open, 1);
  if(c->up) up_cancel(c->up);
  if(c->backoff) event_free(c->backoff);
  if(c->key) kp_release(c->gw->pool, c->key);
  if(c->marked) kp_unref(c->gw->pool, c->marked);
  spec_free(&c->s);
  free(c->errbody);
  free(c->okbody);
  free(c);
}

/* What the client is about to get, as the engine sees it (the codec may amend it: proxy_settle). */
static void judge(call *c, int status, const char *outcome)
{
  c->v_status = status;
  c->v_outcome = outcome;
}

/* The call's ledger row — what the client got — and its transaction line.  Once per call.  r is
 * NULL when the request may be gone already (a codec that did not settle): the row then takes no
 * prompt from the body, and the line is a plain one without the request's metrics. */
static void settle_call(call *c, http_req *r, const proxy_answer *a)
{
  if(c->settled) return;
  c->settled = true;
  gateway *gw = c->gw;
  ledger_row *row = &c->row;
  const usage *u = &c->usage.u;
  int status = a && a->status ? a->status : c->v_status;
  bool ok = !strcmp(c->v_outcome, "success");
  const char *err = NULL;
  if(a && a->error) { ok = false; err = a->error; }
  else if(ok && c->usage.error_seen) { ok = false; err = "the upstream sent an error in the stream"; }
  else if(!ok) err = c->last_error[0] ? c->last_error : c->v_outcome;
  if(!r) { row->body = NULL; row->body_len = 0; }
  snprintf(row->upstream_key, sizeof row->upstream_key, "%s", c->keymask);
  if(a && a->model) snprintf(row->model, sizeof row->model, "%s", a->model);
  row->is_local = c->ntried == 0;
  row->refused = c->v_refused;
  row->in_tokens = u->prompt;
  row->out_tokens = u->candidates;
  row->thinking_tokens = u->thoughts;
  row->cached_tokens = u->cached;
  row->tool_tokens = u->tool;
  row->audio_tokens = u->audio_in;
  row->audio_cached_tokens = u->audio_cached;
  row->image_tokens = u->image_out;
  if(ok && !strcmp(row->endpoint, "cache")) {   /* a context cache: its storage is billed */
    row->storage_tokens = u->total;
    row->storage_seconds = c->storage_seconds;
  }
  if(ok && c->storage_set) {                     /* a cache's life extended (resbill.h) */
    row->storage_tokens = c->storage_tokens;
    row->storage_seconds = c->storage_seconds;
  }
  if(a && a->in_tokens >= 0) row->in_tokens = a->in_tokens;
  else if(ok && !u->seen && !strcmp(row->endpoint, "embed"))
    row->in_tokens = (int64_t)(c->row.body_len + 3) / 4;   /* Google reports none: the estimate */
  row->images = a && a->images >= 0 ? a->images : ok ? c->usage.images : 0;
  row->attempts = (int)c->ntried;
  record_finish(gw->ledger, row, c->t0_us, status, ok ? NULL : err, c->ttfb_us);
  int64_t rpm, tpm, rpd;                        /* a limited user's tokens, into the shared TPM */
  if(gw->shared && row->user_id && u->total > 0 && users_rates_of(gw->users, row->user_id, &rpm, &tpm, &rpd) && tpm)
    rshare_user_tokens(gw->shared, row->user_id, u->total, now_ms());
  if(!gw->ledger && row->reserved_nanos)        /* nothing will settle it: release it now */
    users_settle(gw->users, row->user_id, row->reserved_nanos, 0, 0, 0, row->created_ms);
  atomic_fetch_add(&gw->tokens_in, u->prompt);
  atomic_fetch_add(&gw->tokens_out, u->candidates + u->thoughts);
  const char *outcome = ok || !a || !a->error ? c->v_outcome : "translation_failed";
  if(r) {
    call_facts f = { row->model, outcome, c->keymask, status, (int)c->ntried, u->prompt, u->candidates,
                     u->thoughts, u->cached, c->ttfb_us, c->upstream_us };
    log_call(r, &c->s.who, &f);
    log_call_prompt(r, c->s.prompt_of);
  } else {
    log_line_rid(LOG_INFO, LOG_TX, row->request_id, "call %s %s model=%s status=%d outcome=%s attempts=%zu "
                 "tokens=%lld/%lld ms=%lld", c->s.who.label, row->ip, row->model[0] ? row->model : "-", status,
                 outcome, c->ntried, (long long)u->prompt, (long long)(u->candidates + u->thoughts),
                 (long long)row->latency_ms);
  }
}

void proxy_settle(http_req *r, const proxy_answer *a)
{
  if(r->ctx) settle_call(r->ctx, r, a);
}

/* Report the current attempt to the pool and drop the key.  v: what an error answer said, or
 * NULL.  A limit the answer taught the pool is stored from a store thread. */
static void report(call *c, kp_outcome o, const verdict *v)
{
  if(!c->key) return;
  int64_t us = mono_us() - c->attempt_us;
  mhist_observe(&metrics.upstream, us);
  c->upstream_us += us;
  if(o == KP_RATE_LIMITED) atomic_fetch_add(&metrics.cooldowns, 1);
  /* key state changes, for the application log (the key masked) */
  if(o == KP_RATE_LIMITED)
    log_line_rid(LOG_INFO, LOG_APP, c->r->rid, "key %s: 429 for %s, cooling down%s", c->keymask,
                 c->s.model[0] ? c->s.model : "-",
                 v && v->period == QUOTA_PER_DAY ? " until Google's daily reset (midnight Pacific)"
                 : v && v->retry_delay_ms >= 0 ? " for RetryInfo's delay" : "");
  else if(o == KP_INVALID)
    log_line_rid(LOG_WARN, LOG_APP, c->r->rid, "key %s: %s, marked invalid", c->keymask, c->last_error);
  int64_t now = now_ms();
  bool failed = o != KP_OK && o != KP_CLIENT_ERROR && o != KP_ABORTED;
  kp_result res = { .outcome = o, .retry_delay_ms = v ? v->retry_delay_ms : -1,
                    .latency_ms = now - c->attempt_t0, .tokens = c->usage.u.total,
                    .error = failed && c->last_error[0] ? c->last_error : NULL };
  if(v && o == KP_RATE_LIMITED) {
    res.period = v->period;
    res.metric = v->metric;
    res.quota_value = v->quota_value;
  }
  kp_learned row;
  if(kp_report_learn(c->gw->pool, c->key, c->s.model, now, &res, &row) && c->gw->store)
    learned_save(c->gw->store, c->w->base, &row);
  c->key = NULL;
}

static void on_abort(http_req *r)
{
  call *c = r->ctx;
  rshare_wait_cancel(c->shared_wait);  /* a verdict still to come finds the call gone */
  report(c, KP_ABORTED, NULL);
  judge(c, 499, "client_closed");
  settle_call(c, r, NULL);
  call_free(c);
}

/* ---------- answering ---------- */

static void try_next(call *c);
static const up_callbacks callbacks;

/* Forwardable response headers as preformatted lines (drops hop-by-hop and our own). */
void proxy_format_headers(char *out, size_t cap, const http_header *h, size_t n, int64_t *content_length)
{
  sbuf b = { out, 0, cap - 1, false };
  *content_length = -1;
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
    /* Hop-by-hop, and what describes Google's server rather than the answer. */
    if(http_hop_by_hop(name) || str_ieq(name, STR("Date")) || str_ieq(name, STR("Server")) ||
       str_ieq(name, STR("Alt-Svc")))
      continue;
    size_t before = b.n;
    sb_put(&b, name.p, name.n);
    SB_LIT(&b, ": ");
    sb_put(&b, h[i].value.p, h[i].value.n);
    SB_LIT(&b, "\r\n");
    if(b.full) { b.n = before; break; }   /* whole lines only */
  }
  out[b.n] = '\0';
}

/* The call's key, for masking: the pool may have dropped it from its list meanwhile. */
static const char *own_secret(const call *c) { return c->key ? kp_key_secret(c->key) : NULL; }

static void on_head(void *ctx, int status, const http_header *h, size_t n)
{
  call *c = ctx;
  c->status = status;
  int64_t cl;
  proxy_format_headers(c->head, sizeof c->head, h, n, &cl);
  mask_buf(c->gw->pool, own_secret(c), c->head, strlen(c->head), true);
  if(status >= 200 && status < 300) {
    c->passing = true;
    c->ttfb_us = mono_us();
    c->s.codec->start(c->s.codec_state, c->r, status, c->head, cl);
  }
}

static void on_drain(http_req *r)
{
  call *c = r->ctx;
  r->on_drain = NULL;
  if(c->up) up_resume(c->up);
}

/* Keeps the front of a 2xx answer for spec.on_ok (resource answers are small JSON). */
static void capture(call *c, const char *p, size_t n)
{
  if(c->oklen + n > PROXY_CAPTURE_MAX) n = PROXY_CAPTURE_MAX - c->oklen;
  if(!n) return;
  char *b = realloc(c->okbody, c->oklen + n + 1);
  if(!b) return;
  c->okbody = b;
  memcpy(b + c->oklen, p, n);
  c->oklen += n;
  b[c->oklen] = '\0';
}

/* Masked 2xx body bytes: metered, captured, and on to the client through the codec. */
static void pass_on(void *ctx, const char *p, size_t n)
{
  call *c = ctx;
  usage_feed(&c->usage, p, n);
  if(c->s.capture) capture(c, p, n);
  c->s.codec->data(c->s.codec_state, c->r, p, n);
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
    /* Masked as it comes (from MASK_MAX back, for a key split across pieces), before the
     * verdict or a log line reads it. */
    size_t from = c->errlen > MASK_MAX ? c->errlen - MASK_MAX : 0;
    c->errlen += n;
    b[c->errlen] = '\0';
    mask_buf(c->gw->pool, own_secret(c), b + from, c->errlen - from, false);
    return UP_CONTINUE;
  }
  if(http_pending(c->r) > HTTP_HIGH_WATER) {  /* slow client: hold the upstream */
    c->r->on_drain = on_drain;
    return UP_PAUSE;
  }
  mask_feed(&c->mask, c->gw->pool, own_secret(c), p, n, pass_on, c);
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

/* The kept upstream error answer goes to the client (through the codec), as it came. */
static void forward_error(call *c, const char *extra)
{
  if(c->errbody) {          /* the end is known now: a key cut off by ERRBODY_CAP, too */
    size_t from = c->errlen > MASK_MAX ? c->errlen - MASK_MAX : 0;
    mask_buf(c->gw->pool, NULL, c->errbody + from, c->errlen - from, true);
  }
  judge(c, c->status, "upstream_error");
  c->s.codec->error(c->s.codec_state, c->r, c->status, c->head, c->errbody ? c->errbody : "", c->errlen, extra);
  settle_call(c, NULL, NULL);          /* a codec that did not settle: recorded all the same */
  call_free(c);
}

/* The gateway's own error through the codec; frees the call. */
static void fail(call *c, int status, const char *outcome, const char *message, const char *extra)
{
  judge(c, status, outcome);
  proxy_fail(c->r, c->s.codec, c->s.codec_state, status, message, extra);
  settle_call(c, NULL, NULL);
  call_free(c);
}

void proxy_fail(http_req *r, const proxy_codec *codec, void *st, int status, const char *message, const char *extra)
{
  size_t len;
  char *body = proxy_error_body(status, message, &len);
  codec->error(st, r, status, NULL, body ? body : "", len, extra);
  free(body);
}

/* No upstream answer to pass on: a gateway error naming the last failure. */
static void fail_unreachable(call *c, int status)
{
  char m[sizeof c->last_error + 64];
  snprintf(m, sizeof m, "upstream request failed after %zu attempts: %s", c->ntried, c->last_error);
  fail(c, status, "upstream_unreachable", m, NULL);
}

/* How a finished non-2xx attempt counts for its key: Google's own verdict, read from the
 * error JSON (verdict.h), never from a substring of the body. */
static kp_outcome classify(call *c, up_error err, const char *msg, verdict *v)
{
  if(err != UP_OK) {
    verdict_read(502, NULL, 0, v);
    snprintf(c->last_error, sizeof c->last_error, "%s", msg);
    return KP_NETWORK_ERROR;
  }
  verdict_read(c->status, c->errbody, c->errlen, v);
  switch(v->kind) {
  case VERDICT_QUOTA:
    snprintf(c->last_error, sizeof c->last_error, "429 quota exceeded (%s)",
             v->period == QUOTA_PER_DAY ? "per day" : v->period == QUOTA_PER_MINUTE ? "per minute" : "unstated");
    return KP_RATE_LIMITED;
  case VERDICT_KEY:
    snprintf(c->last_error, sizeof c->last_error, "%d key rejected: %s", c->status, v->reason);
    return KP_INVALID;
  case VERDICT_SERVER:
    snprintf(c->last_error, sizeof c->last_error, "%d upstream error", c->status);
    return KP_SERVER_ERROR;
  default:
    return KP_CLIENT_ERROR;
  }
}

/* The circuit breaker: a second key refused this request with a verdict on the key, so the
 * request is the likelier culprit.  The first key's mark is taken back (it becomes suspect,
 * see kp_unmark); the second is reported as a request fault, unmarked; the client gets the
 * answer. */
static void breaker_trip(call *c, const verdict *v)
{
  char first[32];
  kp_mask(kp_key_secret(c->marked), first, sizeof first);
  log_warn("circuit breaker: key %s refused the request too (%s): it stays as it is, %s comes back as suspect",
           c->keymask, v->reason, first);
  report(c, KP_CLIENT_ERROR, v);
  kp_unmark(c->gw->pool, c->marked, now_ms());
  c->marked = NULL;
  forward_error(c, NULL);
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  call *c = ctx;
  c->up = NULL;
  if(c->passing) {
    mask_flush(&c->mask, c->gw->pool, own_secret(c), pass_on, c);   /* held-back bytes (mask.h) */
    if(err == UP_OK) {
      if(c->s.on_ok && c->key) {
        char hash[OWN_HASH_LEN + 1];
        kp_key_hash(c->gw->pool, c->key, hash);
        c->s.on_ok(c->r, &c->s, hash, c->okbody, c->oklen);
      }
      report(c, KP_OK, NULL);
      judge(c, c->status, "success");
      c->s.codec->end(c->s.codec_state, c->r);
    } else {
      /* The client has the 2xx head already: that is the status it saw, and the row fails. */
      snprintf(c->last_error, sizeof c->last_error, "stream cut: %s", msg);
      report(c, KP_NETWORK_ERROR, NULL);
      judge(c, c->status, "stream_cut");
      c->s.codec->cut(c->s.codec_state, c->r, c->last_error);
    }
    settle_call(c, NULL, NULL);
    call_free(c);
    return;
  }
  verdict v;
  kp_outcome o = classify(c, err, msg, &v);
  if(o == KP_INVALID && c->marked) { breaker_trip(c, &v); return; }   /* at most one mark */
  if(o == KP_INVALID) c->marked = kp_ref(c->gw->pool, c->key);
  report(c, o, &v);
  if(o == KP_CLIENT_ERROR) { forward_error(c, NULL); return; }   /* the request's fault */
  atomic_fetch_add(&c->gw->upstream_errors, 1);
  if(c->ntried <= (size_t)c->gw->cfg.max_retries) { schedule_retry(c); return; }
  /* Out of retries: the client gets the last upstream answer, or a gateway error. */
  if(err == UP_OK) forward_error(c, NULL);
  else fail_unreachable(c, err == UP_ERR_TIMEOUT ? 504 : 502);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

/* A call pinned to the key that owns a resource, and that key cannot serve: no other key can
 * (Google keeps the resource in that key's project).  After an attempt, the client gets that
 * attempt's answer (with Retry-After when the key is now cooling); before any, the gateway's. */
static void pinned_unavailable(call *c, kp_owner_state st, int64_t retry_after)
{
  char extra[64] = "", m[OWN_NAME_MAX + 200];
  if(retry_after > 0)
    snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)((retry_after + 999) / 1000));
  if(c->ntried) {
    if(c->status) forward_error(c, st == KP_OWNER_COOLING && extra[0] ? extra : NULL);
    else fail_unreachable(c, 502);
    return;
  }
  if(st == KP_OWNER_COOLING) {
    snprintf(m, sizeof m, "%s lives on an upstream key that is cooling down%s%s; no other key can serve it",
             c->s.pin_name, c->s.model[0] ? " for " : "", c->s.model);
    fail(c, 429, "owner_cooling", m, extra);
  } else if(st == KP_OWNER_DOWN) {
    snprintf(m, sizeof m, "%s lives on an upstream key that is out of service (invalid or disabled) until it "
             "passes a re-check; no other key can serve it", c->s.pin_name);
    fail(c, 503, "owner_down", m, extra[0] ? extra : NULL);
  } else {
    snprintf(m, sizeof m, "%s lives on an upstream key that was removed from the gateway's pool: it can no "
             "longer be reached", c->s.pin_name);
    fail(c, 410, "owner_gone", m, NULL);
  }
}

/* Picks a key and starts an attempt, or answers when no key can serve. */
static void try_next(call *c)
{
  gateway *gw = c->gw;
  int64_t now = now_ms();
  int64_t retry_after = -1;
  kp_key *k = NULL;
  if(c->s.pin[0]) {
    kp_owner_state st = KP_OWNER_GONE;
    if(c->ntried < MAX_TRIES) k = kp_acquire_hash(gw->pool, c->s.pin, c->s.model, now, &retry_after, &st);
    if(!k) { pinned_unavailable(c, st, retry_after); return; }
  } else if(c->ntried < MAX_TRIES) {
    k = kp_acquire(gw->pool, c->s.model, now, c->tried, c->ntried, &retry_after);
  }
  if(!k) {
    if(c->ntried && c->status) { forward_error(c, NULL); return; }   /* every key tried */
    if(c->ntried) { fail_unreachable(c, 502); return; }
    char extra[64];
    snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)(retry_after > 0 ? (retry_after + 999) / 1000 : 60));
    fail(c, 503, "no_key", "no usable upstream key: all are cooling down, disabled or invalid", extra);
    return;
  }
  c->key = k;
  c->tried[c->ntried++] = k;
  kp_mask(kp_key_secret(k), c->keymask, sizeof c->keymask);
  c->status = 0;
  c->errlen = 0;
  c->attempt_t0 = now;
  c->attempt_us = mono_us();
  usage_init(&c->usage);
  c->usage.want_images = !strcmp(c->row.endpoint, "image");
  c->usage.want_errors = c->s.stream;
  c->usage.want_sum = c->s.sum_usage;
  const char *secret = kp_key_secret(k);
  size_t sl = strlen(secret);
  char **slot = &c->s.hdrs[c->s.nhdrs];
  free(*slot);
  *slot = malloc(sl + 17);
  if(!*slot) { fail_unreachable(c, 502); return; }
  memcpy(*slot, "x-goog-api-key: ", 16);
  memcpy(*slot + 16, secret, sl + 1);
  const config *cfg = &gw->cfg;
  const char *proxy = cfg->proxies.n ? cfg->proxies.v[hash64(secret, strlen(secret)) % cfg->proxies.n] : NULL;
  char method[16] = "GET";
  if(c->r->method.n < sizeof method) { memcpy(method, c->r->method.p, c->r->method.n); method[c->r->method.n] = '\0'; }
  up_request req = {
    .method = c->s.body_owned ? "POST" : method, .url = c->s.url,
    .headers = (const char *const *)c->s.hdrs, .n_headers = c->s.nhdrs + 1,
    .body = c->s.body, .body_len = c->s.body_len, .proxy = proxy,
    .timeout_ms = cfg->timeout_ms, .idle_ms = cfg->stream_idle_ms, .stream = c->s.stream,
  };
  atomic_fetch_add(&gw->upstream_attempts, 1);
  c->up = up_start(c->w->up, &req, &callbacks, c);
  if(!c->up) on_done(c, UP_ERR_OTHER, "could not start the upstream request");
}

/* A call that costs money but cannot be priced — its model has no price, or the gateway cannot
 * see what Google bills for it (a batch that answers in a file or embeds, a TTL change of a cache
 * the gateway did not see created: call/resbill.h) — is refused when GEMGATE_UNPRICED says so:
 * always (refuse), or for callers with a budget (the default).  With "max" only the calls the
 * gateway cannot bill are refused (there is nothing to bill at the highest price); with "zero"
 * nothing is.  The message for the client goes to msg. */
static bool unpriced_refused(call *c, int64_t now, char *msg, size_t cap)
{
  gateway *gw = c->gw;
  const char *kind = c->row.endpoint, *model = c->row.model;
  int pol = gw->cfg.unpriced;
  if(pol == CFG_UNPRICED_ZERO || !call_kind_billable(kind)) return false;
  const char *unseen = resbill_unbillable(kind, c->r->path, model, c->s.body, c->s.body_len);
  if(!unseen && !model[0]) return false;
  if(pol == CFG_UNPRICED_DEFAULT && !users_budgeted(gw->users, c->s.who.user_id)) return false;
  const char *why = pol == CFG_UNPRICED_REFUSE ? "GEMGATE_UNPRICED=refuse" : "this caller has a budget";
  if(unseen) {
    snprintf(msg, cap, "%s cannot be billed by this gateway, so it is refused: %s", unseen, why);
    return true;
  }
  price pv;
  if(pol == CFG_UNPRICED_MAX || prices_lookup(gw->prices, model, now, &pv)) return false;
  snprintf(msg, cap, "model \"%.80s\" has no price in this gateway's price table, so calls to it are refused: %s",
           model, why);
  return true;
}

/* The most the call can cost, for a budget's reservation: only for a billable call of a user with
 * a budget (the rest never pay for the lookup); an unpriced model was refused before, or is
 * estimated at the table's top (GEMGATE_UNPRICED=max).  A batch reserves all its requests at the
 * batch price (held until its bill: resbill.h); a TTL change reserves nothing (its cost is known
 * from the answer only). */
static int64_t estimate(call *c, int64_t now)
{
  gateway *gw = c->gw;
  const char *kind = c->row.endpoint;
  if(!call_kind_billed(kind) || !strcmp(kind, "cache_update") || !c->row.model[0] ||
     !users_budgeted(gw->users, c->s.who.user_id))
    return 0;
  int64_t prompt, max_out, images, e;
  bool at_max = gw->cfg.unpriced == CFG_UNPRICED_MAX;
  if(!strcmp(kind, "batch")) {
    int64_t requests;
    record_batch_estimate(c->s.body, c->s.body_len, &prompt, &max_out, &requests);
    e = prices_estimate_batch(gw->prices, c->row.model, now, prompt, max_out, requests, at_max);
  } else {
    record_estimate(c->s.body, c->s.body_len, kind, &prompt, &max_out, &images);
    e = prices_estimate(gw->prices, c->row.model, now, prompt, max_out, images, at_max);
  }
  return e > 0 ? e : 0;
}

/* Turns the call away before any upstream attempt, recording it as refused. */
static void refuse(call *c, int status, const char *message, int64_t retry_after_s)
{
  char extra[64] = "";
  if(status == 429) snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)retry_after_s);
  snprintf(c->last_error, sizeof c->last_error, "%s", message);
  c->v_refused = true;
  judge(c, status, "refused");
  proxy_fail(c->r, c->s.codec, c->s.codec_state, status, message, extra[0] ? extra : NULL);
  settle_call(c, NULL, NULL);
  call_free(c);
}

/* The shared windows' verdict (GEMGATE_REDIS), on the call's loop: refused, or on to a key.  -1
 * (Redis went away meanwhile): the local check, already passed, decides. */
static void on_shared_verdict(void *arg, int over, int64_t retry_ms)
{
  call *c = arg;
  c->shared_wait = NULL;
  if(over > 0) {
    static const char *const what[] = { "", "requests per minute", "requests per day", "tokens per minute" };
    int64_t rpm, tpm, rpd, now = now_ms();
    users_rates_of(c->gw->users, c->s.who.user_id, &rpm, &tpm, &rpd);
    int64_t lim = over == 1 ? rpm : over == 2 ? rpd : tpm;
    int64_t wait_ms = over == 2 ? (utc_day(now) + 1) * UTC_DAY_MS - now : retry_ms;
    char msg[160];
    snprintf(msg, sizeof msg, "rate limit: %lld %s for this access key (over every instance)", (long long)lim,
             what[over & 3]);
    atomic_fetch_add(&metrics.quota_refusals, 1);
    refuse(c, 429, msg, wait_ms > 1000 ? (wait_ms + 999) / 1000 : 1);
    return;
  }
  kp_rotation_check(c->gw->pool, now_ms());
  try_next(c);
}

void proxy_start(http_req *r, proxy_spec *spec)
{
  worker *w = r->w;
  call *c = malloc(sizeof *c);
  if(!c) {
    record_local(r, &spec->who, spec->model, spec->prompt_of, spec->stream, 500, "out of memory");
    r->ctx = NULL;                     /* no call to settle */
    proxy_fail(r, spec->codec, spec->codec_state, 500, "out of memory", NULL);
    spec_free(spec);
    return;
  }
  memset(c, 0, offsetof(call, head));
  c->head[0] = c->keymask[0] = c->last_error[0] = '\0';
  mask_stream_init(&c->mask);
  usage_init(&c->usage);
  c->r = r;
  c->w = w;
  c->gw = w->gw;
  c->s = *spec;
  c->t0_us = r->t0_us;
  record_begin(&c->row, r, &c->s.who, c->s.model, c->s.prompt_of);
  c->row.stream = c->s.stream;         /* what the client asked for, in either dialect */
  r->ctx = c;
  r->on_abort = on_abort;
  atomic_fetch_add(&c->gw->requests, 1);
  atomic_fetch_add(&metrics.calls_open, 1);
  if(c->s.stream) atomic_fetch_add(&metrics.streams_open, 1);
  int64_t now = now_ms();
  /* Resources first: a call naming one takes its key and, when the path names no model, the
   * model it was created with — which the checks below then see (allowed_models, prices). */
  res_refusal why;
  if(!resource_route(r, &c->s, &why)) {   /* another user's resource, or two keys' */
    snprintf(c->last_error, sizeof c->last_error, "%.200s", why.message);
    judge(c, why.status, "resource");
    c->s.codec->error(c->s.codec_state, r, why.status, NULL, why.body, strlen(why.body), NULL);
    settle_call(c, NULL, NULL);
    call_free(c);
    return;
  }
  if(!c->row.model[0] && c->s.model[0]) snprintf(c->row.model, sizeof c->row.model, "%s", c->s.model);
  if(!strcmp(c->row.endpoint, "cache"))          /* the model and life of a context cache */
    record_cache_facts(r->body, r->body_len, now, c->row.model, sizeof c->row.model, &c->storage_seconds);
  char msg[256];
  if(unpriced_refused(c, now, msg, sizeof msg)) {
    c->row.unpriced = true;
    refuse(c, 403, msg, 0);
    return;
  }
  quota_verdict v = { 0 };
  if(c->gw->users && users_check_call(c->gw->users, &c->s.who, c->s.model, now, estimate(c, now), &v)) {
    atomic_fetch_add(&metrics.quota_refusals, 1);
    refuse(c, v.status, v.message, v.retry_after_s);
    return;
  }
  c->row.reserved_nanos = v.reserved_nanos;    /* released when the row settles */
  c->row.counted = c->gw->users != NULL;        /* users_check counted the request */
  int64_t rpm, tpm, rpd;                        /* a limited user, several instances: one round trip */
  if(c->gw->shared && c->s.who.user_id && users_rates_of(c->gw->users, c->s.who.user_id, &rpm, &tpm, &rpd)
     && (c->shared_wait = rshare_user_check(c->gw->shared, w->base, c->s.who.user_id, rpm, tpm, rpd, now,
                                            on_shared_verdict, c)))
    return;                                     /* goes on in on_shared_verdict */
  kp_rotation_check(c->gw->pool, now);
  try_next(c);
}

void proxy_key_hash(http_req *r, char out[OWN_HASH_LEN + 1])
{
  call *c = r->ctx;
  out[0] = '\0';
  if(c && c->key) kp_key_hash(c->gw->pool, c->key, out);
}

void proxy_key_mask(http_req *r, char *out, size_t cap)
{
  call *c = r->ctx;
  snprintf(out, cap, "%s", c ? c->keymask : "");
}

int64_t proxy_take_reservation(http_req *r)
{
  call *c = r->ctx;
  if(!c || strcmp(c->row.endpoint, "batch")) return 0;
  int64_t n = c->row.reserved_nanos;
  c->row.reserved_nanos = 0;
  return n;
}

void proxy_set_storage(http_req *r, int64_t tokens, int64_t seconds)
{
  call *c = r->ctx;
  if(!c) return;
  c->storage_tokens = tokens;
  c->storage_seconds = seconds;
  c->storage_set = true;
}

void proxy_drop_usage(http_req *r)
{
  call *c = r->ctx;
  if(c) c->usage.u = (usage){ 0 };
}

int64_t proxy_usage_sum(http_req *r, usage *out, bool *done)
{
  call *c = r->ctx;
  *done = c && c->usage.done_seen;
  if(!c) { *out = (usage){ 0 }; return 0; }
  return usage_sum(&c->usage, out);
}
