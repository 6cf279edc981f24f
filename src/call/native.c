#include "call/native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/body_prompt.h"
#include "call/proxy.h"
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

/* The upstream URL: base + path + the query without the client's key=. */
static char *build_url(const char *base, const http_req *r)
{
  size_t cap = strlen(base) + r->target.n + 2;
  char *url = malloc(cap);
  if(!url) return NULL;
  size_t n = (size_t)snprintf(url, cap, "%s%.*s", base, (int)r->path.n, r->path.p);
  char sep = '?';
  const char *p = r->query.p, *end = p + r->query.n;
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    bool is_key = (amp - p >= 4 && !memcmp(p, "key=", 4)) || (amp - p == 3 && !memcmp(p, "key", 3));
    if(!is_key && amp > p) {
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

void native_forward(http_req *r, const principal *who)
{
  native *n = calloc(1, sizeof *n);
  proxy_spec s = { .who = *who, .prompt_of = body_prompt_gemini, .codec = &native_codec, .codec_state = n };
  if(!n) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  str action;
  proxy_parse_model(r->path, s.model, sizeof s.model, &action);
  s.stream = str_starts(action, STR("streamGenerateContent"));
  n->sse = s.stream && str_eq(http_query_get(r, STR("alt")), STR("sse"));
  s.url = build_url(r->w->cfg->upstream, r);
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
