/* probe — one key probe; contract in probe.h. */
#include "pool/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define SECRET_HDR "x-goog-api-key: "

struct probe {
  up_call *call;
  probe_done done;
  void *ctx;
  int status;
  char hdr[600];                 /* SECRET_HDR + the secret: wiped before it is freed */
};

static void probe_free(probe *p)
{
  memset(p->hdr, 0, sizeof p->hdr);
  free(p);
}

static void on_head(void *ctx, int status, const http_header *h, size_t n) { ((probe *)ctx)->status = status; }
static int on_data(void *ctx, const char *p, size_t n) { return UP_CONTINUE; }

static void on_done(void *ctx, up_error err, const char *msg)
{
  probe *p = ctx;
  p->call = NULL;
  p->done(p->ctx, err == UP_OK && p->status == 200, p->status, err, msg);
  probe_free(p);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

probe *probe_start(upstream *up, const config *cfg, const char *secret, probe_done done, void *ctx)
{
  size_t n = strlen(secret);
  if(n + sizeof SECRET_HDR > sizeof ((probe *)0)->hdr) return NULL;
  probe *p = calloc(1, sizeof *p);
  if(!p) return NULL;
  p->done = done;
  p->ctx = ctx;
  snprintf(p->hdr, sizeof p->hdr, SECRET_HDR "%s", secret);
  char url[1024];
  snprintf(url, sizeof url, "%s/v1beta/models?pageSize=1", cfg->upstream);
  const char *hdrs[] = { p->hdr };
  up_request req = {
    .method = "GET", .url = url, .headers = hdrs, .n_headers = 1, .timeout_ms = cfg->timeout_ms,
    .proxy = cfg->proxies.n ? cfg->proxies.v[hash64(secret, n) % cfg->proxies.n] : NULL,
  };
  p->call = up_start(up, &req, &callbacks, p);
  if(!p->call) { probe_free(p); return NULL; }
  return p;
}

void probe_cancel(probe *p)
{
  if(!p) return;
  if(p->call) up_cancel(p->call);
  probe_free(p);
}
