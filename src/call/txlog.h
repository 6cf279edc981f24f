/* txlog — the transaction log line of one client call (base/log.h's transaction stream): request
 * id, caller (by label, never a key), client address, route, model, status, outcome, the last
 * upstream key tried (masked), attempts, tokens and times.  At level debug, with
 * GEMGATE_LOG_PROMPTS=1, a debug line with the first 200 characters of the prompt follows. */
#ifndef GEMGATE_TXLOG_H
#define GEMGATE_TXLOG_H

#include <stdint.h>

#include "http/http.h"
#include "ledger/ledger.h"
#include "users/principal.h"

/* keymask: kp_mask's form or "".  ttfb_us: mono_us of the first byte to the client, or 0. */
void log_call(const http_req *r, const principal *who, const char *model, int status, const char *outcome,
              const char *keymask, int attempts, int64_t tokens_in, int64_t tokens_out, int64_t ttfb_us);

/* The debug line with the prompt (called by log_call; exposed for dialects without the engine). */
void log_call_prompt(const http_req *r, ledger_prompt_fn prompt_of);

#endif
