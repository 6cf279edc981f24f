/* txlog — the transaction log line and the metrics of one client call (base/log.h's transaction stream): request
 * id, caller (by label, never a key), client address, route, model, status, outcome, the last
 * upstream key tried (masked), attempts, tokens and times.  At level debug, with
 * GEMGATE_LOG_PROMPTS=1, a debug line with the first 200 characters of the prompt follows. */
#ifndef GEMGATE_TXLOG_H
#define GEMGATE_TXLOG_H

#include <stdint.h>

#include "http/http.h"
#include "ledger/ledger.h"
#include "users/principal.h"

/* What the call came to.  keymask: kp_mask's form or ""; ttfb_us: mono_us of the first byte to
 * the client, or 0; upstream_us: the time spent in upstream attempts. */
typedef struct call_facts {
  const char *model, *outcome, *keymask;
  int status, attempts;
  int64_t in, out, thinking, cached;        /* tokens */
  int64_t ttfb_us, upstream_us;
} call_facts;

/* The line, and the call's metrics (base/metrics.h: counts by route, model, status and user;
 * time to first byte; time added by the gateway; tokens and cost by model). */
void log_call(const http_req *r, const principal *who, const call_facts *f);

/* The debug line with the prompt (called by log_call; exposed for dialects without the engine). */
void log_call_prompt(const http_req *r, ledger_prompt_fn prompt_of);

#endif
