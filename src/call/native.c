#include "call/native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openai/openai.h"
#include "call/body_prompt.h"
#include "call/path.h"
#include "call/proxy.h"
#include "call/record.h"
#include "call/reslist.h"
#include "http/server.h"

typedef struct native { bool sse; } native;

static void n_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  http_start(r, status, headers, cl);
}

static void n_data(void *st, http_req *r, const char *p, size_t n) { http_send(r, p, n); }

static void n_end(void *st, http_req *r)
{
  proxy_settle(r, NULL);
  http_finish(r);
}

/* A cut stream: an SSE client gets Google's mid-stream error event, then every client sees
 * the connection end without the final chunk. */
static void n_cut(void *st, http_req *r, const char *msg)
{
  native *n = st;
  proxy_settle(r, NULL);
  if(n->sse) {
    static const char ev[] = "data: {\"error\":{\"code\":502,\"message\":\"upstream stream was cut\","
                             "\"status\":\"UNAVAILABLE\"}}\r\n\r\n";
    http_send(r, ev, sizeof ev - 1);
  }
  http_abort(r);
}

static void n_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len,
                    const char *extra)
{
  char head[4096];
  proxy_settle(r, NULL);
  snprintf(head, sizeof head, "%s%s", headers ? headers : "Content-Type: application/json; charset=UTF-8\r\n",
           extra ? extra : "");
  http_start(r, status, head, (int64_t)len);
  http_send(r, body, len);
  http_finish(r);
}

static const proxy_codec native_codec = { n_start, n_data, n_end, n_cut, n_error, free };

/* The upstream URL: base + path + the query without what path_query_dropped keeps back (the
 * client's key=, billing and field-mask parameters). */
char *native_upstream_url(const char *base, const http_req *r)
{
  size_t cap = strlen(base) + r->target.n + 2;
  char *url = malloc(cap);
  if(!url) return NULL;
  size_t bl = strlen(base), n = bl + r->path.n;   /* r->path is within r->target: it fits */
  memcpy(url, base, bl);
  if(r->path.n) memcpy(url + bl, r->path.p, r->path.n);
  url[n] = '\0';
  char sep = '?';
  const char *p = r->query.p, *end = p ? p + r->query.n : NULL;   /* NULL + 0 is UB */
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    if(amp > p && !path_query_dropped((str){ p, (size_t)(amp - p) })) {
      url[n++] = sep;
      memcpy(url + n, p, (size_t)(amp - p));
      n += (size_t)(amp - p);
      sep = '&';
    }
    p = amp + 1;
  }
  url[n] = '\0';
  return url;
}

/* The path after the version ("/v1beta/files/x" → "files/x"). */
static str api_rest(str path)
{
  const char *slash = path.n > 1 ? memchr(path.p + 1, '/', path.n - 1) : NULL;
  if(!slash) return (str){ path.p + path.n, 0 };
  return (str){ slash + 1, (size_t)(path.p + path.n - slash - 1) };
}

/* The model a native call is checked against (allowed_models), pooled and recorded under, into
 * out: the one its path names (models/<m>); for POST cachedContents and POST interactions, which
 * name theirs in the body, the body's "model" (an interaction's "agent" when it has none); for
 * a call on a tuned model (tunedModels/<id>:<method>), that name, so that an allowed_models list
 * admits it only when it says so.  NULL, or why the request is refused (400).
 * A path or body naming a recorded resource (cachedContents/<id>, batches/<id>, …) with no model
 * of its own takes the one the resource was created with: resource_route (call/resource.c). */
static const char *call_model(const http_req *r, char *out, size_t cap, str *action)
{
  static const char too_long[] = "model name too long";
  proxy_parse_model(r->path, out, cap, action);
  if(strlen(out) + 1 >= cap) return too_long;      /* cut: it would be checked as another name */
  if(out[0]) return NULL;
  str rest = api_rest(r->path);
  bool cache = str_eq(rest, STR("cachedContents")), turn = str_eq(rest, STR("interactions"));
  if(str_eq(r->method, STR("POST")) && (cache || turn)) {
    char m[160];
    int rc = path_body_member(r->body, r->body_len, "model", m, sizeof m);
    if(rc == 0 && turn) rc = path_body_member(r->body, r->body_len, "agent", m, sizeof m);
    if(rc < 0) return "the body must be a JSON object naming its model once, as a plain string";
    if(rc > 0 && !oai_model_ok(m)) return "invalid model name: use letters, digits, '.', '_' and '-'";
    const char *name = strncmp(m, "models/", 7) ? m : m + 7;
    if(strlen(name) + 1 >= cap) return too_long;
    memcpy(out, name, strlen(name) + 1);
    return NULL;
  }
  if(str_starts(rest, STR("tunedModels/"))) {
    size_t n = 12;
    while(n < rest.n && rest.p[n] != '/' && rest.p[n] != ':') n++;
    if(n < rest.n && rest.p[n] == ':') {
      if(n + 1 >= cap) return too_long;
      memcpy(out, rest.p, n);
      out[n] = '\0';
    }
  }
  return NULL;
}

/* A request refused before any call: recorded, answered in Google's shape. */
static void refuse(http_req *r, const principal *who, const char *model, const char *why)
{
  record_local(r, who, model, body_prompt_gemini, false, 400, why);
  http_error(r, 400, "INVALID_ARGUMENT", why, NULL);
}

void native_forward(http_req *r, const principal *who)
{
  const char *why = path_refusal(r->path);
  if(!why) why = path_query_refusal(r->query);
  if(why) { refuse(r, who, "", why); return; }
  if(reslist_handle(r, who)) return;   /* tenancy: lists of the caller's own resources */
  proxy_spec s = { .who = *who, .prompt_of = body_prompt_gemini, .codec = &native_codec };
  str action;
  if((why = call_model(r, s.model, sizeof s.model, &action))) { refuse(r, who, "", why); return; }
  native *n = calloc(1, sizeof *n);
  if(!n) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  s.codec_state = n;
  s.stream = str_starts(action, STR("streamGenerateContent"));
  n->sse = s.stream && str_eq(http_query_get(r, STR("alt")), STR("sse"));
  s.url = native_upstream_url(r->w->cfg->upstream, r);
  s.hdrs = proxy_client_headers(r, &s.nhdrs);
  s.body = r->body;
  s.body_len = r->body_len;
  if(!s.url || !s.hdrs) {
    free(s.url);
    free(s.hdrs);
    free(n);
    http_error(r, 500, NULL, "out of memory", NULL);
    return;
  }
  proxy_start(r, &s);
}
