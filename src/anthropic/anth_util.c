/* anth_util — errors, checked values, usage, stop reasons and the model list of the Anthropic
 * dialect. */
#include "anthropic/anth_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

json_t *anth_opt(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_null(v) ? NULL : v;
}

const char *anth_jtype(const json_t *v)
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

void anth_fmt(char *dst, size_t cap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
}

/* Length of the valid UTF-8 sequence at s, 0 when invalid (as strict as jansson). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  if(c < 0x80) return c ? 1 : 0;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if(c >= 0xC2 && c <= 0xDF) len = 2;
  else if(c >= 0xE0 && c <= 0xEF) { len = 3; if(c == 0xE0) lo = 0xA0; if(c == 0xED) hi = 0x9F; }
  else if(c >= 0xF0 && c <= 0xF4) { len = 4; if(c == 0xF0) lo = 0x90; if(c == 0xF4) hi = 0x8F; }
  else return 0;
  if(n < len || s[1] < lo || s[1] > hi) return 0;
  for(size_t i = 2; i < len; i++)
    if((s[i] & 0xC0) != 0x80) return 0;
  return len;
}

void anth_copy_utf8(char *dst, size_t cap, const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t o = 0, i = 0;
  while(i < n) {
    size_t l = utf8_len(u + i, n - i);
    if(!l) {                                  /* a stray byte: keep the message valid */
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

static int dump_cb(const char *p, size_t n, void *data)
{
  return dbuf_add(data, p, n);
}

int anth_dump(dbuf *b, const json_t *j)
{
  return json_dump_callback(j, dump_cb, b, ANTH_DUMP_FLAGS);
}

/* ---------------------------------------------------------------- errors */

const char *anth_error_type(int status)
{
  switch(status) {
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return "not_found_error";
  case 413: return "request_too_large";
  case 429: return "rate_limit_error";
  case 503: case 529: return "overloaded_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

void anth_error_set(anth_error *e, int status, const char *type, const char *fmt, ...)
{
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if(len < 0) len = 0;
  if((size_t)len >= sizeof tmp) len = sizeof tmp - 1;
  e->status = status;
  anth_copy_utf8(e->message, sizeof e->message, tmp, (size_t)len);
  type = type ? type : anth_error_type(status);
  anth_copy_utf8(e->type, sizeof e->type, type, strlen(type));
}

json_t *anth_error_json(const anth_error *e)
{
  return json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", e->type, "message", e->message);
}

int anth_sse_error(dbuf *out, const anth_error *e)
{
  json_t *j = anth_error_json(e);
  int rc = !j || DBUF_LIT(out, "event: error\ndata: ") || anth_dump(out, j) || DBUF_LIT(out, "\n\n") ? -1 : 0;
  json_decref(j);
  return rc;
}

void anth_google_error(int status, const char *body, size_t n, anth_error *e)
{
  json_t *root = body && n ? json_loadb(body, n, JSON_DECODE_ANY, NULL) : NULL;
  const json_t *obj = json_is_array(root) ? json_array_get(root, 0) : root;
  const json_t *err = json_object_get(obj, "error");
  json_t *jc = json_object_get(err, "code");
  if(status == 0 || status == 200) status = json_is_integer(jc) ? (int)json_integer_value(jc) : 500;
  int st = status >= 400 && status <= 599 ? status : 502;
  const char *msg = json_string_value(json_object_get(err, "message"));
  const char *gs = json_string_value(json_object_get(err, "status"));
  if(msg && *msg) anth_error_set(e, st, NULL, "%s%s%s", gs ? gs : "", gs ? ": " : "", msg);
  else anth_error_set(e, st, NULL, "The upstream answered HTTP %d.", status);
  json_decref(root);
}

int anth_bad(anth_error *e, const char *param, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if(param && *param) anth_error_set(e, 400, NULL, "%s: %s", param, msg);
  else anth_error_set(e, 400, NULL, "%s", msg);
  return -1;
}

int anth_number_in(anth_error *e, const json_t *v, const char *param, double lo, double hi)
{
  if(!json_is_number(v)) return anth_bad(e, param, "Input should be a number, not %s", anth_jtype(v));
  double d = json_number_value(v);
  if(!(d >= lo && d <= hi)) return anth_bad(e, param, "Input should be between %g and %g, not %g", lo, hi, d);
  return 0;
}

int anth_int_in(anth_error *e, const json_t *v, const char *param, int64_t lo, int64_t hi, int64_t *out)
{
  double d = json_is_real(v) ? json_real_value(v) : 0;
  if(json_is_real(v) && d == floor(d) && d >= -9e15 && d <= 9e15) *out = (int64_t)d;
  else if(json_is_integer(v)) *out = json_integer_value(v);
  else return anth_bad(e, param, "Input should be a valid integer, not %s", anth_jtype(v));
  if(*out < lo || *out > hi)
    return anth_bad(e, param, "Input should be between %lld and %lld, not %lld", (long long)lo, (long long)hi,
                    (long long)*out);
  return 0;
}

int anth_bool(anth_error *e, const json_t *v, const char *param, bool *out)
{
  if(!json_is_boolean(v)) return anth_bad(e, param, "Input should be a valid boolean, not %s", anth_jtype(v));
  *out = json_is_true(v);
  return 0;
}

/* ---------------------------------------------------------------- usage and stop reasons */

static int64_t count(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

void anth_usage_read(anth_usage *u, const json_t *m)
{
  if(!json_is_object(m)) return;
  int64_t prompt = count(m, "promptTokenCount"), cached = count(m, "cachedContentTokenCount");
  u->cached = cached;
  u->input = prompt > cached ? prompt - cached : 0;       /* Anthropic counts cache reads apart */
  u->thoughts = count(m, "thoughtsTokenCount");
  u->output = count(m, "candidatesTokenCount") + u->thoughts;
  u->seen = true;
}

json_t *anth_usage_json(const anth_usage *u)
{
  return json_pack("{s:I,s:I,s:I,s:I}", "input_tokens", (json_int_t)u->input, "output_tokens", (json_int_t)u->output,
                   "cache_read_input_tokens", (json_int_t)u->cached, "cache_creation_input_tokens", (json_int_t)0);
}

const char *anth_stop_reason(const char *r, bool called)
{
  static const char *const refused[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
                                         "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT" };
  if(called) return "tool_use";
  if(!r) return "end_turn";
  if(!strcmp(r, "MAX_TOKENS")) return "max_tokens";
  for(size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    if(!strcmp(r, refused[i])) return "refusal";
  return "end_turn";
}

void anth_tool_id(char *out, size_t cap, const char *msg_id, size_t k)
{
  const char *sfx = msg_id ? msg_id : "";
  if(!strncmp(sfx, "msg_", 4)) sfx += 4;
  snprintf(out, cap, "toolu_%.100s_%zu", sfx, k);
}

/* ---------------------------------------------------------------- models */

static json_t *model_obj(const char *id, const char *display)
{
  return json_pack("{s:s,s:s,s:s,s:s}", "type", "model", "id", id, "display_name", display ? display : id,
                   "created_at", "1970-01-01T00:00:00Z");
}

json_t *anth_models(const char *p, size_t n, const model_aliases *al, const char *one, anth_error *e)
{
  json_t *root = n ? json_loadb(p, n, 0, NULL) : NULL;
  json_t *models = json_object_get(root, "models");
  if(!json_is_object(root) || (models && !json_is_array(models))) {
    json_decref(root);
    anth_error_set(e, 502, NULL, "The upstream sent a malformed model list.");
    return NULL;
  }
  json_t *data = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(models, i, m) {
    const char *name = json_string_value(json_object_get(m, "name"));
    if(!name) continue;
    if(!strncmp(name, "models/", 7)) name += 7;
    const char *disp = json_string_value(json_object_get(m, "displayName"));
    if(!one || !strcmp(one, name)) json_array_append_new(data, model_obj(name, disp));
  }
  for(size_t k = 0; al && k < al->n; k++) {
    if(al->v[k].prefix || (one && strcmp(one, al->v[k].from))) continue;
    char disp[2 * ALIAS_NAME_MAX + 8];
    snprintf(disp, sizeof disp, "%s (%s)", al->v[k].from, al->v[k].to);
    json_array_append_new(data, model_obj(al->v[k].from, disp));
  }
  json_decref(root);
  if(one) {
    json_t *first = json_incref(json_array_get(data, 0));
    json_decref(data);
    if(!first) anth_error_set(e, 404, NULL, "model: %.100s", one);
    return first;
  }
  size_t cnt = json_array_size(data);
  json_t *fid = cnt ? json_object_get(json_array_get(data, 0), "id") : NULL;
  json_t *lid = cnt ? json_object_get(json_array_get(data, cnt - 1), "id") : NULL;
  return json_pack("{s:o,s:b,s:O?,s:O?}", "data", data, "has_more", 0, "first_id", fid, "last_id", lid);
}
