/* responses_route — OpenAI's Responses API on the call engine; contract in responses_route.h.
 *
 * POST /v1/responses: parse (openai/responses, pure) → fetch image URLs → load the stored
 * conversation of previous_response_id (convo, on a store thread) → build → call through
 * proxy.c → translate the answer → store the response (unless store: false) → answer.  The
 * answer waits for the store so that a client chaining on the new id at once finds it; a
 * stream sends everything as it comes but its terminal event (response.completed), which
 * follows the store. */
#include "call/responses_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "convo/convo.h"
#include "openai/responses.h"
#include "call/body_prompt.h"
#include "call/dialect.h"
#include "call/openai_route.h"
#include "call/path.h"
#include "call/record.h"
#include "call/reqjob.h"
#include "call/settings.h"
#include "http/server.h"
#include "store/query.h"

#define ANSWER_CAP (128u << 20)

/* One POST /v1/responses. */
typedef struct rr {
  principal who;
  char id[48];
  int64_t created;
  oai_rreq q;
  oai_rstream *stream;
  bool ended;                  /* the stream translator has ended */
  bool too_big;
  oai_buf buf;                 /* the answer (plain) or events to send (stream) */
  oai_error err;               /* why a fetch or the load failed */
  convo_response prev;         /* the loaded previous response */
  gg_rc load_rc;
} rr;

static void rr_free(void *st)
{
  rr *a = st;
  oai_rreq_free(&a->q);
  oai_rstream_free(a->stream);
  oai_buf_free(&a->buf);
  convo_response_free(&a->prev);
  free(a);
}

static void reply_json(http_req *r, int status, json_t *j)
{
  size_t len = 0;
  char *s = j ? oai_dump(j, &len) : NULL;
  json_decref(j);
  if(!s) { http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL); return; }
  http_reply(r, status, "application/json", s, len, NULL);
  free(s);
}

static void reply_error(http_req *r, const oai_error *e, const char *extra)
{
  size_t len = 0;
  json_t *j = oai_error_json(e);
  char *s = j ? oai_dump(j, &len) : NULL;
  json_decref(j);
  if(!s) { http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL); return; }
  http_reply(r, e->status, "application/json", s, len, extra);
  free(s);
}

/* A request answered by the gateway alone: its ledger row, then the error. */
static void refuse(http_req *r, const principal *who, const char *model, const oai_error *e)
{
  record_local(r, who, model, body_prompt_responses, false, e->status, e->message);
  reply_error(r, e, NULL);
}

static void busy(http_req *r, const principal *who, const char *model)
{
  oai_error e;
  oai_error_set(&e, 503, NULL, "server_busy", NULL, "The gateway's database is busy; try again.");
  record_local(r, who, model, body_prompt_responses, false, 503, e.message);
  reply_error(r, &e, "Retry-After: 1\r\n");
}

/* ---------- storing the answer, then sending it ---------- */

typedef struct saving {
  convo_response row;          /* strings owned here */
  char *body;                  /* the plain answer, or the stream's terminal event */
  size_t len;
  bool stream;
  gg_rc rc;
  gg_err err;
} saving;

static void saving_free(void *p)
{
  saving *s = p;
  convo_response_free(&s->row);
  free(s->body);
  free(s);
}

static void save_work(store_conn *c, void *arg)
{
  saving *s = arg;
  s->rc = convo_response_put(c, &s->row, now_ms(), &s->err);
}

static void saved(reqjob *j, http_req *r, void *arg)
{
  saving *s = arg;
  if(s->rc) log_warn("responses: response %s was answered but not stored: %s", s->row.id, s->err.msg);
  if(s->stream) {
    http_send(r, s->body, s->len);
    http_finish(r);
  } else http_reply(r, 200, "application/json", s->body, s->len, NULL);
  reqjob_end(j);
}

/* Take r over to store a's response (response, turn: the translation's) before sending body
 * (taken).  false when it cannot: the caller answers without storing. */
static bool store_then_send(http_req *r, rr *a, const json_t *response, const json_t *turn, char *body, size_t len, bool stream)
{
  saving *s = calloc(1, sizeof *s);
  json_t *state = s ? oai_rstate_next(&a->q, response, turn) : NULL;
  if(s) {
    snprintf(s->row.id, sizeof s->row.id, "%s", a->id);
    s->row.user_id = a->who.user_id;
    snprintf(s->row.model, sizeof s->row.model, "%s", a->q.model);
    s->row.response = json_dumps(response, OAI_DUMP_FLAGS);
    s->row.input_items = json_dumps(a->q.items, OAI_DUMP_FLAGS);
    s->row.state = state ? json_dumps(state, OAI_DUMP_FLAGS) : NULL;
    s->row.created_at = now_ms();
    s->row.expires_at = s->row.created_at + r->w->cfg->responses_ttl_ms;
    s->body = body;
    s->len = len;
    s->stream = stream;
  }
  json_decref(state);
  reqjob *j = s && s->row.response && s->row.input_items && s->row.state ? reqjob_new(r, s, saving_free) : NULL;
  if(!j) {
    if(s) { s->body = NULL; saving_free(s); }
    log_warn("responses: response %s is answered without being stored (out of memory)", a->id);
    return false;
  }
  if(reqjob_run(j, save_work, saved)) return true;
  s->body = NULL;                    /* the caller still sends it */
  reqjob_detach(j);
  saving_free(s);
  log_warn("responses: response %s is answered without being stored (the database is busy)", a->id);
  return false;
}

/* ---------- the codec ---------- */

static void c_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  rr *a = st;
  if(a->q.stream) http_start(r, 200, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n", -1);
}

static void flush(rr *a, http_req *r)
{
  if(a->buf.n) http_send(r, a->buf.p, a->buf.n);
  a->buf.n = 0;
}

static void c_data(void *st, http_req *r, const char *p, size_t n)
{
  rr *a = st;
  if(a->q.stream) {
    if(a->ended) return;
    if(oai_rstream_feed(a->stream, p, n, &a->buf) == OAI_STREAM_END) a->ended = true;
    flush(a, r);
    return;
  }
  if(a->buf.n + n > ANSWER_CAP || oai_buf_append(&a->buf, p, n)) a->too_big = true;
}

static void end_stream(rr *a, http_req *r)
{
  oai_buf last = { 0 };
  int rc = a->ended ? OAI_STREAM_END : oai_rstream_finish(a->stream, &a->buf, &last);
  a->ended = true;
  flush(a, r);
  if(rc == OAI_STREAM_MORE && a->q.store &&
     store_then_send(r, a, oai_rstream_response(a->stream), oai_rstream_turn(a->stream), last.p, last.n, true))
    return;                                   /* last is the saving's now */
  if(last.n) http_send(r, last.p, last.n);
  oai_buf_free(&last);
  http_finish(r);
}

/* The call's ledger row, before the answer's last write: what the client gets — e, when the
 * translation or the upstream makes it an error (NULL: as the engine saw it). */
static void settle(http_req *r, const oai_error *e)
{
  proxy_answer a = PROXY_ANSWER_INIT;
  if(e) { a.status = e->status; a.error = e->message; }
  proxy_settle(r, e ? &a : NULL);
}

static void c_end(void *st, http_req *r)
{
  rr *a = st;
  r->on_drain = NULL;
  if(a->q.stream) { settle(r, NULL); end_stream(a, r); return; }
  oai_error e;
  json_t *j = NULL, *turn = NULL;
  if(a->too_big) oai_error_set(&e, 502, NULL, NULL, NULL, "upstream answer too large or out of memory");
  else {
    oai_rmeta m = { a->id, a->q.client_model, a->created, a->q.echo };
    j = oai_rresp(a->buf.p ? a->buf.p : "", a->buf.n, &m, &turn, NULL, &e);
  }
  settle(r, j ? NULL : &e);
  if(!j) { reply_error(r, &e, NULL); return; }
  size_t len = 0;
  char *body = oai_dump(j, &len);
  if(body && a->q.store && store_then_send(r, a, j, turn, body, len, false)) body = NULL;
  else if(body) http_reply(r, 200, "application/json", body, len, NULL);
  else http_reply(r, 500, "text/plain", "out of memory\n", 14, NULL);
  free(body);
  json_decref(turn);
  json_decref(j);
}

static void c_cut(void *st, http_req *r, const char *msg)
{
  rr *a = st;
  oai_error e;
  oai_error_set(&e, 502, NULL, "upstream_error", NULL, "upstream connection failed: %s", msg);
  settle(r, !a->q.stream ? &e : NULL);      /* a stream keeps its 200: the engine's stream_cut */
  if(!a->q.stream) { reply_error(r, &e, NULL); return; }
  if(!a->ended) oai_rstream_abort(a->stream, &e, &a->buf);
  a->ended = true;
  flush(a, r);
  http_finish(r);
}

static void c_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len, const char *extra)
{
  oai_error e;
  oai_google_error(status, body, len, &e);
  settle(r, &e);
  reply_error(r, &e, extra);
}

static const proxy_codec codec = { c_start, c_data, c_end, c_cut, c_error, rr_free };

/* ---------- POST /v1/responses ---------- */

static void send_call(http_req *r, rr *a)
{
  oai_error e;
  json_t *prev = NULL;
  if(a->prev.state) prev = json_loads(a->prev.state, 0, NULL);
  int rc = oai_rreq_build(&a->q, prev, &e);
  json_decref(prev);
  convo_response_free(&a->prev);
  if(rc) { refuse(r, &a->who, a->q.model, &e); rr_free(a); return; }
  if(a->q.stream) {
    oai_rmeta m = { a->id, a->q.client_model, a->created, a->q.echo };
    if(!(a->stream = oai_rstream_new(&m))) goto oom;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1beta/models/%s:%s", a->q.model, a->q.stream ? "streamGenerateContent?alt=sse" : "generateContent");
  if(dialect_send(r, &a->who, a->q.model, path, a->q.body, a->q.stream, body_prompt_responses, &codec, a)) goto oom;
  return;
oom:
  rr_free(a);
  openai_error(r, 500, NULL, "out of memory", NULL);
}

static void load_work(store_conn *c, void *arg)
{
  rr *a = arg;
  gg_err e;
  a->load_rc = convo_response_get(c, a->who.user_id, a->q.previous_id, now_ms(), &a->prev, &e);
}

static void loaded(reqjob *j, http_req *r, void *arg)
{
  rr *a = reqjob_detach(j);
  if(a->load_rc) {
    oai_error e;
    if(a->load_rc == GG_NOT_FOUND)
      oai_error_set(&e, 404, "invalid_request_error", "previous_response_not_found", "previous_response_id",
                    "Previous response with id '%.60s' not found.", a->q.previous_id);
    else oai_error_set(&e, 503, NULL, "server_busy", NULL, "The gateway's database failed; try again.");
    refuse(r, &a->who, a->q.model, &e);
    rr_free(a);
    return;
  }
  send_call(r, a);
}

static void load_then_send(http_req *r, rr *a)
{
  if(!a->q.previous_id) { send_call(r, a); return; }
  reqjob *j = reqjob_new(r, a, rr_free);
  if(j && reqjob_run(j, load_work, loaded)) return;
  if(j) reqjob_detach(j);
  busy(r, &a->who, a->q.model);
  rr_free(a);
}

static bool fill(void *st, size_t i, const char *ctype, const char *body, size_t len, const char *err)
{
  rr *a = st;
  if(err) {
    oai_error_set(&a->err, 400, NULL, "invalid_image_url", a->q.fetch[i].param, "%s", err);
    return false;
  }
  return oai_fetch_fill(&a->q.fetch[i], ctype, body, len, &a->err) == 0;
}

static void fetched(void *st, http_req *r, bool failed)
{
  rr *a = st;
  if(failed) { refuse(r, &a->who, a->q.model, &a->err); rr_free(a); return; }
  load_then_send(r, a);
}

static void create(http_req *r, const principal *who)
{
  rr *a = calloc(1, sizeof *a);
  if(!a) { openai_error(r, 500, NULL, "out of memory", NULL); return; }
  a->who = *who;
  a->created = (int64_t)time(NULL);
  dialect_id(a->id, sizeof a->id, "resp_");
  gateway *gw = r->w->gw;
  settings_snap *s = settings_acquire(gw->settings);
  oai_error e;
  int rc = oai_rreq_parse(r->body, r->body_len, &r->w->cfg->aliases, s ? &s->oai : NULL, a->id, &a->q, &e);
  settings_release(gw->settings, s);
  if(rc) { refuse(r, who, "", &e); rr_free(a); return; }
  if(a->q.nfetch) {
    char *urls[OAI_MAX_FETCHES];
    for(size_t i = 0; i < a->q.nfetch; i++) urls[i] = a->q.fetch[i].url;
    if(!dfetch_start(r, urls, a->q.nfetch, a, fill, fetched, rr_free)) return;
    rr_free(a);
    openai_error(r, 500, NULL, "out of memory", NULL);
    return;
  }
  load_then_send(r, a);
}

/* ---------- GET / DELETE /v1/responses/{id}, GET …/input_items ---------- */

enum { OP_GET, OP_DELETE, OP_ITEMS };

typedef struct lookup {
  principal who;
  int op;
  char id[CONVO_ID_MAX];
  bool asc;
  int64_t limit;
  char after[CONVO_ID_MAX * 2];
  bool has_after;
  convo_response row;
  gg_rc rc;
} lookup;

static void lookup_free(void *p)
{
  lookup *l = p;
  convo_response_free(&l->row);
  free(l);
}

static void lookup_work(store_conn *c, void *arg)
{
  lookup *l = arg;
  gg_err e;
  l->rc = l->op == OP_DELETE ? convo_response_delete(c, l->who.user_id, l->id, now_ms(), &e)
                             : convo_response_get(c, l->who.user_id, l->id, now_ms(), &l->row, &e);
}

static void looked_up(reqjob *j, http_req *r, void *arg)
{
  lookup *l = arg;
  oai_error e;
  if(l->rc == GG_NOT_FOUND)
    oai_error_set(&e, 404, "invalid_request_error", "not_found", NULL, "No response found with id '%s'.", l->id);
  else if(l->rc) oai_error_set(&e, 503, NULL, "server_busy", NULL, "The gateway's database failed; try again.");
  if(l->rc) {
    refuse(r, &l->who, "", &e);
  } else if(l->op == OP_DELETE) {
    record_local(r, &l->who, "", body_prompt_responses, false, 200, NULL);
    reply_json(r, 200, json_pack("{s:s,s:s,s:b}", "id", l->id, "object", "response", "deleted", 1));
  } else if(l->op == OP_GET) {
    record_local(r, &l->who, l->row.model, body_prompt_responses, false, 200, NULL);
    http_reply(r, 200, "application/json", l->row.response, strlen(l->row.response), NULL);
  } else {
    json_t *items = json_loads(l->row.input_items, 0, NULL);
    json_t *list = items ? oai_rinput_items(items, l->asc, l->limit, l->has_after ? l->after : NULL, &e) : NULL;
    json_decref(items);
    if(!list && !items) oai_error_set(&e, 500, NULL, "internal_error", NULL, "The stored input items are unreadable.");
    if(list) {
      record_local(r, &l->who, l->row.model, body_prompt_responses, false, 200, NULL);
      reply_json(r, 200, list);
    } else refuse(r, &l->who, "", &e);
  }
  reqjob_end(j);
}

static void lookup_start(http_req *r, const principal *who, int op, str id)
{
  lookup *l = calloc(1, sizeof *l);
  if(!l) { openai_error(r, 500, NULL, "out of memory", NULL); return; }
  l->who = *who;
  l->op = op;
  snprintf(l->id, sizeof l->id, "%.*s", (int)id.n, id.p);
  if(op == OP_ITEMS) {
    char order[8];
    bool present;
    gg_err ge;
    oai_error e;
    if(query_int(r->query, "limit", 1, 100, 20, &l->limit, &ge) ||
       query_str(r->query, "order", order, sizeof order, &present, &ge) ||
       (present && strcmp(order, "asc") && strcmp(order, "desc") && gg_fail(&ge, GG_BAD_INPUT, "order must be asc or desc")) ||
       query_str(r->query, "after", l->after, sizeof l->after, &l->has_after, &ge)) {
      oai_error_set(&e, 400, NULL, "invalid_value", NULL, "%s", ge.msg);
      refuse(r, who, "", &e);
      free(l);
      return;
    }
    l->asc = present && !strcmp(order, "asc");
  }
  reqjob *j = reqjob_new(r, l, lookup_free);
  if(j && reqjob_run(j, lookup_work, looked_up)) return;
  if(j) reqjob_detach(j);
  busy(r, who, "");
  lookup_free(l);
}

/* ---------- routing ---------- */

bool responses_wants(const http_req *r)
{
  return str_eq(r->path, STR("/v1/responses")) || str_starts(r->path, STR("/v1/responses/"));
}

static bool id_ok(str id)
{
  if(!id.n || id.n >= CONVO_ID_MAX) return false;
  for(size_t i = 0; i < id.n; i++) {
    char c = id.p[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

void responses_handle(http_req *r, const principal *who)
{
  oai_error e;
  const char *why = path_refusal(r->path), *allow = NULL;
  str rest = { r->path.p + 13, r->path.n > 13 ? r->path.n - 13 : 0 };     /* after "/v1/responses" */
  str id = { NULL, 0 };
  int op = -1;
  if(!why && !rest.n) {
    if(str_eq(r->method, STR("POST"))) { create(r, who); return; }
    allow = "Allow: POST\r\n";
  } else if(!why && rest.p[0] == '/') {
    str tail = { rest.p + 1, rest.n - 1 };
    const char *slash = memchr(tail.p, '/', tail.n);
    id = (str){ tail.p, slash ? (size_t)(slash - tail.p) : tail.n };
    str sub = { tail.p + id.n, tail.n - id.n };
    if(!sub.n) {
      if(str_eq(r->method, STR("GET"))) op = OP_GET;
      else if(str_eq(r->method, STR("DELETE"))) op = OP_DELETE;
      else allow = "Allow: GET, DELETE\r\n";
    } else if(str_eq(sub, STR("/input_items"))) {
      if(str_eq(r->method, STR("GET"))) op = OP_ITEMS;
      else allow = "Allow: GET\r\n";
    }
  }
  if(op >= 0 && id_ok(id)) { lookup_start(r, who, op, id); return; }
  if(why) oai_error_set(&e, 400, NULL, "invalid_url", NULL, "%s", why);
  else if(allow) oai_error_set(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "Method %.*s is not allowed on %.*s.",
                               (int)r->method.n, r->method.p, (int)(r->path.n > 200 ? 200 : r->path.n), r->path.p);
  else if(op >= 0) oai_error_set(&e, 404, "invalid_request_error", "not_found", NULL, "No response found with id '%.*s'.",
                                 (int)(id.n > 80 ? 80 : id.n), id.p);
  else oai_error_set(&e, 404, "invalid_request_error", "unknown_url", NULL, "Unknown request URL: %.*s %.*s. This gateway serves "
                     "POST /v1/responses, GET and DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items.",
                     (int)r->method.n, r->method.p, (int)(r->path.n > 200 ? 200 : r->path.n), r->path.p);
  record_local(r, who, "", body_prompt_responses, false, e.status, e.message);
  reply_error(r, &e, allow && !why ? allow : NULL);
}
