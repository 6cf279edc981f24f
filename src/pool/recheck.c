#include "pool/recheck.h"

#include <stdio.h>
#include <stdlib.h>

#include "pool/keypool.h"
#include "base/log.h"
#include "http/server.h"
#include "upstream/upstream.h"

typedef struct probe {
  worker *w;
  kp_key *key;
  int status;
  char hdr[600];
} probe;

static void on_head(void *ctx, int status, const http_header *h, size_t n) { ((probe *)ctx)->status = status; }
static int on_data(void *ctx, const char *p, size_t n) { return UP_CONTINUE; }

static void on_done(void *ctx, up_error err, const char *msg)
{
  probe *p = ctx;
  int ok = err == UP_OK && p->status == 200;
  char masked[32];
  kp_mask(kp_key_secret(p->key), masked, sizeof masked);
  log_info("recheck key %s: %s", masked, ok ? "answers again, back in the pool" : "still failing");
  kp_recheck_done(p->w->gw->pool, p->key, now_ms(), ok);
  free(p);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

void recheck_tick(worker *w)
{
  gateway *gw = w->gw;
  kp_key *due[16];
  size_t n = kp_due_rechecks(gw->pool, now_ms(), due, ARRAY_LEN(due));
  char url[1024];
  snprintf(url, sizeof url, "%s/v1beta/models?pageSize=1", gw->cfg.upstream);
  for(size_t i = 0; i < n; i++) {
    probe *p = calloc(1, sizeof *p);
    const char *secret = kp_key_secret(due[i]);
    if(!p) { kp_recheck_done(gw->pool, due[i], now_ms(), 0); continue; }
    p->w = w;
    p->key = due[i];
    snprintf(p->hdr, sizeof p->hdr, "x-goog-api-key: %s", secret);
    const char *hdrs[] = { p->hdr };
    const config *cfg = &gw->cfg;
    up_request req = {
      .method = "GET", .url = url, .headers = hdrs, .n_headers = 1,
      .proxy = cfg->proxies.n ? cfg->proxies.v[hash64(secret, strlen(secret)) % cfg->proxies.n] : NULL,
      .timeout_ms = cfg->timeout_ms,
    };
    if(!up_start(w->up, &req, &callbacks, p)) { kp_recheck_done(gw->pool, due[i], now_ms(), 0); free(p); }
  }
}
