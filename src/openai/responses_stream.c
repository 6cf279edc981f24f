/* responses_stream — Gemini's streamGenerateContent?alt=sse → the Responses API event stream.
 *
 * response.created and response.in_progress with the first upstream event, then one output
 * item at a time, each opened (output_item.added, and its part's .added), fed (deltas) and
 * closed (.done events, output_item.done with the whole item).  Thought text is a reasoning
 * item's summary; a thoughtSignature goes into encrypted_content of the reasoning item before
 * its part's item, as in responses_out.c; a function call comes whole (one arguments delta).
 * The terminal response.completed / response.incomplete is written apart, for the glue to send
 * once the response is stored.  Every event carries the next sequence_number. */
#include "openai/responses_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sse.h"

enum { OPEN_NONE, OPEN_MSG, OPEN_RS };

struct oai_rstream {
  char *id, *model;
  int64_t created;
  json_t *echo;
  sse_reader rd;
  int64_t seq;
  bool started, got_event, ended, failed, blocked;
  json_t *output;            /* items, in output_index order (the open one last) */
  int open;
  char item_id[160];         /* the open item's id */
  size_t index;              /* its output_index */
  oai_buf text;              /* its text so far (message text or summary) */
  bool has_text;
  json_t *sig;               /* the open reasoning item's signature */
  size_t ncalls;
  json_t *parts;             /* the model's turn so far */
  json_t *thought_sig;       /* a thought part's signature, for the next kept part */
  char finish[32];
  oai_usage usage;
  json_t *final, *turn;
  oai_buf *out;
};

static oai_rmeta meta(const oai_rstream *s)
{
  return (oai_rmeta){ s->id, s->model, s->created, s->echo };
}

oai_rstream *oai_rstream_new(const oai_rmeta *m)
{
  oai_rstream *s = calloc(1, sizeof *s);
  if(!s) return NULL;
  s->id = strdup(m->id ? m->id : "");
  s->model = strdup(m->model ? m->model : "");
  s->created = m->created;
  s->echo = m->echo ? json_deep_copy(m->echo) : json_object();
  s->output = json_array();
  s->parts = json_array();
  if(!s->id || !s->model || !s->echo || !s->output || !s->parts) { oai_rstream_free(s); return NULL; }
  sse_init(&s->rd, OAI_EVENT_CAP);
  return s;
}

void oai_rstream_free(oai_rstream *s)
{
  if(!s) return;
  free(s->id);
  free(s->model);
  json_decref(s->echo);
  sse_free(&s->rd);
  json_decref(s->output);
  oai_buf_free(&s->text);
  json_decref(s->sig);
  json_decref(s->parts);
  json_decref(s->thought_sig);
  json_decref(s->final);
  json_decref(s->turn);
  free(s);
}

const json_t *oai_rstream_response(const oai_rstream *s) { return s->final; }
const json_t *oai_rstream_turn(const oai_rstream *s) { return s->turn; }
const oai_usage *oai_rstream_usage(const oai_rstream *s) { return &s->usage; }

/* ---------------------------------------------------------------- events */

/* event: type / data: {"type", …fields (taken), "sequence_number"} into out. */
static int emit_to(oai_rstream *s, oai_buf *out, const char *type, json_t *fields)
{
  json_t *ev = json_pack("{s:s}", "type", type);
  int rc = !ev || !fields || json_object_update(ev, fields) ||
           json_object_set_new(ev, "sequence_number", json_integer(s->seq++)) || OAI_LIT(out, "event: ") ||
           oai_buf_append(out, type, strlen(type)) || OAI_LIT(out, "\ndata: ") || oai_buf_dump(out, ev) ||
           OAI_LIT(out, "\n\n") ? -1 : 0;
  json_decref(ev);
  json_decref(fields);
  return rc;
}

static int emit(oai_rstream *s, const char *type, json_t *fields)
{
  return emit_to(s, s->out, type, fields);
}

static int fail(oai_rstream *s, const oai_error *e)
{
  if(s->ended) return OAI_STREAM_END;
  s->failed = s->ended = true;
  emit(s, "error", json_pack("{s:s?,s:s,s:s?}", "code", e->code[0] ? e->code : "server_error", "message", e->message,
                             "param", e->param[0] ? e->param : NULL));
  if(s->started) {
    oai_rmeta m = meta(s);
    emit(s, "response.failed", json_pack("{s:o}", "response", rr_object(&m, "failed", json_incref(s->output), &s->usage, NULL, e)));
  }
  return OAI_STREAM_END;
}

static int fail_msg(oai_rstream *s, int status, const char *code, const char *msg)
{
  oai_error e;
  oai_error_set(&e, status, NULL, code, NULL, "%s", msg);
  return fail(s, &e);
}

static int start(oai_rstream *s)
{
  if(s->started) return 0;
  s->started = true;
  oai_rmeta m = meta(s);
  return emit(s, "response.created", json_pack("{s:o}", "response", rr_object(&m, "in_progress", json_array(), NULL, NULL, NULL))) ||
         emit(s, "response.in_progress", json_pack("{s:o}", "response", rr_object(&m, "in_progress", json_array(), NULL, NULL, NULL)));
}

/* A new item at the next output_index: output_item.added with item (taken, id added). */
static int open_item(oai_rstream *s, int kind, const char *prefix, json_t *item)
{
  s->index = json_array_size(s->output);
  rr_id(s->item_id, sizeof s->item_id, prefix, s->id, s->index);
  json_t *full = json_pack("{s:s}", "id", s->item_id);
  if(!full || !item || json_object_update(full, item)) { json_decref(full); json_decref(item); return -1; }
  json_decref(item);
  s->open = kind;
  s->text.n = 0;
  s->has_text = false;
  json_decref(s->sig);
  s->sig = NULL;
  int rc = json_array_append(s->output, full) ||
           emit(s, "response.output_item.added", json_pack("{s:I,s:O}", "output_index", (json_int_t)s->index, "item", full));
  json_decref(full);
  return rc ? -1 : 0;
}

/* The open item is done: its .done events and output_item.done with it whole. */
static int close_item(oai_rstream *s)
{
  if(s->open == OPEN_NONE) return 0;
  int kind = s->open;
  s->open = OPEN_NONE;
  json_int_t oi = (json_int_t)s->index;
  json_t *text = json_stringn_nocheck(s->text.p ? s->text.p : "", s->text.n);
  json_t *item = json_array_get(s->output, s->index);
  int rc = text && item ? 0 : -1;
  if(!rc && kind == OPEN_MSG) {
    json_t *part = json_pack("{s:s,s:O,s:[]}", "type", "output_text", "text", text, "annotations");
    rc = emit(s, "response.output_text.done", json_pack("{s:s,s:I,s:i,s:O,s:[]}", "item_id", s->item_id, "output_index", oi,
                                                        "content_index", 0, "text", text, "logprobs")) ||
         emit(s, "response.content_part.done", json_pack("{s:s,s:I,s:i,s:O}", "item_id", s->item_id, "output_index", oi,
                                                         "content_index", 0, "part", part));
    json_object_set_new(item, "status", json_string("completed"));
    json_object_set_new(item, "content", json_pack("[o]", part));
  } else if(!rc) {
    json_t *summary = json_array();
    if(s->has_text) {
      json_t *part = json_pack("{s:s,s:O}", "type", "summary_text", "text", text);
      rc = emit(s, "response.reasoning_summary_text.done", json_pack("{s:s,s:I,s:i,s:O}", "item_id", s->item_id, "output_index",
                                                                     oi, "summary_index", 0, "text", text)) ||
           emit(s, "response.reasoning_summary_part.done", json_pack("{s:s,s:I,s:i,s:O}", "item_id", s->item_id,
                                                                     "output_index", oi, "summary_index", 0, "part", part));
      json_array_append_new(summary, part);
    }
    json_object_set_new(item, "summary", summary);
    if(s->sig) json_object_set(item, "encrypted_content", s->sig);
  }
  json_decref(text);
  if(!rc && item && json_object_get(item, "type") && !strcmp(json_string_value(json_object_get(item, "type")), "function_call"))
    json_object_set_new(item, "status", json_string("completed"));
  return rc || emit(s, "response.output_item.done", json_pack("{s:I,s:O}", "output_index", oi, "item", item)) ? -1 : 0;
}

static int open_reasoning(oai_rstream *s)
{
  return close_item(s) || open_item(s, OPEN_RS, "rs", json_pack("{s:s,s:[]}", "type", "reasoning", "summary")) ? -1 : 0;
}

static int thought_text(oai_rstream *s, const json_t *text)
{
  if(s->open != OPEN_RS && open_reasoning(s)) return -1;
  if(!json_string_length(text)) return 0;
  json_int_t oi = (json_int_t)s->index;
  if(!s->has_text) {
    s->has_text = true;
    if(emit(s, "response.reasoning_summary_part.added", json_pack("{s:s,s:I,s:i,s:{s:s,s:s}}", "item_id", s->item_id,
                                                                  "output_index", oi, "summary_index", 0, "part", "type",
                                                                  "summary_text", "text", "")))
      return -1;
  }
  return oai_buf_append(&s->text, json_string_value(text), json_string_length(text)) ||
         emit(s, "response.reasoning_summary_text.delta", json_pack("{s:s,s:I,s:i,s:O}", "item_id", s->item_id,
                                                                    "output_index", oi, "summary_index", 0, "delta", text)) ? -1 : 0;
}

static int message_text(oai_rstream *s, const json_t *text)
{
  json_int_t oi;
  if(s->open != OPEN_MSG) {
    if(close_item(s) || open_item(s, OPEN_MSG, "msg", json_pack("{s:s,s:s,s:s,s:[]}", "type", "message", "status",
                                                                "in_progress", "role", "assistant", "content")))
      return -1;
    oi = (json_int_t)s->index;
    if(emit(s, "response.content_part.added", json_pack("{s:s,s:I,s:i,s:{s:s,s:s,s:[]}}", "item_id", s->item_id,
                                                        "output_index", oi, "content_index", 0, "part", "type", "output_text",
                                                        "text", "", "annotations")))
      return -1;
  }
  oi = (json_int_t)s->index;
  return oai_buf_append(&s->text, json_string_value(text), json_string_length(text)) ||
         emit(s, "response.output_text.delta", json_pack("{s:s,s:I,s:i,s:O,s:[]}", "item_id", s->item_id, "output_index", oi,
                                                         "content_index", 0, "delta", text, "logprobs")) ? -1 : 0;
}

static int function_call(oai_rstream *s, const json_t *fc)
{
  char cid[160];
  rr_id(cid, sizeof cid, "call", s->id, s->ncalls++);
  const char *name = json_string_value(json_object_get(fc, "name"));
  json_t *args = json_object_get(fc, "args");
  char *a = json_is_object(args) ? json_dumps(args, OAI_DUMP_FLAGS) : NULL;
  const char *as = a ? a : "{}";
  int rc = close_item(s) ||
           open_item(s, OPEN_NONE, "fc", json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "function_call", "status", "in_progress",
                                                   "call_id", cid, "name", name ? name : "", "arguments", ""));
  json_int_t oi = (json_int_t)s->index;
  json_t *item = json_array_get(s->output, s->index);
  if(!rc) {
    json_object_set_new(item, "arguments", json_string(as));
    rc = emit(s, "response.function_call_arguments.delta", json_pack("{s:s,s:I,s:s}", "item_id", s->item_id, "output_index", oi, "delta", as)) ||
         emit(s, "response.function_call_arguments.done", json_pack("{s:s,s:I,s:s}", "item_id", s->item_id, "output_index", oi, "arguments", as));
    json_object_set_new(item, "status", json_string("completed"));
    if(!rc) rc = emit(s, "response.output_item.done", json_pack("{s:I,s:O}", "output_index", oi, "item", item));
  }
  free(a);
  return rc;
}

/* The part as the model's turn keeps it (thought text left out; consecutive plain text merged). */
static int keep_part(oai_rstream *s, const json_t *p)
{
  json_t *sig = json_object_get(p, "thoughtSignature");
  if(json_is_true(json_object_get(p, "thought"))) {
    if(json_is_string(sig)) { json_decref(s->thought_sig); s->thought_sig = json_incref(sig); }
    return 0;
  }
  json_t *c = json_deep_copy(p);
  if(!c) return -1;
  if(s->thought_sig && !json_is_string(sig)) json_object_set(c, "thoughtSignature", s->thought_sig);
  json_decref(s->thought_sig);
  s->thought_sig = NULL;
  size_t n = json_array_size(s->parts);
  json_t *last = n ? json_array_get(s->parts, n - 1) : NULL, *t = json_object_get(c, "text"), *lt = json_object_get(last, "text");
  if(json_is_string(t) && json_is_string(lt) && !json_object_get(c, "thoughtSignature") && json_object_size(c) == 1 &&
     !json_object_get(last, "functionCall")) {
    oai_buf b = { 0 };
    int rc = oai_buf_append(&b, json_string_value(lt), json_string_length(lt)) ||
             oai_buf_append(&b, json_string_value(t), json_string_length(t)) ||
             json_object_set_new(last, "text", json_stringn_nocheck(b.p ? b.p : "", b.n)) ? -1 : 0;
    oai_buf_free(&b);
    json_decref(c);
    return rc;
  }
  return json_array_append_new(s->parts, c);
}

static int part(oai_rstream *s, const json_t *p)
{
  json_t *text = json_object_get(p, "text"), *fc = json_object_get(p, "functionCall");
  json_t *sig = json_object_get(p, "thoughtSignature");
  bool has_sig = json_is_string(sig) && json_string_length(sig);
  if(keep_part(s, p)) return -1;
  if(json_is_string(text) && json_is_true(json_object_get(p, "thought"))) {
    if(thought_text(s, text)) return -1;
    if(has_sig) { s->sig = json_incref(sig); return close_item(s); }
    return 0;
  }
  if(has_sig) {
    if(s->open == OPEN_RS && !s->sig) s->sig = json_incref(sig);
    else if(open_reasoning(s)) return -1;
    else s->sig = json_incref(sig);
    if(close_item(s)) return -1;
  }
  if(s->open == OPEN_RS && close_item(s)) return -1;
  if(json_is_string(text)) return json_string_length(text) ? message_text(s, text) : 0;
  if(json_is_object(fc)) return function_call(s, fc);
  return 0;
}

static int event(void *ctx, const char *data, size_t n)
{
  oai_rstream *s = ctx;
  if(n == 6 && !memcmp(data, "[DONE]", 6)) return 0;
  json_t *j = json_loadb(data, n, 0, NULL);
  if(!json_is_object(j)) {
    json_decref(j);
    return fail_msg(s, 502, "bad_upstream_response", "The upstream sent a malformed stream event.");
  }
  s->got_event = true;
  json_t *err = json_object_get(j, "error");
  if(json_is_object(err)) {
    oai_error e;
    oai_google_error_obj(0, err, &e);
    json_decref(j);
    return fail(s, &e);
  }
  oai_usage_read(&s->usage, json_object_get(j, "usageMetadata"));
  int rc = start(s);
  json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p)
    if(!rc) rc = part(s, p);
  const char *reason = json_string_value(json_object_get(cand, "finishReason"));
  if(reason) oai_copy_utf8(s->finish, sizeof s->finish, reason, strlen(reason));
  if(!cand && json_object_get(json_object_get(j, "promptFeedback"), "blockReason")) s->blocked = true;
  json_decref(j);
  return rc ? fail_msg(s, 500, "internal_error", "The gateway ran out of memory translating the stream.") : 0;
}

static int read_rc(oai_rstream *s, int rc)
{
  if(rc == SSE_TOO_BIG) {
    char msg[96];
    snprintf(msg, sizeof msg, "The upstream sent a stream event larger than %u bytes.", OAI_EVENT_CAP);
    return fail_msg(s, 502, "bad_upstream_response", msg);
  }
  if(rc == SSE_NOMEM) return fail_msg(s, 500, "internal_error", "The gateway ran out of memory reading the stream.");
  return s->ended ? OAI_STREAM_END : OAI_STREAM_MORE;
}

int oai_rstream_feed(oai_rstream *s, const char *p, size_t n, oai_buf *out)
{
  if(s->ended) return OAI_STREAM_END;
  s->out = out;
  return read_rc(s, sse_feed(&s->rd, p, n, event, s));
}

int oai_rstream_finish(oai_rstream *s, oai_buf *out, oai_buf *last)
{
  if(s->ended) return s->failed ? OAI_STREAM_END : OAI_STREAM_MORE;
  s->out = out;
  if(read_rc(s, sse_end(&s->rd, event, s)) == OAI_STREAM_END) return OAI_STREAM_END;
  if(!s->got_event) return fail_msg(s, 502, "bad_upstream_response", "The upstream stream ended without any event.");
  if(close_item(s)) return fail_msg(s, 500, "internal_error", "The gateway ran out of memory ending the stream.");
  if(s->thought_sig) {
    json_array_append_new(s->parts, json_pack("{s:s,s:O}", "text", "", "thoughtSignature", s->thought_sig));
    json_decref(s->thought_sig);
    s->thought_sig = NULL;
  }
  const char *inc = rr_incomplete(s->finish[0] ? s->finish : NULL, s->blocked);
  oai_rmeta m = meta(s);
  s->final = rr_object(&m, inc ? "incomplete" : "completed", json_deep_copy(s->output), &s->usage, inc, NULL);
  if(json_array_size(s->parts)) s->turn = json_pack("{s:s,s:O}", "role", "model", "parts", s->parts);
  if(!s->final || emit_to(s, last, inc ? "response.incomplete" : "response.completed", json_pack("{s:O}", "response", s->final))) {
    json_decref(s->final);
    s->final = NULL;
    return fail_msg(s, 500, "internal_error", "The gateway ran out of memory ending the stream.");
  }
  s->ended = true;
  return OAI_STREAM_MORE;
}

void oai_rstream_abort(oai_rstream *s, const oai_error *e, oai_buf *out)
{
  if(s->ended) return;
  s->out = out;
  if(e) fail(s, e);
  else fail_msg(s, 502, "upstream_error", "The upstream connection failed before the answer was complete.");
}
