/* recheck — background re-test of failed keys; contract in recheck.h. */
#include "pool/recheck.h"

#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "pool/probe.h"

typedef struct due_key { keypool *pool; kp_key *key; } due_key;

static void on_probe(void *ctx, bool ok, int status, up_error err, const char *msg)
{
  due_key *d = ctx;
  char masked[32];
  kp_mask(kp_key_secret(d->key), masked, sizeof masked);
  log_info("recheck key %s: %s", masked, ok ? "answers again, back in the pool" : "still failing");
  kp_recheck_done(d->pool, d->key, now_ms(), ok);
  free(d);
}

void recheck_tick(keypool *pool, upstream *up, const config *cfg)
{
  kp_key *due[16];
  size_t n = kp_due_rechecks(pool, now_ms(), due, ARRAY_LEN(due));
  for(size_t i = 0; i < n; i++) {
    due_key *d = malloc(sizeof *d);
    if(d) *d = (due_key){ pool, due[i] };
    if(!d || !probe_start(up, cfg, kp_key_secret(due[i]), on_probe, d)) {
      kp_recheck_done(pool, due[i], now_ms(), 0);
      free(d);
    }
  }
}
