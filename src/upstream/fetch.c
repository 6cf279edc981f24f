#include "upstream/fetch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/upstream.h"

static atomic_llong inflight;          /* bytes held by every fetch group (fetch.h) */

struct fetch {
  up_call *up;
  fetch_done done;
  void *ctx;
  fetch_group *g;
  int64_t max_inflight;                /* GEMGATE_FETCH_MAX_INFLIGHT (<= 0: no limit) */
  int status;
  size_t cap, len, alloc;
  char *body;
  char ctype[128];
  fetch_result why;                    /* FETCH_OK until a limit stops the fetch */
};

int64_t fetch_inflight(void) { return atomic_load(&inflight); }

void fetch_group_end(fetch_group *g)
{
  if(g->used) atomic_fetch_sub(&inflight, g->used);
  g->used = 0;
}

/* The most a group may hold: its total, and never more than the whole gauge may (a request
 * that could never fit is too large, not early). */
static int64_t group_max(const fetch *f)
{
  int64_t t = f->g->total;
  if(f->max_inflight > 0 && (t <= 0 || t > f->max_inflight)) t = f->max_inflight;
  return t;
}

/* Counts n more bytes for f: FETCH_OK, or the limit they would pass (nothing counted then). */
static fetch_result take(fetch *f, size_t n)
{
  int64_t gmax = group_max(f);
  if(f->len + n > f->cap) return FETCH_TOO_BIG;
  if(gmax > 0 && f->g->used + (int64_t)n > gmax) return FETCH_OVER_TOTAL;
  int64_t now = atomic_fetch_add(&inflight, (long long)n) + (int64_t)n;
  if(f->max_inflight > 0 && now > f->max_inflight) {
    atomic_fetch_sub(&inflight, (long long)n);
    return FETCH_BUSY;
  }
  f->g->used += (int64_t)n;
  return FETCH_OK;
}

/* The limit a body of cl bytes would pass, checked before it is read (nothing counted). */
static fetch_result fits(const fetch *f, int64_t cl)
{
  int64_t gmax = group_max(f);
  if(cl > (int64_t)f->cap) return FETCH_TOO_BIG;
  if(gmax > 0 && f->g->used + cl > gmax) return FETCH_OVER_TOTAL;
  if(f->max_inflight > 0 && atomic_load(&inflight) + cl > f->max_inflight) return FETCH_BUSY;
  return FETCH_OK;
}

static void on_head(void *ctx, int status, const http_header *h, size_t n)
{
  fetch *f = ctx;
  f->status = status;
  for(size_t i = 0; i < n; i++) {
    if(str_ieq(h[i].name, STR("Content-Type")))
      snprintf(f->ctype, sizeof f->ctype, "%.*s", (int)h[i].value.n, h[i].value.p);
    else if(status == 200 && str_ieq(h[i].name, STR("Content-Length")) && h[i].value.n < 20) {
      char num[24];
      memcpy(num, h[i].value.p, h[i].value.n);
      num[h[i].value.n] = '\0';
      int64_t cl = parse_int(num);
      if(cl >= 0) f->why = fits(f, cl);
    }
  }
}

static int on_data(void *ctx, const char *p, size_t n)
{
  fetch *f = ctx;
  if(f->why != FETCH_OK) return UP_ABORT;            /* its Content-Length did not fit */
  if(f->status != 200) return UP_CONTINUE;           /* an error page: not kept */
  if((f->why = take(f, n)) != FETCH_OK) return UP_ABORT;
  if(f->len + n > f->alloc) {
    size_t a = f->alloc ? f->alloc : 16384;
    while(a < f->len + n) a *= 2;
    if(a > f->cap) a = f->cap;
    char *b = realloc(f->body, a);
    if(!b) { f->why = FETCH_FAILED; return UP_ABORT; }
    f->body = b;
    f->alloc = a;
  }
  memcpy(f->body + f->len, p, n);
  f->len += n;
  return UP_CONTINUE;
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  fetch *f = ctx;
  char m[300];
  fetch_result res = f->why;
  switch(res) {
  case FETCH_TOO_BIG: snprintf(m, sizeof m, "image larger than %zu bytes", f->cap); break;
  case FETCH_OVER_TOTAL:
    snprintf(m, sizeof m, "the images of this request are larger than %lld bytes together (GEMGATE_FETCH_MAX_TOTAL)",
             (long long)group_max(f));
    break;
  case FETCH_BUSY: snprintf(m, sizeof m, "the gateway is holding as many fetched images as it may; try again shortly"); break;
  default:
    if(err != UP_OK) { res = FETCH_FAILED; snprintf(m, sizeof m, "image could not be fetched: %s", msg); }
    else if(f->status != 200) { res = FETCH_FAILED; snprintf(m, sizeof m, "image URL answered HTTP %d", f->status); }
    else res = FETCH_OK;
  }
  f->done(f->ctx, res, f->ctype[0] ? f->ctype : NULL, f->body, f->len, res == FETCH_OK ? NULL : m);
  free(f->body);
  free(f);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

fetch *fetch_start(upstream *u, const char *url, size_t cap, fetch_group *g, fetch_done done, void *ctx)
{
  fetch *f = calloc(1, sizeof *f);
  if(!f) return NULL;
  f->done = done;
  f->ctx = ctx;
  f->cap = cap;
  f->g = g;
  const config *cfg = up_config(u);
  f->max_inflight = cfg->fetch_max_inflight;
  int64_t timeout_ms = cfg->timeout_ms;
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
