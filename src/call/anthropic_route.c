/* anthropic_route — Anthropic's Messages API on the call engine; contract in
 * anthropic_route.h.  Requests are translated by anthropic/ (pure), sent through proxy.c's key
 * pool, quotas, retries and ledger, and the answers translated back, streams event by event. */
#include "call/anthropic_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic/anthropic.h"
#include "call/body_prompt.h"
#include "call/dialect.h"
#include "call/path.h"
#include "call/proxy.h"
#include "call/record.h"
#include "http/server.h"

#define ANSWER_CAP (128u << 20)       /* largest non-stream upstream answer translated */

typedef enum { K_MESSAGE, K_STREAM, K_COUNT, K_MODELS } kind;

typedef struct an {
  kind k;
  principal who;
  char id[40];
  anth_req q;
  anth_stream *stream;
  bool ended;                 /* the stream translator has ended */
  bool too_big;
  dbuf buf;                   /* the answer (non-stream) or events to send (stream) */
  char one[136];              /* K_MODELS: the one model asked for, or "" */
  anth_error ferr;            /* why an image fetch failed */
} an;

static void an_free(void *st)
{
  an *a = st;
  anth_req_free(&a->q);
  anth_stream_free(a->stream);
  dbuf_free(&a->buf);
  free(a);
}

static void reply_json(http_req *r, int status, json_t *j, const char *extra)
{
  char *s = j ? json_dumps(j, ANTH_DUMP_FLAGS) : NULL;
  json_decref(j);
  if(!s) { http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL); return; }
  http_reply(r, status, "application/json", s, strlen(s), extra);
  free(s);
}

static void reply_error(http_req *r, const anth_error *e, const char *extra)
{
  reply_json(r, e->status, anth_error_json(e), extra);
}

void anthropic_error(http_req *r, int status, const char *message, const char *extra)
{
  anth_error e;
  anth_error_set(&e, status, NULL, "%s", message);
  reply_error(r, &e, extra);
}

/* ---------- the codec ---------- */

static void c_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  an *a = st;
  if(a->k == K_STREAM)
    http_start(r, 200, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n", -1);
}

static void flush(an *a, http_req *r)
{
  if(a->buf.n) http_send(r, a->buf.p, a->buf.n);
  a->buf.n = 0;
}

static void c_data(void *st, http_req *r, const char *p, size_t n)
{
  an *a = st;
  if(a->k == K_STREAM) {
    if(a->ended) return;
    if(anth_stream_feed(a->stream, p, n, &a->buf) == ANTH_STREAM_END) a->ended = true;
    flush(a, r);
    return;
  }
  if(a->buf.n + n > ANSWER_CAP || dbuf_add(&a->buf, p, n)) a->too_big = true;
}

/* The call's ledger row, before the answer's last write: what the client gets — e, when the
 * translation or the upstream makes it an error (NULL: as the engine saw it). */
static void settle(http_req *r, const anth_error *e)
{
  proxy_answer a = PROXY_ANSWER_INIT;
  if(e) { a.status = e->status; a.error = e->message; }
  proxy_settle(r, e ? &a : NULL);
}

static void c_end(void *st, http_req *r)
{
  an *a = st;
  if(a->k == K_STREAM) {
    settle(r, NULL);
    if(!a->ended) anth_stream_finish(a->stream, &a->buf);
    flush(a, r);
    http_finish(r);
    return;
  }
  anth_error e;
  json_t *j = NULL;
  const char *p = a->buf.p ? a->buf.p : "";
  if(a->too_big) anth_error_set(&e, 502, NULL, "upstream answer too large or out of memory");
  else if(a->k == K_MESSAGE) {
    anth_meta m = { a->id, a->q.client_model };
    j = anth_response(p, a->buf.n, &m, NULL, &e);
  } else if(a->k == K_COUNT) j = anth_count_response(p, a->buf.n, &e);
  else j = anth_models(p, a->buf.n, &r->w->cfg->aliases, a->one[0] ? a->one : NULL, &e);
  settle(r, j ? NULL : &e);
  if(j) reply_json(r, 200, j, NULL);
  else reply_error(r, &e, NULL);
}

static void c_cut(void *st, http_req *r, const char *msg)
{
  an *a = st;
  anth_error e;
  anth_error_set(&e, 502, NULL, "upstream connection failed: %s", msg);
  settle(r, a->k != K_STREAM ? &e : NULL);    /* a stream keeps its 200: the engine's stream_cut */
  if(a->k != K_STREAM) { reply_error(r, &e, NULL); return; }
  if(!a->ended) anth_stream_abort(a->stream, &e, &a->buf);
  a->ended = true;
  flush(a, r);
  http_finish(r);
}

static void c_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len,
                    const char *extra)
{
  anth_error e;
  anth_google_error(status, body, len, &e);
  settle(r, &e);
  reply_error(r, &e, extra);
}

static const proxy_codec codec = { c_start, c_data, c_end, c_cut, c_error, an_free };

/* ---------- sending ---------- */

static void send_call(http_req *r, an *a)
{
  char path[256];
  const char *action = a->k == K_COUNT ? "countTokens" : a->k == K_STREAM ? "streamGenerateContent?alt=sse"
                                                                          : "generateContent";
  snprintf(path, sizeof path, "/v1beta/models/%s:%s", a->q.model, action);
  if(a->k == K_STREAM) {
    anth_meta m = { a->id, a->q.client_model };
    if(!(a->stream = anth_stream_new(&m))) goto oom;
  }
  if(dialect_send(r, &a->who, a->q.model, path, a->q.body, a->k == K_STREAM, body_prompt_openai, &codec, a)) goto oom;
  return;
oom:
  an_free(a);
  anthropic_error(r, 500, "out of memory", NULL);
}

static bool fill(void *st, size_t i, const char *ctype, const char *body, size_t len, const char *err)
{
  an *a = st;
  if(err) {
    anth_error_set(&a->ferr, 400, NULL, "%s: %s", a->q.fetch[i].param, err);
    return false;
  }
  return anth_fetch_fill(&a->q.fetch[i], ctype, body, len, &a->ferr) == 0;
}

static void fetched(void *st, http_req *r, bool failed)
{
  an *a = st;
  if(failed) {
    anth_error e = a->ferr;
    record_local(r, &a->who, a->q.model, body_prompt_openai, false, e.status, e.message);
    an_free(a);
    reply_error(r, &e, NULL);
    return;
  }
  send_call(r, a);
}

static void fetch_gone(void *st)
{
  an_free(st);
}

/* ---------- which requests are Anthropic's ---------- */

/* /v1/models or /v1/models/<id> (no method call, no deeper path). */
static bool models_path(str path, str *id)
{
  if(str_eq(path, STR("/v1/models"))) { *id = (str){ NULL, 0 }; return true; }
  if(!str_starts(path, STR("/v1/models/")) || path.n == 11) return false;
  str rest = { path.p + 11, path.n - 11 };
  if(memchr(rest.p, '/', rest.n) || memchr(rest.p, ':', rest.n)) return false;
  *id = rest;
  return true;
}

bool anthropic_wants(const http_req *r)
{
  str id;
  if(str_eq(r->path, STR("/v1/messages")) || str_starts(r->path, STR("/v1/messages/"))) return true;
  return models_path(r->path, &id) && http_header_get(r, STR("anthropic-version")).p;
}

/* 400 / 404 / 405 answered here, in Anthropic's shape; true when answered. */
static bool refuse_route(http_req *r, const principal *who)
{
  anth_error e;
  const char *allow = NULL;
  str id;
  const char *why = path_refusal(r->path);
  bool msg = str_eq(r->path, STR("/v1/messages")), count = str_eq(r->path, STR("/v1/messages/count_tokens"));
  if(why) anth_error_set(&e, 400, NULL, "%s", why);
  else if((msg || count) && !str_eq(r->method, STR("POST"))) allow = "Allow: POST\r\n";
  else if(!msg && !count && models_path(r->path, &id) && !str_eq(r->method, STR("GET"))) allow = "Allow: GET\r\n";
  else if(!msg && !count && !models_path(r->path, &id))
    anth_error_set(&e, 404, NULL, "Unknown request URL: %.*s %.*s. This gateway's Anthropic API serves POST "
                   "/v1/messages, POST /v1/messages/count_tokens and GET /v1/models.",
                   (int)r->method.n, r->method.p, (int)(r->path.n > 200 ? 200 : r->path.n), r->path.p);
  else return false;
  if(allow) anth_error_set(&e, 405, NULL, "Method %.*s is not allowed on %.*s; use %.*s.", (int)r->method.n,
                           r->method.p, (int)r->path.n, r->path.p, (int)strcspn(allow + 7, "\r"), allow + 7);
  record_local(r, who, "", body_prompt_openai, false, e.status, e.message);
  reply_error(r, &e, allow);
  return true;
}

void anthropic_handle(http_req *r, const principal *who)
{
  if(refuse_route(r, who)) return;
  an *a = calloc(1, sizeof *a);
  if(!a) { anthropic_error(r, 500, "out of memory", NULL); return; }
  a->who = *who;
  str id;
  if(models_path(r->path, &id)) {
    a->k = K_MODELS;
    snprintf(a->one, sizeof a->one, "%.*s", (int)(id.n < sizeof a->one ? id.n : sizeof a->one - 1), id.p ? id.p : "");
    if(dialect_send(r, who, "", "/v1beta/models?pageSize=1000", NULL, false, body_prompt_openai, &codec, a)) {
      an_free(a);
      anthropic_error(r, 500, "out of memory", NULL);
    }
    return;
  }
  bool count = str_eq(r->path, STR("/v1/messages/count_tokens"));
  anth_error e;
  if(anth_parse(r->body, r->body_len, &r->w->cfg->aliases, count, &a->q, &e)) {
    record_local(r, who, "", body_prompt_openai, false, e.status, e.message);
    an_free(a);
    reply_error(r, &e, NULL);
    return;
  }
  a->k = count ? K_COUNT : a->q.stream ? K_STREAM : K_MESSAGE;
  dialect_id(a->id, sizeof a->id, "msg_");
  if(a->q.nfetch) {
    char *urls[ANTH_MAX_FETCHES];
    for(size_t i = 0; i < a->q.nfetch; i++) urls[i] = a->q.fetch[i].url;
    if(!dfetch_start(r, urls, a->q.nfetch, a, fill, fetched, fetch_gone)) return;
    an_free(a);
    anthropic_error(r, 500, "out of memory", NULL);
    return;
  }
  send_call(r, a);
}
