/* recheck — background re-test of failed keys; contract in recheck.h. */
#include "pool/recheck.h"

#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "pool/catalog.h"
#include "pool/probe.h"

typedef struct due_key { keypool *pool; kp_key *key; } due_key;

/* A list-one-model call cannot be the request's fault, so a 4xx other than 429 is about the
 * key; no answer, a 429 or a 5xx says nothing about it. */
static int check_of(bool ok, int status, up_error err)
{
  if(ok) return KP_CHECK_OK;
  if(err != UP_OK || status == 429 || status >= 500 || status < 400) return KP_CHECK_UNKNOWN;
  return KP_CHECK_BAD;
}

static void on_probe(void *ctx, bool ok, int status, up_error err, const char *msg)
{
  due_key *d = ctx;
  char masked[32];
  kp_mask(kp_key_secret(d->key), masked, sizeof masked);
  int check = check_of(ok, status, err);
  log_info("recheck key %s: %s", masked, check == KP_CHECK_OK ? "answers again, back in the pool"
           : check == KP_CHECK_BAD ? "refused by the upstream" : "no verdict, tried again later");
  kp_recheck_done(d->pool, d->key, now_ms(), check);
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
      kp_recheck_done(pool, due[i], now_ms(), KP_CHECK_UNKNOWN);
      free(d);
    }
  }
  catalog_tick(pool, up, cfg);
}
