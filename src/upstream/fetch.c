#include "upstream/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/upstream.h"

struct fetch {
  up_call *up;
  fetch_done done;
  void *ctx;
  int status;
  size_t cap, len;
  char *body;
  char ctype[128];
  bool too_big;
};

static void on_head(void *ctx, int status, const http_header *h, size_t n)
{
  fetch *f = ctx;
  f->status = status;
  for(size_t i = 0; i < n; i++)
    if(str_ieq(h[i].name, STR("Content-Type")))
      snprintf(f->ctype, sizeof f->ctype, "%.*s", (int)h[i].value.n, h[i].value.p);
}

static int on_data(void *ctx, const char *p, size_t n)
{
  fetch *f = ctx;
  if(f->len + n > f->cap) { f->too_big = true; return UP_ABORT; }
  char *b = realloc(f->body, f->len + n);
  if(!b) return UP_ABORT;
  f->body = b;
  memcpy(b + f->len, p, n);
  f->len += n;
  return UP_CONTINUE;
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  fetch *f = ctx;
  char m[300];
  int ok = 0;
  if(f->too_big) snprintf(m, sizeof m, "image larger than %zu bytes", f->cap);
  else if(err != UP_OK) snprintf(m, sizeof m, "image could not be fetched: %s", msg);
  else if(f->status != 200) snprintf(m, sizeof m, "image URL answered HTTP %d", f->status);
  else ok = 1;
  f->done(f->ctx, ok, f->ctype[0] ? f->ctype : NULL, f->body, f->len, ok ? NULL : m);
  free(f->body);
  free(f);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

fetch *fetch_start(upstream *u, const char *url, size_t cap, fetch_done done, void *ctx)
{
  fetch *f = calloc(1, sizeof *f);
  if(!f) return NULL;
  f->done = done;
  f->ctx = ctx;
  f->cap = cap;
  int64_t timeout_ms = up_config(u)->timeout_ms;
  up_request req = { .method = "GET", .url = url, .timeout_ms = timeout_ms < 30000 ? timeout_ms : 30000, .fetch = 1 };
  f->up = up_start(u, &req, &callbacks, f);
  if(!f->up) { free(f); return NULL; }
  return f;
}

void fetch_cancel(fetch *f)
{
  up_cancel(f->up);
  free(f->body);
  free(f);
}
