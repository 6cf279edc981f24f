/* anth_stream — Gemini's streamGenerateContent?alt=sse → Anthropic's Messages event stream.
 *
 * message_start (with the prompt's tokens, once the first upstream event has told them) and a
 * ping, then one block at a time: text (text_delta), thinking (thinking_delta, and a
 * signature_delta before its content_block_stop when Gemini signed it), tool_use (Gemini sends
 * a call whole: start, one input_json_delta, stop).  A signature on a non-thought part goes on
 * the thinking block before it, as in anth_resp.c.  The end: content_block_stop for the open
 * block, message_delta (stop_reason, usage), message_stop.  Failures: `event: error`. */
#include "anthropic/anth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sse.h"

enum { OPEN_NONE, OPEN_TEXT, OPEN_THINK };

struct anth_stream {
  char *id, *model;
  sse_reader rd;
  bool started, got_event, ended, failed, blocked;
  int open;
  size_t index;              /* the open block's index, or the next one's */
  bool think_signed;
  size_t ncalls;
  char finish[32];
  anth_usage usage;
  anth_error err;
  dbuf *out;                 /* where the current feed writes */
};

anth_stream *anth_stream_new(const anth_meta *m)
{
  anth_stream *s = calloc(1, sizeof *s);
  if(!s) return NULL;
  s->id = strdup(m->id ? m->id : "");
  s->model = strdup(m->model ? m->model : "");
  if(!s->id || !s->model) { anth_stream_free(s); return NULL; }
  sse_init(&s->rd, ANTH_EVENT_CAP);
  return s;
}

void anth_stream_free(anth_stream *s)
{
  if(!s) return;
  free(s->id);
  free(s->model);
  sse_free(&s->rd);
  free(s);
}

const anth_usage *anth_stream_usage(const anth_stream *s) { return &s->usage; }

/* ---------------------------------------------------------------- writing */

/* event: <type>\ndata: <j>\n\n; takes j. */
static int emit(anth_stream *s, json_t *j)
{
  const char *type = json_string_value(json_object_get(j, "type"));
  int rc = !j || !type || DBUF_LIT(s->out, "event: ") || dbuf_str(s->out, type) || DBUF_LIT(s->out, "\ndata: ") ||
           anth_dump(s->out, j) || DBUF_LIT(s->out, "\n\n") ? -1 : 0;
  json_decref(j);
  return rc;
}

static int fail(anth_stream *s, const anth_error *e)
{
  s->err = *e;
  s->failed = s->ended = true;
  anth_sse_error(s->out, e);
  return ANTH_STREAM_END;
}

static int fail_msg(anth_stream *s, int status, const char *msg)
{
  anth_error e;
  anth_error_set(&e, status, NULL, "%s", msg);
  return fail(s, &e);
}

static int start_message(anth_stream *s)
{
  if(s->started) return 0;
  s->started = true;
  json_t *msg = json_pack("{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:o}", "id", s->id, "type", "message", "role", "assistant",
                          "model", s->model, "content", "stop_reason", "stop_sequence", "usage", anth_usage_json(&s->usage));
  if(emit(s, json_pack("{s:s,s:o}", "type", "message_start", "message", msg))) return -1;
  return emit(s, json_pack("{s:s}", "type", "ping"));
}

static int close_block(anth_stream *s)
{
  if(s->open == OPEN_NONE) return 0;
  s->open = OPEN_NONE;
  return emit(s, json_pack("{s:s,s:I}", "type", "content_block_stop", "index", (json_int_t)s->index++));
}

static int start_block(anth_stream *s, json_t *blk, int open)
{
  if(close_block(s)) { json_decref(blk); return -1; }
  s->open = open;
  s->think_signed = false;
  return emit(s, json_pack("{s:s,s:I,s:o}", "type", "content_block_start", "index", (json_int_t)s->index, "content_block", blk));
}

static int delta(anth_stream *s, json_t *d)
{
  return emit(s, json_pack("{s:s,s:I,s:o}", "type", "content_block_delta", "index", (json_int_t)s->index, "delta", d));
}

static int signature(anth_stream *s, const json_t *sig)
{
  s->think_signed = true;
  return delta(s, json_pack("{s:s,s:O}", "type", "signature_delta", "signature", sig));
}

static int thinking_start(anth_stream *s)
{
  return start_block(s, json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking", "", "signature", ""), OPEN_THINK);
}

/* ---------------------------------------------------------------- translating */

static int part(anth_stream *s, const json_t *p)
{
  json_t *text = json_object_get(p, "text"), *fc = json_object_get(p, "functionCall");
  json_t *sig = json_object_get(p, "thoughtSignature");
  bool has_sig = json_is_string(sig) && json_string_length(sig);
  if(json_is_string(text) && json_is_true(json_object_get(p, "thought"))) {
    if(s->open != OPEN_THINK && thinking_start(s)) return -1;
    if(json_string_length(text) &&
       delta(s, json_pack("{s:s,s:O}", "type", "thinking_delta", "thinking", text)))
      return -1;
    return has_sig && (signature(s, sig) || close_block(s)) ? -1 : 0;
  }
  if(has_sig) {
    if(s->open == OPEN_THINK && !s->think_signed) { if(signature(s, sig) || close_block(s)) return -1; }
    else if(thinking_start(s) || signature(s, sig) || close_block(s)) return -1;
  }
  if(s->open == OPEN_THINK && close_block(s)) return -1;
  if(json_is_string(text)) {
    if(!json_string_length(text)) return 0;
    if(s->open != OPEN_TEXT && start_block(s, json_pack("{s:s,s:s}", "type", "text", "text", ""), OPEN_TEXT)) return -1;
    return delta(s, json_pack("{s:s,s:O}", "type", "text_delta", "text", text));
  }
  if(json_is_object(fc)) {
    char id[160];
    anth_tool_id(id, sizeof id, s->id, s->ncalls++);
    const char *name = json_string_value(json_object_get(fc, "name"));
    json_t *args = json_object_get(fc, "args");
    char *a = json_is_object(args) ? json_dumps(args, ANTH_DUMP_FLAGS) : NULL;
    int rc = start_block(s, json_pack("{s:s,s:s,s:s,s:{}}", "type", "tool_use", "id", id, "name", name ? name : "", "input"), OPEN_TEXT) ||
             delta(s, json_pack("{s:s,s:s}", "type", "input_json_delta", "partial_json", a ? a : "{}")) ||
             close_block(s) ? -1 : 0;
    free(a);
    return rc;
  }
  return 0;
}

static int event(void *ctx, const char *data, size_t n)
{
  anth_stream *s = ctx;
  if(n == 6 && !memcmp(data, "[DONE]", 6)) return 0;
  json_t *j = json_loadb(data, n, 0, NULL);
  if(!json_is_object(j)) {
    json_decref(j);
    return fail_msg(s, 502, "The upstream sent a malformed stream event.");
  }
  s->got_event = true;
  json_t *err = json_object_get(j, "error");
  if(json_is_object(err)) {
    anth_error e;
    char *body = json_dumps(j, JSON_COMPACT);
    anth_google_error(0, body, body ? strlen(body) : 0, &e);
    free(body);
    json_decref(j);
    return fail(s, &e);
  }
  anth_usage_read(&s->usage, json_object_get(j, "usageMetadata"));
  int rc = start_message(s);
  json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p)
    if(!rc) rc = part(s, p);
  const char *reason = json_string_value(json_object_get(cand, "finishReason"));
  if(reason) anth_copy_utf8(s->finish, sizeof s->finish, reason, strlen(reason));
  if(!cand && json_object_get(json_object_get(j, "promptFeedback"), "blockReason")) s->blocked = true;
  json_decref(j);
  return rc ? fail_msg(s, 500, "The gateway ran out of memory translating the stream.") : 0;
}

static int read_rc(anth_stream *s, int rc)
{
  if(rc == SSE_TOO_BIG) {
    char msg[96];
    snprintf(msg, sizeof msg, "The upstream sent a stream event larger than %u bytes.", ANTH_EVENT_CAP);
    return fail_msg(s, 502, msg);
  }
  if(rc == SSE_NOMEM) return fail_msg(s, 500, "The gateway ran out of memory reading the stream.");
  return s->ended ? ANTH_STREAM_END : ANTH_STREAM_MORE;
}

int anth_stream_feed(anth_stream *s, const char *p, size_t n, dbuf *out)
{
  if(s->ended) return ANTH_STREAM_END;
  s->out = out;
  return read_rc(s, sse_feed(&s->rd, p, n, event, s));
}

int anth_stream_finish(anth_stream *s, dbuf *out)
{
  if(s->ended) return s->failed ? ANTH_STREAM_END : ANTH_STREAM_MORE;
  s->out = out;
  if(read_rc(s, sse_end(&s->rd, event, s)) == ANTH_STREAM_END) return ANTH_STREAM_END;
  if(!s->got_event) return fail_msg(s, 502, "The upstream stream ended without any event.");
  s->ended = true;
  const char *stop = s->blocked ? "refusal" : anth_stop_reason(s->finish[0] ? s->finish : NULL, s->ncalls > 0);
  json_t *d = json_pack("{s:s,s:{s:s,s:n},s:o}", "type", "message_delta", "delta", "stop_reason", stop,
                        "stop_sequence", "usage", anth_usage_json(&s->usage));
  if(start_message(s) || close_block(s) || emit(s, d) || emit(s, json_pack("{s:s}", "type", "message_stop"))) {
    s->ended = false;
    return fail_msg(s, 500, "The gateway ran out of memory ending the stream.");
  }
  return ANTH_STREAM_MORE;
}

void anth_stream_abort(anth_stream *s, const anth_error *e, dbuf *out)
{
  if(s->ended) return;
  s->out = out;
  if(e) fail(s, e);
  else fail_msg(s, 502, "The upstream connection failed before the answer was complete.");
}
