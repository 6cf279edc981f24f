/* openai — shared pieces: buffers, errors, upstream error mapping, usage, parts, models. */
#include "openai/openai_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffers */

int oai_buf_append(oai_buf *b, const void *p, size_t n)
{
  if(n == 0) return 0;
  if(b->n + n < b->n) return -1;
  if(b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while(cap < b->n + n) {
      if(cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    char *q = realloc(b->p, cap);
    if(!q) return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
  return 0;
}

void oai_buf_free(oai_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

static int dump_cb(const char *p, size_t n, void *data)
{
  return oai_buf_append(data, p, n);
}

int oai_buf_dump(oai_buf *b, const json_t *j)
{
  return json_dump_callback(j, dump_cb, b, OAI_DUMP_FLAGS);
}

char *oai_dump(const json_t *j, size_t *len)
{
  char *s = json_dumps(j, OAI_DUMP_FLAGS);
  if(s && len) *len = strlen(s);
  return s;
}

/* ---------------------------------------------------------------- UTF-8 and base64 */

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid.  As strict as
 * jansson (no overlong forms, no surrogates, nothing above U+10FFFF), so whatever passes can be
 * handed to json_string. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  if(c < 0x80) return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if(c >= 0xC2 && c <= 0xDF) len = 2;
  else if(c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if(c == 0xE0) lo = 0xA0;
    if(c == 0xED) hi = 0x9F;
  } else if(c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if(c == 0xF0) lo = 0x90;
    if(c == 0xF4) hi = 0x8F;
  } else return 0;
  if(n < len || s[1] < lo || s[1] > hi) return 0;
  for(size_t i = 2; i < len; i++)
    if((s[i] & 0xC0) != 0x80) return 0;
  return len;
}

size_t oai_utf8_seq(const unsigned char *s, size_t n)
{
  return n ? utf8_len(s, n) : 0;
}

void oai_copy_utf8(char *dst, size_t cap, const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t o = 0, i = 0;
  while(i < n) {
    size_t l = utf8_len(u + i, n - i);
    if(l == 0 || u[i] == 0) {                 /* a stray byte: keep the message valid */
      if(o + 1 >= cap) break;
      dst[o++] = '?';
      i++;
      continue;
    }
    if(o + l >= cap) break;
    memcpy(dst + o, s + i, l);
    o += l;
    i += l;
  }
  dst[o] = '\0';
}

char *oai_dup_chars(const char *s, size_t n, size_t max)
{
  size_t i = 0;
  for(size_t chars = 0; i < n && chars < max; chars++) {
    i++;                                          /* the character's first byte … */
    while(i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;   /* … and its continuation bytes */
  }
  return str_dup((str){ s, i });
}

char *oai_b64(const void *p, size_t n, size_t *outlen)
{
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if(n > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
  size_t len = (n + 2) / 3 * 4;
  char *o = malloc(len + 1);
  if(!o) return NULL;
  const unsigned char *s = p;
  size_t i = 0, k = 0;
  for(; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    o[k++] = A[v >> 18];
    o[k++] = A[(v >> 12) & 63];
    o[k++] = A[(v >> 6) & 63];
    o[k++] = A[v & 63];
  }
  if(i < n) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
    o[k++] = A[v >> 18];
    o[k++] = A[(v >> 12) & 63];
    o[k++] = i + 1 < n ? A[(v >> 6) & 63] : '=';
    o[k++] = '=';
  }
  o[k] = '\0';
  if(outlen) *outlen = k;
  return o;
}

/* ---------------------------------------------------------------- errors */

const char *oai_error_type(int status)
{
  switch(status) {
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return "not_found_error";
  case 429: return "rate_limit_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

void oai_error_set(oai_error *e, int status, const char *type, const char *code, const char *param,
                   const char *fmt, ...)
{
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if(len < 0) len = 0;
  if((size_t)len >= sizeof tmp) len = sizeof tmp - 1;
  e->status = status;
  oai_copy_utf8(e->message, sizeof e->message, tmp, (size_t)len);
  type = type ? type : oai_error_type(status);
  oai_copy_utf8(e->type, sizeof e->type, type, strlen(type));
  oai_copy_utf8(e->code, sizeof e->code, code ? code : "", code ? strlen(code) : 0);
  oai_copy_utf8(e->param, sizeof e->param, param ? param : "", param ? strlen(param) : 0);
}

static json_t *str_or_null(const char *s)
{
  return s[0] ? json_string(s) : json_null();
}

json_t *oai_error_json(const oai_error *e)
{
  return json_pack("{s:{s:s?,s:s?,s:o,s:o}}", "error", "message", e->message, "type", e->type,
                   "param", str_or_null(e->param), "code", str_or_null(e->code));
}

int oai_sse_error(oai_buf *out, const oai_error *e)
{
  json_t *j = oai_error_json(e);
  int rc = !j || OAI_LIT(out, "data: ") || oai_buf_dump(out, j) ||
           OAI_LIT(out, "\n\n") ? -1 : 0;
  json_decref(j);
  return rc;
}

/* The status to answer with for an upstream status. */
static int answer_status(int status)
{
  if(status >= 400 && status <= 599) return status;
  return 502;
}

/* The reason of the first google.rpc.ErrorInfo detail, or NULL. */
static const char *error_reason(const json_t *err)
{
  const json_t *details = json_object_get(err, "details");
  size_t i;
  json_t *d;
  json_array_foreach(details, i, d) {
    const char *r = json_string_value(json_object_get(d, "reason"));
    if(r) return r;
  }
  return NULL;
}

void oai_google_error_obj(int status, const json_t *err, oai_error *e)
{
  json_t *jc = json_object_get(err, "code");
  if(status == 0 || status == 200)        /* an error event inside a 200 stream */
    status = json_is_integer(jc) ? (int)json_integer_value(jc) : 500;
  int st = answer_status(status);
  const char *msg = json_string_value(json_object_get(err, "message"));
  const char *gstatus = json_string_value(json_object_get(err, "status"));
  const char *reason = error_reason(err);
  char code[48] = "";
  if(st == 404) snprintf(code, sizeof code, "model_not_found");
  else if(st == 429) snprintf(code, sizeof code, "rate_limit_exceeded");
  else if(reason || gstatus) {
    snprintf(code, sizeof code, "%s", reason ? reason : gstatus);
    for(char *c = code; *c; c++) *c = (char)tolower((unsigned char)*c);
  } else if(st >= 500) snprintf(code, sizeof code, "server_error");
  if(msg && *msg) oai_error_set(e, st, NULL, code, NULL, "%s", msg);
  else oai_error_set(e, st, NULL, code, NULL, "The upstream answered HTTP %d.", status);
}

void oai_google_error(int status, const char *body, size_t n, oai_error *e)
{
  json_t *root = body && n ? json_loadb(body, n, JSON_DECODE_ANY, NULL) : NULL;
  const json_t *obj = json_is_array(root) ? json_array_get(root, 0) : root;
  const json_t *err = json_object_get(obj, "error");
  if(!json_is_object(err)) err = NULL;
  oai_google_error_obj(status ? status : 502, err, e);
  json_decref(root);
}

/* ---------------------------------------------------------------- loading JSON */

const char *oai_jtype(const json_t *v)
{
  switch(v ? json_typeof(v) : JSON_NULL) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

void oai_fmt(char *dst, size_t cap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
}

int oai_bad_missing(oai_error *e, const char *param)
{
  oai_error_set(e, 400, NULL, "missing_required_parameter", param, "Missing required parameter: '%s'.", param);
  return -1;
}

int oai_bad_type(oai_error *e, const char *param, const json_t *v, const char *want)
{
  oai_error_set(e, 400, NULL, "invalid_type", param, "Invalid type for '%s': expected %s, but got %s.",
                param, want, oai_jtype(v));
  return -1;
}

int oai_bad_value(oai_error *e, const char *param, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  oai_error_set(e, 400, NULL, "invalid_value", param, "%s", msg);
  return -1;
}

/* A number in [lo, hi]. */
int oai_number_in(oai_error *e, const json_t *v, const char *param, double lo, double hi)
{
  if(!json_is_number(v)) return oai_bad_type(e, param, v, "a number");
  double d = json_number_value(v);
  if(!(d >= lo && d <= hi))
    return oai_bad_value(e, param, "Invalid value for '%s': %g is out of range; expected a number from %g to %g.", param, d, lo, hi);
  return 0;
}

/* An integer in [lo, hi] (a number with no fraction passes too: some clients send 100.0). */
int oai_int_in(oai_error *e, const json_t *v, const char *param, int64_t lo, int64_t hi, int64_t *out)
{
  double d = json_is_real(v) ? json_real_value(v) : 0;
  if(json_is_real(v) && d == floor(d) && d >= -9e15 && d <= 9e15) *out = (int64_t)d;
  else if(json_is_integer(v)) *out = json_integer_value(v);
  else return oai_bad_type(e, param, v, "an integer");
  if(*out < lo || *out > hi)
    return oai_bad_value(e, param, "Invalid value for '%s': %lld is out of range; expected an integer from %lld to %lld.",
                    param, (long long)*out, (long long)lo, (long long)hi);
  return 0;
}

int oai_boolean(oai_error *e, const json_t *v, const char *param, bool *out)
{
  if(!json_is_boolean(v)) return oai_bad_type(e, param, v, "a boolean");
  *out = json_is_true(v);
  return 0;
}

json_t *oai_opt(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_null(v) ? NULL : v;
}

json_t *oai_load_request(const char *p, size_t n, oai_error *e)
{
  if(n == 0) {
    oai_error_set(e, 400, NULL, "invalid_json", NULL, "The request body is empty; expected a JSON object.");
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(p, n, JSON_DECODE_ANY, &je);
  if(!j) {
    switch(json_error_code(&je)) {
    case json_error_invalid_utf8:
      oai_error_set(e, 400, NULL, "invalid_json", NULL,
                    "The request body is not valid UTF-8 (invalid byte at offset %d).", je.position);
      break;
    case json_error_stack_overflow:
      oai_error_set(e, 400, NULL, "invalid_json", NULL, "The request body is nested too deeply.");
      break;
    case json_error_null_character:
      oai_error_set(e, 400, NULL, "invalid_json", NULL,
                    "The request body contains a \\u0000 character, which is not supported.");
      break;
    case json_error_numeric_overflow:
      oai_error_set(e, 400, NULL, "invalid_json", NULL,
                    "A number in the request body is too large (line %d, column %d).", je.line, je.column);
      break;
    default:
      oai_error_set(e, 400, NULL, "invalid_json", NULL,
                    "We could not parse the JSON body of your request: %s (line %d, column %d).",
                    je.text, je.line, je.column);
    }
    return NULL;
  }
  if(!json_is_object(j)) {
    oai_error_set(e, 400, NULL, "invalid_type", NULL,
                  "The request body must be a JSON object, not %s.", oai_jtype(j));
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *oai_load_upstream(const char *p, size_t n, oai_error *e)
{
  json_t *j = n ? json_loadb(p, n, 0, NULL) : NULL;
  if(json_is_object(j)) return j;
  json_decref(j);
  oai_error_set(e, 502, NULL, "bad_upstream_response", NULL, "The upstream sent a malformed answer.");
  return NULL;
}

bool oai_model_ok(const char *name)
{
  if(!name) return false;
  if(!strncmp(name, "models/", 7)) name += 7;
  size_t n = strlen(name);
  if(n == 0 || n > 128) return false;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if(!isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

char *oai_model_name(const json_t *v, oai_error *e)
{
  if(!v) { oai_bad_missing(e, "model"); return NULL; }
  if(!json_is_string(v)) { oai_bad_type(e, "model", v, "a string"); return NULL; }
  const char *s = json_string_value(v);
  if(!oai_model_ok(s) || json_string_length(v) != strlen(s)) {
    oai_error_set(e, 400, NULL, "invalid_value", "model",
                  "Invalid model name '%.80s': use letters, digits, '.', '_' and '-'.", s);
    return NULL;
  }
  return strdup(strncmp(s, "models/", 7) ? s : s + 7);
}

/* ---------------------------------------------------------------- usage and finish reasons */

static int64_t count(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

void oai_usage_read(oai_usage *u, const json_t *m)
{
  if(!json_is_object(m)) return;
  u->prompt = count(m, "promptTokenCount");
  u->candidates = count(m, "candidatesTokenCount");
  u->thoughts = count(m, "thoughtsTokenCount");
  u->cached = count(m, "cachedContentTokenCount");
  u->total = count(m, "totalTokenCount");
  u->seen = true;
}

json_t *oai_usage_json(const oai_usage *u)
{
  json_int_t completion = u->candidates + u->thoughts;
  return json_pack("{s:I,s:I,s:I,s:{s:I},s:{s:I}}", "prompt_tokens", (json_int_t)u->prompt,
                   "completion_tokens", completion, "total_tokens", (json_int_t)u->prompt + completion,
                   "prompt_tokens_details", "cached_tokens", (json_int_t)u->cached,
                   "completion_tokens_details", "reasoning_tokens", (json_int_t)u->thoughts);
}

const char *oai_finish_reason(const char *r)
{
  static const char *const filtered[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
                                          "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT" };
  if(!r) return "stop";
  if(!strcmp(r, "MAX_TOKENS")) return "length";
  for(size_t i = 0; i < ARRAY_LEN(filtered); i++)
    if(!strcmp(r, filtered[i])) return "content_filter";
  return "stop";
}

/* ---------------------------------------------------------------- candidate parts */

static json_t *tool_call(const json_t *part, const json_t *fc, const char *chatid, size_t choice,
                         size_t k, bool with_index)
{
  char id[160];
  const char *sfx = chatid ? chatid : "";
  if(!strncmp(sfx, "chatcmpl-", 9)) sfx += 9;
  snprintf(id, sizeof id, "call_%.100s_%zu_%zu", sfx, choice, k);
  const json_t *args = json_object_get(fc, "args");
  char *a = args ? json_dumps(args, OAI_DUMP_FLAGS | JSON_ENCODE_ANY) : NULL;
  const char *name = json_string_value(json_object_get(fc, "name"));
  json_t *tc = with_index ? json_pack("{s:I}", "index", (json_int_t)k) : json_object();
  json_t *rest = json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function", "function", "name",
                           name ? name : "", "arguments", a ? a : "{}");
  free(a);
  if(!tc || !rest || json_object_update(tc, rest)) {
    json_decref(tc);
    json_decref(rest);
    return NULL;
  }
  json_decref(rest);
  /* Gemini 3 wants the signature back with the call: round-trip it the way Google's own
   * OpenAI-compatible endpoint does. */
  json_t *sig = json_object_get(part, "thoughtSignature");
  if(json_is_string(sig))
    json_object_set_new(tc, "extra_content", json_pack("{s:{s:O}}", "google", "thought_signature", sig));
  return tc;
}

int oai_parts_collect(oai_parts *x, const json_t *content, const char *chatid, size_t choice,
                      size_t *ncalls, bool with_index)
{
  memset(x, 0, sizeof *x);
  size_t i;
  json_t *part;
  json_array_foreach(json_object_get(content, "parts"), i, part) {
    json_t *text = json_object_get(part, "text");
    json_t *fc = json_object_get(part, "functionCall");
    if(json_is_string(text) && json_string_length(text) > 0) {
      bool thought = json_is_true(json_object_get(part, "thought"));
      if(oai_buf_append(thought ? &x->thought : &x->text, json_string_value(text), json_string_length(text)))
        return -1;
      *(thought ? &x->has_thought : &x->has_text) = true;
    } else if(json_is_object(fc)) {
      if(!x->calls && !(x->calls = json_array())) return -1;
      if(json_array_append_new(x->calls, tool_call(part, fc, chatid, choice, (*ncalls)++, with_index)))
        return -1;
    }
    /* inlineData, executableCode, … have no place in a chat message: skipped. */
  }
  return 0;
}

void oai_parts_free(oai_parts *x)
{
  oai_buf_free(&x->text);
  oai_buf_free(&x->thought);
  json_decref(x->calls);
  x->calls = NULL;
}

/* ---------------------------------------------------------------- models */

json_t *oai_model(const char *id)
{
  if(id && !strncmp(id, "models/", 7)) id += 7;
  return json_pack("{s:s,s:s,s:i,s:s}", "id", id ? id : "", "object", "model", "created", 0, "owned_by", "google");
}

json_t *oai_models(const char *p, size_t n, oai_error *e)
{
  json_t *root = oai_load_upstream(p, n, e);
  if(!root) return NULL;
  json_t *models = json_object_get(root, "models");
  if(models && !json_is_array(models)) {
    json_decref(root);
    oai_error_set(e, 502, NULL, "bad_upstream_response", NULL, "The upstream sent a malformed model list.");
    return NULL;
  }
  json_t *data = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(models, i, m) {
    const char *name = json_string_value(json_object_get(m, "name"));
    if(name) json_array_append_new(data, oai_model(name));
  }
  json_decref(root);
  return json_pack("{s:s,s:o}", "object", "list", "data", data);
}
