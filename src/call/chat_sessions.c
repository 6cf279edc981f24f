/* chat_sessions — seed 002's chat sessions on the call engine; contract in chat_sessions.h.
 *
 * A message: load the session (store thread) → drop the oldest exchanges beyond the cap →
 * send the whole history and the new turn through proxy.c → collect the model's turn (thought
 * text left out, signatures kept) as the answer passes → save the history under the version
 * it was loaded with (a compare-and-set: two messages answered at once cannot lose one
 * another's turn; the second is told to send again) → answer.  A stream passes Gemini's own
 * events through as they come and ends with `event: session` once the turn is saved. */
#include "call/chat_sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alias.h"
#include "base/sse.h"
#include "base/utc.h"
#include "convo/convo.h"
#include "call/body_prompt.h"
#include "call/dialect.h"
#include "call/record.h"
#include "call/reqjob.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/query.h"

#define ANSWER_CAP (128u << 20)
#define EVENT_CAP (4u << 20)
#define PREFIX "/api/chat/sessions/"

static void bad(http_req *r, const char *msg)
{
  http_error(r, 400, "INVALID_ARGUMENT", msg, NULL);
}

static void busy(http_req *r)
{
  http_error(r, 503, "UNAVAILABLE", "the gateway's database is busy: try again", "Retry-After: 1\r\n");
}

/* The body as an object with only the given keys; NULL after answering 400. */
static json_t *body_object(http_req *r, const char *const *allow)
{
  json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : json_object();
  if(!json_is_object(j)) { json_decref(j); bad(r, "the body must be a JSON object"); return NULL; }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    bool ok = false;
    for(size_t i = 0; allow[i] && !ok; i++) ok = !strcmp(k, allow[i]);
    if(!ok) {
      char msg[160];
      snprintf(msg, sizeof msg, "unknown field \"%.60s\"", k);
      json_decref(j);
      bad(r, msg);
      return NULL;
    }
  }
  return j;
}

static bool model_ok(const char *s)
{
  size_t n = strlen(s);
  if(!n || n > 120) return false;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* The session as answered; history (parsed) only for GET /{id}. */
static json_t *session_json(const convo_session *s, bool with_history, int max_turns)
{
  char c[32], u[32], x[32];
  utc_iso(s->created_at, c, sizeof c);
  utc_iso(s->updated_at, u, sizeof u);
  utc_iso(s->expires_at, x, sizeof x);
  json_t *cfg = s->config ? json_loads(s->config, 0, NULL) : NULL;
  json_t *o = json_pack("{s:s,s:s,s:s,s:O?,s:O?,s:O?,s:I,s:I,s:i,s:s,s:s,s:s}", "id", s->id, "object", "chat.session",
                        "model", s->model, "system", json_object_get(cfg, "system"),
                        "generation_config", json_object_get(cfg, "generation_config"),
                        "cached_content", json_object_get(cfg, "cached_content"), "turns", (json_int_t)s->turns,
                        "dropped_turns", (json_int_t)s->dropped, "max_turns", max_turns, "created_at", c, "updated_at", u,
                        "expires_at", x);
  json_decref(cfg);
  if(o && with_history) {
    json_t *h = s->history ? json_loads(s->history, 0, NULL) : NULL;
    json_object_set_new(o, "history", h ? h : json_array());
  }
  return o;
}

/* ---------------------------------------------------------------- create, list, get, delete */

typedef struct job {
  principal who;
  int max_turns;
  char id[CONVO_ID_MAX];
  convo_session s;             /* create: what to store; get: what was found */
  convo_session *list;
  size_t n;
  int64_t limit;
  int op;
  gg_rc rc;
  gg_err err;
} job;

enum { OP_CREATE, OP_LIST, OP_GET, OP_DELETE };

static void job_free(void *p)
{
  job *j = p;
  convo_session_free(&j->s);
  convo_sessions_free(j->list, j->n);
  free(j);
}

static void job_work(store_conn *c, void *arg)
{
  job *j = arg;
  int64_t now = now_ms();
  switch(j->op) {
  case OP_CREATE: j->rc = convo_session_create(c, &j->s, now, &j->err); break;
  case OP_LIST: j->rc = convo_session_list(c, j->who.user_id, now, (int)j->limit, &j->list, &j->n, &j->err); break;
  case OP_GET: j->rc = convo_session_get(c, j->who.user_id, j->id, now, &j->s, &j->err); break;
  default: j->rc = convo_session_delete(c, j->who.user_id, j->id, now, &j->err); break;
  }
}

static void job_reply(reqjob *rj, http_req *r, void *arg)
{
  job *j = arg;
  if(j->rc == GG_NOT_FOUND) http_error(r, 404, "NOT_FOUND", "no such chat session", NULL);
  else if(j->rc) http_error_rc(r, j->rc, NULL);
  else if(j->op == OP_LIST) {
    json_t *a = json_array();
    for(size_t i = 0; i < j->n; i++) json_array_append_new(a, session_json(&j->list[i], false, j->max_turns));
    http_reply_json(r, 200, json_pack("{s:o}", "sessions", a), NULL);
  } else if(j->op == OP_DELETE) http_reply_json(r, 200, json_pack("{s:s,s:b}", "id", j->id, "deleted", 1), NULL);
  else http_reply_json(r, j->op == OP_CREATE ? 201 : 200, session_json(&j->s, j->op == OP_GET, j->max_turns), NULL);
  reqjob_end(rj);
}

static void run(http_req *r, job *j)
{
  j->max_turns = r->w->cfg->chat_max_turns;
  reqjob *rj = reqjob_new(r, j, job_free);
  if(rj && reqjob_run(rj, job_work, job_reply)) return;
  if(rj) reqjob_detach(rj);
  job_free(j);
  if(rj) busy(r);
  else http_error(r, 500, NULL, "out of memory", NULL);
}

/* "system": a string, Gemini parts, or a content {"parts"}; → {"parts":[…]}. */
static json_t *system_of(json_t *v)
{
  if(json_is_string(v)) return json_pack("{s:[{s:O}]}", "parts", "text", v);
  if(json_is_array(v)) return json_pack("{s:O}", "parts", v);
  if(json_is_object(v) && json_is_array(json_object_get(v, "parts"))) return json_pack("{s:O}", "parts", json_object_get(v, "parts"));
  return NULL;
}

void chat_sessions_create(http_req *r)
{
  static const char *const keys[] = { "model", "system", "generation_config", "cached_content", NULL };
  principal who;
  if(!auth_require(r->w->gw, r, &who)) return;
  json_t *b = body_object(r, keys);
  if(!b) return;
  json_t *m = json_object_get(b, "model"), *sys = json_object_get(b, "system"), *gc = json_object_get(b, "generation_config");
  json_t *cc = json_object_get(b, "cached_content"), *sysp = NULL;
  const char *why = NULL;
  const char *model = json_string_value(m);
  if(model && !strncmp(model, "models/", 7)) model += 7;
  if(!model) why = "model is required (a string)";
  else if(!model_ok(aliases_resolve(&r->w->cfg->aliases, model))) why = "invalid model name: use letters, digits, '.', '_' and '-'";
  else if(sys && !json_is_null(sys) && !(sysp = system_of(sys))) why = "system must be a string, an array of parts or {\"parts\": […]}";
  else if(gc && !json_is_null(gc) && !json_is_object(gc)) why = "generation_config must be an object (Gemini's generationConfig)";
  else if(cc && !json_is_null(cc) && (!json_is_string(cc) || strncmp(json_string_value(cc), "cachedContents/", 15)))
    why = "cached_content must name a cachedContents/… resource";
  if(why) { json_decref(sysp); json_decref(b); bad(r, why); return; }
  json_t *cfg = json_pack("{s:o?,s:O?,s:O?}", "system", sysp, "generation_config", json_is_object(gc) ? gc : NULL,
                          "cached_content", json_is_string(cc) ? cc : NULL);
  job *j = calloc(1, sizeof *j);
  char *cfgs = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
  json_decref(cfg);
  if(!j || !cfgs) { free(j); free(cfgs); json_decref(b); http_error(r, 500, NULL, "out of memory", NULL); return; }
  j->op = OP_CREATE;
  j->who = who;
  dialect_id(j->s.id, sizeof j->s.id, "chat_");
  j->s.user_id = who.user_id;
  snprintf(j->s.model, sizeof j->s.model, "%s", aliases_resolve(&r->w->cfg->aliases, model));
  j->s.config = cfgs;
  j->s.history = strdup("[]");
  j->s.created_at = j->s.updated_at = now_ms();
  j->s.expires_at = j->s.created_at + r->w->cfg->chat_idle_ms;
  json_decref(b);
  if(!j->s.history) { job_free(j); http_error(r, 500, NULL, "out of memory", NULL); return; }
  run(r, j);
}

void chat_sessions_list(http_req *r)
{
  principal who;
  if(!auth_require(r->w->gw, r, &who)) return;
  job *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  j->op = OP_LIST;
  j->who = who;
  gg_err e;
  if(query_int(r->query, "limit", 1, CONVO_MAX_SESSIONS, 50, &j->limit, &e)) { free(j); bad(r, e.msg); return; }
  run(r, j);
}

/* ---------------------------------------------------------------- messages */

typedef struct msg {
  principal who;
  char id[CONVO_ID_MAX];
  bool stream;
  int max_turns;
  int64_t idle_ms;
  json_t *user;                /* the new user turn */
  convo_session s;             /* as loaded */
  gg_rc rc;
  json_t *sent;                /* the contents sent: the history kept, then the new turn */
  int64_t turns, dropped_now;  /* exchanges in sent before the new one; dropped for this message */
  /* the answer */
  dbuf buf;
  bool too_big, upstream_failed;
  sse_reader rd;
  json_t *parts;               /* the model's turn so far */
  json_t *thought_sig;         /* a thought's signature, for the next part kept */
  json_t *usage;
  char finish[32];
  dbuf text;                   /* its text, for the plain answer */
} msg;

static void msg_free(void *p)
{
  msg *m = p;
  json_decref(m->user);
  convo_session_free(&m->s);
  json_decref(m->sent);
  dbuf_free(&m->buf);
  sse_free(&m->rd);
  json_decref(m->parts);
  json_decref(m->thought_sig);
  json_decref(m->usage);
  dbuf_free(&m->text);
  free(m);
}

/* One answer object's first candidate into the model's turn (thoughts left out, their
 * signature moved to the next part, plain text merged), its usage and finish reason. */
static void collect(msg *m, const json_t *ans)
{
  json_t *u = json_object_get(ans, "usageMetadata");
  if(json_is_object(u)) { json_decref(m->usage); m->usage = json_incref(u); }
  json_t *cand = json_array_get(json_object_get(ans, "candidates"), 0);
  const char *fr = json_string_value(json_object_get(cand, "finishReason"));
  if(fr) snprintf(m->finish, sizeof m->finish, "%s", fr);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p) {
    json_t *sig = json_object_get(p, "thoughtSignature"), *t = json_object_get(p, "text");
    if(json_is_true(json_object_get(p, "thought"))) {
      if(json_is_string(sig)) { json_decref(m->thought_sig); m->thought_sig = json_incref(sig); }
      continue;
    }
    if(json_is_string(t)) dbuf_add(&m->text, json_string_value(t), json_string_length(t));
    size_t n = json_array_size(m->parts);
    json_t *last = n ? json_array_get(m->parts, n - 1) : NULL, *lt = json_object_get(last, "text");
    bool plain = json_is_string(t) && json_object_size(p) == 1 && !m->thought_sig;
    if(plain && json_is_string(lt) && !json_object_get(last, "functionCall")) {
      char *s = malloc(json_string_length(lt) + json_string_length(t) + 1);
      if(!s) continue;
      memcpy(s, json_string_value(lt), json_string_length(lt));
      memcpy(s + json_string_length(lt), json_string_value(t), json_string_length(t));
      json_object_set_new(last, "text", json_stringn_nocheck(s, json_string_length(lt) + json_string_length(t)));
      free(s);
      continue;
    }
    json_t *c = json_deep_copy(p);
    if(m->thought_sig && !json_is_string(sig)) json_object_set(c, "thoughtSignature", m->thought_sig);
    json_decref(m->thought_sig);
    m->thought_sig = NULL;
    json_array_append_new(m->parts, c);
  }
}

static int stream_event(void *ctx, const char *data, size_t n)
{
  msg *m = ctx;
  json_t *j = json_loadb(data, n, 0, NULL);
  if(!json_is_object(j) || json_object_get(j, "error")) m->upstream_failed = true;
  else collect(m, j);
  json_decref(j);
  return 0;
}

/* ---- saving the turn, then answering ---- */

typedef struct saving {
  principal who;
  char id[CONVO_ID_MAX];
  bool stream;
  int64_t version, turns, dropped, dropped_now, expires;
  char *history;               /* NULL: nothing to save (the model said nothing) */
  json_t *answer;              /* the plain answer (without turns/saved), or the session event's fields */
  gg_rc rc;
  gg_err err;
} saving;

static void saving_free(void *p)
{
  saving *s = p;
  free(s->history);
  json_decref(s->answer);
  free(s);
}

static void save_work(store_conn *c, void *arg)
{
  saving *s = arg;
  s->rc = convo_session_save(c, s->who.user_id, s->id, s->version, s->history, s->turns, s->dropped, now_ms(),
                             s->expires, &s->err);
}

static void answer(http_req *r, saving *s, bool saved)
{
  json_object_set_new(s->answer, "turns", json_integer(saved ? s->turns : s->turns - 1));
  json_object_set_new(s->answer, "dropped_turns", json_integer(s->dropped_now));
  json_object_set_new(s->answer, "saved", json_boolean(saved));
  if(!s->stream) { http_reply_json(r, 200, s->answer, NULL); s->answer = NULL; return; }
  char *d = json_dumps(s->answer, JSON_COMPACT);
  if(d) {
    static const char ev[] = "event: session\ndata: ";
    http_send(r, ev, sizeof ev - 1);
    http_send(r, d, strlen(d));
    http_send(r, "\n\n", 2);
  }
  free(d);
  http_finish(r);
}

static void saved_reply(reqjob *j, http_req *r, void *arg)
{
  saving *s = arg;
  if(s->rc == GG_OK) answer(r, s, true);
  else if(s->stream) {
    json_t *ej = http_error_json(s->rc == GG_CONFLICT ? 409 : 404, s->rc == GG_CONFLICT ? "ABORTED" : NULL, s->err.msg);
    char *e = json_dumps(json_object_get(ej, "error"), JSON_COMPACT);
    json_decref(ej);
    static const char ev[] = "event: error\ndata: {\"error\":";
    http_send(r, ev, sizeof ev - 1);
    if(e) http_send(r, e, strlen(e));
    http_send(r, "}\n\n", 3);
    free(e);
    http_finish(r);
  } else if(s->rc == GG_CONFLICT) http_error(r, 409, "ABORTED", s->err.msg, NULL);
  else if(s->rc == GG_NOT_FOUND) http_error(r, 404, "NOT_FOUND", "the chat session is gone", NULL);
  else http_error_rc(r, s->rc, NULL);
  reqjob_end(j);
}

/* The answer is complete: save the turn (when the model said something), then answer. */
static void finish(http_req *r, msg *m)
{
  saving *s = calloc(1, sizeof *s);
  if(!s) { if(m->stream) http_finish(r); else http_error(r, 500, NULL, "out of memory", NULL); return; }
  s->who = m->who;
  snprintf(s->id, sizeof s->id, "%s", m->id);
  s->stream = m->stream;
  s->version = m->s.version;
  s->turns = m->turns + 1;
  s->dropped = m->s.dropped + m->dropped_now;
  s->dropped_now = m->dropped_now;
  s->expires = now_ms() + m->idle_ms;
  json_t *reply = json_array_size(m->parts) && !m->upstream_failed
                ? json_pack("{s:s,s:O}", "role", "model", "parts", m->parts) : NULL;
  s->answer = json_pack("{s:s,s:s%,s:O?,s:s?,s:O?}", "session_id", m->id, "text", m->text.p ? m->text.p : "", m->text.n,
                        "reply", reply, "finish_reason", m->finish[0] ? m->finish : NULL, "usage_metadata", m->usage);
  if(s->stream) {                            /* the session event repeats only the bookkeeping */
    json_object_del(s->answer, "text");
    json_object_del(s->answer, "reply");
    json_object_del(s->answer, "usage_metadata");
  }
  if(reply) {
    json_array_append(m->sent, reply);
    s->history = json_dumps(m->sent, JSON_COMPACT);
  }
  json_decref(reply);
  if(!s->answer) { saving_free(s); if(m->stream) http_finish(r); else http_error(r, 500, NULL, "out of memory", NULL); return; }
  if(!s->history) { answer(r, s, false); saving_free(s); return; }
  reqjob *j = reqjob_new(r, s, saving_free);
  if(j && reqjob_run(j, save_work, saved_reply)) return;
  if(j) reqjob_detach(j);
  answer(r, s, false);
  saving_free(s);
}

/* ---- the codec ---- */

static void c_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  msg *m = st;
  if(m->stream) http_start(r, 200, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n", -1);
}

static void c_data(void *st, http_req *r, const char *p, size_t n)
{
  msg *m = st;
  if(!m->stream) {
    if(m->buf.n + n > ANSWER_CAP || dbuf_add(&m->buf, p, n)) m->too_big = true;
    return;
  }
  http_send(r, p, n);                        /* Gemini's own events, as they come */
  if(sse_feed(&m->rd, p, n, stream_event, m)) m->upstream_failed = true;
}

/* The call's ledger row, before the answer's last write (and before finish hands the request to
 * a store job): status/error when the client gets an error the engine did not see. */
static void settle(http_req *r, int status, const char *error)
{
  proxy_answer a = PROXY_ANSWER_INIT;
  a.status = status;
  a.error = error;
  proxy_settle(r, status ? &a : NULL);
}

static void c_end(void *st, http_req *r)
{
  msg *m = st;
  r->on_drain = NULL;
  if(m->stream) {
    settle(r, 0, NULL);
    sse_end(&m->rd, stream_event, m);
    finish(r, m);
    return;
  }
  json_t *ans = m->too_big ? NULL : json_loadb(m->buf.p ? m->buf.p : "", m->buf.n, 0, NULL);
  if(!json_is_object(ans) || json_object_get(ans, "error")) {
    json_decref(ans);
    settle(r, 502, "the upstream sent a malformed or too large answer");
    http_error(r, 502, "UNAVAILABLE", "the upstream sent a malformed or too large answer", NULL);
    return;
  }
  settle(r, 0, NULL);
  collect(m, ans);
  json_decref(ans);
  finish(r, m);
}

static void c_cut(void *st, http_req *r, const char *why)
{
  msg *m = st;
  settle(r, m->stream ? 0 : 502, m->stream ? NULL : "upstream stream was cut");
  if(!m->stream) { http_error(r, 502, "UNAVAILABLE", "upstream stream was cut", NULL); return; }
  static const char ev[] = "data: {\"error\":{\"code\":502,\"message\":\"upstream stream was cut\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n";
  http_send(r, ev, sizeof ev - 1);
  http_finish(r);
}

static void c_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len, const char *extra)
{
  char head[512];
  settle(r, 0, NULL);
  snprintf(head, sizeof head, "Content-Type: application/json; charset=UTF-8\r\n%s", extra ? extra : "");
  http_start(r, status, head, (int64_t)len);
  http_send(r, body, len);
  http_finish(r);
}

static const proxy_codec codec = { c_start, c_data, c_end, c_cut, c_error, msg_free };

/* ---- load, then send ---- */

static void load_work(store_conn *c, void *arg)
{
  msg *m = arg;
  gg_err e;
  m->rc = convo_session_get(c, m->who.user_id, m->id, now_ms(), &m->s, &e);
}

static void refuse(http_req *r, msg *m, int status, const char *gstatus, const char *why)
{
  record_local(r, &m->who, m->s.model, body_prompt_chat, false, status, why);
  http_error(r, status, gstatus, why, NULL);
  msg_free(m);
}

static void loaded(reqjob *j, http_req *r, void *arg)
{
  msg *m = reqjob_detach(j);
  if(m->rc == GG_NOT_FOUND) { refuse(r, m, 404, "NOT_FOUND", "no such chat session"); return; }
  if(m->rc) { refuse(r, m, 503, "UNAVAILABLE", "the gateway's database failed: try again"); return; }
  json_t *hist = json_loads(m->s.history, 0, NULL), *cfg = json_loads(m->s.config, 0, NULL);
  if(!json_is_array(hist)) { json_decref(hist); hist = json_array(); }
  /* The cap: the oldest exchanges go so that this one fits. */
  m->turns = m->s.turns;
  if(m->turns >= m->max_turns) {
    m->dropped_now = m->turns - m->max_turns + 1;
    size_t drop = (size_t)m->dropped_now * 2;
    json_t *kept = json_array();
    for(size_t i = drop; i < json_array_size(hist); i++) json_array_append(kept, json_array_get(hist, i));
    json_decref(hist);
    hist = kept;
    m->turns -= m->dropped_now;
  }
  json_array_append(hist, m->user);
  m->sent = hist;
  json_t *body = json_pack("{s:O}", "contents", hist);
  const char *keys[][2] = { { "system", "systemInstruction" }, { "generation_config", "generationConfig" },
                            { "cached_content", "cachedContent" } };
  for(size_t i = 0; body && i < 3; i++) {
    json_t *v = json_object_get(cfg, keys[i][0]);
    if(v && !json_is_null(v)) json_object_set(body, keys[i][1], v);
  }
  json_decref(cfg);
  char path[256];
  snprintf(path, sizeof path, "/v1beta/models/%s:%s", m->s.model, m->stream ? "streamGenerateContent?alt=sse" : "generateContent");
  char model[128];
  snprintf(model, sizeof model, "%s", m->s.model);
  int rc = body ? dialect_send(r, &m->who, model, path, body, m->stream, body_prompt_chat, &codec, m) : -1;
  json_decref(body);
  if(rc) { msg_free(m); http_error(r, 500, NULL, "out of memory", NULL); }
}

static void message(http_req *r, const principal *who, str id)
{
  static const char *const keys[] = { "text", "parts", NULL };
  json_t *b = body_object(r, keys);
  if(!b) return;
  json_t *text = json_object_get(b, "text"), *parts = json_object_get(b, "parts");
  const char *why = NULL;
  if(!!text == !!parts) why = "send either \"text\" (a string) or \"parts\" (Gemini parts)";
  else if(text && (!json_is_string(text) || !json_string_length(text))) why = "text must be a non-empty string";
  else if(parts && (!json_is_array(parts) || !json_array_size(parts))) why = "parts must be a non-empty array of Gemini parts";
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p)
    if(!why && (!json_is_object(p) || !json_object_size(p))) why = "each part must be a Gemini part object ({\"text\"}, {\"inlineData\"}, …)";
  msg *m = why ? NULL : calloc(1, sizeof *m);
  if(!m) {
    record_local(r, who, "", body_prompt_chat, false, why ? 400 : 500, why ? why : "out of memory");
    if(why) bad(r, why);
    else http_error(r, 500, NULL, "out of memory", NULL);
    json_decref(b);
    return;
  }
  m->who = *who;
  snprintf(m->id, sizeof m->id, "%.*s", (int)id.n, id.p);
  str s = http_query_get(r, STR("stream"));
  m->stream = s.n == 1 && s.p[0] == '1';
  m->max_turns = r->w->cfg->chat_max_turns;
  m->idle_ms = r->w->cfg->chat_idle_ms;
  m->user = text ? json_pack("{s:s,s:[{s:O}]}", "role", "user", "parts", "text", text) : json_pack("{s:s,s:O}", "role", "user", "parts", parts);
  m->parts = json_array();
  sse_init(&m->rd, EVENT_CAP);
  json_decref(b);
  reqjob *j = m->user && m->parts ? reqjob_new(r, m, msg_free) : NULL;
  if(j && reqjob_run(j, load_work, loaded)) return;
  if(j) reqjob_detach(j);
  record_local(r, who, "", body_prompt_chat, false, j ? 503 : 500, "the store refused the job");
  msg_free(m);
  if(j) busy(r);
  else http_error(r, 500, NULL, "out of memory", NULL);
}

/* ---------------------------------------------------------------- /api/chat/sessions/{id}… */

static bool id_ok(str id)
{
  if(!id.n || id.n >= CONVO_ID_MAX) return false;
  for(size_t i = 0; i < id.n; i++) {
    char c = id.p[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

void chat_sessions_item(http_req *r)
{
  principal who;
  if(!auth_require(r->w->gw, r, &who)) return;
  str rest = { r->path.p + sizeof PREFIX - 1, r->path.n - (sizeof PREFIX - 1) };
  const char *slash = memchr(rest.p, '/', rest.n);
  str id = { rest.p, slash ? (size_t)(slash - rest.p) : rest.n }, sub = { rest.p + id.n, rest.n - id.n };
  bool msgs = str_eq(sub, STR("/messages"));
  if((sub.n && !msgs) || !id_ok(id)) {
    if(msgs) record_local(r, &who, "", body_prompt_chat, false, 404, "no such chat session");
    http_error(r, 404, "NOT_FOUND", sub.n && !msgs ? "no such route" : "no such chat session", NULL);
    return;
  }
  if(msgs) {
    if(str_eq(r->method, STR("POST"))) message(r, &who, id);
    else http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", "Allow: POST\r\n");
    return;
  }
  int op = str_eq(r->method, STR("GET")) ? OP_GET : str_eq(r->method, STR("DELETE")) ? OP_DELETE : -1;
  if(op < 0) { http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", "Allow: GET, DELETE\r\n"); return; }
  job *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  j->op = op;
  j->who = who;
  snprintf(j->id, sizeof j->id, "%.*s", (int)id.n, id.p);
  run(r, j);
}
