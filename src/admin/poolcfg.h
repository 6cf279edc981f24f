/* poolcfg — the key pool's settings changed at run time (the web UI's settings page): strategy,
 * retries, cooldown base and cap, failures before a key is disabled, per-model key limits.
 * GEMGATE_* give the values at start; a change is stored (settings row "pool") and applied at
 * once, and the stored values win over GEMGATE_* at the next start. */
#ifndef GEMGATE_POOLCFG_H
#define GEMGATE_POOLCFG_H

#include "http/http.h"
#include "http/server.h"
#include "store/store.h"

/* GET /admin/config/pool → {"strategy","max_retries","cooldown_ms","cooldown_max_ms",
 * "max_failures","key_limits":[{"model","rpm","tpm","rpd"}]}; POST the fields to change (the
 * others keep their value) → the new settings, once stored.  400 on a bad value (nothing
 * changes). */
void poolcfg_route(http_req *r);

/* At start, after the pool exists: apply the stored settings, if any (a bad row is logged and
 * left alone). */
void poolcfg_load(gateway *gw, store_conn *c);

#endif
