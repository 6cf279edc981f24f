/* openai_msgs — OpenAI chat messages → Gemini contents and systemInstruction.
 *
 * system/developer → systemInstruction parts (wherever they appear; Gemini has one);
 * user → role "user"; assistant → role "model"; tool → a functionResponse part in a "user"
 * turn.  Consecutive turns of one role are merged (tool results after a parallel call become
 * one turn, as Gemini requires); empty text parts and empty turns are dropped. */
#include "openai/openai_chat_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ALLOW_TEXT = 1, ALLOW_MEDIA = 2, ALLOW_REFUSAL = 4 };

/* Append parts to the current turn when it has this role, else to a new turn. */
static int put_parts(chat_cx *x, const char *role, const json_t *parts)
{
  if(!json_array_size(parts)) return 0;
  size_t n = json_array_size(x->contents);
  json_t *last = n ? json_array_get(x->contents, n - 1) : NULL;
  if(!last || strcmp(json_string_value(json_object_get(last, "role")), role)) {
    last = json_pack("{s:s,s:[]}", "role", role, "parts");
    if(json_array_append_new(x->contents, last)) return -1;
  }
  return json_array_extend(json_object_get(last, "parts"), (json_t *)parts);
}

static json_t *inline_data(str mime, str data)
{
  return json_pack("{s:{s:s%,s:s%}}", "inlineData", "mimeType", mime.p, mime.n, "data", data.p, data.n);
}

/* Split "data:<mime>[;param]*;base64,<payload>".  false when u is not such a URL. */
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
  return true;
}

static int add_data_url(chat_cx *x, const char *param, const json_t *url, json_t *out)
{
  str mime, data;
  if(!data_url(json_string_value(url), json_string_length(url), &mime, &data))
    return cx_value(x, param, "Invalid '%s': only base64 data: URLs are supported (data:<type>;base64,…).", param);
  if(!mime.n || !data.n) return cx_value(x, param, "Invalid '%s': the data: URL has no media type or no data.", param);
  return json_array_append_new(out, inline_data(mime, data));
}

static int add_fetch(chat_cx *x, const char *param, const json_t *url, json_t *out)
{
  oai_chat *c = x->c;
  if(c->nfetch == OAI_MAX_FETCHES)
    return cx_value(x, param, "Too many image URLs: at most %d per request.", OAI_MAX_FETCHES);
  if(c->nfetch == x->fetch_cap) {
    size_t cap = x->fetch_cap ? x->fetch_cap * 2 : 4;
    oai_fetch *f = realloc(c->fetch, cap * sizeof *f);
    if(!f) return -1;
    c->fetch = f;
    x->fetch_cap = cap;
  }
  oai_fetch *f = &c->fetch[c->nfetch];
  memset(f, 0, sizeof *f);
  f->part = json_object();
  if(!f->part || !(f->url = strdup(json_string_value(url)))) { json_decref(f->part); return -1; }
  oai_fmt(f->param, sizeof f->param, "%s", param);
  c->nfetch++;
  return json_array_append_new(out, f->part);  /* out (and then the body) holds the only reference */
}

/* A Gemini Files API name or URI ("files/abc", "https://…/v1beta/files/abc", "…/v1/files/abc"):
 * such a part becomes fileData, sent as is (the gateway routes it to the key that owns the file),
 * never fetched.  Kept in step with call/resource.c's resource_file_uri. */
static bool files_uri(const char *u)
{
  const char *id = NULL;
  if(!strncmp(u, "files/", 6)) id = u + 6;
  else if(!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) {
    const char *path = strchr(strstr(u, "//") + 2, '/');
    if(path && !strncmp(path, "/v1beta/files/", 14)) id = path + 14;
    else if(path && !strncmp(path, "/v1/files/", 10)) id = path + 10;
  }
  if(!id || !*id) return false;
  for(; *id && *id != '?' && *id != '#'; id++)
    if(!isalnum((unsigned char)*id) && *id != '-' && *id != '_') return false;
  return true;
}

static int file_data_part(const json_t *uri, json_t *out)
{
  return json_array_append_new(out, json_pack("{s:{s:O}}", "fileData", "fileUri", uri));
}

static int image_part(chat_cx *x, const char *base, const json_t *part, json_t *out)
{
  char pi[96], pu[112];
  oai_fmt(pi, sizeof pi, "%s.image_url", base);
  oai_fmt(pu, sizeof pu, "%s.image_url.url", base);
  json_t *iu = oai_opt(part, "image_url");
  if(!iu) return cx_missing(x, pi);
  if(!json_is_object(iu) && !json_is_string(iu)) return cx_type(x, pi, iu, "an object");
  json_t *url = json_is_string(iu) ? iu : oai_opt(iu, "url");
  if(!url) return cx_missing(x, pu);
  if(!json_is_string(url)) return cx_type(x, pu, url, "a string");
  const char *u = json_string_value(url);
  if(!strncasecmp(u, "data:", 5)) return add_data_url(x, pu, url, out);
  if(files_uri(u)) return file_data_part(url, out);
  if(!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) return add_fetch(x, pu, url, out);
  return cx_value(x, pu, "Invalid '%s': expected a data: URL or an http(s) URL.", pu);
}

static int audio_part(chat_cx *x, const char *base, const json_t *part, json_t *out)
{
  char pa[96], pd[112], pf[112];
  oai_fmt(pa, sizeof pa, "%s.input_audio", base);
  oai_fmt(pd, sizeof pd, "%s.input_audio.data", base);
  oai_fmt(pf, sizeof pf, "%s.input_audio.format", base);
  json_t *a = oai_opt(part, "input_audio");
  if(!a) return cx_missing(x, pa);
  if(!json_is_object(a)) return cx_type(x, pa, a, "an object");
  json_t *data = oai_opt(a, "data"), *fmt = oai_opt(a, "format");
  if(!data) return cx_missing(x, pd);
  if(!json_is_string(data)) return cx_type(x, pd, data, "a string");
  if(!fmt) return cx_missing(x, pf);
  if(!json_is_string(fmt)) return cx_type(x, pf, fmt, "a string");
  const char *f = json_string_value(fmt);
  size_t fl = strlen(f);
  bool ok = fl > 0 && fl <= 16;
  for(size_t i = 0; ok && i < fl; i++) ok = isalnum((unsigned char)f[i]);
  if(!ok || !json_string_length(data)) return cx_value(x, pf, "Invalid '%s': expected a format such as 'wav' or 'mp3' and base64 data.", pf);
  char mime[32];
  oai_fmt(mime, sizeof mime, "audio/%s", f);
  return json_array_append_new(out, inline_data(str_c(mime), (str){ json_string_value(data), json_string_length(data) }));
}

static int file_part(chat_cx *x, const char *base, const json_t *part, json_t *out)
{
  char pf[96], pd[112];
  oai_fmt(pf, sizeof pf, "%s.file", base);
  oai_fmt(pd, sizeof pd, "%s.file.file_data", base);
  json_t *f = oai_opt(part, "file");
  if(!f) return cx_missing(x, pf);
  if(!json_is_object(f)) return cx_type(x, pf, f, "an object");
  json_t *data = oai_opt(f, "file_data"), *id = oai_opt(f, "file_id");
  if(!data && json_is_string(id) && files_uri(json_string_value(id))) return file_data_part(id, out);
  if(!data && id)
    return cx_value(x, pf, "Invalid '%s': file_id must name a Gemini file (files/…) uploaded through the "
                    "Files API; else send the file as file_data.", pf);
  if(!data) return cx_missing(x, pd);
  if(!json_is_string(data)) return cx_type(x, pd, data, "a string");
  if(!strncasecmp(json_string_value(data), "data:", 5)) return add_data_url(x, pd, data, out);
  if(!json_string_length(data)) return cx_value(x, pd, "Invalid '%s': the file is empty.", pd);
  /* Bare base64: OpenAI's file inputs are PDFs. */
  return json_array_append_new(out, inline_data(STR("application/pdf"),
                                                (str){ json_string_value(data), json_string_length(data) }));
}

static int text_part(chat_cx *x, const char *base, const json_t *part, const char *key, json_t *out)
{
  char pt[96];
  oai_fmt(pt, sizeof pt, "%s.%s", base, key);
  json_t *t = json_object_get(part, key);
  if(!t) return cx_missing(x, pt);
  if(!json_is_string(t)) return cx_type(x, pt, t, "a string");
  if(!json_string_length(t)) return 0;
  return json_array_append_new(out, json_pack("{s:O}", "text", t));
}

static int one_part(chat_cx *x, const char *base, const json_t *part, int allow, const char *role, json_t *out)
{
  char pt[96];
  oai_fmt(pt, sizeof pt, "%s.type", base);
  if(!json_is_object(part)) return cx_type(x, base, part, "an object");
  json_t *type = oai_opt(part, "type");
  if(!type) return cx_missing(x, pt);
  if(!json_is_string(type)) return cx_type(x, pt, type, "a string");
  const char *t = json_string_value(type);
  bool media = !strcmp(t, "image_url") || !strcmp(t, "input_audio") || !strcmp(t, "file");
  if(!strcmp(t, "text")) return text_part(x, base, part, "text", out);
  if(!strcmp(t, "refusal") && (allow & ALLOW_REFUSAL)) return text_part(x, base, part, "refusal", out);
  if(media && (allow & ALLOW_MEDIA)) {
    if(!strcmp(t, "image_url")) return image_part(x, base, part, out);
    return !strcmp(t, "input_audio") ? audio_part(x, base, part, out) : file_part(x, base, part, out);
  }
  if(media || !strcmp(t, "refusal"))
    return cx_value(x, pt, "Invalid value for '%s': '%s' parts are not supported in %s messages.", pt, t, role);
  return cx_value(x, pt, "Invalid value for '%s': '%.40s'. Supported values are: 'text', 'image_url', 'input_audio' and 'file'.", pt, t);
}

/* A message's content (a string or an array of parts) → Gemini parts appended to out. */
static int content_parts(chat_cx *x, size_t i, const json_t *content, int allow, const char *role, json_t *out)
{
  char pc[64];
  oai_fmt(pc, sizeof pc, "messages[%zu].content", i);
  if(json_is_string(content)) {
    if(!json_string_length(content)) return 0;
    return json_array_append_new(out, json_pack("{s:O}", "text", content));
  }
  if(!json_is_array(content)) return cx_type(x, pc, content, "a string or an array of content parts");
  size_t j;
  json_t *part;
  json_array_foreach(content, j, part) {
    char base[80];
    oai_fmt(base, sizeof base, "%s[%zu]", pc, j);
    if(one_part(x, base, part, allow, role, out)) return -1;
  }
  return 0;
}

/* The content member when it must be present and not null. */
static int required_content(chat_cx *x, size_t i, const json_t *m, json_t **content)
{
  char pc[64];
  oai_fmt(pc, sizeof pc, "messages[%zu].content", i);
  *content = json_object_get(m, "content");
  if(!*content) return cx_missing(x, pc);
  if(json_is_null(*content)) return cx_type(x, pc, *content, "a string or an array of content parts");
  return 0;
}

static int msg_system(chat_cx *x, size_t i, const json_t *m)
{
  json_t *content;
  if(required_content(x, i, m, &content)) return -1;
  return content_parts(x, i, content, ALLOW_TEXT, "system", x->sys);
}

/* Remember the text the ledger shows as this call's prompt. */
static void note_prompt(chat_cx *x, const json_t *content, const json_t *parts)
{
  const json_t *t = json_is_string(content) ? content : NULL;
  size_t j;
  json_t *p;
  json_array_foreach(parts, j, p)
    if(!t) t = json_object_get(p, "text");
  if(json_is_string(t)) {
    x->prompt = json_string_value(t);
    x->prompt_len = json_string_length(t);
  }
}

static int msg_user(chat_cx *x, size_t i, const json_t *m)
{
  json_t *content, *parts = json_array();
  int rc = required_content(x, i, m, &content) ||
           content_parts(x, i, content, ALLOW_TEXT | ALLOW_MEDIA, "user", parts) ? -1 : 0;
  if(!rc && json_array_size(parts)) {
    size_t n = json_array_size(x->contents);
    json_t *last = n ? json_array_get(x->contents, n - 1) : NULL;
    bool same = last && !strcmp(json_string_value(json_object_get(last, "role")), "user");
    size_t start = same ? json_array_size(json_object_get(last, "parts")) : 0;
    rc = put_parts(x, "user", parts);
    x->last_user = json_array_get(x->contents, json_array_size(x->contents) - 1);
    x->lu_start = start;
    x->lu_end = json_array_size(json_object_get(x->last_user, "parts"));
    note_prompt(x, content, parts);
  }
  json_decref(parts);
  return rc;
}

/* An assistant tool call's arguments (a JSON string) → the functionCall args object. */
static json_t *call_args(chat_cx *x, const char *param, const json_t *a)
{
  if(!a) return json_object();
  if(json_is_object(a)) return json_incref((json_t *)a);
  if(!json_is_string(a)) { cx_type(x, param, a, "a string"); return NULL; }
  const char *s = json_string_value(a);
  size_t n = json_string_length(a), k = 0;
  while(k < n && isspace((unsigned char)s[k])) k++;
  if(k == n) return json_object();                 /* "" means no arguments */
  json_t *args = json_loadb(s, n, JSON_DECODE_ANY, NULL);
  if(!json_is_object(args)) {
    cx_value(x, param, "Invalid '%s': expected a JSON object encoded as a string.", param);
    json_decref(args);
    return NULL;
  }
  return args;
}

static int one_call(chat_cx *x, size_t i, size_t j, const json_t *tc, json_t *out)
{
  char base[64], pt[80], pf[80], pn[96], pa[96];
  oai_fmt(base, sizeof base, "messages[%zu].tool_calls[%zu]", i, j);
  oai_fmt(pt, sizeof pt, "%s.type", base);
  oai_fmt(pf, sizeof pf, "%s.function", base);
  oai_fmt(pn, sizeof pn, "%s.function.name", base);
  oai_fmt(pa, sizeof pa, "%s.function.arguments", base);
  if(!json_is_object(tc)) return cx_type(x, base, tc, "an object");
  json_t *type = oai_opt(tc, "type"), *f = oai_opt(tc, "function"), *id = oai_opt(tc, "id");
  if(type && !json_is_string(type)) return cx_type(x, pt, type, "a string");
  if(type && strcmp(json_string_value(type), "function"))
    return cx_value(x, pt, "Invalid value for '%s': only 'function' tool calls are supported.", pt);
  if(!f) return cx_missing(x, pf);
  if(!json_is_object(f)) return cx_type(x, pf, f, "an object");
  json_t *name = oai_opt(f, "name");
  if(!name) return cx_missing(x, pn);
  if(!json_is_string(name) || !json_string_length(name)) return cx_type(x, pn, name, "a non-empty string");
  if(id && !json_is_string(id)) {
    oai_fmt(pf, sizeof pf, "%s.id", base);
    return cx_type(x, pf, id, "a string");
  }
  json_t *args = call_args(x, pa, oai_opt(f, "arguments"));
  if(!args) return -1;
  json_t *part = json_pack("{s:{s:O,s:o}}", "functionCall", "name", name, "args", args);
  json_t *sig = json_object_get(json_object_get(json_object_get(tc, "extra_content"), "google"), "thought_signature");
  if(json_is_string(sig)) json_object_set(part, "thoughtSignature", sig);
  else if(x->gemini3 && j == 0)   /* Google's documented escape for histories it did not sign */
    json_object_set_new(part, "thoughtSignature", json_string("skip_thought_signature_validator"));
  if(id) json_object_set(x->calls, json_string_value(id), name);
  return json_array_append_new(out, part);
}

static int msg_assistant(chat_cx *x, size_t i, const json_t *m)
{
  char pc[64], pt[64];
  oai_fmt(pc, sizeof pc, "messages[%zu].content", i);
  oai_fmt(pt, sizeof pt, "messages[%zu].tool_calls", i);
  json_t *content = oai_opt(m, "content"), *calls = oai_opt(m, "tool_calls");
  if(calls && !json_is_array(calls)) return cx_type(x, pt, calls, "an array");
  if(!content && !json_array_size(calls))
    return cx_value(x, pc, "Invalid '%s': an assistant message needs content or tool_calls.", pc);
  json_t *parts = json_array();
  int rc = content ? content_parts(x, i, content, ALLOW_TEXT | ALLOW_REFUSAL, "assistant", parts) : 0;
  size_t j;
  json_t *tc;
  json_array_foreach(calls, j, tc)
    if(!rc) rc = one_call(x, i, j, tc, parts);
  if(!rc) rc = put_parts(x, "model", parts);
  json_decref(parts);
  return rc;
}

/* A tool result: its text, parsed as JSON when it is JSON, as Gemini's response object. */
static json_t *tool_response(const json_t *parts)
{
  oai_buf b = { 0 };
  size_t j;
  json_t *p;
  json_array_foreach(parts, j, p) {
    json_t *t = json_object_get(p, "text");
    if(oai_buf_append(&b, json_string_value(t), json_string_length(t))) { oai_buf_free(&b); return NULL; }
  }
  json_t *v = b.n ? json_loadb(b.p, b.n, JSON_DECODE_ANY, NULL) : NULL;
  if(!v) v = json_stringn(b.p ? b.p : "", b.n);
  oai_buf_free(&b);
  return json_pack("{s:o}", "content", v);
}

static int msg_tool(chat_cx *x, size_t i, const json_t *m)
{
  char pid[64];
  oai_fmt(pid, sizeof pid, "messages[%zu].tool_call_id", i);
  json_t *id = oai_opt(m, "tool_call_id"), *content;
  if(!id) return cx_missing(x, pid);
  if(!json_is_string(id)) return cx_type(x, pid, id, "a string");
  json_t *name = json_object_get(x->calls, json_string_value(id));
  if(!name && json_is_string(json_object_get(m, "name"))) name = json_object_get(m, "name");
  if(!name)
    return cx_value(x, pid, "Invalid '%s': no earlier assistant message has a tool call with id '%.60s'.",
                    pid, json_string_value(id));
  if(required_content(x, i, m, &content)) return -1;
  json_t *texts = json_array();
  int rc = content_parts(x, i, content, ALLOW_TEXT, "tool", texts);
  if(!rc) {
    json_t *parts = json_pack("[{s:{s:O,s:o}}]", "functionResponse", "name", name, "response", tool_response(texts));
    rc = parts ? put_parts(x, "user", parts) : -1;
    json_decref(parts);
  }
  json_decref(texts);
  return rc;
}

static int message(chat_cx *x, size_t i, const json_t *m)
{
  char pm[48], pr[64];
  oai_fmt(pm, sizeof pm, "messages[%zu]", i);
  oai_fmt(pr, sizeof pr, "messages[%zu].role", i);
  if(!json_is_object(m)) return cx_type(x, pm, m, "an object");
  json_t *role = oai_opt(m, "role");
  if(!role) return cx_missing(x, pr);
  if(!json_is_string(role)) return cx_type(x, pr, role, "a string");
  const char *r = json_string_value(role);
  if(!strcmp(r, "system") || !strcmp(r, "developer")) return msg_system(x, i, m);
  if(!strcmp(r, "user")) return msg_user(x, i, m);
  if(!strcmp(r, "assistant")) return msg_assistant(x, i, m);
  if(!strcmp(r, "tool")) return msg_tool(x, i, m);
  return cx_value(x, pr, "Invalid value for '%s': '%.40s'. Supported values are: 'system', 'developer', "
                  "'user', 'assistant' and 'tool'.", pr, r);
}

int chat_messages(chat_cx *x, const json_t *msgs)
{
  if(!msgs) return cx_missing(x, "messages");
  if(!json_is_array(msgs)) return cx_type(x, "messages", msgs, "an array");
  if(!json_array_size(msgs)) {
    oai_error_set(x->e, 400, NULL, "empty_array", "messages", "'messages' must contain at least one message.");
    return -1;
  }
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m)
    if(message(x, i, m)) return -1;
  return 0;
}
