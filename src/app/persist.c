/* persist — opening and closing the gateway's data; contract in persist.h. */
#include "app/persist.h"

#include "pool/keystore.h"
#include "pool/learned.h"
#include "pool/owners.h"
#include "ledger/ledger.h"
#include "base/log.h"
#include "ledger/meter.h"
#include "ledger/prices.h"
#include "admin/poolcfg.h"
#include "call/settings.h"
#include "store/store.h"
#include "users/users.h"

int persist_open(gateway *gw)
{
  char err[512], db[512];
  store_url_redact(gw->cfg.db, db, sizeof db);          /* a PostgreSQL URL may hold a password */
  gw->store = store_open(gw->cfg.db, PERSIST_DB_THREADS, err, sizeof err);
  if(!gw->store) { log_error("database %s: %s", db, err); return -1; }
  store_conn *c = store_connect(gw->store, err, sizeof err);
  if(!c) { log_error("database %s: %s", db, err); return -1; }
  int64_t now = now_ms();
  gw->prices = prices_new();
  gw->users = users_new();
  gw->keystore = keystore_new(gw->cfg.encryption_key);
  gw->meter = meter_new();
  gw->settings = settings_new();
  gw->owners = owners_new(OWNERS_CAP_DEFAULT);
  int rc = !gw->prices || !gw->users || !gw->keystore || !gw->meter || !gw->settings || !gw->owners ? -1 : 0;
  if(!rc && prices_load(gw->prices, c, now)) { log_error("database: cannot load the price table"); rc = -1; }
  if(!rc && users_load(gw->users, c, now)) { log_error("database: cannot load users: %s", store_error(c)); rc = -1; }
  if(!rc && keystore_load(gw->keystore, c)) { log_error("database: cannot load upstream keys: %s", store_error(c)); rc = -1; }
  if(!rc && meter_load(gw->meter, c, now)) { log_error("database: cannot load the meters: %s", store_error(c)); rc = -1; }
  if(!rc && owners_load(gw->owners, c)) { log_error("database: cannot load resources: %s", store_error(c)); rc = -1; }
  if(!rc) settings_load(gw->settings, c, NULL);      /* a bad stored value leaves the defaults */
  if(!rc) poolcfg_load(gw, c);                        /* the pool's settings changed through the API */
  store_disconnect(c);
  if(rc) return -1;
  if(owners_open(gw->owners, gw->store, err, sizeof err)) { log_error("resources: %s", err); return -1; }
  gw->ledger = ledger_open(gw->store, gw->users, gw->prices, gw->meter, gw->cfg.log_prompts, err, sizeof err);
  if(!gw->ledger) { log_error("ledger: %s", err); return -1; }
  ledger_set_unpriced_max(gw->ledger, gw->cfg.unpriced == CFG_UNPRICED_MAX);
  strlist stored = { 0 };
  keystore_secrets(gw->keystore, &stored);
  if(stored.n) server_reload_keys(gw);
  strlist_free(&stored);
  /* Learned limits last: they apply to keys in the pool, stored ones included. */
  if((c = store_connect(gw->store, err, sizeof err))) {
    int n = learned_load(gw->pool, c);
    if(n < 0) log_error("database: cannot load learned limits: %s", store_error(c));
    else if(n) log_info("key pool: %d learned limits loaded", n);
    store_disconnect(c);
  }
  log_info("database %s ready", db);
  return 0;
}

void persist_close(gateway *gw)
{
  ledger_close(gw->ledger);
  gw->ledger = NULL;
  owners_close(gw->owners);      /* drains its writer: no recorded resource is lost */
  store_close(gw->store);
  gw->store = NULL;
  users_free(gw->users);
  prices_free(gw->prices);
  keystore_free(gw->keystore);
  meter_free(gw->meter);
  settings_free(gw->settings);
  owners_free(gw->owners);
  gw->owners = NULL;
  gw->users = NULL;
  gw->prices = NULL;
  gw->keystore = NULL;
  gw->meter = NULL;
  gw->settings = NULL;
}
