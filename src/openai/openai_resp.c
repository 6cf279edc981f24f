/* openai_resp — a Gemini generateContent answer → an OpenAI chat.completion. */
#include "openai/openai_internal.h"

#include <string.h>

/* The candidate's index when it gives a sensible one, else its position. */
static size_t cand_index(const json_t *cand, size_t pos)
{
  json_t *v = json_object_get(cand, "index");
  return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1024
           ? (size_t)json_integer_value(v) : pos;
}

/* content: the text; null when the answer is only tool calls; "" when there is nothing (a
 * blocked answer) — clients that call .trim() on it should not crash. */
static json_t *message(const oai_parts *px)
{
  json_t *content = px->has_text ? json_stringn_nocheck(px->text.p, px->text.n)
                    : px->calls ? json_null() : json_string("");
  json_t *msg = json_pack("{s:s,s:o}", "role", "assistant", "content", content);
  if(msg && px->has_thought)
    json_object_set_new(msg, "reasoning_content", json_stringn_nocheck(px->thought.p, px->thought.n));
  if(msg && px->calls) json_object_set(msg, "tool_calls", px->calls);
  return msg;
}

static json_t *choice(const json_t *cand, size_t pos, const char *chatid)
{
  size_t idx = cand_index(cand, pos), ncalls = 0;
  oai_parts px;
  json_t *out = NULL;
  if(!oai_parts_collect(&px, json_object_get(cand, "content"), chatid, idx, &ncalls, false)) {
    const char *finish = px.calls ? "tool_calls"
                                  : oai_finish_reason(json_string_value(json_object_get(cand, "finishReason")));
    out = json_pack("{s:I,s:o,s:n,s:s}", "index", (json_int_t)idx, "message", message(&px), "logprobs",
                    "finish_reason", finish);
  }
  oai_parts_free(&px);
  return out;
}

/* No candidates: the prompt was blocked (promptFeedback.blockReason) or nothing came back. */
static json_t *empty_choice(const json_t *root)
{
  bool blocked = json_is_string(json_object_get(json_object_get(root, "promptFeedback"), "blockReason"));
  return json_pack("{s:i,s:{s:s,s:s},s:n,s:s}", "index", 0, "message", "role", "assistant", "content", "",
                   "logprobs", "finish_reason", blocked ? "content_filter" : "stop");
}

json_t *oai_chat_response(const char *p, size_t n, const oai_meta *m, oai_usage *u, oai_error *e)
{
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
  json_t *choices = json_array(), *cands = json_object_get(root, "candidates");
  size_t i;
  json_t *cand;
  json_array_foreach(cands, i, cand)
    json_array_append_new(choices, choice(cand, i, m->id));
  if(!json_array_size(choices)) json_array_append_new(choices, empty_choice(root));
  json_t *out = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", m->id ? m->id : "", "object", "chat.completion",
                          "created", (json_int_t)m->created, "model", m->model ? m->model : "",
                          "choices", choices, "usage", oai_usage_json(&us));
  json_decref(root);
  if(!out) oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the answer.");
  return out;
}
