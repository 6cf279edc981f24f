/* sharing — the shared state's wiring; contract in sharing.h. */
#include "app/sharing.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "admin/poolcfg.h"
#include "base/log.h"
#include "call/settings.h"
#include "pool/keystore.h"
#include "shared/rshare.h"
#include "store/store.h"
#include "users/users.h"

typedef struct reload { gateway *gw; rshare_topic t; } reload;

/* Reloads run on store threads, possibly two at once: one at a time, so the pool's settings
 * (poolcfg_load's static limits) and the key list are never rebuilt concurrently. */
static pthread_mutex_t reloading = PTHREAD_MUTEX_INITIALIZER;

static void reload_work(store_conn *c, void *arg)
{
  reload *j = arg;
  gateway *gw = j->gw;
  pthread_mutex_lock(&reloading);
  if(j->t == RSHARE_SETTINGS) {
    if(gw->settings) settings_load(gw->settings, c, NULL);
    poolcfg_load(gw, c);
    log_info("shared: settings reloaded (changed by another instance)");
  } else if(j->t == RSHARE_USERS) {
    if(gw->users && users_refresh(gw->users, c, now_ms())) log_error("shared: cannot reload users: %s", store_error(c));
  } else if(gw->keystore && !keystore_reload(gw->keystore, c)) {
    server_reload_keys(gw);
  } else {
    log_error("shared: cannot reload the upstream keys: %s", store_error(c));
  }
  pthread_mutex_unlock(&reloading);
}

static void reload_free(void *arg) { free(arg); }

/* On rshare's loop: hand the reload to the store (never a database call on a loop). */
static void on_change(void *ctx, rshare_topic t)
{
  gateway *gw = ctx;
  reload *j = malloc(sizeof *j);
  if(!j) return;
  *j = (reload){ gw, t };
  if(!gw->store || !store_submit(gw->store, rshare_base(gw->shared), reload_work, reload_free, reload_free, j)) {
    log_warn("shared: the database is busy or down; %s not reloaded",
             t == RSHARE_SETTINGS ? "settings" : t == RSHARE_KEYS ? "keys" : "users");
    free(j);
  }
}

int sharing_start(gateway *gw)
{
  if(!gw->cfg.redis || !*gw->cfg.redis) return 0;
  char err[256];
  gw->shared = rshare_start(gw->cfg.redis, gw->pool, on_change, gw, err, sizeof err);
  if(!gw->shared) { log_error("redis: %s", err); return -1; }
  rshare_share_owners(gw->shared, gw->owners);
  /* Before serving, up to a second for the first connection, so the first calls already see
   * the marks other instances share (at start: no loop is waiting yet). */
  for(int i = 0; i < 100 && !rshare_up(gw->shared); i++) usleep(10000);
  return 0;
}

void sharing_stop(gateway *gw)
{
  rshare_stop(gw->shared);
  gw->shared = NULL;
}
