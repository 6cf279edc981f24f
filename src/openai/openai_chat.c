/* openai_chat — an OpenAI chat completions request → a Gemini generateContent request:
 * parameters, tools, response format, thinking and the gateway's prompt injection.  Messages
 * are openai_msgs.c's. */
#include "openai/openai_chat_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* reasoning_effort → thinkingBudget.  low/medium/high are the budgets Google documents for its
 * own OpenAI-compatible endpoint; minimal is the smallest budget every 2.5 model accepts. */
static const struct { const char *effort; int budget; } EFFORTS[] = {
  { "none", 0 }, { "minimal", 512 }, { "low", 1024 }, { "medium", 8192 }, { "high", 24576 },
};

int cx_missing(chat_cx *x, const char *param)
{
  return oai_bad_missing(x->e, param);
}

int cx_type(chat_cx *x, const char *param, const json_t *v, const char *want)
{
  return oai_bad_type(x->e, param, v, want);
}

int cx_value(chat_cx *x, const char *param, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return oai_bad_value(x->e, param, "%s", msg);
}

/* ---------------------------------------------------------------- sampling parameters */

static int stops(chat_cx *x, const json_t *v, json_t *gc)
{
  if(json_is_string(v)) {
    if(json_string_length(v)) json_object_set_new(gc, "stopSequences", json_pack("[O]", v));
    return 0;
  }
  if(!json_is_array(v)) return cx_type(x, "stop", v, "a string or an array of strings");
  if(json_array_size(v) > 5) return cx_value(x, "stop", "Invalid value for 'stop': at most 5 stop sequences are supported.");
  json_t *seqs = json_array();
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) {
    char p[32];
    oai_fmt(p, sizeof p, "stop[%zu]", i);
    if(!json_is_string(s)) { json_decref(seqs); return cx_type(x, p, s, "a string"); }
    if(json_string_length(s)) json_array_append(seqs, s);
  }
  if(json_array_size(seqs)) json_object_set_new(gc, "stopSequences", seqs);
  else json_decref(seqs);
  return 0;
}

static int sampling(chat_cx *x, const json_t *req, json_t *gc)
{
  json_t *v;
  int64_t k;
  if((v = oai_opt(req, "temperature"))) {
    if(oai_number_in(x->e, v, "temperature", 0, 2)) return -1;
    json_object_set(gc, "temperature", v);
  }
  if((v = oai_opt(req, "top_p"))) {
    if(oai_number_in(x->e, v, "top_p", 0, 1)) return -1;
    json_object_set(gc, "topP", v);
  }
  if((v = oai_opt(req, "top_k"))) {
    if(oai_int_in(x->e, v, "top_k", 1, INT32_MAX, &k)) return -1;
    json_object_set_new(gc, "topK", json_integer(k));
  }
  const char *const maxes[] = { "max_tokens", "max_completion_tokens" };  /* the latter wins */
  for(size_t i = 0; i < 2; i++)
    if((v = oai_opt(req, maxes[i]))) {
      if(oai_int_in(x->e, v, maxes[i], 1, INT32_MAX, &k)) return -1;
      json_object_set_new(gc, "maxOutputTokens", json_integer(k));
    }
  if((v = oai_opt(req, "stop")) && stops(x, v, gc)) return -1;
  x->c->n = 1;
  if((v = oai_opt(req, "n"))) {
    if(oai_int_in(x->e, v, "n", 1, OAI_MAX_CHOICES, &k)) return -1;
    x->c->n = (int)k;
    if(k > 1) json_object_set_new(gc, "candidateCount", json_integer(k));
  }
  if((v = oai_opt(req, "seed"))) {
    if(oai_int_in(x->e, v, "seed", INT32_MIN, INT32_MAX, &k)) return -1;
    json_object_set_new(gc, "seed", json_integer(k));
  }
  /* A zero penalty is the default: leave it out, since some Gemini models refuse penalties. */
  const char *const pen[][2] = { { "presence_penalty", "presencePenalty" }, { "frequency_penalty", "frequencyPenalty" } };
  for(size_t i = 0; i < 2; i++)
    if((v = oai_opt(req, pen[i][0]))) {
      if(oai_number_in(x->e, v, pen[i][0], -2, 2)) return -1;
      if(json_number_value(v) != 0) json_object_set(gc, pen[i][1], v);
    }
  return 0;
}

static int response_format(chat_cx *x, const json_t *req, json_t *gc)
{
  json_t *rf = oai_opt(req, "response_format");
  if(!rf) return 0;
  if(!json_is_object(rf)) return cx_type(x, "response_format", rf, "an object");
  json_t *type = oai_opt(rf, "type");
  if(!type) return cx_missing(x, "response_format.type");
  if(!json_is_string(type)) return cx_type(x, "response_format.type", type, "a string");
  const char *t = json_string_value(type);
  if(!strcmp(t, "text")) return 0;
  if(strcmp(t, "json_object") && strcmp(t, "json_schema"))
    return cx_value(x, "response_format.type", "Invalid value for 'response_format.type': '%.40s'. Supported values are: "
                    "'text', 'json_object' and 'json_schema'.", t);
  json_object_set_new(gc, "responseMimeType", json_string("application/json"));
  if(!strcmp(t, "json_object")) return 0;
  json_t *js = oai_opt(rf, "json_schema");
  if(!js) return cx_missing(x, "response_format.json_schema");
  if(!json_is_object(js)) return cx_type(x, "response_format.json_schema", js, "an object");
  json_t *schema = oai_opt(js, "schema");
  if(!schema) return 0;
  json_t *clean = oai_schema_clean(schema, true, "response_format.json_schema.schema", x->e);
  if(!clean) return -1;
  if(json_object_size(clean)) json_object_set_new(gc, "responseSchema", clean);
  else json_decref(clean);
  return 0;
}

/* ---------------------------------------------------------------- thinking */

int oai_effort_budget(const char *effort)
{
  for(size_t i = 0; i < ARRAY_LEN(EFFORTS); i++)
    if(!strcmp(effort, EFFORTS[i].effort)) return EFFORTS[i].budget;
  return -2;
}

/* Models known to refuse a thinkingConfig: the gateway's default is not applied to them. */
bool oai_may_think(const char *model)
{
  static const char *const no[] = { "gemini-1", "gemini-2.0", "gemma", "imagen", "learnlm", "aqa" };
  for(size_t i = 0; i < ARRAY_LEN(no); i++)
    if(!strncmp(model, no[i], strlen(no[i]))) return false;
  return !strstr(model, "image") && !strstr(model, "embedding") && !strstr(model, "tts");
}

static json_t *either(const json_t *o, const char *a, const char *b, const char **used)
{
  json_t *v = oai_opt(o, a);
  *used = a;
  if(!v) { v = oai_opt(o, b); *used = b; }
  return v;
}

/* thinking_config {thinking_budget, include_thoughts} (camelCase accepted), at the top level or
 * under "google" (how Google's own compatible endpoint takes it via extra_body). */
static int thinking_config(chat_cx *x, const json_t *tc, const char *where, json_t *cfg)
{
  char p[96];
  const char *key;
  if(!json_is_object(tc)) return cx_type(x, where, tc, "an object");
  json_t *budget = either(tc, "thinking_budget", "thinkingBudget", &key);
  int64_t b;
  oai_fmt(p, sizeof p, "%s.%s", where, key);
  if(budget) {
    if(oai_int_in(x->e, budget, p, -1, 32768, &b)) return -1;
    json_object_set_new(cfg, "thinkingBudget", json_integer(b));
  }
  json_t *inc = either(tc, "include_thoughts", "includeThoughts", &key);
  bool on;
  oai_fmt(p, sizeof p, "%s.%s", where, key);
  if(inc) {
    if(oai_boolean(x->e, inc, p, &on)) return -1;
    json_object_set_new(cfg, "includeThoughts", json_boolean(on));
  }
  return 0;
}

static int reasoning_effort(chat_cx *x, const json_t *v, json_t *cfg)
{
  if(!json_is_string(v)) return cx_type(x, "reasoning_effort", v, "a string");
  for(size_t i = 0; i < ARRAY_LEN(EFFORTS); i++)
    if(!strcmp(json_string_value(v), EFFORTS[i].effort)) {
      json_object_set_new(cfg, "thinkingBudget", json_integer(EFFORTS[i].budget));
      /* Asking for reasoning over the OpenAI API is the only way to see it: show it. */
      if(EFFORTS[i].budget) json_object_set_new(cfg, "includeThoughts", json_true());
      return 0;
    }
  return cx_value(x, "reasoning_effort", "Invalid value for 'reasoning_effort': '%.40s'. Supported values are: "
                  "'none', 'minimal', 'low', 'medium' and 'high'.", json_string_value(v));
}

/* thinking_config wins over reasoning_effort; the gateway default applies when neither is given. */
static int thinking(chat_cx *x, const json_t *req, json_t *gc)
{
  json_t *cfg = json_object();
  json_t *tc = oai_opt(req, "thinking_config"), *google = oai_opt(req, "google"), *effort = oai_opt(req, "reasoning_effort");
  int rc = 0;
  if(google && !json_is_object(google)) rc = cx_type(x, "google", google, "an object");
  else if(tc) rc = thinking_config(x, tc, "thinking_config", cfg);
  else if((tc = oai_opt(google, "thinking_config"))) rc = thinking_config(x, tc, "google.thinking_config", cfg);
  if(!rc && effort) {
    json_t *e = json_object();
    rc = reasoning_effort(x, effort, e);
    if(!tc) json_object_update(cfg, e);
    json_decref(e);
  }
  const oai_settings *s = x->set;
  if(!rc && !tc && !effort && s && s->thinking_enabled && oai_may_think(x->c->model)) {
    json_object_set_new(cfg, "thinkingBudget", json_integer(s->thinking_budget));
    json_object_set_new(cfg, "includeThoughts", json_boolean(s->include_thoughts && s->thinking_budget != 0));
  }
  if(!rc && json_object_size(cfg)) json_object_set(gc, "thinkingConfig", cfg);
  json_decref(cfg);
  return rc;
}

/* ---------------------------------------------------------------- tools */

static json_t *declaration(chat_cx *x, size_t j, const json_t *t)
{
  char pt[32], pf[40], pn[48], pd[56], pp[56];
  oai_fmt(pt, sizeof pt, "tools[%zu].type", j);
  oai_fmt(pf, sizeof pf, "tools[%zu].function", j);
  oai_fmt(pn, sizeof pn, "tools[%zu].function.name", j);
  oai_fmt(pd, sizeof pd, "tools[%zu].function.description", j);
  oai_fmt(pp, sizeof pp, "tools[%zu].function.parameters", j);
  if(!json_is_object(t)) { oai_fmt(pt, sizeof pt, "tools[%zu]", j); cx_type(x, pt, t, "an object"); return NULL; }
  json_t *type = oai_opt(t, "type"), *f = oai_opt(t, "function");
  if(type && !json_is_string(type)) { cx_type(x, pt, type, "a string"); return NULL; }
  if(type && strcmp(json_string_value(type), "function")) {
    cx_value(x, pt, "Invalid value for '%s': '%.40s'. Only 'function' tools are supported.", pt, json_string_value(type));
    return NULL;
  }
  if(!f) { cx_missing(x, pf); return NULL; }
  if(!json_is_object(f)) { cx_type(x, pf, f, "an object"); return NULL; }
  json_t *name = oai_opt(f, "name"), *desc = oai_opt(f, "description"), *params = oai_opt(f, "parameters");
  if(!name) { cx_missing(x, pn); return NULL; }
  if(!json_is_string(name) || !json_string_length(name)) { cx_type(x, pn, name, "a non-empty string"); return NULL; }
  if(desc && !json_is_string(desc)) { cx_type(x, pd, desc, "a string"); return NULL; }
  json_t *clean = params ? oai_schema_clean(params, false, pp, x->e) : NULL;
  if(params && !clean) return NULL;
  json_t *d = json_pack("{s:O}", "name", name);
  if(desc) json_object_set(d, "description", desc);
  /* A function without parameters must not declare an empty OBJECT: Gemini refuses those. */
  if(json_object_size(json_object_get(clean, "properties"))) json_object_set(d, "parameters", clean);
  json_decref(clean);
  return d;
}

static bool declared(const json_t *decls, const char *name)
{
  size_t i;
  json_t *d;
  json_array_foreach(decls, i, d)
    if(!strcmp(json_string_value(json_object_get(d, "name")), name)) return true;
  return false;
}

static int tool_choice(chat_cx *x, const json_t *v, const json_t *decls, json_t *body)
{
  const char *mode = NULL, *name = NULL;
  if(json_is_string(v)) {
    const char *s = json_string_value(v);
    mode = !strcmp(s, "auto") ? "AUTO" : !strcmp(s, "none") ? "NONE" : !strcmp(s, "required") ? "ANY" : NULL;
    if(!mode) return cx_value(x, "tool_choice", "Invalid value for 'tool_choice': '%.40s'. Supported values are: "
                              "'auto', 'none', 'required' or a named function.", s);
  } else if(json_is_object(v)) {
    json_t *f = oai_opt(v, "function"), *n = oai_opt(f, "name");
    if(!json_is_object(f)) return cx_type(x, "tool_choice.function", f, "an object");
    if(!json_is_string(n)) return cx_type(x, "tool_choice.function.name", n, "a string");
    name = json_string_value(n);
    mode = "ANY";
    if(!declared(decls, name))
      return cx_value(x, "tool_choice.function.name", "Invalid value for 'tool_choice.function.name': no tool is named '%.60s'.", name);
  } else return cx_type(x, "tool_choice", v, "a string or an object");
  if(!json_array_size(decls)) return 0;     /* nothing to choose from: Gemini wants no config */
  json_t *fcc = json_pack("{s:s}", "mode", mode);
  if(name) json_object_set_new(fcc, "allowedFunctionNames", json_pack("[s]", name));
  json_object_set_new(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
  return 0;
}

static int tools(chat_cx *x, const json_t *req, json_t *body)
{
  json_t *v = oai_opt(req, "tools"), *decls = json_array();
  if(v && !json_is_array(v)) { json_decref(decls); return cx_type(x, "tools", v, "an array"); }
  size_t j;
  json_t *t;
  json_array_foreach(v, j, t) {
    json_t *d = declaration(x, j, t);
    if(!d) { json_decref(decls); return -1; }
    json_array_append_new(decls, d);
  }
  int rc = 0;
  json_t *choice = oai_opt(req, "tool_choice");
  if(choice) rc = tool_choice(x, choice, decls, body);
  if(!rc && json_array_size(decls))
    json_object_set_new(body, "tools", json_pack("[{s:O}]", "functionDeclarations", decls));
  json_decref(decls);
  return rc;
}

/* ---------------------------------------------------------------- injection and assembly */

static int insert_part(json_t *content, size_t at, json_t *part)
{
  return json_array_insert_new(json_object_get(content, "parts"), at, part);
}

/* The gateway's injected prompt: first system part, or a part before / after the last user
 * message's parts (a user turn of its own when there is no user message). */
static int inject(chat_cx *x)
{
  const oai_settings *s = x->set;
  if(!s || !s->inject_enabled || !s->inject_content || !*s->inject_content) return 0;
  json_t *part = json_pack("{s:s}", "text", s->inject_content);
  if(!part) return 0;                             /* not UTF-8: nothing sensible to inject */
  size_t n = json_array_size(x->contents);
  json_t *first = json_array_get(x->contents, 0), *last = n ? json_array_get(x->contents, n - 1) : NULL;
  bool first_user = first && !strcmp(json_string_value(json_object_get(first, "role")), "user");
  bool last_user = last && !strcmp(json_string_value(json_object_get(last, "role")), "user");
  switch(s->inject_position) {
  case OAI_INJECT_SYSTEM:
    return json_array_insert_new(x->sys, 0, part);
  case OAI_INJECT_USER_PREFIX:
    if(x->last_user) return insert_part(x->last_user, x->lu_start, part);
    if(first_user) return insert_part(first, 0, part);
    return json_array_insert_new(x->contents, 0, json_pack("{s:s,s:[o]}", "role", "user", "parts", part));
  default:
    if(x->last_user) return insert_part(x->last_user, x->lu_end, part);
    if(last_user) return json_array_append_new(json_object_get(last, "parts"), part);
    return json_array_append_new(x->contents, json_pack("{s:s,s:[o]}", "role", "user", "parts", part));
  }
}

static int stream_flags(chat_cx *x, const json_t *req)
{
  json_t *v = oai_opt(req, "stream"), *so = oai_opt(req, "stream_options");
  if(v && oai_boolean(x->e, v, "stream", &x->c->stream)) return -1;
  if(!so) return 0;
  if(!json_is_object(so)) return cx_type(x, "stream_options", so, "an object");
  v = oai_opt(so, "include_usage");
  return v ? oai_boolean(x->e, v, "stream_options.include_usage", &x->c->include_usage) : 0;
}

/* contents, systemInstruction and generationConfig into the body. */
static int assemble(chat_cx *x, json_t *body, json_t *gc)
{
  if(inject(x)) return -1;
  if(!json_array_size(x->contents)) {
    if(!json_array_size(x->sys))
      return cx_value(x, "messages", "Invalid 'messages': no message has any content.");
    /* Only instructions: Gemini needs a turn, so they become the user's turn. */
    json_t *turn = json_pack("{s:s,s:O}", "role", "user", "parts", x->sys);
    json_decref(x->sys);                 /* the turn owns those parts now; start a new list */
    x->sys = json_array();
    if(!x->sys || json_array_append_new(x->contents, turn)) return -1;
  }
  json_object_set(body, "contents", x->contents);
  if(json_array_size(x->sys)) json_object_set_new(body, "systemInstruction", json_pack("{s:O}", "parts", x->sys));
  if(json_object_size(gc)) json_object_set(body, "generationConfig", gc);
  return 0;
}

static int translate(chat_cx *x, const json_t *req, json_t *body, json_t *gc)
{
  oai_chat *c = x->c;
  if(!(c->model = oai_model_name(oai_opt(req, "model"), x->e))) return -1;
  x->gemini3 = !strncmp(c->model, "gemini-3", 8);
  if(stream_flags(x, req) || chat_messages(x, oai_opt(req, "messages")) || tools(x, req, body) ||
     sampling(x, req, gc) || response_format(x, req, gc) || thinking(x, req, gc) || assemble(x, body, gc))
    return -1;
  c->prompt = oai_dup_chars(x->prompt ? x->prompt : "", x->prompt_len, OAI_PROMPT_CHARS);
  c->body = json_incref(body);
  return c->prompt ? 0 : -1;
}

int oai_chat_parse(const char *p, size_t n, const oai_settings *s, oai_chat *c, oai_error *e)
{
  memset(c, 0, sizeof *c);
  e->status = 0;                                /* every error set below sets a status */
  json_t *req = oai_load_request(p, n, e);
  if(!req) return -1;
  chat_cx x = { .set = s, .c = c, .e = e, .contents = json_array(), .sys = json_array(), .calls = json_object() };
  json_t *body = json_object(), *gc = json_object();
  int rc = x.contents && x.sys && x.calls && body && gc ? translate(&x, req, body, gc) : -1;
  json_decref(body);
  json_decref(gc);
  json_decref(x.contents);
  json_decref(x.sys);
  json_decref(x.calls);
  json_decref(req);
  if(rc) oai_chat_free(c);
  /* Whatever failed without saying why (memory) answers this; set only then, as formatting it
   * on every request cost more than the rest of the checks. */
  if(rc && !e->status) oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the request.");
  return rc;
}

void oai_chat_free(oai_chat *c)
{
  for(size_t i = 0; i < c->nfetch; i++) free(c->fetch[i].url);
  free(c->fetch);
  free(c->model);
  free(c->prompt);
  free(c->raw);
  json_decref(c->body);
  memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- fetched images */

static const char *sniff(const unsigned char *d, size_t n)
{
  if(n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if(n >= 3 && !memcmp(d, "\xff\xd8\xff", 3)) return "image/jpeg";
  if(n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "image/gif";
  if(n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "image/webp";
  if(n >= 12 && !memcmp(d + 4, "ftyp", 4) && (!memcmp(d + 8, "heic", 4) || !memcmp(d + 8, "heix", 4) ||
                                            !memcmp(d + 8, "mif1", 4)))
    return "image/heic";
  if(n >= 5 && !memcmp(d, "%PDF-", 5)) return "application/pdf";
  return NULL;
}

/* The media type of a Content-Type header when it names an image or a PDF, lower-cased. */
static bool declared_type(const char *ct, char *out, size_t cap)
{
  if(!ct) return false;
  size_t n = 0;
  while(ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < cap) {
    out[n] = (char)tolower((unsigned char)ct[n]);
    n++;
  }
  out[n] = '\0';
  return (n > 6 && !strncmp(out, "image/", 6)) || !strcmp(out, "application/pdf");
}

int oai_fetch_fill(const oai_fetch *f, const char *content_type, const void *data, size_t len, oai_error *e)
{
  char mime[64];
  const char *m = sniff(data, len);
  if(!m && declared_type(content_type, mime, sizeof mime)) m = mime;
  if(!m || !len) {
    oai_error_set(e, 400, NULL, "invalid_image", f->param, "Invalid '%s': the URL did not return an image.", f->param);
    return -1;
  }
  size_t bn;
  char *b64 = oai_b64(data, len, &bn);
  json_t *inl = b64 ? json_pack("{s:s,s:s%}", "mimeType", m, "data", b64, bn) : NULL;
  free(b64);
  if(!inl || json_object_set_new(f->part, "inlineData", inl)) {
    oai_error_set(e, 500, NULL, "internal_error", f->param, "The gateway could not attach the image.");
    return -1;
  }
  return 0;
}
