/* openai_media — embeddings (→ batchEmbedContents) and image generation (→ Imagen predict, or
 * generateContent with image output for Gemini image models). */
#include "openai/openai_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- embeddings */

/* Gemini's embedding answer carries no token count, so this estimates one: a token per four
 * ASCII bytes, and one per other character (CJK text is about a token a character). */
static int64_t estimate_tokens(const char *s, size_t n)
{
  int64_t ascii = 0, other = 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c < 0x80) ascii++;
    else if((c & 0xC0) != 0x80) other++;
  }
  int64_t t = (ascii + 3) / 4 + other;
  return t ? t : 1;
}

static int embed_input(oai_error *e, const json_t *v, size_t i, bool list)
{
  char p[32];
  oai_fmt(p, sizeof p, list ? "input[%zu]" : "input", i);
  if(json_is_integer(v) || json_is_array(v))
    return oai_bad_value(e, list ? p : "input", "Invalid '%s': token arrays are not supported; send the text.", list ? p : "input");
  if(!json_is_string(v)) return oai_bad_type(e, p, v, list ? "a string" : "a string or an array of strings");
  if(!json_string_length(v)) return oai_bad_value(e, p, "Invalid '%s': the input must not be empty.", p);
  return 0;
}

static int embed_batches(oai_embed *r, const json_t *inputs, json_t *dims, oai_error *e)
{
  char model[160];
  oai_fmt(model, sizeof model, "models/%s", r->model);
  r->nbatch = (r->ninputs + OAI_EMBED_BATCH - 1) / OAI_EMBED_BATCH;
  if(!(r->batch = calloc(r->nbatch, sizeof *r->batch))) return -1;
  for(size_t i = 0; i < r->ninputs; i++) {
    json_t *text = json_array_get(inputs, i);
    json_t *req = json_pack("{s:s,s:{s:[{s:O}]}}", "model", model, "content", "parts", "text", text);
    if(!req) return -1;
    if(dims) json_object_set(req, "outputDimensionality", dims);
    json_t **b = &r->batch[i / OAI_EMBED_BATCH];
    if(!*b && !(*b = json_pack("{s:[]}", "requests"))) { json_decref(req); return -1; }
    if(json_array_append_new(json_object_get(*b, "requests"), req)) return -1;
    r->est_tokens += estimate_tokens(json_string_value(text), json_string_length(text));
  }
  return 0;
}

static int embed_options(oai_embed *r, const json_t *req, json_t **dims, oai_error *e)
{
  json_t *v;
  int64_t d;
  if((v = oai_opt(req, "dimensions"))) {
    if(oai_int_in(e, v, "dimensions", 1, 65536, &d)) return -1;
    *dims = json_integer(d);
  }
  if((v = oai_opt(req, "encoding_format"))) {
    if(!json_is_string(v)) return oai_bad_type(e, "encoding_format", v, "a string");
    const char *f = json_string_value(v);
    if(strcmp(f, "float") && strcmp(f, "base64"))
      return oai_bad_value(e, "encoding_format", "Invalid value for 'encoding_format': '%.40s'. Supported values are: 'float' and 'base64'.", f);
    r->base64 = !strcmp(f, "base64");
  }
  return 0;
}

static int embed_translate(oai_embed *r, const json_t *req, oai_error *e)
{
  if(!(r->model = oai_model_name(oai_opt(req, "model"), e))) return -1;
  json_t *input = oai_opt(req, "input"), *inputs, *dims = NULL;
  if(!input) return oai_bad_missing(e, "input");
  if(json_is_array(input)) {
    if(!json_array_size(input)) {
      oai_error_set(e, 400, NULL, "empty_array", "input", "'input' must contain at least one text.");
      return -1;
    }
    if(json_array_size(input) > OAI_EMBED_MAX_INPUTS)
      return oai_bad_value(e, "input", "Invalid 'input': at most %d texts per request.", OAI_EMBED_MAX_INPUTS);
    /* [1, 2, 3] is one tokenised input, not three. */
    if(json_is_integer(json_array_get(input, 0))) return embed_input(e, input, 0, false);
    size_t i;
    json_t *v;
    json_array_foreach(input, i, v)
      if(embed_input(e, v, i, true)) return -1;
    inputs = json_incref(input);
  } else {
    if(embed_input(e, input, 0, false)) return -1;
    inputs = json_pack("[O]", input);
  }
  r->ninputs = json_array_size(inputs);
  json_t *first = json_array_get(inputs, 0);
  r->prompt = oai_dup_chars(json_string_value(first), json_string_length(first), OAI_PROMPT_CHARS);
  int rc = !r->prompt || embed_options(r, req, &dims, e) || embed_batches(r, inputs, dims, e) ? -1 : 0;
  json_decref(dims);
  json_decref(inputs);
  return rc;
}

int oai_embed_parse(const char *p, size_t n, oai_embed *r, oai_error *e)
{
  memset(r, 0, sizeof *r);
  oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the request.");
  json_t *req = oai_load_request(p, n, e);
  if(!req) return -1;
  int rc = embed_translate(r, req, e);
  json_decref(req);
  if(rc) oai_embed_free(r);
  return rc;
}

void oai_embed_free(oai_embed *r)
{
  for(size_t i = 0; r->batch && i < r->nbatch; i++) json_decref(r->batch[i]);
  free(r->batch);
  free(r->model);
  free(r->prompt);
  memset(r, 0, sizeof *r);
}

/* Gemini's float values → base64 of little-endian float32, as OpenAI's SDKs decode it. */
static json_t *b64_floats(const json_t *values)
{
  size_t n = json_array_size(values);
  unsigned char *raw = malloc(n * 4 + 1);
  if(!raw) return NULL;
  for(size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(values, i);
    if(!json_is_number(v)) { free(raw); return NULL; }
    float f = (float)json_number_value(v);
    uint32_t u;
    memcpy(&u, &f, 4);
    for(int k = 0; k < 4; k++) raw[i * 4 + (size_t)k] = (unsigned char)(u >> (8 * k));
  }
  size_t len;
  char *s = oai_b64(raw, n * 4, &len);
  free(raw);
  json_t *j = s ? json_stringn_nocheck(s, len) : NULL;
  free(s);
  return j;
}

/* Append the embeddings of one batch answer to data; the number of prompt tokens it reports
 * (or -1) goes to *tokens. */
static int embed_batch_answer(const oai_embed *r, size_t b, str body, json_t *data, int64_t *tokens, oai_error *e)
{
  json_t *root = oai_load_upstream(body.p, body.n, e);
  if(!root) return -1;
  json_t *embs = json_object_get(root, "embeddings"), *err = json_object_get(root, "error");
  size_t want = json_array_size(json_object_get(r->batch[b], "requests"));
  int rc = 0;
  if(json_is_object(err)) { oai_google_error_obj(200, err, e); rc = -1; }
  else if(json_array_size(embs) != want) {
    oai_error_set(e, 502, NULL, "bad_upstream_response", NULL, "The upstream answered %zu embeddings for %zu texts.",
                  json_array_size(embs), want);
    rc = -1;
  }
  json_t *um = json_object_get(root, "usageMetadata");
  if(json_is_integer(json_object_get(um, "promptTokenCount"))) *tokens += json_integer_value(json_object_get(um, "promptTokenCount"));
  for(size_t i = 0; !rc && i < want; i++) {
    json_t *values = json_object_get(json_array_get(embs, i), "values");
    json_t *emb = !json_is_array(values) ? NULL : r->base64 ? b64_floats(values) : json_incref(values);
    if(!emb) {
      oai_error_set(e, 502, NULL, "bad_upstream_response", NULL, "The upstream sent a malformed embedding.");
      rc = -1;
      break;
    }
    rc = json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index",
                                               (json_int_t)(b * OAI_EMBED_BATCH + i), "embedding", emb));
  }
  json_decref(root);
  return rc;
}

json_t *oai_embed_response(const oai_embed *r, const str *bodies, size_t nbodies, oai_error *e)
{
  if(nbodies != r->nbatch) {
    oai_error_set(e, 500, NULL, "internal_error", NULL, "Expected %zu upstream answers, got %zu.", r->nbatch, nbodies);
    return NULL;
  }
  json_t *data = json_array();
  int64_t reported = 0;
  for(size_t b = 0; b < nbodies; b++)
    if(embed_batch_answer(r, b, bodies[b], data, &reported, e)) { json_decref(data); return NULL; }
  json_int_t tokens = reported > 0 ? reported : r->est_tokens;
  return json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model", r->model, "usage",
                   "prompt_tokens", tokens, "total_tokens", tokens);
}

/* ---------------------------------------------------------------- images */

/* "WxH" → the nearest aspect ratio the model takes (by ratio, on a log scale). */
static const char *aspect(const char *size, bool gemini)
{
  static const char *const imagen[] = { "1:1", "3:4", "4:3", "9:16", "16:9" };
  static const char *const gem[] = { "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9" };
  unsigned w = 0, h = 0, *cur = &w;
  size_t digits = 0;
  for(const char *c = size; *c; c++) {
    if(*c == 'x' && cur == &w && digits) { cur = &h; digits = 0; }
    else if(*c >= '0' && *c <= '9' && digits < 5) { *cur = *cur * 10 + (unsigned)(*c - '0'); digits++; }
    else return NULL;
  }
  if(cur != &h || !w || !h) return NULL;
  const char *const *set = gemini ? gem : imagen;
  size_t n = gemini ? ARRAY_LEN(gem) : ARRAY_LEN(imagen);
  const char *best = NULL;
  double bestd = 1e9, want = log((double)w / h);
  for(size_t i = 0; i < n; i++) {
    unsigned a, b;
    sscanf(set[i], "%u:%u", &a, &b);
    double d = fabs(log((double)a / b) - want);
    if(d < bestd) { bestd = d; best = set[i]; }
  }
  return best;
}

static json_t *image_body(const oai_image *r, const json_t *prompt, const char *ratio)
{
  if(!r->gemini) {
    json_t *params = json_pack("{s:i}", "sampleCount", r->n);
    if(ratio) json_object_set_new(params, "aspectRatio", json_string(ratio));
    return json_pack("{s:[{s:O}],s:o}", "instances", "prompt", prompt, "parameters", params);
  }
  json_t *gc = json_pack("{s:[s,s]}", "responseModalities", "TEXT", "IMAGE");
  if(r->n > 1) json_object_set_new(gc, "candidateCount", json_integer(r->n));
  if(ratio) json_object_set_new(gc, "imageConfig", json_pack("{s:s}", "aspectRatio", ratio));
  return json_pack("{s:[{s:s,s:[{s:O}]}],s:o}", "contents", "role", "user", "parts", "text", prompt,
                   "generationConfig", gc);
}

static int image_model(oai_image *r, const json_t *req, oai_error *e)
{
  json_t *m = oai_opt(req, "model");
  const char *name = json_string_value(m);
  /* OpenAI's own image models mean "the default image model" here. */
  if(!m || (name && (!strncmp(name, "dall-e", 6) || !strncmp(name, "gpt-image", 9)))) {
    r->model = strdup(OAI_DEFAULT_IMAGE_MODEL);
    return r->model ? 0 : -1;
  }
  if(!(r->model = oai_model_name(m, e))) return -1;
  r->gemini = !strncmp(r->model, "gemini", 6);
  return 0;
}

static int image_translate(oai_image *r, const json_t *req, oai_error *e)
{
  json_t *prompt = oai_opt(req, "prompt"), *v;
  if(!prompt) return oai_bad_missing(e, "prompt");
  if(!json_is_string(prompt)) return oai_bad_type(e, "prompt", prompt, "a string");
  if(!json_string_length(prompt)) return oai_bad_value(e, "prompt", "Invalid 'prompt': it must not be empty.");
  if(image_model(r, req, e)) return -1;
  int64_t n = 1;
  if((v = oai_opt(req, "n")) && oai_int_in(e, v, "n", 1, 4, &n)) return -1;
  r->n = (int)n;
  const char *ratio = NULL;
  if((v = oai_opt(req, "size"))) {
    if(!json_is_string(v)) return oai_bad_type(e, "size", v, "a string");
    const char *s = json_string_value(v);
    if(strcmp(s, "auto") && !(ratio = aspect(s, r->gemini)))
      return oai_bad_value(e, "size", "Invalid value for 'size': '%.40s'. Expected 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.", s);
  }
  if((v = oai_opt(req, "response_format"))) {
    if(!json_is_string(v)) return oai_bad_type(e, "response_format", v, "a string");
    const char *f = json_string_value(v);
    if(strcmp(f, "b64_json") && strcmp(f, "url"))
      return oai_bad_value(e, "response_format", "Invalid value for 'response_format': '%.40s'. Supported values are: 'b64_json' and 'url'.", f);
    r->url = !strcmp(f, "url");
  }
  r->body = image_body(r, prompt, ratio);
  r->prompt = oai_dup_chars(json_string_value(prompt), json_string_length(prompt), OAI_PROMPT_CHARS);
  return r->body && r->prompt ? 0 : -1;
}

int oai_image_parse(const char *p, size_t n, oai_image *r, oai_error *e)
{
  memset(r, 0, sizeof *r);
  oai_error_set(e, 500, NULL, "internal_error", NULL, "The gateway could not translate the request.");
  json_t *req = oai_load_request(p, n, e);
  if(!req) return -1;
  int rc = image_translate(r, req, e);
  json_decref(req);
  if(rc) oai_image_free(r);
  return rc;
}

void oai_image_free(oai_image *r)
{
  free(r->model);
  free(r->prompt);
  json_decref(r->body);
  memset(r, 0, sizeof *r);
}

static int add_image(const oai_image *r, json_t *data, json_t *b64, const char *mime)
{
  if(!json_is_string(b64) || !json_string_length(b64)) return 0;
  if(!r->url) return json_array_append_new(data, json_pack("{s:O}", "b64_json", b64));
  /* No place to host a file: the URL carries the image itself. */
  oai_buf u = { 0 };
  const char *m = mime ? mime : "image/png";
  int rc = OAI_LIT(&u, "data:") || oai_buf_append(&u, m, strlen(m)) || OAI_LIT(&u, ";base64,") ||
           oai_buf_append(&u, json_string_value(b64), json_string_length(b64))
             ? -1 : json_array_append_new(data, json_pack("{s:s%}", "url", u.p, u.n));
  oai_buf_free(&u);
  return rc;
}

/* Images in the answer → data; why there are none (if said) → *why. */
static void collect_images(const oai_image *r, const json_t *root, json_t *data, const char **why)
{
  size_t i, j;
  json_t *c, *part;
  if(!r->gemini) {
    json_array_foreach(json_object_get(root, "predictions"), i, c) {
      add_image(r, data, json_object_get(c, "bytesBase64Encoded"), json_string_value(json_object_get(c, "mimeType")));
      if(!*why) *why = json_string_value(json_object_get(c, "raiFilteredReason"));
    }
    return;
  }
  *why = json_string_value(json_object_get(json_object_get(root, "promptFeedback"), "blockReason"));
  json_array_foreach(json_object_get(root, "candidates"), i, c) {
    json_array_foreach(json_object_get(json_object_get(c, "content"), "parts"), j, part) {
      json_t *inl = json_object_get(part, "inlineData");
      const char *mime = json_string_value(json_object_get(inl, "mimeType"));
      if(mime && !strncmp(mime, "image/", 6)) add_image(r, data, json_object_get(inl, "data"), mime);
    }
    if(!*why) *why = json_string_value(json_object_get(c, "finishReason"));
  }
}

json_t *oai_image_response(const oai_image *r, const char *p, size_t n, int64_t created, oai_usage *u, oai_error *e)
{
  json_t *root = oai_load_upstream(p, n, e);
  if(!root) return NULL;
  json_t *err = json_object_get(root, "error"), *out = NULL;
  if(json_is_object(err)) {
    oai_google_error_obj(200, err, e);
    json_decref(root);
    return NULL;
  }
  if(u) {
    memset(u, 0, sizeof *u);
    oai_usage_read(u, json_object_get(root, "usageMetadata"));
  }
  json_t *data = json_array();
  const char *why = NULL;
  collect_images(r, root, data, &why);
  if(!json_array_size(data))
    oai_error_set(e, 400, NULL, "content_policy_violation", "prompt", "No image was generated%s%s%s.",
                  why ? " (" : "", why ? why : "", why ? ")" : "");
  else out = json_pack("{s:I,s:O}", "created", (json_int_t)created, "data", data);
  json_decref(data);
  json_decref(root);
  return out;
}
