/* dialect — shared glue of the dialect routes; contract in dialect.h. */
#include "call/dialect.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/server.h"
#include "upstream/fetch.h"

#define DFETCH_MAX 32
#define DFETCH_CAP (20u << 20)

void dialect_id(char *out, size_t cap, const char *prefix)
{
  static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static __thread uint64_t s;
  if(!s) s = (uint64_t)mono_us() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)pthread_self() ^ (uint64_t)now_ms() << 20;
  size_t n = (size_t)snprintf(out, cap, "%s", prefix);
  for(size_t i = 0; i < 24 && n + 1 < cap; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    out[n++] = abc[s % (sizeof abc - 1)];
  }
  out[n] = '\0';
}

/* The client's x-… headers, not x-stainless-…, after proxy_client_headers' own drops; room for
 * Content-Type and the key. */
static char **headers(const http_req *r, bool json, size_t *count)
{
  size_t n = 0;
  char **h = proxy_client_headers(r, &n);
  if(!h) return NULL;
  size_t k = 0;
  for(size_t i = 0; i < n; i++) {
    bool keep = !strncasecmp(h[i], "x-", 2) && strncasecmp(h[i], "x-stainless-", 12);
    if(keep) h[k++] = h[i];
    else free(h[i]);
  }
  char **g = realloc(h, (k + 2) * sizeof *h);
  if(!g) { for(size_t i = 0; i < k; i++) free(h[i]); free(h); return NULL; }
  h = g;
  if(json && !(h[k++] = strdup("Content-Type: application/json"))) k--;
  h[k] = NULL;
  *count = k;
  return h;
}

int dialect_send(http_req *r, const principal *who, const char *model, const char *path, const json_t *j,
                 bool stream, ledger_prompt_fn prompt_of, const proxy_codec *codec, void *st)
{
  proxy_spec s = { .who = *who, .prompt_of = prompt_of, .stream = stream, .codec = codec, .codec_state = st };
  snprintf(s.model, sizeof s.model, "%s", model);
  const char *base = r->w->cfg->upstream;
  size_t ul = strlen(base) + strlen(path) + 1;
  s.url = malloc(ul);
  s.hdrs = headers(r, j != NULL, &s.nhdrs);
  if(j) {
    s.body_owned = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    s.body_len = s.body_owned ? strlen(s.body_owned) : 0;
    s.body = s.body_owned;
  }
  if(!s.url || !s.hdrs || (j && !s.body_owned)) {
    free(s.url);
    for(size_t i = 0; s.hdrs && i < s.nhdrs; i++) free(s.hdrs[i]);
    free(s.hdrs);
    free(s.body_owned);
    return -1;
  }
  snprintf(s.url, ul, "%s%s", base, path);
  proxy_start(r, &s);
  return 0;
}

/* ---------------------------------------------------------------- fetches */

typedef struct dfetch dfetch;
typedef struct dslot { dfetch *g; size_t i; } dslot;

struct dfetch {
  http_req *r;
  void *st;
  dfetch_fill_fn fill;
  dfetch_done_fn done;
  dfetch_abort_fn abort_fn;
  fetch *f[DFETCH_MAX];
  dslot slot[DFETCH_MAX];
  size_t pending;
  bool failed;
  fetch_group fg;               /* the images' bytes together (GEMGATE_FETCH_MAX_TOTAL, fetch.h) */
};

static void group_abort(http_req *r)
{
  dfetch *g = r->ctx;
  for(size_t i = 0; i < DFETCH_MAX; i++) if(g->f[i]) fetch_cancel(g->f[i]);
  g->abort_fn(g->st);
  fetch_group_end(&g->fg);
  free(g);
}

static void one_done(dfetch *g, size_t i, int ok, const char *ctype, const char *body, size_t len, const char *err)
{
  g->f[i] = NULL;
  g->pending--;
  if(!g->failed && !g->fill(g->st, i, ctype, body, len, ok ? NULL : err ? err : "the fetch failed")) g->failed = true;
  if(g->pending) return;
  http_req *r = g->r;
  r->on_abort = NULL;
  r->ctx = NULL;
  dfetch_done_fn done = g->done;
  void *st = g->st;
  bool failed = g->failed;
  fetch_group_end(&g->fg);     /* fill has copied what it needs into the request */
  free(g);
  done(st, r, failed);
}

static void fetched(void *ctx, fetch_result res, const char *ctype, const char *body, size_t len, const char *err)
{
  dslot *s = ctx;
  one_done(s->g, s->i, res == FETCH_OK, ctype, body, len, err);
}

int dfetch_start(http_req *r, char *const *urls, size_t n, void *st, dfetch_fill_fn fill, dfetch_done_fn done,
                 dfetch_abort_fn abort_fn)
{
  if(n > DFETCH_MAX) n = DFETCH_MAX;
  dfetch *g = calloc(1, sizeof *g);
  if(!g) return -1;
  *g = (dfetch){ .r = r, .st = st, .fill = fill, .done = done, .abort_fn = abort_fn, .pending = n,
                 .fg = { .total = r->w->cfg->fetch_max_total } };
  r->ctx = g;
  r->on_abort = group_abort;
  for(size_t i = 0; i < n; i++) {
    g->slot[i] = (dslot){ g, i };
    fetch *f = fetch_start(r->w->up, urls[i], DFETCH_CAP, &g->fg, fetched, &g->slot[i]);
    if(!f) {
      bool last = g->pending == 1;
      one_done(g, i, 0, NULL, NULL, 0, "could not start the image fetch");
      if(last) return 0;                     /* g is gone: done has run */
      continue;
    }
    g->f[i] = f;
  }
  return 0;
}
