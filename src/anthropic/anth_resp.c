/* anth_resp — a Gemini generateContent answer → an Anthropic Message; countTokens → its count.
 *
 * The first candidate's parts become blocks in order: thought text → a thinking block
 * (consecutive thoughts merge), text → a text block, functionCall → tool_use.  A part's
 * thoughtSignature goes on the thinking block right before that part's block — the open one
 * when it has no signature yet, else an empty thinking block made for it — which is where
 * anth_req.c takes it from when the client sends the message back. */
#include "anthropic/anth_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct blocks {
  json_t *list;
  json_t *text;              /* the text block being extended, or NULL */
  json_t *think;             /* the thinking block being extended, or NULL */
  size_t ncalls;
  const char *id;
} blocks;

static int append_str(json_t *blk, const char *key, const char *p, size_t n)
{
  json_t *v = json_object_get(blk, key);
  size_t have = json_string_length(v);
  char *s = malloc(have + n + 1);
  if(!s) return -1;
  memcpy(s, json_string_value(v), have);
  memcpy(s + have, p, n);
  s[have + n] = '\0';
  int rc = json_object_set_new(blk, key, json_stringn_nocheck(s, have + n));
  free(s);
  return rc;
}

static json_t *new_block(blocks *b, json_t *blk)
{
  if(!blk || json_array_append_new(b->list, blk)) return NULL;
  return blk;
}

static int add_part(blocks *b, const json_t *part)
{
  json_t *text = json_object_get(part, "text"), *fc = json_object_get(part, "functionCall");
  json_t *sig = json_object_get(part, "thoughtSignature");
  bool has_sig = json_is_string(sig) && json_string_length(sig);
  if(json_is_string(text) && json_is_true(json_object_get(part, "thought"))) {
    b->text = NULL;
    if(!b->think && !(b->think = new_block(b, json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking", "", "signature", ""))))
      return -1;
    if(append_str(b->think, "thinking", json_string_value(text), json_string_length(text))) return -1;
    if(has_sig) {                               /* a thought carrying its own signature ends its block */
      json_object_set(b->think, "signature", sig);
      b->think = NULL;
    }
    return 0;
  }
  if(has_sig) {
    if(b->think && !json_string_length(json_object_get(b->think, "signature"))) json_object_set(b->think, "signature", sig);
    else if(!new_block(b, json_pack("{s:s,s:s,s:O}", "type", "thinking", "thinking", "", "signature", sig))) return -1;
    b->text = NULL;
  }
  b->think = NULL;
  if(json_is_string(text)) {
    if(!json_string_length(text)) return 0;
    if(b->text) return append_str(b->text, "text", json_string_value(text), json_string_length(text));
    b->text = new_block(b, json_pack("{s:s,s:O}", "type", "text", "text", text));
    return b->text ? 0 : -1;
  }
  if(json_is_object(fc)) {
    char id[160];
    anth_tool_id(id, sizeof id, b->id, b->ncalls++);
    json_t *args = json_object_get(fc, "args");
    const char *name = json_string_value(json_object_get(fc, "name"));
    b->text = NULL;
    json_t *input = json_is_object(args) ? json_incref(args) : json_object();
    return new_block(b, json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", id, "name", name ? name : "",
                                  "input", input)) ? 0 : -1;
  }
  return 0;                                     /* inlineData, executableCode, …: no Anthropic block */
}

json_t *anth_response(const char *p, size_t n, const anth_meta *m, anth_usage *u, anth_error *e)
{
  json_t *root = n ? json_loadb(p, n, 0, NULL) : NULL;
  if(!json_is_object(root)) {
    json_decref(root);
    anth_error_set(e, 502, NULL, "The upstream sent a malformed answer.");
    return NULL;
  }
  json_t *err = json_object_get(root, "error");
  if(json_is_object(err)) {
    anth_google_error(200, p, n, e);
    json_decref(root);
    return NULL;
  }
  anth_usage us = { 0 };
  anth_usage_read(&us, json_object_get(root, "usageMetadata"));
  if(u) *u = us;
  blocks b = { .list = json_array(), .id = m->id };
  json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
  size_t i;
  json_t *part;
  int rc = b.list ? 0 : -1;
  json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, part)
    if(!rc) rc = add_part(&b, part);
  const char *reason = json_string_value(json_object_get(cand, "finishReason"));
  const char *stop = cand ? anth_stop_reason(reason, b.ncalls > 0)
                   : json_object_get(json_object_get(root, "promptFeedback"), "blockReason") ? "refusal" : "end_turn";
  json_t *out = rc ? NULL
                   : json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:n,s:o}", "id", m->id ? m->id : "", "type", "message",
                               "role", "assistant", "model", m->model ? m->model : "", "content", b.list,
                               "stop_reason", stop, "stop_sequence", "usage", anth_usage_json(&us));
  json_decref(b.list);
  json_decref(root);
  if(!out) anth_error_set(e, 500, NULL, "The gateway could not translate the answer.");
  return out;
}

json_t *anth_count_response(const char *p, size_t n, anth_error *e)
{
  json_t *root = n ? json_loadb(p, n, 0, NULL) : NULL;
  json_t *t = json_object_get(root, "totalTokens");
  json_t *out = json_is_integer(t) ? json_pack("{s:O}", "input_tokens", t) : NULL;
  if(!out && json_is_object(root) && !t && !json_object_get(root, "error")) out = json_pack("{s:i}", "input_tokens", 0);
  if(!out) anth_error_set(e, 502, NULL, "The upstream sent a malformed token count.");
  json_decref(root);
  return out;
}
