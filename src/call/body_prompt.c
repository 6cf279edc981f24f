/* body_prompt — the prompt text of a request body, per client dialect; contract in
 * body_prompt.h. */
#include "call/body_prompt.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "ledger/prompt.h"

/* Appends text to out (used bytes *used), keeping the character and byte caps. */
static void add(char *out, size_t cap, size_t *used, size_t *chars, size_t max_chars, const char *t, size_t n)
{
  if(*chars >= max_chars || *used + 1 >= cap) return;
  if(*used) {                                         /* parts are joined by a newline */
    out[(*used)++] = '\n';
    (*chars)++;
    if(*chars >= max_chars || *used + 1 >= cap) { out[*used] = '\0'; return; }
  }
  size_t k = prompt_cut(t, n, max_chars - *chars, cap - 1 - *used);
  memcpy(out + *used, t, k);
  for(size_t i = 0; i < k; i++) *chars += ((unsigned char)t[i] & 0xc0) != 0x80;
  *used += k;
  out[*used] = '\0';
}

/* Text of Gemini parts, or of an OpenAI content (string or array of {type:text,text}). */
static void add_parts(json_t *parts, char *out, size_t cap, size_t *used, size_t *chars, size_t max)
{
  if(json_is_string(parts)) { add(out, cap, used, chars, max, json_string_value(parts), json_string_length(parts)); return; }
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    json_t *t = json_object_get(p, "text");
    if(json_is_string(t)) add(out, cap, used, chars, max, json_string_value(t), json_string_length(t));
    else if(json_is_string(p)) add(out, cap, used, chars, max, json_string_value(p), json_string_length(p));
  }
}

/* The last turn in turns whose role is "user" (or absent), else NULL. */
static json_t *last_user(json_t *turns)
{
  for(size_t i = json_array_size(turns); i-- > 0;) {
    json_t *t = json_array_get(turns, i);
    const char *role = json_string_value(json_object_get(t, "role"));
    if(!role || !strcmp(role, "user")) return t;
  }
  return NULL;
}

/* Gemini: the last user turn's parts; else embedContent's content, batchEmbedContents' first
 * request, an Imagen instance's prompt. */
static void gemini_json(json_t *j, char *out, size_t cap, size_t max)
{
  size_t used = 0, chars = 0;
  json_t *t;
  if((t = last_user(json_object_get(j, "contents"))))
    add_parts(json_object_get(t, "parts"), out, cap, &used, &chars, max);
  else if((t = json_object_get(j, "content")))                              /* embedContent */
    add_parts(json_object_get(t, "parts"), out, cap, &used, &chars, max);
  else if((t = json_array_get(json_object_get(j, "requests"), 0)))          /* batchEmbedContents */
    add_parts(json_object_get(json_object_get(t, "content"), "parts"), out, cap, &used, &chars, max);
  else if((t = json_object_get(json_array_get(json_object_get(j, "instances"), 0), "prompt")))  /* Imagen */
    add_parts(t, out, cap, &used, &chars, max);
}

/* OpenAI: the last user message's content; else an embedding's (first) input, an image prompt. */
static void openai_json(json_t *j, char *out, size_t cap, size_t max)
{
  size_t used = 0, chars = 0;
  json_t *t;
  if((t = last_user(json_object_get(j, "messages"))))                       /* chat */
    add_parts(json_object_get(t, "content"), out, cap, &used, &chars, max);
  else if((t = json_object_get(j, "input")))                                /* embeddings */
    add_parts(json_is_array(t) ? json_array_get(t, 0) : t, out, cap, &used, &chars, max);
  else if((t = json_object_get(j, "prompt")))                               /* images */
    add_parts(t, out, cap, &used, &chars, max);
}

static int hexv(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes the JSON string starting after its opening quote at p (up to end) and appends it to
 * out as add() does. */
static void decode_into(const char *p, const char *end, char *out, size_t cap, size_t *used, size_t *chars, size_t max)
{
  char buf[2048];
  size_t n = 0;
  while(p < end && *p != '"' && n + 4 < sizeof buf) {
    if(*p != '\\') { buf[n++] = *p++; continue; }
    if(++p >= end) break;
    char e = *p++;
    switch(e) {
    case 'n': buf[n++] = '\n'; break;
    case 't': buf[n++] = '\t'; break;
    case 'r': buf[n++] = '\r'; break;
    case 'b': case 'f': buf[n++] = ' '; break;
    case 'u': {
      if(end - p < 4) { p = end; break; }
      int a = hexv(p[0]), b = hexv(p[1]), c = hexv(p[2]), d = hexv(p[3]);
      p += 4;
      if(a < 0 || b < 0 || c < 0 || d < 0) break;
      uint32_t cp = (uint32_t)(a << 12 | b << 8 | c << 4 | d);
      if(cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;   /* surrogates: not worth pairing here */
      if(cp < 0x80) buf[n++] = (char)cp;
      else if(cp < 0x800) { buf[n++] = (char)(0xc0 | cp >> 6); buf[n++] = (char)(0x80 | (cp & 63)); }
      else { buf[n++] = (char)(0xe0 | cp >> 12); buf[n++] = (char)(0x80 | (cp >> 6 & 63)); buf[n++] = (char)(0x80 | (cp & 63)); }
      break;
    }
    default: buf[n++] = e;
    }
  }
  add(out, cap, used, chars, max, buf, n);
}

static void decode_string(const char *p, const char *end, char *out, size_t cap, size_t max)
{
  size_t used = 0, chars = 0;
  decode_into(p, end, out, cap, &used, &chars, max);
}

/* ---- the common case without building a tree: {"contents":[…{"parts":[{"text":…}]}]} ----
 * A request body is parsed once per ledger row on the writer thread; jansson's tree costs ~20k
 * instructions for a small body, this walk a few hundred.  It only reads well-formed input of
 * that one shape and says false for anything else, which then goes the jansson way. */

static const char *ws(const char *p, const char *e)
{
  while(p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* Past the string whose opening quote is at p; NULL when unterminated. */
static const char *skip_str(const char *p, const char *e)
{
  for(p++; p < e; p++) {
    if(*p == '\\') p++;
    else if(*p == '"') return p + 1;
  }
  return NULL;
}

/* Past the value at p (after blanks); NULL when malformed or cut. */
static const char *skip_val(const char *p, const char *e)
{
  p = ws(p, e);
  if(p >= e) return NULL;
  if(*p == '"') return skip_str(p, e);
  if(*p == '{' || *p == '[') {
    int depth = 0;
    for(; p < e; p++) {
      if(*p == '"') { if(!(p = skip_str(p, e))) return NULL; p--; }
      else if(*p == '{' || *p == '[') depth++;
      else if((*p == '}' || *p == ']') && --depth == 0) return p + 1;
    }
    return NULL;
  }
  const char *v = p;
  while(p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
  return p > v ? p : NULL;
}

/* The value of key k in the object at obj, or NULL (absent, or not a well-formed object). */
static const char *obj_get(const char *obj, const char *e, const char *k)
{
  size_t kl = strlen(k);
  const char *p = ws(obj, e), *found = NULL;
  if(p >= e || *p != '{') return NULL;
  for(p = ws(p + 1, e); p < e && *p != '}'; ) {
    if(*p != '"') return NULL;
    const char *key = p + 1;
    if(!(p = skip_str(p, e))) return NULL;
    bool match = (size_t)(p - 1 - key) == kl && !memcmp(key, k, kl);
    p = ws(p, e);
    if(p >= e || *p != ':') return NULL;
    p = ws(p + 1, e);
    if(match && !found) found = p;
    if(!(p = skip_val(p, e))) return NULL;
    p = ws(p, e);
    if(p < e && *p == ',') p = ws(p + 1, e);
    else if(p >= e || *p != '}') return NULL;
  }
  return p < e ? found : NULL;
}

static bool fast_contents(const char *body, const char *e, char *out, size_t cap, size_t max)
{
  const char *arr = obj_get(body, e, "contents");
  if(!arr || *arr != '[') return false;
  const char *last = NULL;
  for(const char *p = ws(arr + 1, e); p < e && *p != ']'; ) {
    if(*p != '{') return false;
    const char *role = obj_get(p, e, "role");
    if(!role || *role != '"' || (e - role > 5 && !memcmp(role, "\"user\"", 6))) last = p;
    if(!(p = skip_val(p, e))) return false;
    p = ws(p, e);
    if(p < e && *p == ',') p = ws(p + 1, e);
    else if(p >= e || *p != ']') return false;
  }
  if(!last) return false;
  const char *parts = obj_get(last, e, "parts");
  if(!parts) return false;
  size_t used = 0, chars = 0;
  if(*parts == '"') { decode_into(parts + 1, e, out, cap, &used, &chars, max); return true; }
  if(*parts != '[') return false;
  for(const char *p = ws(parts + 1, e); p < e && *p != ']'; ) {
    const char *t = *p == '{' ? obj_get(p, e, "text") : *p == '"' ? p : NULL;
    if(t && *t == '"') decode_into(t + 1, e, out, cap, &used, &chars, max);
    if(!(p = skip_val(p, e))) return false;
    p = ws(p, e);
    if(p < e && *p == ',') p = ws(p + 1, e);
    else if(p >= e || *p != ']') return false;
  }
  return true;
}

/* Parses body with jansson and hands the tree to from_json; a body too big to parse (or not
 * JSON) gives the first "text" string of its first BODY_PROMPT_SCAN_MAX bytes. */
static void parse_or_scan(const char *body, size_t len, char *out, size_t cap, size_t max_chars,
                          void (*from_json)(json_t *, char *, size_t, size_t))
{
  out[0] = '\0';
  if(len <= BODY_PROMPT_PARSE_MAX) {
    json_t *j = json_loadb(body, len, 0, NULL);
    if(j) { from_json(j, out, cap, max_chars); json_decref(j); return; }
  }
  size_t scan = len < BODY_PROMPT_SCAN_MAX ? len : BODY_PROMPT_SCAN_MAX;
  const char *p = memmem(body, scan, "\"text\"", 6);
  if(!p) return;
  const char *end = body + scan;
  p += 6;
  while(p < end && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  if(p < end && *p == '"') decode_string(p + 1, end, out, cap, max_chars);
}

void body_prompt_gemini(const char *body, size_t len, char *out, size_t cap, size_t max_chars)
{
  if(!cap) return;
  out[0] = '\0';
  if(!body || !len) return;
  if(fast_contents(body, body + len, out, cap, max_chars)) return;
  parse_or_scan(body, len, out, cap, max_chars, gemini_json);
}

void body_prompt_openai(const char *body, size_t len, char *out, size_t cap, size_t max_chars)
{
  if(!cap) return;
  out[0] = '\0';
  if(!body || !len) return;
  parse_or_scan(body, len, out, cap, max_chars, openai_json);
}

/* Responses: input as a string, or the last item with role user. */
static void responses_json(json_t *j, char *out, size_t cap, size_t max)
{
  size_t used = 0, chars = 0;
  json_t *in = json_object_get(j, "input");
  if(json_is_string(in)) { add_parts(in, out, cap, &used, &chars, max); return; }
  for(size_t i = json_array_size(in); i-- > 0;) {
    json_t *it = json_array_get(in, i);
    const char *role = json_string_value(json_object_get(it, "role"));
    if(role && !strcmp(role, "user")) { add_parts(json_object_get(it, "content"), out, cap, &used, &chars, max); return; }
  }
}

static void chat_json(json_t *j, char *out, size_t cap, size_t max)
{
  size_t used = 0, chars = 0;
  json_t *t = json_object_get(j, "text");
  add_parts(json_is_string(t) ? t : json_object_get(j, "parts"), out, cap, &used, &chars, max);
}

void body_prompt_responses(const char *body, size_t len, char *out, size_t cap, size_t max_chars)
{
  if(!cap) return;
  out[0] = '\0';
  if(!body || !len) return;
  parse_or_scan(body, len, out, cap, max_chars, responses_json);
}

void body_prompt_chat(const char *body, size_t len, char *out, size_t cap, size_t max_chars)
{
  if(!cap) return;
  out[0] = '\0';
  if(!body || !len) return;
  parse_or_scan(body, len, out, cap, max_chars, chat_json);
}
