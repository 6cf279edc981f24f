/* anth_req — an Anthropic Messages request → a Gemini generateContent (or countTokens) body.
 *
 * system → systemInstruction; user → "user", assistant → "model" (same-role turns merged, as
 * Gemini wants them alternating); text, image (base64 → inlineData, http(s) → fetched by the
 * glue), document (base64 PDF, plain text), tool_use → functionCall, tool_result →
 * functionResponse (+ its images as parts after it), thinking / redacted_thinking → the
 * thoughtSignature of the part that follows it in the message.  tools → functionDeclarations
 * with the input_schema as parametersJsonSchema (Gemini takes JSON Schema as it is there, so
 * nothing is lost in a cleaning), web_search_* → googleSearch.  Every field the gateway cannot
 * honour is refused by name. */
#include "anthropic/anth_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct req_cx {
  anth_req *q;
  anth_error *e;
  bool count;
  bool gemini3;              /* the model wants signatures on replayed calls */
  json_t *contents;          /* Gemini contents, same-role turns merged */
  json_t *sys;               /* systemInstruction parts */
  json_t *calls;             /* tool_use id → name */
  size_t fetch_cap;
} req_cx;

/* Keys of an object that may be present; anything else is refused by name. */
static int only_keys(req_cx *x, const char *base, const json_t *o, const char *const *allow)
{
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    bool ok = false;
    for(size_t i = 0; allow[i] && !ok; i++) ok = !strcmp(k, allow[i]);
    if(!ok) {
      char p[160];
      anth_fmt(p, sizeof p, "%s%s%s", base, *base ? "." : "", k);
      return anth_bad(x->e, p, "Extra inputs are not permitted (this gateway cannot honour this field)");
    }
  }
  return 0;
}

static int want_string(req_cx *x, const char *param, const json_t *v)
{
  if(!v) return anth_bad(x->e, param, "Field required");
  if(!json_is_string(v)) return anth_bad(x->e, param, "Input should be a valid string, not %s", anth_jtype(v));
  return 0;
}

/* ---------------------------------------------------------------- turns */

/* Append parts to the last turn when it has this role, else to a new turn. */
static int put_parts(req_cx *x, const char *role, json_t *parts)
{
  if(!json_array_size(parts)) return 0;
  size_t n = json_array_size(x->contents);
  json_t *last = n ? json_array_get(x->contents, n - 1) : NULL;
  if(!last || strcmp(json_string_value(json_object_get(last, "role")), role)) {
    last = json_pack("{s:s,s:[]}", "role", role, "parts");
    if(json_array_append_new(x->contents, last)) return -1;
  }
  return json_array_extend(json_object_get(last, "parts"), parts);
}

/* ---------------------------------------------------------------- media */

static int add_fetch(req_cx *x, const char *param, const json_t *url, json_t *out)
{
  anth_req *q = x->q;
  if(q->nfetch == ANTH_MAX_FETCHES) return anth_bad(x->e, param, "at most %d image URLs per request", ANTH_MAX_FETCHES);
  if(q->nfetch == x->fetch_cap) {
    size_t cap = x->fetch_cap ? x->fetch_cap * 2 : 4;
    anth_fetch *f = realloc(q->fetch, cap * sizeof *f);
    if(!f) return -1;
    q->fetch = f;
    x->fetch_cap = cap;
  }
  anth_fetch *f = &q->fetch[q->nfetch];
  memset(f, 0, sizeof *f);
  f->part = json_object();
  if(!f->part || !(f->url = strdup(json_string_value(url)))) { json_decref(f->part); return -1; }
  anth_fmt(f->param, sizeof f->param, "%s", param);
  q->nfetch++;
  return json_array_append_new(out, f->part);   /* out (then the body) holds the reference */
}

/* source {type: base64 | url | text}; kind "image" or "document". */
static int media_source(req_cx *x, const char *base, const json_t *blk, bool document, json_t *out)
{
  static const char *const src_keys[] = { "type", "media_type", "data", "url", NULL };
  char ps[128], pt[144], pm[144], pd[144];
  anth_fmt(ps, sizeof ps, "%s.source", base);
  anth_fmt(pt, sizeof pt, "%s.type", ps);
  anth_fmt(pm, sizeof pm, "%s.media_type", ps);
  anth_fmt(pd, sizeof pd, "%s.data", ps);
  json_t *src = anth_opt(blk, "source");
  if(!src) return anth_bad(x->e, ps, "Field required");
  if(!json_is_object(src)) return anth_bad(x->e, ps, "Input should be an object, not %s", anth_jtype(src));
  if(only_keys(x, ps, src, src_keys)) return -1;
  json_t *type = anth_opt(src, "type");
  if(want_string(x, pt, type)) return -1;
  const char *t = json_string_value(type);
  if(!strcmp(t, "url")) {
    char pu[144];
    anth_fmt(pu, sizeof pu, "%s.url", ps);
    json_t *url = anth_opt(src, "url");
    if(want_string(x, pu, url)) return -1;
    const char *u = json_string_value(url);
    if(strncasecmp(u, "http://", 7) && strncasecmp(u, "https://", 8)) return anth_bad(x->e, pu, "expected an http(s) URL");
    return add_fetch(x, pu, url, out);
  }
  bool text = document && !strcmp(t, "text");
  if(strcmp(t, "base64") && !text)
    return anth_bad(x->e, pt, "Input should be 'base64'%s or 'url' (this gateway has no Files API)",
                    document ? ", 'text'" : "");
  json_t *mt = anth_opt(src, "media_type"), *data = anth_opt(src, "data");
  if(want_string(x, pm, mt) || want_string(x, pd, data)) return -1;
  if(text) {
    if(!json_string_length(data)) return 0;
    return json_array_append_new(out, json_pack("{s:O}", "text", data));
  }
  const char *m = json_string_value(mt);
  if(document ? strcmp(m, "application/pdf") : strncmp(m, "image/", 6))
    return anth_bad(x->e, pm, "Input should be %s", document ? "'application/pdf' (or a text source)" : "an image/… type");
  if(!json_string_length(data)) return anth_bad(x->e, pd, "the data is empty");
  return json_array_append_new(out, json_pack("{s:{s:O,s:O}}", "inlineData", "mimeType", mt, "data", data));
}

/* ---------------------------------------------------------------- blocks */

/* A thinking block's signature waits for the part that follows it in the message. */
typedef struct msg_cx {
  const char *role;
  json_t *parts;
  json_t *sig;               /* pending thoughtSignature (borrowed from the request) */
  bool any_call;             /* a functionCall part is in this message already */
} msg_cx;

static int push_part(msg_cx *m, json_t *part)
{
  if(!part) return -1;
  if(m->sig) {
    json_object_set(part, "thoughtSignature", m->sig);
    m->sig = NULL;
  }
  return json_array_append_new(m->parts, part);
}

static int text_block(req_cx *x, const char *base, const json_t *b, msg_cx *m)
{
  static const char *const keys[] = { "type", "text", "cache_control", "citations", NULL };
  char pt[144], pc[144];
  anth_fmt(pt, sizeof pt, "%s.text", base);
  anth_fmt(pc, sizeof pc, "%s.citations", base);
  if(only_keys(x, base, b, keys)) return -1;
  json_t *t = json_object_get(b, "text"), *cit = anth_opt(b, "citations");
  if(want_string(x, pt, t)) return -1;
  if(cit && (!json_is_array(cit) || json_array_size(cit)))
    return anth_bad(x->e, pc, "citations are not supported by this gateway");
  if(!json_string_length(t) && !m->sig) return 0;
  return push_part(m, json_pack("{s:O}", "text", t));
}

static int tool_use_block(req_cx *x, const char *base, const json_t *b, msg_cx *m)
{
  static const char *const keys[] = { "type", "id", "name", "input", "cache_control", NULL };
  char pi[144], pn[144], pin[144];
  anth_fmt(pi, sizeof pi, "%s.id", base);
  anth_fmt(pn, sizeof pn, "%s.name", base);
  anth_fmt(pin, sizeof pin, "%s.input", base);
  if(only_keys(x, base, b, keys)) return -1;
  json_t *id = anth_opt(b, "id"), *name = anth_opt(b, "name"), *input = anth_opt(b, "input");
  if(want_string(x, pi, id) || want_string(x, pn, name)) return -1;
  if(!json_string_length(name)) return anth_bad(x->e, pn, "String should have at least 1 character");
  if(input && !json_is_object(input)) return anth_bad(x->e, pin, "Input should be an object, not %s", anth_jtype(input));
  json_t *args = input ? json_incref(input) : json_object();
  json_t *part = json_pack("{s:{s:O,s:o}}", "functionCall", "name", name, "args", args);
  if(!part) return -1;
  /* Google's documented escape for a history it did not sign (gemini-3 insists on one). */
  if(!m->sig && !m->any_call && x->gemini3)
    json_object_set_new(part, "thoughtSignature", json_string("skip_thought_signature_validator"));
  m->any_call = true;
  json_object_set(x->calls, json_string_value(id), name);
  return push_part(m, part);
}

static int thinking_block(req_cx *x, const char *base, const json_t *b, msg_cx *m, bool redacted)
{
  static const char *const keys[] = { "type", "thinking", "signature", NULL };
  static const char *const rkeys[] = { "type", "data", NULL };
  char ps[144];
  anth_fmt(ps, sizeof ps, "%s.%s", base, redacted ? "data" : "signature");
  if(only_keys(x, base, b, redacted ? rkeys : keys)) return -1;
  json_t *sig = anth_opt(b, redacted ? "data" : "signature");
  if(sig && !json_is_string(sig)) return anth_bad(x->e, ps, "Input should be a valid string, not %s", anth_jtype(sig));
  /* The thought text itself is Gemini's summary: it is not sent back, its signature is. */
  if(json_string_length(sig)) m->sig = sig;
  return 0;
}

/* A tool result's content (string or text/image blocks): text for the response, images as parts. */
static int tool_result_block(req_cx *x, const char *base, const json_t *b, msg_cx *m)
{
  static const char *const keys[] = { "type", "tool_use_id", "content", "is_error", "cache_control", NULL };
  char pi[144], pc[144], pe[144];
  anth_fmt(pi, sizeof pi, "%s.tool_use_id", base);
  anth_fmt(pc, sizeof pc, "%s.content", base);
  anth_fmt(pe, sizeof pe, "%s.is_error", base);
  if(only_keys(x, base, b, keys)) return -1;
  json_t *id = anth_opt(b, "tool_use_id"), *content = anth_opt(b, "content"), *ie = anth_opt(b, "is_error");
  bool is_error = false;
  if(want_string(x, pi, id) || (ie && anth_bool(x->e, ie, pe, &is_error))) return -1;
  json_t *name = json_object_get(x->calls, json_string_value(id));
  if(!name) return anth_bad(x->e, pi, "no earlier tool_use block has the id '%.60s'", json_string_value(id));
  dbuf text = { 0 };
  json_t *media = json_array();
  int rc = 0;
  if(json_is_string(content)) rc = dbuf_add(&text, json_string_value(content), json_string_length(content));
  else if(json_is_array(content)) {
    size_t j;
    json_t *c;
    json_array_foreach(content, j, c) {
      char pb[160], pbt[176];
      anth_fmt(pb, sizeof pb, "%s.%zu", pc, j);
      anth_fmt(pbt, sizeof pbt, "%s.type", pb);
      const char *t = json_string_value(json_object_get(c, "type"));
      if(!json_is_object(c) || !t) { rc = anth_bad(x->e, pbt, "Field required"); break; }
      if(!strcmp(t, "text")) {
        static const char *const tk[] = { "type", "text", "cache_control", "citations", NULL };
        json_t *tt = json_object_get(c, "text");
        char ptt[176];
        anth_fmt(ptt, sizeof ptt, "%s.text", pb);
        if((rc = only_keys(x, pb, c, tk)) || (rc = want_string(x, ptt, tt))) break;
        if(text.n && (rc = DBUF_LIT(&text, "\n"))) break;
        if((rc = dbuf_add(&text, json_string_value(tt), json_string_length(tt)))) break;
      } else if(!strcmp(t, "image")) {
        static const char *const ik[] = { "type", "source", "cache_control", NULL };
        if((rc = only_keys(x, pb, c, ik)) || (rc = media_source(x, pb, c, false, media))) break;
      } else { rc = anth_bad(x->e, pbt, "Input should be 'text' or 'image'"); break; }
    }
  } else if(content) rc = anth_bad(x->e, pc, "Input should be a string or a list of blocks, not %s", anth_jtype(content));
  if(!rc) {
    /* The text as JSON when it is JSON (tools often answer JSON), else as a string. */
    json_t *v = text.n ? json_loadb(text.p, text.n, JSON_DECODE_ANY, NULL) : NULL;
    if(!v) v = json_stringn(text.p ? text.p : "", text.n);
    json_t *resp = json_pack("{s:o}", is_error ? "error" : "content", v ? v : json_string(""));
    rc = push_part(m, json_pack("{s:{s:O,s:o}}", "functionResponse", "name", name, "response", resp));
    if(!rc) rc = json_array_extend(m->parts, media);
  }
  dbuf_free(&text);
  json_decref(media);
  return rc;
}

static int one_block(req_cx *x, const char *base, const json_t *b, msg_cx *m)
{
  char pt[144];
  anth_fmt(pt, sizeof pt, "%s.type", base);
  if(!json_is_object(b)) return anth_bad(x->e, base, "Input should be an object, not %s", anth_jtype(b));
  json_t *type = anth_opt(b, "type");
  if(want_string(x, pt, type)) return -1;
  const char *t = json_string_value(type);
  bool user = !strcmp(m->role, "user"), assistant = !user;
  if(!strcmp(t, "text")) return text_block(x, base, b, m);
  if(user && (!strcmp(t, "image") || !strcmp(t, "document"))) {
    static const char *const ik[] = { "type", "source", "cache_control", NULL };
    json_t *tmp = json_array();
    int rc = only_keys(x, base, b, ik) || media_source(x, base, b, !strcmp(t, "document"), tmp) ? -1 : 0;
    size_t j;
    json_t *p;
    json_array_foreach(tmp, j, p)
      if(!rc) rc = push_part(m, json_incref(p));
    json_decref(tmp);
    return rc;
  }
  if(user && !strcmp(t, "tool_result")) return tool_result_block(x, base, b, m);
  if(assistant && !strcmp(t, "tool_use")) return tool_use_block(x, base, b, m);
  if(assistant && (!strcmp(t, "thinking") || !strcmp(t, "redacted_thinking")))
    return thinking_block(x, base, b, m, t[0] == 'r');
  return anth_bad(x->e, pt, "'%.40s' blocks are not supported in %s messages by this gateway (%s)", t, m->role,
                  user ? "text, image, document, tool_result" : "text, tool_use, thinking, redacted_thinking");
}

static int content_of(req_cx *x, const char *base, const json_t *content, msg_cx *m)
{
  if(json_is_string(content)) {
    if(!json_string_length(content)) return 0;
    return push_part(m, json_pack("{s:O}", "text", content));
  }
  if(!json_is_array(content))
    return anth_bad(x->e, base, "Input should be a string or a list of blocks, not %s", anth_jtype(content));
  size_t j;
  json_t *b;
  json_array_foreach(content, j, b) {
    char pb[144];
    anth_fmt(pb, sizeof pb, "%s.%zu", base, j);
    if(one_block(x, pb, b, m)) return -1;
  }
  return 0;
}

static int message(req_cx *x, size_t i, const json_t *msg)
{
  static const char *const keys[] = { "role", "content", NULL };
  char pm[48], pr[64], pc[64];
  anth_fmt(pm, sizeof pm, "messages.%zu", i);
  anth_fmt(pr, sizeof pr, "%s.role", pm);
  anth_fmt(pc, sizeof pc, "%s.content", pm);
  if(!json_is_object(msg)) return anth_bad(x->e, pm, "Input should be an object, not %s", anth_jtype(msg));
  if(only_keys(x, pm, msg, keys)) return -1;
  json_t *role = anth_opt(msg, "role"), *content = anth_opt(msg, "content");
  if(want_string(x, pr, role)) return -1;
  if(!content) return anth_bad(x->e, pc, "Field required");
  const char *r = json_string_value(role);
  if(strcmp(r, "user") && strcmp(r, "assistant"))
    return anth_bad(x->e, pr, "Input should be 'user' or 'assistant'");
  msg_cx m = { .role = r, .parts = json_array() };
  int rc = m.parts ? content_of(x, pc, content, &m) : -1;
  /* A signature with nothing after it rode on an empty text part: give it one back. */
  if(!rc && m.sig) rc = push_part(&m, json_pack("{s:s}", "text", ""));
  if(!rc) rc = put_parts(x, !strcmp(r, "user") ? "user" : "model", m.parts);
  json_decref(m.parts);
  return rc;
}

static int messages(req_cx *x, const json_t *msgs)
{
  if(!msgs) return anth_bad(x->e, "messages", "Field required");
  if(!json_is_array(msgs)) return anth_bad(x->e, "messages", "Input should be a list, not %s", anth_jtype(msgs));
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m)
    if(message(x, i, m)) return -1;
  if(!json_array_size(x->contents)) return anth_bad(x->e, "messages", "at least one message with content is required");
  return 0;
}

static int system_prompt(req_cx *x, const json_t *v)
{
  if(!v) return 0;
  if(json_is_string(v)) {
    if(json_string_length(v)) json_array_append_new(x->sys, json_pack("{s:O}", "text", v));
    return 0;
  }
  if(!json_is_array(v)) return anth_bad(x->e, "system", "Input should be a string or a list of text blocks, not %s", anth_jtype(v));
  size_t j;
  json_t *b;
  json_array_foreach(v, j, b) {
    static const char *const keys[] = { "type", "text", "cache_control", "citations", NULL };
    char pb[48], pt[64], pty[64];
    anth_fmt(pb, sizeof pb, "system.%zu", j);
    anth_fmt(pt, sizeof pt, "%s.text", pb);
    anth_fmt(pty, sizeof pty, "%s.type", pb);
    if(!json_is_object(b)) return anth_bad(x->e, pb, "Input should be an object, not %s", anth_jtype(b));
    if(only_keys(x, pb, b, keys)) return -1;
    const char *t = json_string_value(json_object_get(b, "type"));
    if(!t || strcmp(t, "text")) return anth_bad(x->e, pty, "Input should be 'text'");
    json_t *text = json_object_get(b, "text");
    if(want_string(x, pt, text)) return -1;
    if(json_string_length(text)) json_array_append_new(x->sys, json_pack("{s:O}", "text", text));
  }
  return 0;
}

/* ---------------------------------------------------------------- tools */

static bool name_ok(const char *s)
{
  size_t n = strlen(s);
  if(!n || n > 128) return false;
  for(size_t i = 0; i < n; i++)
    if(!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' && s[i] != ':') return false;
  return true;
}

static int one_tool(req_cx *x, size_t j, const json_t *t, json_t *decls, bool *search)
{
  static const char *const keys[] = { "type", "name", "description", "input_schema", "cache_control", NULL };
  static const char *const skeys[] = { "type", "name", "max_uses", "cache_control", NULL };
  char pb[32], pty[48], pn[48], pd[56], ps[64];
  anth_fmt(pb, sizeof pb, "tools.%zu", j);
  anth_fmt(pty, sizeof pty, "%s.type", pb);
  anth_fmt(pn, sizeof pn, "%s.name", pb);
  anth_fmt(pd, sizeof pd, "%s.description", pb);
  anth_fmt(ps, sizeof ps, "%s.input_schema", pb);
  if(!json_is_object(t)) return anth_bad(x->e, pb, "Input should be an object, not %s", anth_jtype(t));
  json_t *type = anth_opt(t, "type");
  if(type && !json_is_string(type)) return anth_bad(x->e, pty, "Input should be a valid string");
  const char *ty = type ? json_string_value(type) : "custom";
  if(!strncmp(ty, "web_search_", 11)) {      /* Anthropic's server tool ≈ Google Search grounding */
    if(only_keys(x, pb, t, skeys)) return -1;
    *search = true;
    return 0;
  }
  if(strcmp(ty, "custom"))
    return anth_bad(x->e, pty, "'%.40s' tools are not supported by this gateway (custom tools and web_search)", ty);
  if(only_keys(x, pb, t, keys)) return -1;
  json_t *name = anth_opt(t, "name"), *desc = anth_opt(t, "description"), *schema = anth_opt(t, "input_schema");
  if(want_string(x, pn, name)) return -1;
  if(!name_ok(json_string_value(name)))
    return anth_bad(x->e, pn, "String should match pattern '^[a-zA-Z0-9_.:-]{1,128}$'");
  if(desc && !json_is_string(desc)) return anth_bad(x->e, pd, "Input should be a valid string");
  if(!schema) return anth_bad(x->e, ps, "Field required");
  if(!json_is_object(schema)) return anth_bad(x->e, ps, "Input should be an object, not %s", anth_jtype(schema));
  json_t *d = json_pack("{s:O}", "name", name);
  if(desc) json_object_set(d, "description", desc);
  json_t *copy = json_deep_copy(schema);
  json_object_del(copy, "$schema");          /* a dialect marker, not part of the schema */
  json_object_set_new(d, "parametersJsonSchema", copy);
  return json_array_append_new(decls, d);
}

static bool declared(const json_t *decls, const char *name)
{
  size_t i;
  json_t *d;
  json_array_foreach(decls, i, d)
    if(!strcmp(json_string_value(json_object_get(d, "name")), name)) return true;
  return false;
}

static int tool_choice(req_cx *x, const json_t *tc, const json_t *decls, json_t *body)
{
  static const char *const keys[] = { "type", "name", "disable_parallel_tool_use", NULL };
  if(!json_is_object(tc)) return anth_bad(x->e, "tool_choice", "Input should be an object, not %s", anth_jtype(tc));
  if(only_keys(x, "tool_choice", tc, keys)) return -1;
  json_t *type = anth_opt(tc, "type"), *dp = anth_opt(tc, "disable_parallel_tool_use");
  if(want_string(x, "tool_choice.type", type)) return -1;
  bool single = false;
  if(dp && anth_bool(x->e, dp, "tool_choice.disable_parallel_tool_use", &single)) return -1;
  if(single) return anth_bad(x->e, "tool_choice.disable_parallel_tool_use", "Gemini decides how many tools it calls: only false is supported");
  const char *t = json_string_value(type), *mode, *name = NULL;
  if(!strcmp(t, "auto")) mode = "AUTO";
  else if(!strcmp(t, "any")) mode = "ANY";
  else if(!strcmp(t, "none")) mode = "NONE";
  else if(!strcmp(t, "tool")) {
    json_t *n = anth_opt(tc, "name");
    if(want_string(x, "tool_choice.name", n)) return -1;
    name = json_string_value(n);
    if(!declared(decls, name)) return anth_bad(x->e, "tool_choice.name", "no tool is named '%.60s'", name);
    mode = "ANY";
  } else return anth_bad(x->e, "tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
  if(!json_array_size(decls)) return 0;      /* nothing to choose from: Gemini wants no config */
  json_t *fcc = json_pack("{s:s}", "mode", mode);
  if(name) json_object_set_new(fcc, "allowedFunctionNames", json_pack("[s]", name));
  return json_object_set_new(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
}

static int tools(req_cx *x, const json_t *req, json_t *body)
{
  json_t *v = anth_opt(req, "tools"), *decls = json_array();
  bool search = false;
  int rc = 0;
  if(v && !json_is_array(v)) rc = anth_bad(x->e, "tools", "Input should be a list, not %s", anth_jtype(v));
  size_t j;
  json_t *t;
  json_array_foreach(v, j, t)
    if(!rc) rc = one_tool(x, j, t, decls, &search);
  json_t *tc = anth_opt(req, "tool_choice");
  if(!rc && tc) rc = tool_choice(x, tc, decls, body);
  if(!rc && (json_array_size(decls) || search)) {
    json_t *list = json_array();
    if(json_array_size(decls)) json_array_append_new(list, json_pack("{s:O}", "functionDeclarations", decls));
    if(search) json_array_append_new(list, json_pack("{s:{}}", "googleSearch"));
    json_object_set_new(body, "tools", list);
  }
  json_decref(decls);
  return rc;
}

/* ---------------------------------------------------------------- parameters */

static int thinking(req_cx *x, const json_t *th, json_t *gc)
{
  static const char *const keys[] = { "type", "budget_tokens", "display", NULL };
  if(!json_is_object(th)) return anth_bad(x->e, "thinking", "Input should be an object, not %s", anth_jtype(th));
  if(only_keys(x, "thinking", th, keys)) return -1;
  json_t *type = anth_opt(th, "type"), *budget = anth_opt(th, "budget_tokens"), *disp = anth_opt(th, "display");
  if(want_string(x, "thinking.type", type)) return -1;
  const char *t = json_string_value(type);
  bool show = true;
  if(disp) {
    if(want_string(x, "thinking.display", disp)) return -1;
    const char *d = json_string_value(disp);
    if(strcmp(d, "summarized") && strcmp(d, "omitted"))
      return anth_bad(x->e, "thinking.display", "Input should be 'summarized' or 'omitted'");
    show = !strcmp(d, "summarized");
  }
  int64_t b = -1;
  if(!strcmp(t, "disabled")) return 0;       /* the model's own default; no thoughts shown */
  if(!strcmp(t, "enabled")) {
    if(!budget) return anth_bad(x->e, "thinking.budget_tokens", "Field required");
    if(anth_int_in(x->e, budget, "thinking.budget_tokens", 1, INT32_MAX, &b)) return -1;
    if(b > 32768) b = 32768;                 /* Gemini's largest budget: the request's is a ceiling */
  } else if(strcmp(t, "adaptive")) return anth_bad(x->e, "thinking.type", "Input should be 'enabled', 'adaptive' or 'disabled'");
  json_t *cfg = json_pack("{s:I}", "thinkingBudget", (json_int_t)b);
  if(show) json_object_set_new(cfg, "includeThoughts", json_true());
  return json_object_set_new(gc, "thinkingConfig", cfg);
}

static int stops(req_cx *x, json_t *v, json_t *gc)
{
  if(!json_is_array(v)) return anth_bad(x->e, "stop_sequences", "Input should be a list, not %s", anth_jtype(v));
  if(json_array_size(v) > 5) return anth_bad(x->e, "stop_sequences", "Gemini accepts at most 5 stop sequences");
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) {
    char p[32];
    anth_fmt(p, sizeof p, "stop_sequences.%zu", i);
    if(want_string(x, p, s)) return -1;
  }
  if(json_array_size(v)) json_object_set(gc, "stopSequences", v);
  return 0;
}

static int params(req_cx *x, const json_t *req, json_t *gc)
{
  json_t *v;
  int64_t k;
  if(!x->count) {
    if(!(v = anth_opt(req, "max_tokens"))) return anth_bad(x->e, "max_tokens", "Field required");
    if(anth_int_in(x->e, v, "max_tokens", 1, INT32_MAX, &k)) return -1;
    json_object_set_new(gc, "maxOutputTokens", json_integer(k));
    if((v = anth_opt(req, "stream")) && anth_bool(x->e, v, "stream", &x->q->stream)) return -1;
  }
  if((v = anth_opt(req, "temperature"))) {
    if(anth_number_in(x->e, v, "temperature", 0, 1)) return -1;
    json_object_set(gc, "temperature", v);
  }
  if((v = anth_opt(req, "top_p"))) {
    if(anth_number_in(x->e, v, "top_p", 0, 1)) return -1;
    json_object_set(gc, "topP", v);
  }
  if((v = anth_opt(req, "top_k"))) {
    if(anth_int_in(x->e, v, "top_k", 1, INT32_MAX, &k)) return -1;
    json_object_set_new(gc, "topK", json_integer(k));
  }
  if((v = anth_opt(req, "stop_sequences")) && stops(x, v, gc)) return -1;
  if((v = anth_opt(req, "thinking")) && thinking(x, v, gc)) return -1;
  /* Accepted without effect (docs/dialects.md): metadata.user_id names the end user for
   * Anthropic's abuse checks, service_tier picks Anthropic capacity; neither exists upstream. */
  if((v = anth_opt(req, "metadata"))) {
    static const char *const mk[] = { "user_id", NULL };
    if(!json_is_object(v)) return anth_bad(x->e, "metadata", "Input should be an object");
    if(only_keys(x, "metadata", v, mk)) return -1;
  }
  if((v = anth_opt(req, "service_tier")) && want_string(x, "service_tier", v)) return -1;
  return 0;
}

/* ---------------------------------------------------------------- assembly */

static bool model_ok(const char *s, size_t n)
{
  if(!n || n > 128) return false;
  for(size_t i = 0; i < n; i++)
    if(!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') return false;
  return true;
}

static int model(req_cx *x, const json_t *req, const model_aliases *al)
{
  json_t *v = anth_opt(req, "model");
  if(want_string(x, "model", v)) return -1;
  const char *name = json_string_value(v);
  if(!model_ok(name, json_string_length(v)))
    return anth_bad(x->e, "model", "invalid model name '%.80s': use letters, digits, '.', '_' and '-'", name);
  const char *to = aliases_resolve(al, name);
  if(!strncmp(to, "models/", 7)) to += 7;
  x->q->client_model = strdup(name);
  x->q->model = strdup(to);
  x->gemini3 = !strncmp(to, "gemini-3", 8);
  return x->q->model && x->q->client_model ? 0 : -1;
}

static int translate(req_cx *x, const json_t *req, const model_aliases *al, json_t *body, json_t *gc)
{
  static const char *const keys[] = { "model", "max_tokens", "messages", "system", "stop_sequences", "temperature",
                                      "top_p", "top_k", "stream", "tools", "tool_choice", "thinking", "metadata",
                                      "service_tier", NULL };
  static const char *const count_keys[] = { "model", "messages", "system", "tools", "tool_choice", "thinking", NULL };
  if(only_keys(x, "", req, x->count ? count_keys : keys) || model(x, req, al) ||
     messages(x, anth_opt(req, "messages")) || system_prompt(x, anth_opt(req, "system")) ||
     tools(x, req, body) || params(x, req, gc))
    return -1;
  json_object_set(body, "contents", x->contents);
  if(json_array_size(x->sys)) json_object_set_new(body, "systemInstruction", json_pack("{s:O}", "parts", x->sys));
  if(x->count) {
    /* countTokens takes the whole request under generateContentRequest, model included. */
    char m[160];
    anth_fmt(m, sizeof m, "models/%s", x->q->model);
    json_object_set_new(body, "model", json_string(m));
    x->q->body = json_pack("{s:O}", "generateContentRequest", body);
  } else {
    if(json_object_size(gc)) json_object_set(body, "generationConfig", gc);
    x->q->body = json_incref(body);
  }
  return x->q->body ? 0 : -1;
}

int anth_parse(const char *p, size_t n, const model_aliases *al, bool count, anth_req *q, anth_error *e)
{
  memset(q, 0, sizeof *q);
  anth_error_set(e, 500, NULL, "The gateway could not translate the request.");
  json_error_t je;
  json_t *req = n ? json_loadb(p, n, 0, &je) : NULL;
  if(!req) {
    if(n) anth_error_set(e, 400, NULL, "The request body is not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    else anth_error_set(e, 400, NULL, "The request body is empty; expected a JSON object.");
    return -1;
  }
  if(!json_is_object(req)) {
    json_decref(req);
    anth_error_set(e, 400, NULL, "The request body must be a JSON object.");
    return -1;
  }
  req_cx x = { .q = q, .e = e, .count = count, .contents = json_array(), .sys = json_array(), .calls = json_object() };
  json_t *body = json_object(), *gc = json_object();
  int rc = x.contents && x.sys && x.calls && body && gc ? translate(&x, req, al, body, gc) : -1;
  json_decref(body);
  json_decref(gc);
  json_decref(x.contents);
  json_decref(x.sys);
  json_decref(x.calls);
  json_decref(req);
  if(rc) anth_req_free(q);
  return rc;
}

void anth_req_free(anth_req *q)
{
  for(size_t i = 0; i < q->nfetch; i++) free(q->fetch[i].url);
  free(q->fetch);
  free(q->model);
  free(q->client_model);
  json_decref(q->body);
  memset(q, 0, sizeof *q);
}

/* ---------------------------------------------------------------- fetched images */

static const char *sniff(const unsigned char *d, size_t n)
{
  if(n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if(n >= 3 && !memcmp(d, "\xff\xd8\xff", 3)) return "image/jpeg";
  if(n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "image/gif";
  if(n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "image/webp";
  if(n >= 5 && !memcmp(d, "%PDF-", 5)) return "application/pdf";
  return NULL;
}

int anth_fetch_fill(const anth_fetch *f, const char *content_type, const void *data, size_t len, anth_error *e)
{
  char mime[64] = "";
  const char *m = sniff(data, len);
  if(!m && content_type) {
    size_t k = 0;
    while(content_type[k] && content_type[k] != ';' && content_type[k] != ' ' && k + 1 < sizeof mime) {
      mime[k] = (char)tolower((unsigned char)content_type[k]);
      k++;
    }
    mime[k] = '\0';
    if(k > 6 && !strncmp(mime, "image/", 6)) m = mime;
  }
  if(!m || !len) return anth_bad(e, f->param, "the URL did not return an image");
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t on = (len + 2) / 3 * 4;
  char *o = malloc(on + 1);
  if(!o) { anth_error_set(e, 500, NULL, "out of memory"); return -1; }
  const unsigned char *s = data;
  size_t i = 0, k = 0;
  for(; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    o[k++] = A[v >> 18]; o[k++] = A[(v >> 12) & 63]; o[k++] = A[(v >> 6) & 63]; o[k++] = A[v & 63];
  }
  if(i < len) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);
    o[k++] = A[v >> 18]; o[k++] = A[(v >> 12) & 63];
    o[k++] = i + 1 < len ? A[(v >> 6) & 63] : '=';
    o[k++] = '=';
  }
  json_t *inl = json_pack("{s:s,s:s%}", "mimeType", m, "data", o, k);
  free(o);
  if(!inl || json_object_set_new(f->part, "inlineData", inl)) { anth_error_set(e, 500, NULL, "out of memory"); return -1; }
  return 0;
}
