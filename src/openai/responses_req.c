/* responses_req — a Responses API request → a Gemini generateContent request.
 *
 * input (a string, or items: messages, function_call, function_call_output, reasoning) →
 * contents, same-role turns merged; system/developer messages and instructions →
 * systemInstruction; a reasoning item's encrypted_content → the thoughtSignature of the next
 * model part; tools (function, web_search) → functionDeclarations (schemas cleaned as for chat
 * completions) and googleSearch; text.format → responseMimeType/responseSchema; reasoning →
 * thinkingConfig.  Anything the gateway cannot honour is refused naming the field. */
#include "openai/openai_internal.h"
#include "openai/responses.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct rq_cx {
  oai_rreq *q;
  oai_error *e;
  const oai_settings *set;
  char sfx[64];                /* the response id less its "resp_" prefix */
  bool gemini3;
  size_t fetch_cap;
  json_t *sig;                 /* a reasoning item's signature waiting for the next model part */
  bool turn_has_call;          /* the current model turn has a functionCall */
} rq_cx;

static int only_keys(rq_cx *x, const char *base, const json_t *o, const char *const *allow)
{
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    bool ok = false;
    for(size_t i = 0; allow[i] && !ok; i++) ok = !strcmp(k, allow[i]);
    if(!ok) {
      char p[160];
      oai_fmt(p, sizeof p, "%s%s%s", base, *base ? "." : "", k);
      oai_error_set(x->e, 400, NULL, "unsupported_parameter", p,
                    "Unsupported parameter: '%s'. This gateway cannot honour it with Gemini.", p);
      return -1;
    }
  }
  return 0;
}

static int want_string(rq_cx *x, const char *param, const json_t *v)
{
  if(!v) return oai_bad_missing(x->e, param);
  return json_is_string(v) ? 0 : oai_bad_type(x->e, param, v, "a string");
}

/* ---------------------------------------------------------------- turns */

static int put_parts(rq_cx *x, const char *role, json_t *parts)
{
  if(!json_array_size(parts)) return 0;
  json_t *turns = x->q->turns;
  size_t n = json_array_size(turns);
  json_t *last = n ? json_array_get(turns, n - 1) : NULL;
  if(!last || strcmp(json_string_value(json_object_get(last, "role")), role)) {
    last = json_pack("{s:s,s:[]}", "role", role, "parts");
    if(json_array_append_new(turns, last)) return -1;
  }
  return json_array_extend(json_object_get(last, "parts"), parts);
}

/* A model part: a waiting signature goes on it; gemini-3 wants one on a turn's first call. */
static int model_part(rq_cx *x, json_t *part)
{
  if(!part) return -1;
  size_t n = json_array_size(x->q->turns);
  json_t *last = n ? json_array_get(x->q->turns, n - 1) : NULL;
  if(!last || strcmp(json_string_value(json_object_get(last, "role")), "model")) x->turn_has_call = false;
  bool call = json_object_get(part, "functionCall") != NULL;
  if(x->sig) {
    json_object_set(part, "thoughtSignature", x->sig);
    x->sig = NULL;
  } else if(call && !x->turn_has_call && x->gemini3)
    json_object_set_new(part, "thoughtSignature", json_string("skip_thought_signature_validator"));
  if(call) x->turn_has_call = true;
  json_t *parts = json_pack("[o]", part);
  int rc = parts ? put_parts(x, "model", parts) : -1;
  json_decref(parts);
  return rc;
}

/* A signature nothing followed rode on an empty text part: give it one back. */
static int flush_sig(rq_cx *x)
{
  return x->sig ? model_part(x, json_pack("{s:s}", "text", "")) : 0;
}

static int user_parts(rq_cx *x, json_t *parts)
{
  return flush_sig(x) || put_parts(x, "user", parts) ? -1 : 0;
}

/* ---------------------------------------------------------------- content parts */

/* "data:<mime>[;…];base64,<payload>" → mime, data. */
static bool data_url(const char *u, size_t n, str *mime, str *data)
{
  if(n < 5 || strncasecmp(u, "data:", 5)) return false;
  const char *comma = memchr(u, ',', n);
  if(!comma) return false;
  str head = { u + 5, (size_t)(comma - u - 5) };
  if(head.n < 7 || strncasecmp(head.p + head.n - 7, ";base64", 7)) return false;
  const char *semi = memchr(head.p, ';', head.n);
  *mime = (str){ head.p, (size_t)(semi - head.p) };
  *data = (str){ comma + 1, n - (size_t)(comma + 1 - u) };
  return mime->n && data->n;
}

static json_t *inline_data(str mime, str data)
{
  return json_pack("{s:{s:s%,s:s%}}", "inlineData", "mimeType", mime.p, mime.n, "data", data.p, data.n);
}

static int add_fetch(rq_cx *x, const char *param, const json_t *url, json_t *out)
{
  oai_rreq *q = x->q;
  if(q->nfetch == OAI_MAX_FETCHES) return oai_bad_value(x->e, param, "Too many image URLs: at most %d per request.", OAI_MAX_FETCHES);
  if(q->nfetch == x->fetch_cap) {
    size_t cap = x->fetch_cap ? x->fetch_cap * 2 : 4;
    oai_fetch *f = realloc(q->fetch, cap * sizeof *f);
    if(!f) return -1;
    q->fetch = f;
    x->fetch_cap = cap;
  }
  oai_fetch *f = &q->fetch[q->nfetch];
  memset(f, 0, sizeof *f);
  f->part = json_object();
  if(!f->part || !(f->url = strdup(json_string_value(url)))) { json_decref(f->part); return -1; }
  oai_fmt(f->param, sizeof f->param, "%s", param);
  q->nfetch++;
  return json_array_append_new(out, f->part);
}

static int image_part(rq_cx *x, const char *base, const json_t *p, json_t *out)
{
  static const char *const keys[] = { "type", "image_url", "detail", "file_id", NULL };
  char pu[160];
  oai_fmt(pu, sizeof pu, "%s.image_url", base);
  if(only_keys(x, base, p, keys)) return -1;
  if(oai_opt(p, "file_id")) return oai_bad_value(x->e, pu, "Invalid '%s': file_id is not supported; send the image as a URL.", pu);
  json_t *url = oai_opt(p, "image_url"), *detail = oai_opt(p, "detail");
  if(want_string(x, pu, url)) return -1;
  if(detail && !json_is_string(detail)) {   /* a resolution hint: Gemini picks its own */
    char pd[160];
    oai_fmt(pd, sizeof pd, "%s.detail", base);
    return oai_bad_type(x->e, pd, detail, "a string");
  }
  const char *u = json_string_value(url);
  str mime, data;
  if(data_url(u, json_string_length(url), &mime, &data)) return json_array_append_new(out, inline_data(mime, data));
  if(!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) return add_fetch(x, pu, url, out);
  return oai_bad_value(x->e, pu, "Invalid '%s': expected a base64 data: URL or an http(s) URL.", pu);
}

static int file_part(rq_cx *x, const char *base, const json_t *p, json_t *out)
{
  static const char *const keys[] = { "type", "file_data", "filename", "file_id", NULL };
  char pd[160];
  oai_fmt(pd, sizeof pd, "%s.file_data", base);
  if(only_keys(x, base, p, keys)) return -1;
  if(oai_opt(p, "file_id")) return oai_bad_value(x->e, pd, "Invalid '%s': file_id is not supported; send the file as file_data.", pd);
  json_t *data = oai_opt(p, "file_data");
  if(want_string(x, pd, data)) return -1;
  str mime, d;
  if(data_url(json_string_value(data), json_string_length(data), &mime, &d)) return json_array_append_new(out, inline_data(mime, d));
  if(!json_string_length(data)) return oai_bad_value(x->e, pd, "Invalid '%s': the file is empty.", pd);
  return json_array_append_new(out, inline_data(STR("application/pdf"), (str){ json_string_value(data), json_string_length(data) }));
}

static int text_of(rq_cx *x, const char *base, const json_t *p, const char *key, const char *const *keys, json_t *out)
{
  char pt[160];
  oai_fmt(pt, sizeof pt, "%s.%s", base, key);
  if(only_keys(x, base, p, keys)) return -1;
  json_t *t = oai_opt(p, key);
  if(want_string(x, pt, t)) return -1;
  if(!json_string_length(t)) return 0;
  return json_array_append_new(out, json_pack("{s:O}", "text", t));
}

enum { USER_PARTS, SYSTEM_PARTS, ASSISTANT_PARTS };

static int one_part(rq_cx *x, const char *base, const json_t *p, int kind, json_t *out)
{
  static const char *const tk[] = { "type", "text", NULL };
  static const char *const ok[] = { "type", "text", "annotations", "logprobs", NULL };
  static const char *const rk[] = { "type", "refusal", NULL };
  char pt[160];
  oai_fmt(pt, sizeof pt, "%s.type", base);
  if(!json_is_object(p)) return oai_bad_type(x->e, base, p, "an object");
  json_t *type = oai_opt(p, "type");
  if(want_string(x, pt, type)) return -1;
  const char *t = json_string_value(type);
  if(kind == ASSISTANT_PARTS) {
    if(!strcmp(t, "output_text") || !strcmp(t, "input_text")) return text_of(x, base, p, "text", ok, out);
    if(!strcmp(t, "refusal")) return text_of(x, base, p, "refusal", rk, out);
    return oai_bad_value(x->e, pt, "Invalid value for '%s': '%.40s'. Assistant messages take 'output_text' and 'refusal'.", pt, t);
  }
  if(!strcmp(t, "input_text")) return text_of(x, base, p, "text", tk, out);
  if(kind == USER_PARTS && !strcmp(t, "input_image")) return image_part(x, base, p, out);
  if(kind == USER_PARTS && !strcmp(t, "input_file")) return file_part(x, base, p, out);
  return oai_bad_value(x->e, pt, "Invalid value for '%s': '%.40s'. Supported values are: 'input_text'%s.", pt, t,
                       kind == USER_PARTS ? ", 'input_image' and 'input_file'" : "");
}

/* A message's content (string or parts) → Gemini parts; *norm (for the stored item) gets the
 * parts as OpenAI lists them. */
static int content_parts(rq_cx *x, const char *base, const json_t *content, int kind, json_t *out, json_t **norm)
{
  if(json_is_string(content)) {
    *norm = json_pack("[{s:s,s:O}]", "type", kind == ASSISTANT_PARTS ? "output_text" : "input_text", "text", content);
    if(!json_string_length(content)) return 0;
    return json_array_append_new(out, json_pack("{s:O}", "text", content));
  }
  if(!json_is_array(content)) return oai_bad_type(x->e, base, content, "a string or an array of content parts");
  *norm = json_incref((json_t *)content);
  size_t j;
  json_t *p;
  json_array_foreach(content, j, p) {
    char pb[160];
    oai_fmt(pb, sizeof pb, "%s[%zu]", base, j);
    if(one_part(x, pb, p, kind, out)) return -1;
  }
  return 0;
}

static void note_prompt(rq_cx *x, const json_t *parts)
{
  size_t j;
  json_t *p;
  json_array_foreach(parts, j, p) {
    json_t *t = json_object_get(p, "text");
    if(json_is_string(t)) {
      free(x->q->prompt);
      x->q->prompt = oai_dup_chars(json_string_value(t), json_string_length(t), OAI_PROMPT_CHARS);
      return;
    }
  }
}

/* ---------------------------------------------------------------- input items */

static int item_message(rq_cx *x, const char *base, const json_t *it, json_t *norm)
{
  static const char *const keys[] = { "type", "role", "content", "id", "status", NULL };
  char pr[96], pc[96];
  oai_fmt(pr, sizeof pr, "%s.role", base);
  oai_fmt(pc, sizeof pc, "%s.content", base);
  if(only_keys(x, base, it, keys)) return -1;
  json_t *role = oai_opt(it, "role"), *content = oai_opt(it, "content");
  if(want_string(x, pr, role)) return -1;
  if(!content) return oai_bad_missing(x->e, pc);
  const char *r = json_string_value(role);
  int kind = !strcmp(r, "user") ? USER_PARTS : !strcmp(r, "system") || !strcmp(r, "developer") ? SYSTEM_PARTS
           : !strcmp(r, "assistant") ? ASSISTANT_PARTS : -1;
  if(kind < 0)
    return oai_bad_value(x->e, pr, "Invalid value for '%s': '%.40s'. Supported values are: 'user', 'system', 'developer' and 'assistant'.", pr, r);
  json_t *parts = json_array(), *np = NULL;
  int rc = parts ? content_parts(x, pc, content, kind, parts, &np) : -1;
  if(!rc && np) json_object_set(norm, "content", np);
  json_decref(np);
  if(!rc) {
    if(kind == SYSTEM_PARTS) rc = json_array_extend(x->q->system, parts);
    else if(kind == USER_PARTS) { note_prompt(x, parts); rc = user_parts(x, parts); }
    else {
      size_t j;
      json_t *p;
      json_array_foreach(parts, j, p)
        if(!rc) rc = model_part(x, json_incref(p));
    }
  }
  json_decref(parts);
  return rc;
}

static int item_call(rq_cx *x, const char *base, const json_t *it)
{
  static const char *const keys[] = { "type", "call_id", "name", "arguments", "id", "status", NULL };
  char pc[96], pn[96], pa[96];
  oai_fmt(pc, sizeof pc, "%s.call_id", base);
  oai_fmt(pn, sizeof pn, "%s.name", base);
  oai_fmt(pa, sizeof pa, "%s.arguments", base);
  if(only_keys(x, base, it, keys)) return -1;
  json_t *cid = oai_opt(it, "call_id"), *name = oai_opt(it, "name"), *args = oai_opt(it, "arguments");
  if(want_string(x, pc, cid) || want_string(x, pn, name) || want_string(x, pa, args)) return -1;
  const char *s = json_string_value(args);
  size_t k = 0, n = json_string_length(args);
  while(k < n && isspace((unsigned char)s[k])) k++;
  json_t *a = k == n ? json_object() : json_loadb(s, n, 0, NULL);
  if(!json_is_object(a)) {
    json_decref(a);
    return oai_bad_value(x->e, pa, "Invalid '%s': expected a JSON object encoded as a string.", pa);
  }
  json_object_set(x->q->calls, json_string_value(cid), name);
  return model_part(x, json_pack("{s:{s:O,s:o}}", "functionCall", "name", name, "args", a));
}

/* A tool's output: its text, parsed as JSON when it is JSON, as Gemini's response object. */
static int item_output(rq_cx *x, const char *base, const json_t *it)
{
  static const char *const keys[] = { "type", "call_id", "output", "id", "status", NULL };
  char pc[96], po[96];
  oai_fmt(pc, sizeof pc, "%s.call_id", base);
  oai_fmt(po, sizeof po, "%s.output", base);
  if(only_keys(x, base, it, keys)) return -1;
  json_t *cid = oai_opt(it, "call_id"), *out = oai_opt(it, "output");
  if(want_string(x, pc, cid)) return -1;
  if(!out) return oai_bad_missing(x->e, po);
  oai_buf text = { 0 };
  json_t *media = json_array();
  int rc = 0;
  if(json_is_string(out)) rc = oai_buf_append(&text, json_string_value(out), json_string_length(out));
  else if(json_is_array(out)) {
    json_t *parts = json_array();
    size_t j;
    json_t *p;
    json_array_foreach(out, j, p) {
      char pb[128];
      oai_fmt(pb, sizeof pb, "%s[%zu]", po, j);
      if((rc = one_part(x, pb, p, USER_PARTS, parts))) break;
    }
    json_array_foreach(parts, j, p) {
      json_t *t = json_object_get(p, "text");
      if(rc) break;
      if(json_is_string(t)) rc = oai_buf_append(&text, json_string_value(t), json_string_length(t));
      else rc = json_array_append(media, p);
    }
    json_decref(parts);
  } else rc = oai_bad_type(x->e, po, out, "a string or an array of content parts");
  if(!rc) {
    json_t *v = text.n ? json_loadb(text.p, text.n, JSON_DECODE_ANY, NULL) : NULL;
    if(!v) v = json_stringn(text.p ? text.p : "", text.n);
    json_t *name = json_object_get(x->q->calls, json_string_value(cid));
    json_t *part = json_pack("{s:{s:s,s:{s:o}}}", "functionResponse", "name", name ? json_string_value(name) : "",
                             "response", "content", v);
    /* A call from an earlier response: named in oai_rreq_build from the stored conversation. */
    if(part && !name)
      json_array_append_new(x->q->unnamed, json_pack("{s:O,s:O,s:s}", "part", part, "call_id", cid, "param", pc));
    json_t *parts = json_pack("[o]", part);
    if(parts && json_array_extend(parts, media)) rc = -1;
    if(!rc) rc = parts ? user_parts(x, parts) : -1;
    json_decref(parts);
  }
  oai_buf_free(&text);
  json_decref(media);
  return rc;
}

/* A reasoning item: its summary was Gemini's thought text (not sent back); its
 * encrypted_content is the signature of the model part that follows. */
static int item_reasoning(rq_cx *x, const char *base, const json_t *it)
{
  static const char *const keys[] = { "type", "id", "summary", "encrypted_content", "content", "status", NULL };
  char pe[96];
  oai_fmt(pe, sizeof pe, "%s.encrypted_content", base);
  if(only_keys(x, base, it, keys)) return -1;
  json_t *enc = oai_opt(it, "encrypted_content");
  if(enc && !json_is_string(enc)) return oai_bad_type(x->e, pe, enc, "a string");
  if(json_string_length(enc)) {
    if(x->sig && flush_sig(x)) return -1;
    x->sig = enc;
  }
  return 0;
}

static int one_item(rq_cx *x, size_t i, const json_t *it)
{
  char base[48], pt[64];
  oai_fmt(base, sizeof base, "input[%zu]", i);
  oai_fmt(pt, sizeof pt, "%s.type", base);
  if(!json_is_object(it)) return oai_bad_type(x->e, base, it, "an object");
  json_t *type = oai_opt(it, "type");
  if(type && !json_is_string(type)) return oai_bad_type(x->e, pt, type, "a string");
  const char *t = type ? json_string_value(type) : "message";
  /* The item as listed back: id and type first (as OpenAI writes them), a made-up id when the
   * client sent none. */
  const char *prefix = !strcmp(t, "function_call") ? "fc" : !strcmp(t, "function_call_output") ? "fco"
                     : !strcmp(t, "reasoning") ? "rs" : "msg";
  char id[128];
  oai_fmt(id, sizeof id, "%s_%s_in%zu", prefix, x->sfx, i);
  json_t *given = json_object_get(it, "id");
  json_t *norm = json_pack("{s:s,s:s}", "id", json_is_string(given) ? json_string_value(given) : id, "type", t);
  if(!norm || json_object_update(norm, (json_t *)it)) { json_decref(norm); return -1; }
  if(!json_is_string(given)) json_object_set_new(norm, "id", json_string(id));
  int rc;
  if(!strcmp(t, "message")) rc = item_message(x, base, it, norm);
  else if(!strcmp(t, "function_call")) rc = item_call(x, base, it);
  else if(!strcmp(t, "function_call_output")) rc = item_output(x, base, it);
  else if(!strcmp(t, "reasoning")) rc = item_reasoning(x, base, it);
  else rc = oai_bad_value(x->e, pt, "Invalid value for '%s': '%.40s'. Supported values are: 'message', 'function_call', "
                          "'function_call_output' and 'reasoning'.", pt, t);
  if(!rc) rc = json_array_append(x->q->items, norm);
  json_decref(norm);
  return rc;
}

static int input(rq_cx *x, const json_t *in)
{
  if(!in) return oai_bad_missing(x->e, "input");
  if(json_is_string(in)) {
    json_t *items = json_pack("[{s:s,s:O}]", "role", "user", "content", in);
    int rc = items ? one_item(x, 0, json_array_get(items, 0)) : -1;
    json_decref(items);
    return rc;
  }
  if(!json_is_array(in)) return oai_bad_type(x->e, "input", in, "a string or an array of input items");
  size_t i;
  json_t *it;
  json_array_foreach(in, i, it)
    if(one_item(x, i, it)) return -1;
  return flush_sig(x);
}

/* ---------------------------------------------------------------- tools */

static int tools(rq_cx *x, const json_t *req, json_t *body)
{
  static const char *const fk[] = { "type", "name", "description", "parameters", "strict", NULL };
  static const char *const wk[] = { "type", "search_context_size", NULL };
  json_t *v = oai_opt(req, "tools"), *decls = json_array();
  bool search = false;
  int rc = 0;
  if(v && !json_is_array(v)) rc = oai_bad_type(x->e, "tools", v, "an array");
  size_t j;
  json_t *t;
  json_array_foreach(v, j, t) {
    char pb[32], pt[40], pn[40], pd[48], pp[48];
    oai_fmt(pb, sizeof pb, "tools[%zu]", j);
    oai_fmt(pt, sizeof pt, "%s.type", pb);
    oai_fmt(pn, sizeof pn, "%s.name", pb);
    oai_fmt(pd, sizeof pd, "%s.description", pb);
    oai_fmt(pp, sizeof pp, "%s.parameters", pb);
    if(rc) break;
    if(!json_is_object(t)) { rc = oai_bad_type(x->e, pb, t, "an object"); break; }
    json_t *type = oai_opt(t, "type");
    if((rc = want_string(x, pt, type))) break;
    const char *ty = json_string_value(type);
    if(!strcmp(ty, "web_search") || !strcmp(ty, "web_search_preview") || !strncmp(ty, "web_search_preview_", 19)) {
      if(!(rc = only_keys(x, pb, t, wk))) search = true;
      continue;
    }
    if(strcmp(ty, "function")) {
      rc = oai_bad_value(x->e, pt, "Invalid value for '%s': '%.40s'. This gateway supports 'function' and 'web_search' tools.", pt, ty);
      break;
    }
    if((rc = only_keys(x, pb, t, fk))) break;
    json_t *name = oai_opt(t, "name"), *desc = oai_opt(t, "description"), *params = oai_opt(t, "parameters"), *strict = oai_opt(t, "strict");
    bool st;
    if((rc = want_string(x, pn, name))) break;
    if(!json_string_length(name)) { rc = oai_bad_value(x->e, pn, "Invalid '%s': empty name.", pn); break; }
    if(desc && (rc = want_string(x, pd, desc))) break;
    char ps[48];
    oai_fmt(ps, sizeof ps, "%s.strict", pb);
    if(strict && (rc = oai_boolean(x->e, strict, ps, &st))) break;
    json_t *clean = params ? oai_schema_clean(params, false, pp, x->e) : NULL;
    if(params && !clean) { rc = -1; break; }
    json_t *d = json_pack("{s:O}", "name", name);
    if(desc) json_object_set(d, "description", desc);
    if(json_object_size(json_object_get(clean, "properties"))) json_object_set(d, "parameters", clean);
    json_decref(clean);
    json_array_append_new(decls, d);
  }
  json_t *tc = oai_opt(req, "tool_choice");
  if(!rc && tc) {
    const char *mode = NULL, *name = NULL;
    if(json_is_string(tc)) {
      const char *s = json_string_value(tc);
      mode = !strcmp(s, "auto") ? "AUTO" : !strcmp(s, "none") ? "NONE" : !strcmp(s, "required") ? "ANY" : NULL;
      if(!mode) rc = oai_bad_value(x->e, "tool_choice", "Invalid value for 'tool_choice': '%.40s'. Supported values are: 'auto', 'none', 'required' or a function.", s);
    } else if(json_is_object(tc)) {
      static const char *const ck[] = { "type", "name", NULL };
      json_t *type = oai_opt(tc, "type"), *n = oai_opt(tc, "name");
      if(!(rc = only_keys(x, "tool_choice", tc, ck)) && !(rc = want_string(x, "tool_choice.type", type))) {
        if(strcmp(json_string_value(type), "function"))
          rc = oai_bad_value(x->e, "tool_choice.type", "Invalid value for 'tool_choice.type': only 'function' can be forced.");
        else if(!(rc = want_string(x, "tool_choice.name", n))) { name = json_string_value(n); mode = "ANY"; }
      }
      bool known = false;
      size_t k;
      json_t *d;
      json_array_foreach(decls, k, d) known |= name && !strcmp(json_string_value(json_object_get(d, "name")), name);
      if(!rc && !known) rc = oai_bad_value(x->e, "tool_choice.name", "Invalid value for 'tool_choice.name': no function tool is named '%.60s'.", name);
    } else rc = oai_bad_type(x->e, "tool_choice", tc, "a string or an object");
    if(!rc && json_array_size(decls)) {
      json_t *fcc = json_pack("{s:s}", "mode", mode);
      if(name) json_object_set_new(fcc, "allowedFunctionNames", json_pack("[s]", name));
      json_object_set_new(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
    }
  }
  if(!rc && (json_array_size(decls) || search)) {
    json_t *list = json_array();
    if(json_array_size(decls)) json_array_append_new(list, json_pack("{s:O}", "functionDeclarations", decls));
    if(search) json_array_append_new(list, json_pack("{s:{}}", "googleSearch"));
    json_object_set_new(body, "tools", list);
  }
  json_decref(decls);
  return rc;
}

/* ---------------------------------------------------------------- settings */

static int text_format(rq_cx *x, const json_t *req, json_t *gc)
{
  static const char *const keys[] = { "format", "verbosity", NULL };
  static const char *const sk[] = { "type", "name", "schema", "strict", "description", NULL };
  json_t *text = oai_opt(req, "text");
  if(!text) return 0;
  if(!json_is_object(text)) return oai_bad_type(x->e, "text", text, "an object");
  if(only_keys(x, "text", text, keys)) return -1;
  json_t *verb = oai_opt(text, "verbosity"), *f = oai_opt(text, "format");
  if(verb && (want_string(x, "text.verbosity", verb))) return -1;
  if(verb && strcmp(json_string_value(verb), "low") && strcmp(json_string_value(verb), "medium") && strcmp(json_string_value(verb), "high"))
    return oai_bad_value(x->e, "text.verbosity", "Invalid value for 'text.verbosity': expected 'low', 'medium' or 'high'.");
  if(!f) return 0;
  if(!json_is_object(f)) return oai_bad_type(x->e, "text.format", f, "an object");
  json_t *type = oai_opt(f, "type");
  if(want_string(x, "text.format.type", type)) return -1;
  const char *t = json_string_value(type);
  if(!strcmp(t, "text")) return only_keys(x, "text.format", f, sk);
  if(strcmp(t, "json_object") && strcmp(t, "json_schema"))
    return oai_bad_value(x->e, "text.format.type", "Invalid value for 'text.format.type': '%.40s'. Supported values are: 'text', 'json_object' and 'json_schema'.", t);
  if(only_keys(x, "text.format", f, sk)) return -1;
  json_object_set_new(gc, "responseMimeType", json_string("application/json"));
  if(!strcmp(t, "json_object")) return 0;
  json_t *schema = oai_opt(f, "schema");
  if(!schema) return oai_bad_missing(x->e, "text.format.schema");
  json_t *clean = oai_schema_clean(schema, true, "text.format.schema", x->e);
  if(!clean) return -1;
  if(json_object_size(clean)) json_object_set_new(gc, "responseSchema", clean);
  else json_decref(clean);
  return 0;
}

static int reasoning(rq_cx *x, const json_t *req, json_t *gc)
{
  static const char *const keys[] = { "effort", "summary", "generate_summary", NULL };
  json_t *r = oai_opt(req, "reasoning");
  const oai_settings *s = x->set;
  json_t *cfg = json_object();
  int rc = 0;
  if(r) {
    if(!json_is_object(r)) rc = oai_bad_type(x->e, "reasoning", r, "an object");
    else rc = only_keys(x, "reasoning", r, keys);
    json_t *effort = oai_opt(r, "effort"), *summary = oai_opt(r, "summary");
    if(!summary) summary = oai_opt(r, "generate_summary");
    if(!rc && effort) {
      int b = json_is_string(effort) ? oai_effort_budget(json_string_value(effort)) : -2;
      if(json_is_string(effort) && !strcmp(json_string_value(effort), "xhigh")) b = 32768;
      if(b == -2) rc = oai_bad_value(x->e, "reasoning.effort", "Invalid value for 'reasoning.effort'. Supported values are: 'none', "
                                     "'minimal', 'low', 'medium', 'high' and 'xhigh'.");
      else json_object_set_new(cfg, "thinkingBudget", json_integer(b));
    }
    if(!rc && summary) {
      const char *v = json_is_string(summary) ? json_string_value(summary) : "";
      if(strcmp(v, "auto") && strcmp(v, "concise") && strcmp(v, "detailed"))
        rc = oai_bad_value(x->e, "reasoning.summary", "Invalid value for 'reasoning.summary'. Supported values are: 'auto', 'concise' and 'detailed'.");
      /* Gemini's thought summaries: there is one length of them. */
      else if(json_integer_value(json_object_get(cfg, "thinkingBudget")) != 0 || !json_object_get(cfg, "thinkingBudget"))
        json_object_set_new(cfg, "includeThoughts", json_true());
    }
  } else if(s && s->thinking_enabled && oai_may_think(x->q->model)) {
    json_object_set_new(cfg, "thinkingBudget", json_integer(s->thinking_budget));
    json_object_set_new(cfg, "includeThoughts", json_boolean(s->include_thoughts && s->thinking_budget != 0));
  }
  if(!rc && json_object_size(cfg)) json_object_set(gc, "thinkingConfig", cfg);
  json_decref(cfg);
  return rc;
}

static int params(rq_cx *x, const json_t *req, json_t *gc)
{
  json_t *v;
  int64_t k;
  oai_rreq *q = x->q;
  if((v = oai_opt(req, "max_output_tokens"))) {
    if(oai_int_in(x->e, v, "max_output_tokens", 1, INT32_MAX, &k)) return -1;
    json_object_set_new(gc, "maxOutputTokens", json_integer(k));
  }
  if((v = oai_opt(req, "temperature"))) {
    if(oai_number_in(x->e, v, "temperature", 0, 2)) return -1;
    json_object_set(gc, "temperature", v);
  }
  if((v = oai_opt(req, "top_p"))) {
    if(oai_number_in(x->e, v, "top_p", 0, 1)) return -1;
    json_object_set(gc, "topP", v);
  }
  q->store = true;
  if((v = oai_opt(req, "store")) && oai_boolean(x->e, v, "store", &q->store)) return -1;
  if((v = oai_opt(req, "stream")) && oai_boolean(x->e, v, "stream", &q->stream)) return -1;
  if((v = oai_opt(req, "previous_response_id"))) {
    if(want_string(x, "previous_response_id", v)) return -1;
    if(!json_string_length(v) || json_string_length(v) >= 64)
      return oai_bad_value(x->e, "previous_response_id", "Invalid 'previous_response_id': expected a response id.");
    q->previous_id = strdup(json_string_value(v));
  }
  bool b = false;
  if((v = oai_opt(req, "background")) && (oai_boolean(x->e, v, "background", &b) || (b &&
     oai_bad_value(x->e, "background", "Background responses are not supported by this gateway."))))
    return -1;
  if((v = oai_opt(req, "parallel_tool_calls")) && oai_boolean(x->e, v, "parallel_tool_calls", &b)) return -1;
  if((v = oai_opt(req, "truncation"))) {
    if(want_string(x, "truncation", v)) return -1;
    if(strcmp(json_string_value(v), "disabled"))
      return oai_bad_value(x->e, "truncation", "Invalid value for 'truncation': only 'disabled' is supported (the gateway never drops input).");
  }
  if((v = oai_opt(req, "include"))) {
    if(!json_is_array(v)) return oai_bad_type(x->e, "include", v, "an array");
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
      char p[32];
      oai_fmt(p, sizeof p, "include[%zu]", i);
      if(!json_is_string(s) || strcmp(json_string_value(s), "reasoning.encrypted_content"))
        return oai_bad_value(x->e, p, "Invalid value for '%s': only 'reasoning.encrypted_content' is supported.", p);
    }
  }
  if((v = oai_opt(req, "metadata"))) {
    if(!json_is_object(v) || json_object_size(v) > 16) return oai_bad_type(x->e, "metadata", v, "an object of at most 16 strings");
    const char *key;
    json_t *mv;
    json_object_foreach(v, key, mv)
      if(!json_is_string(mv)) return oai_bad_type(x->e, "metadata", mv, "an object of strings");
  }
  static const char *const strs[] = { "user", "safety_identifier", "prompt_cache_key", "service_tier" };
  for(size_t i = 0; i < ARRAY_LEN(strs); i++)
    if((v = oai_opt(req, strs[i])) && want_string(x, strs[i], v)) return -1;
  if((v = oai_opt(req, "stream_options"))) {
    static const char *const so[] = { "include_obfuscation", NULL };
    if(!json_is_object(v)) return oai_bad_type(x->e, "stream_options", v, "an object");
    if(only_keys(x, "stream_options", v, so)) return -1;
  }
  return 0;
}

/* What the response object repeats of the request, with OpenAI's defaults. */
static json_t *echo(const json_t *req)
{
  json_t *r = oai_opt(req, "reasoning");
  json_t *e = json_pack("{s:O?,s:O?,s:O?,s:b,s:O?,s:{s:O?,s:O?},s:b,s:O?,s:O?,s:O?,s:O?,s:O?,s:s,s:O?}",
                        "instructions", oai_opt(req, "instructions"), "max_output_tokens", oai_opt(req, "max_output_tokens"),
                        "metadata", oai_opt(req, "metadata"),
                        "parallel_tool_calls", !json_is_false(json_object_get(req, "parallel_tool_calls")),
                        "previous_response_id", oai_opt(req, "previous_response_id"),
                        "reasoning", "effort", oai_opt(r, "effort"), "summary", oai_opt(r, "summary"),
                        "store", !json_is_false(json_object_get(req, "store")),
                        "temperature", oai_opt(req, "temperature"), "text", oai_opt(req, "text"),
                        "tool_choice", oai_opt(req, "tool_choice"), "tools", oai_opt(req, "tools"),
                        "top_p", oai_opt(req, "top_p"), "truncation", "disabled", "user", oai_opt(req, "user"));
  if(!e) return NULL;
  if(json_is_null(json_object_get(e, "metadata"))) json_object_set_new(e, "metadata", json_object());
  if(json_is_null(json_object_get(e, "temperature"))) json_object_set_new(e, "temperature", json_real(1.0));
  if(json_is_null(json_object_get(e, "top_p"))) json_object_set_new(e, "top_p", json_real(1.0));
  if(json_is_null(json_object_get(e, "text"))) json_object_set_new(e, "text", json_pack("{s:{s:s}}", "format", "type", "text"));
  if(json_is_null(json_object_get(e, "tool_choice"))) json_object_set_new(e, "tool_choice", json_string("auto"));
  if(json_is_null(json_object_get(e, "tools"))) json_object_set_new(e, "tools", json_array());
  return e;
}

static int translate(rq_cx *x, const json_t *req, const model_aliases *al, json_t *gc)
{
  static const char *const keys[] = { "model", "input", "instructions", "tools", "tool_choice", "text", "reasoning",
                                      "max_output_tokens", "temperature", "top_p", "store", "stream", "stream_options",
                                      "previous_response_id", "metadata", "parallel_tool_calls", "include", "truncation",
                                      "user", "safety_identifier", "prompt_cache_key", "service_tier", "background", NULL };
  oai_rreq *q = x->q;
  if(only_keys(x, "", req, keys)) return -1;
  json_t *mv = oai_opt(req, "model");
  if(!(q->client_model = oai_model_name(mv, x->e))) return -1;
  const char *to = aliases_resolve(al, q->client_model);
  if(!oai_model_ok(to)) return oai_bad_value(x->e, "model", "Invalid model alias target '%.80s'.", to);
  q->model = strdup(strncmp(to, "models/", 7) ? to : to + 7);
  if(!q->model) return -1;
  x->gemini3 = !strncmp(q->model, "gemini-3", 8);
  json_t *ins = oai_opt(req, "instructions");
  if(ins && want_string(x, "instructions", ins)) return -1;
  if(json_string_length(ins)) json_array_append_new(q->instructions, json_pack("{s:O}", "text", ins));
  if(input(x, oai_opt(req, "input")) || tools(x, req, q->body) || params(x, req, gc) || text_format(x, req, gc) ||
     reasoning(x, req, gc))
    return -1;
  if(json_object_size(gc)) json_object_set(q->body, "generationConfig", gc);
  if(!(q->echo = echo(req))) return -1;
  if(!q->prompt && !(q->prompt = strdup(""))) return -1;
  return 0;
}

int oai_rreq_parse(const char *p, size_t n, const model_aliases *al, const oai_settings *s, const char *id,
                   oai_rreq *q, oai_error *e)
{
  memset(q, 0, sizeof *q);
  oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the request.");
  json_t *req = oai_load_request(p, n, e);
  if(!req) return -1;
  rq_cx x = { .q = q, .e = e, .set = s };
  oai_fmt(x.sfx, sizeof x.sfx, "%s", id && !strncmp(id, "resp_", 5) ? id + 5 : id ? id : "");
  q->items = json_array();
  q->body = json_object();
  q->turns = json_array();
  q->system = json_array();
  q->instructions = json_array();
  q->calls = json_object();
  q->unnamed = json_array();
  json_t *gc = json_object();
  int rc = q->items && q->body && q->turns && q->system && q->instructions && q->calls && q->unnamed && gc
           ? translate(&x, req, al, gc) : -1;
  json_decref(gc);
  json_decref(req);
  if(rc) oai_rreq_free(q);
  return rc;
}

/* ---------------------------------------------------------------- with the stored conversation */

int oai_rreq_build(oai_rreq *q, const json_t *prev, oai_error *e)
{
  json_t *contents = json_array(), *system = json_array(), *calls = json_object();
  int rc = contents && system && calls ? 0 : -1;
  if(!rc && prev) {
    json_t *pc = json_object_get(prev, "contents"), *ps = json_object_get(prev, "system"), *pk = json_object_get(prev, "calls");
    if(json_is_array(pc)) rc |= json_array_extend(contents, pc);
    if(json_is_array(ps)) rc |= json_array_extend(system, ps);
    if(json_is_object(pk)) rc |= json_object_update(calls, pk);
  }
  if(!rc) rc = json_object_update(calls, q->calls);
  size_t i;
  json_t *u;
  json_array_foreach(q->unnamed, i, u) {
    const char *cid = json_string_value(json_object_get(u, "call_id"));
    json_t *name = json_object_get(calls, cid);
    if(rc) break;
    if(!json_is_string(name)) {
      const char *param = json_string_value(json_object_get(u, "param"));
      oai_error_set(e, 400, NULL, "invalid_value", param, "No tool call found for function call output with call_id %.60s.", cid);
      rc = -1;
      break;
    }
    json_object_set(json_object_get(json_object_get(u, "part"), "functionResponse"), "name", name);
  }
  /* Same-role turns merge across the seam (a tool output after the stored model turn is a user
   * turn).  Contents are new objects over shared parts: prev stays as it was, and the image
   * parts oai_fetch_fill completes are the ones sent. */
  json_array_foreach(q->turns, i, u) {
    size_t n = json_array_size(contents);
    json_t *last = n ? json_array_get(contents, n - 1) : NULL;
    json_t *role = json_object_get(u, "role");
    if(rc) break;
    bool same = last && !strcmp(json_string_value(json_object_get(last, "role")), json_string_value(role));
    json_t *c = json_pack("{s:O,s:o}", "role", role, "parts", json_copy(json_object_get(same ? last : u, "parts")));
    if(!c) { rc = -1; break; }
    if(same) rc = json_array_extend(json_object_get(c, "parts"), json_object_get(u, "parts")) ||
                  json_array_set_new(contents, n - 1, c);
    else rc = json_array_append_new(contents, c);
  }
  if(!rc) rc = json_array_extend(system, q->system);
  if(!rc && !json_array_size(contents)) {
    oai_error_set(e, 400, NULL, "invalid_value", "input", "Invalid 'input': it has no content to answer.");
    rc = -1;
  }
  if(!rc) {
    json_t *si = json_array();
    json_array_extend(si, q->instructions);
    json_array_extend(si, system);
    json_object_set(q->body, "contents", contents);
    if(json_array_size(si)) json_object_set_new(q->body, "systemInstruction", json_pack("{s:o}", "parts", si));
    else json_decref(si);
    json_decref(q->state);
    q->state = json_pack("{s:O,s:O,s:O}", "contents", contents, "system", system, "calls", calls);
    if(!q->state) rc = -1;
  }
  if(rc && e->status == 500) oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not build the request.");
  json_decref(contents);
  json_decref(system);
  json_decref(calls);
  return rc;
}

json_t *oai_rstate_next(const oai_rreq *q, const json_t *response, const json_t *turn)
{
  json_t *st = json_deep_copy(q->state);
  if(!st) return NULL;
  if(turn) json_array_append(json_object_get(st, "contents"), (json_t *)turn);
  json_t *calls = json_object_get(st, "calls");
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(response, "output"), i, it) {
    const char *cid = json_string_value(json_object_get(it, "call_id"));
    json_t *name = json_object_get(it, "name");
    if(cid && json_is_string(name)) json_object_set(calls, cid, name);
  }
  return st;
}

void oai_rreq_free(oai_rreq *q)
{
  for(size_t i = 0; i < q->nfetch; i++) free(q->fetch[i].url);
  free(q->fetch);
  free(q->model);
  free(q->client_model);
  free(q->previous_id);
  free(q->prompt);
  json_decref(q->items);
  json_decref(q->echo);
  json_decref(q->body);
  json_decref(q->state);
  json_decref(q->turns);
  json_decref(q->system);
  json_decref(q->instructions);
  json_decref(q->calls);
  json_decref(q->unnamed);
  memset(q, 0, sizeof *q);
}

/* ---------------------------------------------------------------- input items listing */

json_t *oai_rinput_items(const json_t *items, bool asc, int64_t limit, const char *after, oai_error *e)
{
  size_t n = json_array_size(items), start = 0;
  json_t *ordered = json_array();
  for(size_t i = 0; i < n; i++) json_array_append(ordered, json_array_get(items, asc ? i : n - 1 - i));
  if(after) {
    size_t k;
    for(k = 0; k < n; k++)
      if(!strcmp(json_string_value(json_object_get(json_array_get(ordered, k), "id")), after)) break;
    if(k == n) {
      json_decref(ordered);
      oai_error_set(e, 400, NULL, "invalid_value", "after", "Invalid 'after': no input item has the id '%.60s'.", after);
      return NULL;
    }
    start = k + 1;
  }
  json_t *data = json_array();
  for(size_t i = start; i < n && (int64_t)json_array_size(data) < limit; i++) json_array_append(data, json_array_get(ordered, i));
  bool more = start + json_array_size(data) < n;
  json_decref(ordered);
  size_t m = json_array_size(data);
  json_t *fid = m ? json_object_get(json_array_get(data, 0), "id") : NULL;
  json_t *lid = m ? json_object_get(json_array_get(data, m - 1), "id") : NULL;
  return json_pack("{s:s,s:o,s:O?,s:O?,s:b}", "object", "list", "data", data, "first_id", fid, "last_id", lid, "has_more", more);
}
