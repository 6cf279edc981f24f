/* responses_out — a Gemini generateContent answer → a Responses API response object.
 *
 * The first candidate's parts become output items in order: thought text → a reasoning item
 * (its summary), text → a message with one output_text part, functionCall → a function_call
 * item.  A part's thoughtSignature goes into encrypted_content of the reasoning item right
 * before that part's item (the open one when it has none yet, else one made for it), which is
 * where responses_req.c takes it from when a client sends its items back. */
#include "openai/responses_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rr_id(char *out, size_t cap, const char *prefix, const char *resp_id, size_t k)
{
  const char *sfx = resp_id ? resp_id : "";
  if(!strncmp(sfx, "resp_", 5)) sfx += 5;
  snprintf(out, cap, "%s_%.100s_%zu", prefix, sfx, k);
}

json_t *rr_usage(const oai_usage *u)
{
  json_int_t out = u->candidates + u->thoughts;
  return json_pack("{s:I,s:{s:I},s:I,s:{s:I},s:I}", "input_tokens", (json_int_t)u->prompt, "input_tokens_details",
                   "cached_tokens", (json_int_t)u->cached, "output_tokens", out, "output_tokens_details",
                   "reasoning_tokens", (json_int_t)u->thoughts, "total_tokens", (json_int_t)u->prompt + out);
}

json_t *rr_object(const oai_rmeta *m, const char *status, json_t *output, const oai_usage *u, const char *incomplete,
                  const oai_error *error)
{
  json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "id", m->id ? m->id : "", "object", "response", "created_at",
                        (json_int_t)m->created, "status", status);
  if(!o) { json_decref(output); return NULL; }
  json_object_set_new(o, "error", error ? json_pack("{s:s,s:s}", "code", error->code[0] ? error->code : "server_error",
                                                    "message", error->message) : json_null());
  json_object_set_new(o, "incomplete_details", incomplete ? json_pack("{s:s}", "reason", incomplete) : json_null());
  if(m->echo) json_object_update(o, (json_t *)m->echo);
  json_object_set_new(o, "model", json_string(m->model ? m->model : ""));
  json_object_set_new(o, "output", output ? output : json_array());
  json_object_set_new(o, "usage", u ? rr_usage(u) : json_null());
  return o;
}

const char *rr_incomplete(const char *r, bool blocked)
{
  static const char *const filtered[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                                          "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT" };
  if(blocked) return "content_filter";
  if(!r) return NULL;
  if(!strcmp(r, "MAX_TOKENS")) return "max_output_tokens";
  for(size_t i = 0; i < ARRAY_LEN(filtered); i++)
    if(!strcmp(r, filtered[i])) return "content_filter";
  return NULL;
}

/* ---------------------------------------------------------------- output items */

typedef struct items {
  const char *id;
  json_t *list;
  json_t *msg;               /* the open message item, or NULL */
  json_t *rs;                /* the open reasoning item, or NULL */
} items;

static int append_text(json_t *o, const char *key, const json_t *more)
{
  json_t *v = json_object_get(o, key);
  size_t a = json_string_length(v), b = json_string_length(more);
  char *s = malloc(a + b + 1);
  if(!s) return -1;
  memcpy(s, json_string_value(v), a);
  memcpy(s + a, json_string_value(more), b);
  int rc = json_object_set_new(o, key, json_stringn_nocheck(s, a + b));
  free(s);
  return rc;
}

static json_t *new_item(items *x, const char *prefix, json_t *item)
{
  char id[160];
  rr_id(id, sizeof id, prefix, x->id, json_array_size(x->list));
  json_t *o = json_pack("{s:s}", "id", id);
  if(!o || !item || json_object_update(o, item) || json_array_append_new(x->list, o)) {
    json_decref(o);
    json_decref(item);
    return NULL;
  }
  json_decref(item);
  return o;
}

static int add_part(items *x, const json_t *part, size_t *ncalls)
{
  json_t *text = json_object_get(part, "text"), *fc = json_object_get(part, "functionCall");
  json_t *sig = json_object_get(part, "thoughtSignature");
  bool has_sig = json_is_string(sig) && json_string_length(sig);
  if(json_is_string(text) && json_is_true(json_object_get(part, "thought"))) {
    x->msg = NULL;
    if(!x->rs && !(x->rs = new_item(x, "rs", json_pack("{s:s,s:[{s:s,s:s}]}", "type", "reasoning", "summary",
                                                        "type", "summary_text", "text", ""))))
      return -1;
    json_t *sum = json_array_get(json_object_get(x->rs, "summary"), 0);
    if(!sum) json_array_append_new(json_object_get(x->rs, "summary"), sum = json_pack("{s:s,s:s}", "type", "summary_text", "text", ""));
    if(append_text(sum, "text", text)) return -1;
    if(has_sig) { json_object_set(x->rs, "encrypted_content", sig); x->rs = NULL; }
    return 0;
  }
  if(has_sig) {
    if(x->rs && !json_object_get(x->rs, "encrypted_content")) json_object_set(x->rs, "encrypted_content", sig);
    else if(!new_item(x, "rs", json_pack("{s:s,s:[],s:O}", "type", "reasoning", "summary", "encrypted_content", sig))) return -1;
    x->msg = NULL;
  }
  x->rs = NULL;
  if(json_is_string(text)) {
    if(!json_string_length(text)) return 0;
    if(x->msg) return append_text(json_array_get(json_object_get(x->msg, "content"), 0), "text", text);
    x->msg = new_item(x, "msg", json_pack("{s:s,s:s,s:s,s:[{s:s,s:O,s:[]}]}", "type", "message", "status", "completed",
                                          "role", "assistant", "content", "type", "output_text", "text", text, "annotations"));
    return x->msg ? 0 : -1;
  }
  if(json_is_object(fc)) {
    x->msg = NULL;
    char cid[160];
    rr_id(cid, sizeof cid, "call", x->id, (*ncalls)++);
    json_t *args = json_object_get(fc, "args");
    char *a = json_is_object(args) ? json_dumps(args, OAI_DUMP_FLAGS) : NULL;
    const char *name = json_string_value(json_object_get(fc, "name"));
    json_t *it = new_item(x, "fc", json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "function_call", "status", "completed",
                                             "call_id", cid, "name", name ? name : "", "arguments", a ? a : "{}"));
    free(a);
    return it ? 0 : -1;
  }
  return 0;                         /* inlineData, executableCode, …: no Responses item */
}

/* The model's turn to keep: its parts without thought text (a thought's own signature moves to
 * the next part), or NULL when nothing is left. */
static json_t *model_turn(const json_t *parts)
{
  json_t *keep = json_array(), *sig = NULL;
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    json_t *s = json_object_get(p, "thoughtSignature");
    if(json_is_true(json_object_get(p, "thought"))) {
      if(json_is_string(s)) sig = s;
      continue;
    }
    json_t *c = json_deep_copy(p);
    if(sig && !json_is_string(s)) json_object_set(c, "thoughtSignature", sig);
    sig = NULL;
    json_array_append_new(keep, c);
  }
  if(sig) json_array_append_new(keep, json_pack("{s:s,s:O}", "text", "", "thoughtSignature", sig));
  if(!json_array_size(keep)) { json_decref(keep); return NULL; }
  return json_pack("{s:s,s:o}", "role", "model", "parts", keep);
}

json_t *oai_rresp(const char *p, size_t n, const oai_rmeta *m, json_t **turn, oai_usage *u, oai_error *e)
{
  if(turn) *turn = NULL;
  json_t *root = oai_load_upstream(p, n, e);
  if(!root) return NULL;
  json_t *err = json_object_get(root, "error");
  if(json_is_object(err)) {
    oai_google_error_obj(200, err, e);
    json_decref(root);
    return NULL;
  }
  oai_usage us = { 0 };
  oai_usage_read(&us, json_object_get(root, "usageMetadata"));
  if(u) *u = us;
  json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
  json_t *parts = json_object_get(json_object_get(cand, "content"), "parts");
  items x = { .id = m->id, .list = json_array() };
  size_t i, ncalls = 0;
  json_t *part;
  int rc = x.list ? 0 : -1;
  json_array_foreach(parts, i, part)
    if(!rc) rc = add_part(&x, part, &ncalls);
  bool blocked = !cand && json_object_get(json_object_get(root, "promptFeedback"), "blockReason");
  const char *inc = rr_incomplete(json_string_value(json_object_get(cand, "finishReason")), blocked);
  json_t *out = rc ? NULL : rr_object(m, inc ? "incomplete" : "completed", json_incref(x.list), &us, inc, NULL);
  if(out && turn) *turn = model_turn(parts);
  json_decref(x.list);
  json_decref(root);
  if(!out) oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the answer.");
  return out;
}
