/* keystore — upstream keys stored through the admin API; contract in keystore.h. */
#include "pool/keystore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "pool/keypool.h"
#include "base/log.h"
#include "store/store.h"
#include "base/util.h"

typedef struct skey {
  int64_t id;
  char *secret;
  char masked[32];
  bool enabled, excluded;          /* excluded: out of the pool for a moment (re-check reset) */
  int64_t created_at;
} skey;

struct keystore {
  pthread_mutex_t mu;
  bool sealing;
  crypto_sealer *sealer;           /* GEMGATE_ENCRYPTION_KEY (crypto.h); NULL: stored plain */
  skey *v;
  size_t n;
};

keystore *keystore_new(const char *encryption)
{
  keystore *ks = calloc(1, sizeof *ks);
  if(!ks) return NULL;
  pthread_mutex_init(&ks->mu, NULL);
  ks->sealer = crypto_sealer_new(encryption);
  ks->sealing = ks->sealer != NULL;
  if(encryption && *encryption && !ks->sealer) { keystore_free(ks); return NULL; }
  return ks;
}

void keystore_free(keystore *ks)
{
  if(!ks) return;
  for(size_t i = 0; i < ks->n; i++) free(ks->v[i].secret);
  free(ks->v);
  crypto_sealer_free(ks->sealer);
  pthread_mutex_destroy(&ks->mu);
  free(ks);
}

/* The stored form of a secret: sealed, or "plain:" + the secret without an encryption key. */
static char *stored_form(keystore *ks, const char *secret)
{
  if(ks->sealing) return crypto_sealer_seal(ks->sealer, secret);
  size_t n = strlen(secret) + 7;
  char *s = malloc(n);
  if(s) snprintf(s, n, "plain:%s", secret);
  return s;
}

/* The secret of a stored form; *stale: it should be stored again (plain while a key is set, or
 * sealed the old way: crypto_sealer_open). */
static char *open_form(keystore *ks, const char *stored, bool *stale)
{
  *stale = false;
  if(!strncmp(stored, "plain:", 6)) { *stale = ks->sealing; return strdup(stored + 6); }
  if(!ks->sealing) return NULL;
  return crypto_sealer_open(ks->sealer, stored, stale);
}

static void hash_hex(const char *secret, char out[65])
{
  uint8_t h[32];
  crypto_sha256(secret, strlen(secret), h);
  crypto_hex(h, 32, out);
}

/* Adds to the in-memory copy (mutex held). */
static int add_mem(keystore *ks, int64_t id, char *secret, bool enabled, int64_t created_at)
{
  skey *nv = realloc(ks->v, (ks->n + 1) * sizeof *nv);
  if(!nv) return -1;
  ks->v = nv;
  skey *k = &ks->v[ks->n++];
  *k = (skey){ .id = id, .secret = secret, .enabled = enabled, .created_at = created_at };
  kp_mask(secret, k->masked, sizeof k->masked);
  return 0;
}

static skey *find(keystore *ks, int64_t id)
{
  for(size_t i = 0; i < ks->n; i++) if(ks->v[i].id == id) return &ks->v[i];
  return NULL;
}

/* The stored keys appended to ks; the caller holds ks->mu. */
static int load_locked(keystore *ks, struct store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT id, secret, enabled, created_at FROM upstream_keys ORDER BY id");
  if(!st) return -1;
  store_rc rc;
  int64_t reseal[256];
  size_t nreseal = 0;
  while((rc = store_step(st)) == STORE_ROW) {
    int64_t id = store_col_int(st, 0);
    const char *stored = store_col_text(st, 1);
    bool stale = false;
    char *secret = stored ? open_form(ks, stored, &stale) : NULL;
    if(!secret) {
      log_error("keystore: upstream key #%lld cannot be decrypted (GEMGATE_ENCRYPTION_KEY missing or changed): skipped", (long long)id);
      continue;
    }
    if(stale && nreseal < 256) reseal[nreseal++] = id;
    add_mem(ks, id, secret, store_col_int(st, 2) != 0, store_col_int(st, 3));
  }
  store_reset(st);
  /* Keys stored before GEMGATE_ENCRYPTION_KEY was set, or sealed before passphrases went
   * through scrypt (the unsalted SHA-256: "v1:" under a passphrase), are sealed (again) now. */
  for(size_t i = 0; rc == STORE_DONE && i < nreseal; i++) {
    skey *k = find(ks, reseal[i]);
    char *sealed = stored_form(ks, k->secret);
    if(sealed && store_do(c, "UPDATE upstream_keys SET secret = ? WHERE id = ?", "ti", sealed, k->id) >= 0)
      log_info("keystore: upstream key %s is now stored encrypted (%s)", k->masked,
               strncmp(sealed, "v2:", 3) ? "AES-256-GCM" : "AES-256-GCM, key from the passphrase by scrypt");
    free(sealed);
  }
  return rc == STORE_DONE ? 0 : -1;
}

int keystore_load(keystore *ks, struct store_conn *c)
{
  pthread_mutex_lock(&ks->mu);
  int rc = load_locked(ks, c);
  pthread_mutex_unlock(&ks->mu);
  return rc;
}

/* Under the lock throughout, so no reader ever sees the list empty or half loaded. */
int keystore_reload(keystore *ks, struct store_conn *c)
{
  pthread_mutex_lock(&ks->mu);
  skey *old = ks->v;
  size_t n = ks->n;
  ks->v = NULL;
  ks->n = 0;
  int rc = load_locked(ks, c);
  if(rc) { skey *t = ks->v; size_t tn = ks->n; ks->v = old; ks->n = n; old = t; n = tn; }
  pthread_mutex_unlock(&ks->mu);
  for(size_t i = 0; i < n; i++) { memset(old[i].secret, 0, strlen(old[i].secret)); free(old[i].secret); }
  free(old);
  return rc;
}

void keystore_secrets(keystore *ks, strlist *out)
{
  pthread_mutex_lock(&ks->mu);
  for(size_t i = 0; i < ks->n; i++) {
    if(!ks->v[i].enabled || ks->v[i].excluded) continue;
    char **nv = realloc(out->v, (out->n + 1) * sizeof *nv);
    if(!nv) break;
    out->v = nv;
    out->v[out->n++] = strdup(ks->v[i].secret);
  }
  pthread_mutex_unlock(&ks->mu);
}

static keystore_key view(const skey *k)
{
  keystore_key v = { .id = k->id, .enabled = k->enabled, .created_at = k->created_at };
  memcpy(v.masked, k->masked, sizeof v.masked);
  return v;
}

bool keystore_secret_valid(const char *s, size_t n)
{
  if(!s || n < KEYSTORE_SECRET_MIN || n > KEYSTORE_SECRET_MAX) return false;
  for(size_t i = 0; i < n; i++) if(s[i] <= ' ' || s[i] >= 127 || s[i] == ',') return false;
  return true;
}

/* ---- changes ---- */

gg_rc keystore_add(keystore *ks, struct store_conn *c, const char *secret, keystore_key *out, gg_err *e)
{
  if(!secret || !keystore_secret_valid(secret, strlen(secret)))
    return gg_fail(e, GG_BAD_INPUT, "not an upstream key");
  int64_t now = now_ms(), id = 0;
  char hex[65], masked[32];
  hash_hex(secret, hex);
  kp_mask(secret, masked, sizeof masked);
  char *stored = stored_form(ks, secret), *mine = strdup(secret);
  store_stmt *st = stored && mine ? store_prepare(c, "INSERT INTO upstream_keys (secret, hash, masked, enabled, created_at, updated_at)"
                                                    " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (hash) DO NOTHING RETURNING id") : NULL;
  gg_rc rc = stored && mine ? GG_DB : GG_NOMEM;
  if(st) {
    store_bind_text(st, 1, stored);
    store_bind_text(st, 2, hex);
    store_bind_text(st, 3, masked);
    store_bind_int(st, 4, now);
    store_bind_int(st, 5, now);
    store_rc src = store_step(st);
    id = src == STORE_ROW ? store_col_int(st, 0) : 0;
    while(src == STORE_ROW) src = store_step(st);
    store_reset(st);
    rc = src != STORE_DONE ? GG_DB : !id ? GG_CONFLICT : GG_OK;
  }
  free(stored);
  if(rc == GG_OK) {
    pthread_mutex_lock(&ks->mu);
    if(add_mem(ks, id, mine, true, now)) rc = GG_NOMEM;      /* stored: in memory at the next start */
    else { mine = NULL; *out = view(find(ks, id)); }
    pthread_mutex_unlock(&ks->mu);
  }
  if(mine) { memset(mine, 0, strlen(mine)); free(mine); }
  if(rc == GG_CONFLICT) return gg_fail(e, rc, "this upstream key is already stored");
  if(rc != GG_OK) return gg_fail(e, rc, "could not store the change");
  return GG_OK;
}

/* The outcome of an UPDATE or DELETE of row id: n rows changed, or -1. */
static gg_rc changed(int64_t n, int64_t id, keystore_key *out, gg_err *e)
{
  if(n < 0) return gg_fail(e, GG_DB, "could not store the change");
  if(n == 0) return gg_fail(e, GG_NOT_FOUND, "no such upstream key");
  *out = (keystore_key){ .id = id };
  return GG_OK;
}

gg_rc keystore_remove(keystore *ks, struct store_conn *c, int64_t id, keystore_key *out, gg_err *e)
{
  gg_rc rc = changed(store_do(c, "DELETE FROM upstream_keys WHERE id = ?", "i", id), id, out, e);
  if(rc) return rc;
  pthread_mutex_lock(&ks->mu);
  skey *k = find(ks, id);
  if(k) {
    *out = view(k);
    memset(k->secret, 0, strlen(k->secret));
    free(k->secret);
    *k = ks->v[--ks->n];
  }
  pthread_mutex_unlock(&ks->mu);
  return GG_OK;
}

gg_rc keystore_set_enabled(keystore *ks, struct store_conn *c, int64_t id, bool enabled, keystore_key *out, gg_err *e)
{
  gg_rc rc = changed(store_do(c, "UPDATE upstream_keys SET enabled = ?, updated_at = ? WHERE id = ?", "iii",
                              (int64_t)enabled, now_ms(), id), id, out, e);
  if(rc) return rc;
  out->enabled = enabled;
  pthread_mutex_lock(&ks->mu);
  skey *k = find(ks, id);
  if(k) { k->enabled = enabled; *out = view(k); }
  pthread_mutex_unlock(&ks->mu);
  return GG_OK;
}

/* ---- memory only ---- */

keystore_key *keystore_list(keystore *ks, size_t *n, bool *sealed)
{
  pthread_mutex_lock(&ks->mu);
  keystore_key *v = ks->n ? malloc(ks->n * sizeof *v) : NULL;
  *n = v ? ks->n : 0;
  for(size_t i = 0; i < *n; i++) v[i] = view(&ks->v[i]);
  if(sealed) *sealed = ks->sealing;
  pthread_mutex_unlock(&ks->mu);
  return v;
}

gg_rc keystore_secret(keystore *ks, int64_t id, char *secret, size_t cap, keystore_key *out)
{
  pthread_mutex_lock(&ks->mu);
  skey *k = find(ks, id);
  if(k) {
    snprintf(secret, cap, "%s", k->secret);
    *out = view(k);
  }
  pthread_mutex_unlock(&ks->mu);
  return k ? GG_OK : GG_NOT_FOUND;
}

void keystore_exclude(keystore *ks, int64_t id, bool excluded)
{
  pthread_mutex_lock(&ks->mu);
  skey *k = find(ks, id);
  if(k) k->excluded = excluded;
  pthread_mutex_unlock(&ks->mu);
}
