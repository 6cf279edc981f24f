#include "call/openai_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "upstream/fetch.h"
#include "openai/openai.h"
#include "call/anthropic_route.h"
#include "call/body_prompt.h"
#include "call/path.h"
#include "call/proxy.h"
#include "call/record.h"
#include "http/server.h"
#include "call/settings.h"

#define ANSWER_CAP (128u << 20)       /* largest non-stream upstream answer we translate */
#define IMAGE_CAP  (20u << 20)        /* largest image fetched for a message */
#define MODELS_TTL_MS (10 * 60 * 1000)

typedef enum { K_CHAT, K_STREAM, K_EMBED, K_IMAGE, K_MODELS, K_MODEL } kind;

/* One OpenAI call: its translation, what came back, and any image fetches in flight. */
typedef struct oa {
  kind k;
  gateway *gw;
  principal who;
  char id[40];
  int64_t created;
  oai_chat chat;
  oai_embed emb;
  oai_image img;
  oai_stream *stream;
  bool ended;                   /* the stream translator has ended (error event sent) */
  oai_buf buf;                  /* the answer (non-stream) or events to send (stream) */
  char model_id[136];           /* K_MODEL: the id asked for */
  fetch *fetches[OAI_MAX_FETCHES];
  fetch_group fg;               /* their bytes, held until oa_free (fetch.h) */
  size_t pending;
  oai_error ferr;
  bool ffailed;
  http_req *r;
} oa;

/* ---------- errors and small helpers ---------- */

/* Replies with j (taken), serialised with oai_dump so floats keep all their digits. */
static void reply_json(http_req *r, int status, json_t *j, const char *extra)
{
  size_t len = 0;
  char *s = j ? oai_dump(j, &len) : NULL;
  json_decref(j);
  if(!s) { http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL); return; }
  http_reply(r, status, "application/json", s, len, extra);
  free(s);
}

static void reply_error(http_req *r, const oai_error *e, const char *extra)
{
  reply_json(r, e->status, oai_error_json(e), extra);
}

void openai_error(http_req *r, int status, const char *code, const char *message, const char *extra)
{
  oai_error e;
  oai_error_set(&e, status, NULL, code, NULL, "%s", message);
  reply_error(r, &e, extra);
}

/* "chatcmpl-" and 24 random letters and digits; unique enough per process and time. */
static void make_id(char *out, size_t cap, const char *prefix)
{
  static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static __thread uint64_t s;
  if(!s) s = (uint64_t)mono_us() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)pthread_self();
  size_t n = (size_t)snprintf(out, cap, "%s", prefix);
  for(size_t i = 0; i < 24 && n + 1 < cap; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    out[n++] = abc[s % (sizeof abc - 1)];
  }
  out[n] = '\0';
}

static void oa_free(void *st)
{
  oa *o = st;
  for(size_t i = 0; i < OAI_MAX_FETCHES; i++) if(o->fetches[i]) fetch_cancel(o->fetches[i]);
  fetch_group_end(&o->fg);
  oai_chat_free(&o->chat);
  oai_embed_free(&o->emb);
  oai_image_free(&o->img);
  if(o->stream) oai_stream_free(o->stream);
  oai_buf_free(&o->buf);
  free(o);
}

/* ---------- the codec: upstream answers to OpenAI answers ---------- */

static void c_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  oa *o = st;
  if(o->k == K_STREAM)
    http_start(r, 200, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n", -1);
}

static void flush_events(oa *o, http_req *r)
{
  http_send(r, o->buf.p, o->buf.n);
  o->buf.n = 0;
}

static void c_data(void *st, http_req *r, const char *p, size_t n)
{
  oa *o = st;
  if(o->k == K_STREAM) {
    if(o->ended) return;
    if(oai_stream_feed(o->stream, p, n, &o->buf) == OAI_STREAM_END) o->ended = true;
    flush_events(o, r);
    return;
  }
  if(o->buf.n + n > ANSWER_CAP || oai_buf_append(&o->buf, p, n)) o->ffailed = true;
}

/* The models cache: the upstream's list, shared by all workers, refreshed every 10 minutes. */
static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;
static char *models_json;
static size_t models_len;
static int64_t models_at;

static json_t *models_answer(oa *o, const char *p, size_t n, oai_error *e)
{
  json_t *list = oai_models(p, n, e);
  if(!list || o->k == K_MODELS) return list;
  json_t *item;
  size_t i;
  json_array_foreach(json_object_get(list, "data"), i, item) {
    if(!strcmp(json_string_value(json_object_get(item, "id")), o->model_id)) {
      json_incref(item);
      json_decref(list);
      return item;
    }
  }
  json_decref(list);
  oai_error_set(e, 404, NULL, "model_not_found", "model", "The model '%s' does not exist", o->model_id);
  return NULL;
}

/* The answer's count of something the client was told: usage.prompt_tokens, len(data). */
static int64_t told_tokens(json_t *j)
{
  json_t *v = json_object_get(json_object_get(j, "usage"), "prompt_tokens");
  return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void c_end(void *st, http_req *r)
{
  oa *o = st;
  proxy_answer a = PROXY_ANSWER_INIT;
  if(o->k == K_STREAM) {
    if(!o->ended) oai_stream_finish(o->stream, &o->buf);
    const oai_error *se = oai_stream_error(o->stream);
    if(se) a.error = se->message;                 /* a 200 that ended in an error event */
    proxy_settle(r, &a);
    flush_events(o, r);
    http_finish(r);
    return;
  }
  if(o->k == K_CHAT && !o->ffailed) {                /* the common answer, without a tree */
    oai_meta m = { o->id, o->chat.model, o->created };
    size_t len = 0;
    char *s = oai_chat_fast(o->buf.p ? o->buf.p : "", o->buf.n, &m, &len);
    if(s) {
      proxy_settle(r, &a);
      http_reply(r, 200, "application/json", s, len, NULL);
      free(s);
      return;
    }
  }
  oai_error e;
  json_t *j = NULL;
  if(o->ffailed) oai_error_set(&e, 502, NULL, NULL, NULL, "upstream answer too large or out of memory");
  else {
    oai_meta m = { o->id, o->k == K_CHAT ? o->chat.model : "", o->created };
    str body = { o->buf.p ? o->buf.p : "", o->buf.n };
    switch(o->k) {
    case K_CHAT:  j = oai_chat_response(body.p, body.n, &m, NULL, &e); break;
    case K_EMBED: j = oai_embed_response(&o->emb, &body, 1, &e); break;
    case K_IMAGE: j = oai_image_response(&o->img, body.p, body.n, o->created, NULL, &e); break;
    default:
      pthread_mutex_lock(&models_lock);
      free(models_json);
      models_json = malloc(body.n + 1);
      if(models_json) { memcpy(models_json, body.p, body.n); models_len = body.n; models_at = now_ms(); }
      pthread_mutex_unlock(&models_lock);
      j = models_answer(o, body.p, body.n, &e);
      break;
    }
  }
  if(o->k == K_MODEL) a.model = o->model_id;
  if(j && o->k == K_EMBED) a.in_tokens = told_tokens(j);
  if(j && o->k == K_IMAGE) a.images = (int64_t)json_array_size(json_object_get(j, "data"));
  if(!j) { a.status = e.status; a.error = e.message; }
  proxy_settle(r, &a);
  if(j) reply_json(r, 200, j, NULL);
  else reply_error(r, &e, NULL);
}

/* A stream cut after it began: an error event, then a clean end — never a silent cut. */
static void c_cut(void *st, http_req *r, const char *msg)
{
  oa *o = st;
  proxy_answer a = PROXY_ANSWER_INIT;
  if(o->k == K_MODEL) a.model = o->model_id;
  if(o->k != K_STREAM) {
    oai_error e;
    oai_error_set(&e, 502, NULL, NULL, NULL, "upstream connection failed: %s", msg);
    a.status = 502;
    proxy_settle(r, &a);
    reply_error(r, &e, NULL);
    return;
  }
  proxy_settle(r, NULL);                          /* a 200 stream, then its error event */
  if(!o->ended) {
    oai_error e;
    oai_error_set(&e, 502, NULL, "upstream_error", NULL, "upstream connection failed mid-stream: %s", msg);
    oai_stream_abort(o->stream, &e, &o->buf);
  }
  flush_events(o, r);
  http_finish(r);
}

static void c_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len,
                    const char *extra)
{
  oa *o = st;
  oai_error e;
  oai_google_error(status, body, len, &e);
  proxy_answer a = PROXY_ANSWER_INIT;
  a.status = e.status;                            /* OpenAI's mapping of Google's status */
  if(o->k == K_MODEL) a.model = o->model_id;
  proxy_settle(r, &a);
  reply_error(r, &e, extra);
}

static const proxy_codec codec = { c_start, c_data, c_end, c_cut, c_error, oa_free };

/* ---------- sending ---------- */

/* The headers an OpenAI call sends upstream: Content-Type for a JSON body, and the client's
 * own extension headers (x-…) — but not the SDK's telemetry (x-stainless-…) nor anything
 * proxy_client_headers drops (credentials, hop-by-hop).  One spare slot for the key. */
static char **extension_headers(const http_req *r, bool json, size_t *count)
{
  size_t n = 0;
  char **h = proxy_client_headers(r, &n);
  if(!h) return NULL;
  size_t k = 0;
  for(size_t i = 0; i < n; i++) {
    bool keep = !strncasecmp(h[i], "x-", 2) && strncasecmp(h[i], "x-stainless-", 12);
    if(keep) h[k++] = h[i];
    else free(h[i]);
  }
  char **g = realloc(h, (k + 2) * sizeof *h);   /* room for Content-Type and the key */
  if(!g) { for(size_t i = 0; i < k; i++) free(h[i]); free(h); return NULL; }
  h = g;
  if(json && !(h[k++] = strdup("Content-Type: application/json"))) k--;
  h[k] = NULL;
  *count = k;
  return h;
}

/* Builds the spec for POST models/<model>:<action> with body j (or GET path when j is NULL). */
static void send_upstream(http_req *r, oa *o, const char *model, const char *path, json_t *j)
{
  proxy_spec s = { .who = o->who, .prompt_of = body_prompt_openai, .stream = o->k == K_STREAM,
                   .codec = &codec, .codec_state = o };
  snprintf(s.model, sizeof s.model, "%s", model);
  const char *base = r->w->cfg->upstream;
  size_t ul = strlen(base) + strlen(path) + 1;
  s.url = malloc(ul);
  char *raw = o->k <= K_STREAM ? o->chat.raw : NULL;      /* the chat fast path's body */
  s.hdrs = extension_headers(r, j || raw, &s.nhdrs);
  if(raw) {
    s.body_owned = raw;
    s.body_len = o->chat.raw_len;
    o->chat.raw = NULL;                                   /* the proxy owns it now */
  } else if(j) s.body_owned = oai_dump(j, &s.body_len);
  s.body = s.body_owned;
  if(!s.url || !s.hdrs || ((j || raw) && !s.body_owned)) {
    free(s.url);
    for(size_t i = 0; s.hdrs && i < s.nhdrs; i++) free(s.hdrs[i]);
    free(s.hdrs);
    free(s.body_owned);
    record_local(r, &o->who, model, body_prompt_openai, o->k == K_STREAM, 500, "out of memory");
    oa_free(o);
    openai_error(r, 500, NULL, "out of memory", NULL);
    return;
  }
  snprintf(s.url, ul, "%s%s", base, path);
  proxy_start(r, &s);
}

static void send_chat(http_req *r, oa *o)
{
  char path[256];
  snprintf(path, sizeof path, "/v1beta/models/%s:%s", o->chat.model,
           o->chat.stream ? "streamGenerateContent?alt=sse" : "generateContent");
  if(o->chat.stream) {
    oai_meta m = { o->id, o->chat.model, o->created };
    o->stream = oai_stream_new(&m, o->chat.include_usage);
    if(!o->stream) {
      record_local(r, &o->who, o->chat.model, body_prompt_openai, true, 500, "out of memory");
      oa_free(o);
      openai_error(r, 500, NULL, "out of memory", NULL);
      return;
    }
  }
  send_upstream(r, o, o->chat.model, path, o->chat.body);
}

/* ---------- image fetches before a chat call ---------- */

static void fetch_abort(http_req *r)
{
  oa *o = r->ctx;
  record_local(r, &o->who, o->chat.model, body_prompt_openai, o->chat.stream, 499, "client_closed");
  oa_free(o);
}

static void fetched(void *ctx, fetch_result res, const char *ctype, const char *body, size_t len, const char *err);

typedef struct fetch_slot { oa *o; size_t i; } fetch_slot;

/* A failed fetch as the client's error: a bad or too big image is the request's fault (400);
 * the request's images together over GEMGATE_FETCH_MAX_TOTAL, too large (413); the gateway
 * holding GEMGATE_FETCH_MAX_INFLIGHT of images for everyone, busy (503, Retry-After). */
static void fetch_error(oa *o, size_t i, fetch_result res, const char *err)
{
  const char *param = o->chat.fetch[i].param;
  if(res == FETCH_OVER_TOTAL) oai_error_set(&o->ferr, 413, "invalid_request_error", "images_too_large", param, "%s", err);
  else if(res == FETCH_BUSY) oai_error_set(&o->ferr, 503, NULL, "server_busy", param, "%s", err);
  else oai_error_set(&o->ferr, 400, NULL, "invalid_image_url", param, "%s", err);
}

static void fetched_one(oa *o, size_t i, fetch_result res, const char *ctype, const char *body, size_t len,
                        const char *err)
{
  o->fetches[i] = NULL;
  o->pending--;
  if(!o->ffailed) {
    if(res != FETCH_OK) {
      o->ffailed = true;
      fetch_error(o, i, res, err);
    } else if(oai_fetch_fill(&o->chat.fetch[i], ctype, body, len, &o->ferr)) {
      o->ffailed = true;
    }
  }
  if(o->pending) return;
  http_req *r = o->r;
  r->on_abort = NULL;
  if(o->ffailed) {
    oai_error e = o->ferr;
    record_local(r, &o->who, o->chat.model, body_prompt_openai, o->chat.stream, e.status, e.message);
    oa_free(o);
    reply_error(r, &e, e.status == 503 ? "Retry-After: 1\r\n" : NULL);
    return;
  }
  send_chat(r, o);
}

/* Each fetch's context is its slot index encoded in the oa's array position. */
static void fetched(void *ctx, fetch_result res, const char *ctype, const char *body, size_t len, const char *err)
{
  fetch_slot *s = ctx;
  oa *o = s->o;
  size_t i = s->i;
  free(s);
  fetched_one(o, i, res, ctype, body, len, err);
}

static void start_fetches(http_req *r, oa *o)
{
  o->r = r;
  r->ctx = o;
  r->on_abort = fetch_abort;
  o->pending = o->chat.nfetch;
  o->fg = (fetch_group){ .total = o->gw->cfg.fetch_max_total };
  for(size_t i = 0; i < o->chat.nfetch; i++) {
    fetch_slot *s = malloc(sizeof *s);
    if(s) *s = (fetch_slot){ o, i };
    fetch *f = s ? fetch_start(r->w->up, o->chat.fetch[i].url, IMAGE_CAP, &o->fg, fetched, s) : NULL;
    if(!f) {
      free(s);
      fetched_one(o, i, FETCH_FAILED, NULL, NULL, 0, "could not start the image fetch");
      if(!o->pending) return;      /* answered already */
      continue;
    }
    o->fetches[i] = f;
  }
}

/* ---------- which /v1/ paths are OpenAI's ---------- */

/* What a /v1/ request is: Gemini's (native passthrough), one the OpenAI route serves, an
 * OpenAI path it does not serve (404), or a served path with the wrong method (405). */
typedef enum { R_GEMINI, R_SERVE, R_UNKNOWN, R_METHOD } oa_route;

/* A caller with a Bearer credential only: the OpenAI SDKs (@google/genai sends x-goog-api-key). */
static bool bearer_only(const http_req *r)
{
  return !http_header_get(r, STR("x-goog-api-key")).p && !http_query_get(r, STR("key")).p &&
         http_header_get(r, STR("Authorization")).p;
}

static oa_route only(const http_req *r, const char *method, const char **allow)
{
  if(str_eq(r->method, str_c(method))) return R_SERVE;
  *allow = !strcmp(method, "GET") ? "Allow: GET\r\n" : "Allow: POST\r\n";
  return R_METHOD;
}

/* OpenAI API resources that no Gemini path uses; the gateway serves none of them (responses is
 * call/responses_route.c's, and is OpenAI's whoever calls). */
static const str openai_only[] = {
  STR("completions"), STR("audio"), STR("moderations"), STR("uploads"),
  STR("fine_tuning"), STR("fine-tunes"), STR("assistants"), STR("threads"), STR("vector_stores"),
  STR("realtime"), STR("evals"), STR("containers"), STR("conversations"), STR("videos"),
  STR("organization"), STR("chatkit"), STR("edits"), STR("engines"),
};

/* models, files and batches are both APIs' words: a Bearer-only caller means OpenAI's, except
 * Gemini's own method calls (/v1/models/<m>:generateContent) and deeper paths. */
static oa_route route_of(const http_req *r, const char **allow)
{
  *allow = NULL;
  if(!str_starts(r->path, STR("/v1/"))) return R_GEMINI;
  str rest = { r->path.p + 4, r->path.n - 4 };
  const char *slash = memchr(rest.p, '/', rest.n);
  str seg = { rest.p, slash ? (size_t)(slash - rest.p) : rest.n };
  str tail = { rest.p + seg.n, rest.n - seg.n };     /* "" or "/…" */
  if(str_eq(seg, STR("chat")))
    return str_eq(tail, STR("/completions")) ? only(r, "POST", allow) : R_UNKNOWN;
  if(str_eq(seg, STR("embeddings"))) return tail.n ? R_UNKNOWN : only(r, "POST", allow);
  if(str_eq(seg, STR("images")))
    return str_eq(tail, STR("/generations")) ? only(r, "POST", allow) : R_UNKNOWN;
  if(str_eq(seg, STR("models")) || str_eq(seg, STR("files")) || str_eq(seg, STR("batches"))) {
    if(!bearer_only(r)) return R_GEMINI;
    if(!str_eq(seg, STR("models"))) return R_UNKNOWN;
    bool one = tail.n > 1 && !memchr(tail.p + 1, '/', tail.n - 1) && !memchr(tail.p, ':', tail.n);
    return !tail.n || one ? only(r, "GET", allow) : R_GEMINI;
  }
  if(str_eq(seg, STR("responses"))) return R_SERVE;
  for(size_t i = 0; i < ARRAY_LEN(openai_only); i++)
    if(str_eq(seg, openai_only[i])) return R_UNKNOWN;
  return R_GEMINI;
}

bool openai_wants(const http_req *r)
{
  const char *allow;
  if(anthropic_wants(r)) return false;      /* /v1/messages…, and /v1/models from an anthropic-version caller */
  return route_of(r, &allow) != R_GEMINI;
}

/* An OpenAI path the gateway does not serve, or a wrong method: answered here, in OpenAI's
 * shape (its 404 is invalid_request_error / unknown_url), never forwarded.  True if answered. */
static bool refuse_route(http_req *r, const principal *who)
{
  const char *allow;
  oa_route k = route_of(r, &allow);
  oai_error e;
  const char *why = path_refusal(r->path);
  if(why) oai_error_set(&e, 400, NULL, "invalid_url", NULL, "%s", why);
  else if(k == R_UNKNOWN)
    oai_error_set(&e, 404, "invalid_request_error", "unknown_url", NULL,
                  "Unknown request URL: %.*s %.*s. This gateway's OpenAI-compatible API serves "
                  "POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/images/generations and GET /v1/models.",
                  (int)r->method.n, r->method.p, (int)(r->path.n > 200 ? 200 : r->path.n), r->path.p);
  else if(k == R_METHOD)
    oai_error_set(&e, 405, "invalid_request_error", "method_not_allowed", NULL,
                  "Method %.*s is not allowed on %.*s; use %.*s.", (int)r->method.n, r->method.p,
                  (int)r->path.n, r->path.p, (int)strcspn(allow + 7, "\r"), allow + 7);
  else return false;
  record_local(r, who, "", body_prompt_openai, false, e.status, e.message);
  reply_error(r, &e, k == R_METHOD && !why ? allow : NULL);
  return true;
}

/* ---------- entry points ---------- */

/* Answers the model list from the cache when it is fresh (recording the call first, with the
 * status it answers); false when it must be fetched. */
static bool models_from_cache(http_req *r, oa *o)
{
  pthread_mutex_lock(&models_lock);
  char *copy = NULL;
  size_t n = models_len;
  if(models_json && now_ms() - models_at < MODELS_TTL_MS && (copy = malloc(n + 1))) memcpy(copy, models_json, n);
  pthread_mutex_unlock(&models_lock);
  if(!copy) return false;
  oai_error e;
  json_t *j = models_answer(o, copy, n, &e);
  free(copy);
  record_local(r, &o->who, o->k == K_MODEL ? o->model_id : "", body_prompt_openai, false, j ? 200 : e.status,
               j ? NULL : e.message);
  if(j) reply_json(r, 200, j, NULL);
  else reply_error(r, &e, NULL);
  return true;
}

void openai_handle(http_req *r, const principal *who)
{
  if(refuse_route(r, who)) return;
  oa *o = calloc(1, sizeof *o);
  if(!o) { openai_error(r, 500, NULL, "out of memory", NULL); return; }
  gateway *gw = r->w->gw;
  o->gw = gw;
  o->who = *who;
  o->created = (int64_t)time(NULL);
  oai_error e;
  if(str_eq(r->path, STR("/v1/chat/completions"))) {
    settings_snap *s = settings_acquire(gw->settings);
    const oai_settings *os = s ? &s->oai : NULL;
    int rc = oai_chat_parse_fast(r->body, r->body_len, os, &o->chat) ? 0 : oai_chat_parse(r->body, r->body_len, os, &o->chat, &e);
    settings_release(gw->settings, s);
    if(rc) goto bad;
    o->k = o->chat.stream ? K_STREAM : K_CHAT;
    make_id(o->id, sizeof o->id, "chatcmpl-");
    if(o->chat.nfetch) { start_fetches(r, o); return; }
    send_chat(r, o);
    return;
  }
  if(str_eq(r->path, STR("/v1/embeddings"))) {
    if(oai_embed_parse(r->body, r->body_len, &o->emb, &e)) goto bad;
    if(o->emb.nbatch != 1) {
      oai_error_set(&e, 400, NULL, NULL, "input", "at most %d inputs per request (Gemini's batch limit)", OAI_EMBED_BATCH);
      goto bad;
    }
    o->k = K_EMBED;
    char path[256];
    snprintf(path, sizeof path, "/v1beta/models/%s:batchEmbedContents", o->emb.model);
    send_upstream(r, o, o->emb.model, path, o->emb.batch[0]);
    return;
  }
  if(str_eq(r->path, STR("/v1/images/generations"))) {
    if(oai_image_parse(r->body, r->body_len, &o->img, &e)) goto bad;
    o->k = K_IMAGE;
    char path[256];
    snprintf(path, sizeof path, "/v1beta/models/%s:%s", o->img.model, o->img.gemini ? "generateContent" : "predict");
    send_upstream(r, o, o->img.model, path, o->img.body);
    return;
  }
  o->k = K_MODELS;
  if(str_starts(r->path, STR("/v1/models/"))) {
    o->k = K_MODEL;
    snprintf(o->model_id, sizeof o->model_id, "%.*s", (int)(r->path.n - 11), r->path.p + 11);
  }
  if(models_from_cache(r, o)) {
    oa_free(o);
    return;
  }
  send_upstream(r, o, "", "/v1beta/models?pageSize=1000", NULL);
  return;
bad:
  record_local(r, who, "", body_prompt_openai, false, e.status, e.message);
  oa_free(o);
  reply_error(r, &e, NULL);
}
