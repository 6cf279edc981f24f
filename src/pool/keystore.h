/* keystore — upstream Gemini keys managed through the admin API (seed 004's
 * POST /admin/config/gemini-key): stored in the database — sealed with AES-256-GCM when
 * GEMGATE_ENCRYPTION_KEY is set (a passphrase through scrypt, salted: crypto.h's sealer; keys
 * sealed before that, or stored plain, are sealed again at load), with a SHA-256 to refuse
 * duplicates and a masked form for
 * display — and merged with GEMGATE_KEYS / GEMGATE_KEYS_FILE into the key pool by
 * server_reload_keys.  Disabled keys stay stored but leave the pool.
 *
 * An in-memory copy (mutex) holds the decrypted secrets so the merge needs no database call.
 * A change commits its row first, then the copy follows; rebuilding the pool is the caller's
 * (admin/keys.c).  Secrets never leave this module except through keystore_secrets and
 * keystore_secret; answers and logs carry only kp_mask's "AIza…wxyz". */
#ifndef GEMGATE_KEYSTORE_H
#define GEMGATE_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/rc.h"

typedef struct keystore keystore;
struct store_conn;

#define KEYSTORE_SECRET_MIN 8
#define KEYSTORE_SECRET_MAX 256

/* A stored key as shown to the admin: never the secret. */
typedef struct keystore_key {
  int64_t id;
  char masked[32];       /* "" when the row exists but is not in memory (it cannot be decrypted) */
  bool enabled;
  int64_t created_at;
} keystore_key;

/* encryption: GEMGATE_ENCRYPTION_KEY or NULL. */
keystore *keystore_new(const char *encryption);
void keystore_free(keystore *ks);

/* Start-up: read the stored keys.  With an encryption key, plain rows are sealed now; a sealed
 * row that does not open (wrong or missing key) is skipped with an error in the log.  0 / -1. */
int keystore_load(keystore *ks, struct store_conn *c);

/* keystore_load again, replacing the in-memory copy (another instance changed the keys: the
 * shared state's notice).  On failure the copy stays as it was.  0 or -1. */
int keystore_reload(keystore *ks, struct store_conn *c);

/* Appends copies of the enabled secrets (not excluded for a re-check) to out. */
void keystore_secrets(keystore *ks, strlist *out);

/* Whether s[0..n) can be an upstream key: KEYSTORE_SECRET_MIN..MAX printable characters, no
 * spaces or commas (a comma would split GEMGATE_KEYS). */
bool keystore_secret_valid(const char *s, size_t n);

/* ---- changes: on a store pool thread (they touch the database) ---- */

/* Store a new, enabled key.  GG_OK with *out; GG_BAD_INPUT (not a valid secret), GG_CONFLICT
 * (this key is stored already), GG_NOMEM or GG_DB. */
gg_rc keystore_add(keystore *ks, struct store_conn *c, const char *secret, keystore_key *out, gg_err *e);

/* Delete key id.  GG_OK with *out (the key as it was), GG_NOT_FOUND or GG_DB. */
gg_rc keystore_remove(keystore *ks, struct store_conn *c, int64_t id, keystore_key *out, gg_err *e);

/* Enable or disable key id.  GG_OK with *out, GG_NOT_FOUND or GG_DB. */
gg_rc keystore_set_enabled(keystore *ks, struct store_conn *c, int64_t id, bool enabled, keystore_key *out, gg_err *e);

/* ---- memory only ---- */

/* Every key in memory (in the order held): a malloc'ed array (caller frees) of *n; NULL with *n = 0 when
 * there is none or no memory.  *sealed (may be NULL): whether keys are encrypted at rest. */
keystore_key *keystore_list(keystore *ks, size_t *n, bool *sealed);

/* Key id's secret into secret (cap bytes; the caller wipes it) and *out.  GG_NOT_FOUND or
 * GG_OK. */
gg_rc keystore_secret(keystore *ks, int64_t id, char *secret, size_t cap, keystore_key *out);

/* Leave key id out of keystore_secrets (excluded) or put it back: a re-check resets a key's
 * marks in the pool by reloading the pool without it, then with it. */
void keystore_exclude(keystore *ks, int64_t id, bool excluded);

#endif
