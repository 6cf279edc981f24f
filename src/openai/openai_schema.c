/* openai_schema — JSON Schema (as OpenAI clients write it) → Gemini's Schema subset.
 *
 * Gemini accepts an OpenAPI-3-like subset and answers 400 to anything else, so this keeps an
 * allow-list instead of deleting known offenders: type (upper case; ["x","null"] → x +
 * nullable), format (only the ones Gemini knows for the type), description, nullable, enum
 * (strings only; const → enum), properties, required (only names still present), items,
 * anyOf (oneOf read as anyOf; allOf merged), minItems/maxItems, minimum/maximum.  $ref into
 * the document ("#/$defs/X", "#/definitions/X", any JSON pointer) is inlined up to REF_DEPTH
 * expansions deep — a recursive type cannot be written without $ref, so beyond that the
 * property is dropped.  Everything else ($schema, additionalProperties, strict, title,
 * default, examples, patternProperties, pattern, …) is dropped. */
#include "openai/openai_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_DEPTH 8
#define MAX_NODES 20000   /* bounds the work $ref expansion can cause */

typedef struct sctx {
  const json_t *root;
  bool response;
  size_t nodes;
  const char *param;
  oai_error *e;
  bool failed;
} sctx;

static json_t *clean(sctx *x, const json_t *s, int depth, int refs);

static const char *gemini_type(const char *t)
{
  static const char *const map[][2] = { { "string", "STRING" }, { "number", "NUMBER" },
                                        { "integer", "INTEGER" }, { "boolean", "BOOLEAN" },
                                        { "array", "ARRAY" }, { "object", "OBJECT" } };
  for(size_t i = 0; i < ARRAY_LEN(map); i++)
    if(!strcmp(t, map[i][0])) return map[i][1];
  return NULL;
}

static bool format_ok(const char *type, const char *f)
{
  if(!type) return false;
  if(!strcmp(type, "STRING")) return !strcmp(f, "enum") || !strcmp(f, "date-time");
  if(!strcmp(type, "NUMBER")) return !strcmp(f, "float") || !strcmp(f, "double");
  if(!strcmp(type, "INTEGER")) return !strcmp(f, "int32") || !strcmp(f, "int64");
  return false;
}

/* Follow a local JSON pointer ("#/$defs/Name"); NULL when it leads nowhere. */
static const json_t *resolve(const json_t *root, const char *ref)
{
  if(ref[0] != '#') return NULL;
  const json_t *cur = root;
  const char *p = ref + 1;
  while(*p == '/' && cur) {
    p++;
    char tok[256];
    size_t n = 0;
    for(; *p && *p != '/'; p++) {
      char c = *p;
      if(c == '~' && (p[1] == '0' || p[1] == '1')) c = *++p == '0' ? '~' : '/';
      if(n + 1 >= sizeof tok) return NULL;
      tok[n++] = c;
    }
    tok[n] = '\0';
    if(json_is_array(cur)) {
      char *end;
      unsigned long i = strtoul(tok, &end, 10);
      cur = *end || !n ? NULL : json_array_get(cur, i);
    } else cur = json_object_get(cur, tok);
  }
  return *p ? NULL : cur;
}

static void fail(sctx *x, const char *msg)
{
  if(x->failed) return;
  x->failed = true;
  oai_error_set(x->e, 400, NULL, "invalid_value", x->param, "Invalid schema for '%s': %s", x->param, msg);
}

/* Merge the keys of b into a, a's own keys winning, properties and required united. */
static void merge(json_t *a, json_t *b)
{
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v) {
    json_t *mine = json_object_get(a, k);
    if(!mine) json_object_set(a, k, v);
    else if(!strcmp(k, "properties") && json_is_object(mine)) json_object_update_missing(mine, v);
    else if(!strcmp(k, "required") && json_is_array(mine)) json_array_extend(mine, v);
  }
}

/* Only a nullable flag and nothing else: what a {"type":"null"} branch cleans to. */
static bool only_null(const json_t *s)
{
  return json_object_size(s) == 1 && json_is_true(json_object_get(s, "nullable"));
}

static void set_type(json_t *out, const json_t *t)
{
  if(json_is_string(t)) {
    const char *gt = gemini_type(json_string_value(t));
    if(gt) json_object_set_new(out, "type", json_string(gt));
    else if(!strcmp(json_string_value(t), "null")) json_object_set_new(out, "nullable", json_true());
    return;
  }
  json_t *types = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(t, i, v) {
    const char *name = json_string_value(v);
    const char *gt = name ? gemini_type(name) : NULL;
    if(gt) json_array_append_new(types, json_pack("{s:s}", "type", gt));
    else if(name && !strcmp(name, "null")) json_object_set_new(out, "nullable", json_true());
  }
  if(json_array_size(types) == 1) json_object_set(out, "type", json_object_get(json_array_get(types, 0), "type"));
  else if(json_array_size(types) > 1) json_object_set(out, "anyOf", types);
  json_decref(types);
}

static void set_enum(json_t *out, const json_t *en)
{
  json_t *vals = json_array();
  size_t i;
  json_t *v;
  bool strings = true;
  json_array_foreach(en, i, v) {
    if(json_is_null(v)) json_object_set_new(out, "nullable", json_true());
    else if(json_is_string(v)) json_array_append(vals, v);
    else strings = false;
  }
  /* Gemini's enum holds strings only; a numeric enum is dropped, its type kept. */
  if(strings && json_array_size(vals)) {
    json_object_set(out, "enum", vals);
    if(!json_object_get(out, "type")) json_object_set_new(out, "type", json_string("STRING"));
  }
  json_decref(vals);
}

static void set_properties(sctx *x, json_t *out, const json_t *props, int depth, int refs)
{
  json_t *cp = json_object(), *order = json_array();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)props, k, v) {
    json_t *c = clean(x, v, depth + 1, refs);
    if(x->failed) break;
    if(!c) continue;
    json_object_set_new(cp, k, c);
    json_array_append_new(order, json_string(k));
  }
  /* Gemini refuses an empty properties object ("should be non-empty for OBJECT type"); a bare
   * OBJECT is accepted. */
  if(json_object_size(cp)) json_object_set(out, "properties", cp);
  json_decref(cp);
  /* Gemini orders the properties of a structured answer alphabetically unless told; OpenAI
   * keeps the schema's order, so say it. */
  if(x->response && json_array_size(order) > 1) json_object_set(out, "propertyOrdering", order);
  json_decref(order);
}

static bool has_string(const json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
    if(json_is_string(v) && !strcmp(json_string_value(v), s)) return true;
  return false;
}

/* Keep the required names that are still properties (Gemini rejects the others), united with
 * what allOf branches required. */
static void set_required(json_t *out, const json_t *req)
{
  json_t *props = json_object_get(out, "properties"), *keep = json_object_get(out, "required");
  if(!json_is_array(keep)) {
    keep = json_array();
    json_object_set_new(out, "required", keep);
  }
  size_t i;
  json_t *v;
  json_array_foreach(req, i, v) {
    const char *name = json_string_value(v);
    if(name && json_object_get(props, name) && !has_string(keep, name)) json_array_append(keep, v);
  }
  if(!json_array_size(keep)) json_object_del(out, "required");
}

static void set_any_of(sctx *x, json_t *out, const json_t *list, int depth, int refs)
{
  json_t *keep = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    json_t *c = clean(x, v, depth + 1, refs);
    if(x->failed || !c) { json_decref(c); continue; }
    if(only_null(c)) json_object_set_new(out, "nullable", json_true());
    else if(json_object_size(c)) { json_array_append_new(keep, c); continue; }
    json_decref(c);
  }
  if(json_array_size(keep) == 1) merge(out, json_array_get(keep, 0));  /* Optional[X] → X, nullable */
  else if(json_array_size(keep) > 1) json_object_set(out, "anyOf", keep);
  json_decref(keep);
}

static void copy_number(json_t *out, const json_t *s, const char *k, bool integer)
{
  json_t *v = json_object_get(s, k);
  if(integer ? json_is_integer(v) && json_integer_value(v) >= 0 : json_is_number(v)) json_object_set(out, k, v);
}

static json_t *clean_object(sctx *x, const json_t *s, int depth, int refs)
{
  json_t *out = json_object();
  json_t *v;
  if((v = json_object_get(s, "type"))) set_type(out, v);
  if(json_is_true(json_object_get(s, "nullable"))) json_object_set_new(out, "nullable", json_true());
  if(json_is_string(v = json_object_get(s, "description"))) json_object_set(out, "description", v);
  if(json_is_array(v = json_object_get(s, "enum"))) set_enum(out, v);
  if((v = json_object_get(s, "const"))) {
    json_t *one = json_pack("[O]", v);
    set_enum(out, one);
    json_decref(one);
  }
  const char *type = json_string_value(json_object_get(out, "type"));
  if(json_is_string(v = json_object_get(s, "format")) && format_ok(type, json_string_value(v)))
    json_object_set(out, "format", v);
  if(json_is_object(v = json_object_get(s, "properties"))) set_properties(x, out, v, depth, refs);
  if(json_is_object(v = json_object_get(s, "items"))) {
    json_t *c = clean(x, v, depth + 1, refs);
    if(c) json_object_set_new(out, "items", c);
  }
  if(json_is_array(v = json_object_get(s, "anyOf"))) set_any_of(x, out, v, depth, refs);
  if(json_is_array(v = json_object_get(s, "oneOf"))) set_any_of(x, out, v, depth, refs);
  if(json_is_array(v = json_object_get(s, "allOf"))) {
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      json_t *c = clean(x, b, depth + 1, refs);
      if(c) merge(out, c);
      json_decref(c);
    }
  }
  if(json_is_array(v = json_object_get(s, "required"))) set_required(out, v);
  copy_number(out, s, "minItems", true);
  copy_number(out, s, "maxItems", true);
  copy_number(out, s, "minimum", false);
  copy_number(out, s, "maximum", false);
  if(!json_object_get(out, "type") && !json_object_get(out, "anyOf")) {
    if(json_object_get(out, "properties")) json_object_set_new(out, "type", json_string("OBJECT"));
    else if(json_object_get(out, "items")) json_object_set_new(out, "type", json_string("ARRAY"));
  }
  return out;
}

/* A cleaned copy of s; NULL when s is to be dropped (or on failure, with x->failed). */
static json_t *clean(sctx *x, const json_t *s, int depth, int refs)
{
  if(x->failed) return NULL;
  if(depth > OAI_SCHEMA_MAX_DEPTH) { fail(x, "it is nested too deeply."); return NULL; }
  if(++x->nodes > MAX_NODES) { fail(x, "it is too large once its $refs are expanded."); return NULL; }
  if(json_is_true(s)) return json_object();
  if(!json_is_object(s)) return NULL;
  const char *ref = json_string_value(json_object_get(s, "$ref"));
  if(ref) {
    const json_t *target = refs < REF_DEPTH ? resolve(x->root, ref) : NULL;
    if(!target || target == s) return NULL;
    json_t *c = clean(x, target, depth + 1, refs + 1);
    json_t *desc = json_object_get(s, "description");
    if(c && json_is_string(desc)) json_object_set(c, "description", desc);
    return c;
  }
  json_t *out = clean_object(x, s, depth, refs);
  if(x->failed) { json_decref(out); return NULL; }
  return out;
}

json_t *oai_schema_clean(const json_t *schema, bool response, const char *param, oai_error *e)
{
  if(!json_is_object(schema)) {
    oai_error_set(e, 400, NULL, "invalid_type", param,
                  "Invalid type for '%s': expected an object (a JSON Schema), but got %s.", param, oai_jtype(schema));
    return NULL;
  }
  sctx x = { .root = schema, .response = response, .param = param, .e = e };
  json_t *out = clean(&x, schema, 0, 0);
  if(x.failed) return NULL;
  return out ? out : json_object();
}
