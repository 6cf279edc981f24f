/* openai_stream — Gemini's streamGenerateContent?alt=sse → OpenAI chat.completion.chunk events.
 *
 * The SSE reader is a byte state machine over lines (ended by \r\n, \n or \r, so events split
 * on \r\n\r\n, \n\n or \r\r, and a \r\n cut between two pieces is still one line end): it
 * keeps only the data of the event being read, so memory is bounded by one event
 * (OAI_EVENT_CAP), and translation happens the moment an event's blank line arrives.  Every
 * chunk starts with the same bytes (`data: {"id":…,"object":…,"created":…,"model":…`), which are
 * serialised once. */
#include "openai/openai_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L_FIELD, L_VALUE_START, L_VALUE, L_SKIP };

typedef struct choice_state {
  bool started, finished;
  size_t ncalls;
} choice_state;

struct oai_stream {
  char *id;
  oai_buf head;                 /* `data: {"id":…,"model":…` */
  bool include_usage;
  /* SSE reader */
  int line;                     /* L_* */
  char field[8];
  size_t flen;
  bool cr;                      /* the last byte was \r: a following \n ends nothing */
  bool in_event;                /* a data line of the current event was seen */
  oai_buf data;
  /* translation */
  bool got_event, ended;
  choice_state ch[OAI_MAX_CHOICES];
  oai_usage usage;
  oai_error err;
  bool failed;
  bool tree_only;               /* tests: every event through jansson */
};

oai_stream *oai_stream_new(const oai_meta *m, bool include_usage)
{
  oai_stream *s = calloc(1, sizeof *s);
  if(!s) return NULL;
  s->include_usage = include_usage;
  s->id = strdup(m->id ? m->id : "");
  json_t *h = json_pack("{s:s,s:s,s:I,s:s}", "id", s->id ? s->id : "", "object", "chat.completion.chunk",
                        "created", (json_int_t)m->created, "model", m->model ? m->model : "");
  /* The serialised object without its closing brace is the prefix of every chunk. */
  if(!s->id || !h || OAI_LIT(&s->head, "data: ") || oai_buf_dump(&s->head, h)) {
    json_decref(h);
    oai_stream_free(s);
    return NULL;
  }
  json_decref(h);
  s->head.n--;
  return s;
}

void oai_stream_free(oai_stream *s)
{
  if(!s) return;
  free(s->id);
  oai_buf_free(&s->head);
  oai_buf_free(&s->data);
  free(s);
}

const oai_usage *oai_stream_usage(const oai_stream *s)
{
  return &s->usage;
}

const oai_error *oai_stream_error(const oai_stream *s)
{
  return s->failed ? &s->err : NULL;
}

/* ---------------------------------------------------------------- writing */

static int fail(oai_stream *s, const oai_error *e, oai_buf *out)
{
  s->err = *e;
  s->failed = s->ended = true;
  oai_sse_error(out, e);
  return OAI_STREAM_END;
}

static int fail_msg(oai_stream *s, oai_buf *out, const char *code, const char *msg)
{
  oai_error e;
  oai_error_set(&e, 502, NULL, code, NULL, "%s", msg);
  return fail(s, &e, out);
}

/* head + ,"choices":[choice](,"usage":null)}\n\n */
static int emit_choice(oai_stream *s, const json_t *choice, oai_buf *out)
{
  if(oai_buf_append(out, s->head.p, s->head.n) || OAI_LIT(out, ",\"choices\":[") ||
     oai_buf_dump(out, choice) || OAI_LIT(out, "]"))
    return -1;
  /* With include_usage, OpenAI puts "usage": null on every chunk but the last. */
  if(s->include_usage && OAI_LIT(out, ",\"usage\":null")) return -1;
  return OAI_LIT(out, "}\n\n");
}

/* One chunk for choice idx: delta (stolen; role added on the choice's first chunk) and an
 * optional finish_reason.  Nothing is written when there is nothing to say. */
static int emit_delta(oai_stream *s, size_t idx, json_t *delta, const char *finish, oai_buf *out)
{
  choice_state *c = &s->ch[idx];
  if(!c->started) {                       /* role first, as OpenAI writes it */
    json_t *d = json_pack("{s:s}", "role", "assistant");
    if(!d || json_object_update(d, delta)) { json_decref(d); json_decref(delta); return -1; }
    json_decref(delta);
    delta = d;
  }
  if(!json_object_size(delta) && !finish) { json_decref(delta); return 0; }
  c->started = true;
  if(finish) c->finished = true;
  json_t *choice = json_pack("{s:I,s:o,s:n,s:s?}", "index", (json_int_t)idx, "delta", delta, "logprobs",
                             "finish_reason", finish);
  int rc = choice ? emit_choice(s, choice, out) : -1;
  json_decref(choice);
  return rc;
}

static int candidate(oai_stream *s, const json_t *cand, size_t pos, oai_buf *out)
{
  json_t *vi = json_object_get(cand, "index");
  json_int_t idx = json_is_integer(vi) ? json_integer_value(vi) : (json_int_t)pos;
  if(idx < 0 || idx >= OAI_MAX_CHOICES) return fail_msg(s, out, "bad_upstream_response", "The upstream sent an unexpected candidate index.");
  choice_state *c = &s->ch[idx];
  if(c->finished) return OAI_STREAM_MORE;
  oai_parts px;
  json_t *delta = json_object();
  int rc = oai_parts_collect(&px, json_object_get(cand, "content"), s->id, (size_t)idx, &c->ncalls, true);
  if(!rc && px.has_text) json_object_set_new(delta, "content", json_stringn_nocheck(px.text.p, px.text.n));
  if(!rc && px.has_thought)
    json_object_set_new(delta, "reasoning_content", json_stringn_nocheck(px.thought.p, px.thought.n));
  if(!rc && px.calls) json_object_set(delta, "tool_calls", px.calls);
  oai_parts_free(&px);
  const char *reason = json_string_value(json_object_get(cand, "finishReason"));
  const char *finish = !reason ? NULL : c->ncalls ? "tool_calls" : oai_finish_reason(reason);
  if(rc || emit_delta(s, (size_t)idx, delta, finish, out)) {
    if(rc) json_decref(delta);
    return fail_msg(s, out, "internal_error", "The gateway ran out of memory translating the stream.");
  }
  return OAI_STREAM_MORE;
}

/* An event of the common shape (oai_fast_scan), written the way candidate() and emit_delta()
 * write it but without a tree: the text copied as it stands.  false: not for this path (an
 * index the tree path refuses); *rc otherwise. */
static bool fast_event(oai_stream *s, const oai_fast *a, oai_buf *out, int *rc)
{
  int64_t idx = a->has_index && a->index_int ? a->index : 0;
  if(idx < 0 || idx >= OAI_MAX_CHOICES) return false;
  s->got_event = true;
  *rc = OAI_STREAM_MORE;
  if(a->has_usage) {
    s->usage.prompt = a->prompt, s->usage.candidates = a->candidates, s->usage.thoughts = a->thoughts;
    s->usage.cached = a->cached, s->usage.total = a->total, s->usage.seen = true;
  }
  choice_state *c = &s->ch[idx];
  if(c->finished) return true;
  const char *finish = !a->has_finish ? NULL : c->ncalls ? "tool_calls" : oai_finish_reason(a->finish);
  if(c->started && !a->ntext && !finish) return true;   /* nothing to say */
  char ix[8];
  int il = snprintf(ix, sizeof ix, "%d", (int)idx);
  bool ok = !oai_buf_append(out, s->head.p, s->head.n) && !OAI_LIT(out, ",\"choices\":[{\"index\":") &&
            !oai_buf_append(out, ix, (size_t)il) && !OAI_LIT(out, ",\"delta\":{") &&
            (c->started || !OAI_LIT(out, "\"role\":\"assistant\"")) &&
            (!a->ntext || ((c->started || !OAI_LIT(out, ",")) && !OAI_LIT(out, "\"content\":\"") &&
                           oai_fast_text(out, a) && !OAI_LIT(out, "\""))) &&
            !OAI_LIT(out, "},\"logprobs\":null,\"finish_reason\":") &&
            (finish ? !OAI_LIT(out, "\"") && !oai_buf_append(out, finish, strlen(finish)) && !OAI_LIT(out, "\"")
                    : !OAI_LIT(out, "null")) &&
            !OAI_LIT(out, "}]") && (!s->include_usage || !OAI_LIT(out, ",\"usage\":null")) && !OAI_LIT(out, "}\n\n");
  c->started = true;
  if(finish) c->finished = true;
  if(!ok) *rc = fail_msg(s, out, "internal_error", "The gateway ran out of memory translating the stream.");
  return true;
}

void oai_stream_tree_only(oai_stream *s)
{
  s->tree_only = true;
}

/* One complete upstream event. */
static int event(oai_stream *s, oai_buf *out)
{
  if(s->data.n == 6 && !memcmp(s->data.p, "[DONE]", 6)) return OAI_STREAM_MORE;
  oai_fast a;
  int frc;
  if(!s->tree_only && oai_fast_scan(s->data.p, s->data.n, &a) && fast_event(s, &a, out, &frc)) return frc;
  json_t *j = json_loadb(s->data.p, s->data.n, 0, NULL);
  if(!json_is_object(j)) {
    json_decref(j);
    return fail_msg(s, out, "bad_upstream_response", "The upstream sent a malformed stream event.");
  }
  s->got_event = true;
  int rc = OAI_STREAM_MORE;
  json_t *err = json_object_get(j, "error");
  if(json_is_object(err)) {
    oai_error e;
    oai_google_error_obj(0, err, &e);
    json_decref(j);
    return fail(s, &e, out);
  }
  oai_usage_read(&s->usage, json_object_get(j, "usageMetadata"));
  json_t *cands = json_object_get(j, "candidates");
  size_t i;
  json_t *cand;
  json_array_foreach(cands, i, cand)
    if(rc == OAI_STREAM_MORE) rc = candidate(s, cand, i, out);
  json_t *block = json_object_get(json_object_get(j, "promptFeedback"), "blockReason");
  if(rc == OAI_STREAM_MORE && !json_array_size(cands) && json_is_string(block) && !s->ch[0].finished &&
     emit_delta(s, 0, json_object(), "content_filter", out))
    rc = fail_msg(s, out, "internal_error", "The gateway ran out of memory translating the stream.");
  json_decref(j);
  return rc;
}

/* ---------------------------------------------------------------- reading SSE */

static int over_cap(oai_stream *s, oai_buf *out)
{
  char msg[96];
  snprintf(msg, sizeof msg, "The upstream sent a stream event larger than %u bytes.", OAI_EVENT_CAP);
  return fail_msg(s, out, "bad_upstream_response", msg);
}

/* Append bytes to the event's data, within the cap. */
static int add_data(oai_stream *s, const char *p, size_t n, oai_buf *out)
{
  if(s->data.n + n > OAI_EVENT_CAP) return over_cap(s, out);
  if(oai_buf_append(&s->data, p, n))
    return fail_msg(s, out, "internal_error", "The gateway ran out of memory reading the stream.");
  return OAI_STREAM_MORE;
}

/* A data line begins: several in one event are joined by \n (the SSE rule). */
static int data_line(oai_stream *s, oai_buf *out)
{
  int rc = s->in_event ? add_data(s, "\n", 1, out) : OAI_STREAM_MORE;
  s->in_event = true;
  return rc;
}

/* A line ended: a blank one dispatches the event; "data" alone is an empty data line. */
static int line_end(oai_stream *s, oai_buf *out)
{
  int rc = OAI_STREAM_MORE;
  if(s->line == L_FIELD && s->flen == 0) {
    if(s->in_event) rc = event(s, out);
    s->in_event = false;
    s->data.n = 0;
  } else if(s->line == L_FIELD && s->flen == 4 && !memcmp(s->field, "data", 4)) rc = data_line(s, out);
  s->line = L_FIELD;
  s->flen = 0;
  return rc;
}

/* A byte of a line's field name; ':' ends it. */
static int field_byte(oai_stream *s, char ch, oai_buf *out)
{
  if(ch != ':') {
    if(s->flen < sizeof s->field) s->field[s->flen++] = ch;
    else s->line = L_SKIP;                  /* longer than any field we read */
    return OAI_STREAM_MORE;
  }
  if(s->flen == 4 && !memcmp(s->field, "data", 4)) {
    s->line = L_VALUE_START;
    return data_line(s, out);
  }
  s->line = L_SKIP;                         /* comments, event:, id:, retry: */
  return OAI_STREAM_MORE;
}

int oai_stream_feed(oai_stream *s, const char *p, size_t n, oai_buf *out)
{
  const char *end = p + n;
  while(p < end && !s->ended) {
    char ch = *p;
    if(s->cr && ch == '\n') { s->cr = false; p++; continue; }
    s->cr = false;
    if(ch == '\r' || ch == '\n') {
      s->cr = ch == '\r';
      p++;
      if(line_end(s, out) == OAI_STREAM_END) return OAI_STREAM_END;
      continue;
    }
    if(s->line == L_FIELD) {
      if(field_byte(s, *p++, out) == OAI_STREAM_END) return OAI_STREAM_END;
      continue;
    }
    if(s->line == L_VALUE_START) {
      s->line = L_VALUE;
      if(ch == ' ') { p++; continue; }
    }
    /* The rest of the line in one go: up to the next line end. */
    const char *q = p;
    while(q < end && *q != '\r' && *q != '\n') q++;
    if(s->line == L_VALUE && add_data(s, p, (size_t)(q - p), out) == OAI_STREAM_END) return OAI_STREAM_END;
    p = q;
  }
  return s->ended ? OAI_STREAM_END : OAI_STREAM_MORE;
}

/* ---------------------------------------------------------------- the end */

static int close_choices(oai_stream *s, oai_buf *out)
{
  bool any = false;
  for(size_t i = 0; i < OAI_MAX_CHOICES; i++) {
    choice_state *c = &s->ch[i];
    any |= c->started;
    if(c->started && !c->finished && emit_delta(s, i, json_object(), c->ncalls ? "tool_calls" : "stop", out))
      return -1;
  }
  /* An answer with no candidate at all still gets one (empty) choice, as OpenAI would send. */
  return any ? 0 : emit_delta(s, 0, json_object(), "stop", out);
}

static int usage_chunk(oai_stream *s, oai_buf *out)
{
  json_t *u = oai_usage_json(&s->usage);
  int rc = !u || oai_buf_append(out, s->head.p, s->head.n) || OAI_LIT(out, ",\"choices\":[],\"usage\":") ||
           oai_buf_dump(out, u) || OAI_LIT(out, "}\n\n") ? -1 : 0;
  json_decref(u);
  return rc;
}

int oai_stream_finish(oai_stream *s, oai_buf *out)
{
  if(s->ended) return s->failed ? OAI_STREAM_END : OAI_STREAM_MORE;
  /* A last event without its blank line still counts: the upstream ended cleanly. */
  if((s->line != L_FIELD || s->flen) && line_end(s, out) == OAI_STREAM_END) return OAI_STREAM_END;
  if(s->in_event && line_end(s, out) == OAI_STREAM_END) return OAI_STREAM_END;
  if(!s->got_event) return fail_msg(s, out, "bad_upstream_response", "The upstream stream ended without any event.");
  s->ended = true;
  if(close_choices(s, out) || (s->include_usage && usage_chunk(s, out)) || OAI_LIT(out, "data: [DONE]\n\n")) {
    s->ended = false;
    return fail_msg(s, out, "internal_error", "The gateway ran out of memory ending the stream.");
  }
  return OAI_STREAM_MORE;
}

void oai_stream_abort(oai_stream *s, const oai_error *e, oai_buf *out)
{
  if(s->ended) return;
  if(e) fail(s, e, out);
  else fail_msg(s, out, "upstream_error", "The upstream connection failed before the answer was complete.");
}
