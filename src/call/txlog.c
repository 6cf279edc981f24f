/* txlog — one transaction line per call; contract in txlog.h. */
#include "call/txlog.h"

#include <stdio.h>

#include "base/log.h"
#include "base/util.h"
#include "http/clientip.h"
#include "http/server.h"

void log_call(const http_req *r, const principal *who, const char *model, int status, const char *outcome,
              const char *keymask, int attempts, int64_t tokens_in, int64_t tokens_out, int64_t ttfb_us)
{
  if(log_threshold < LOG_INFO) return;
  char ip[64], method[12], route[128];
  clientip_of(r, ip, sizeof ip);
  snprintf(method, sizeof method, "%.*s", (int)r->method.n, r->method.p);
  snprintf(route, sizeof route, "%.*s", (int)r->path.n, r->path.p);
  int64_t now = mono_us();
  log_tx t = {
    .request_id = r->rid, .user = who ? who->label : "-", .ip = ip, .method = method, .route = route,
    .model = model, .key = keymask, .outcome = outcome, .status = status, .attempts = attempts,
    .tokens_in = tokens_in, .tokens_out = tokens_out, .latency_ms = (now - r->t0_us) / 1000,
    .ttfb_ms = ttfb_us ? (ttfb_us - r->t0_us) / 1000 : 0,
  };
  log_transaction(&t);
}

void log_call_prompt(const http_req *r, ledger_prompt_fn prompt_of)
{
  if(log_threshold < LOG_DEBUG || !prompt_of || !r->w->cfg->log_prompts) return;
  char p[LOG_MSG_CAP - 16];
  prompt_of(r->body, r->body_len, p, sizeof p, 200);
  log_line_rid(LOG_DEBUG, LOG_DBG, r->rid, "prompt: %s", p);
}
