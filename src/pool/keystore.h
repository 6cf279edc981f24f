/* keystore — upstream Gemini keys managed through the admin API (seed 004's
 * POST /admin/config/gemini-key): stored in the database — sealed with AES-256-GCM when
 * GEMGATE_ENCRYPTION_KEY is set, with a SHA-256 to refuse duplicates and a masked form for
 * display — and merged with GEMGATE_KEYS / GEMGATE_KEYS_FILE into the key pool by
 * server_reload_keys.  Disabled keys stay stored but leave the pool.
 *
 * An in-memory copy (mutex) holds the decrypted secrets so the merge needs no database call.
 * Changes are made on a store pool thread: the row commits, the copy follows, the pool is
 * rebuilt.  Secrets never appear in answers or logs, only kp_mask's "AIza…wxyz". */
#ifndef GEMGATE_KEYSTORE_H
#define GEMGATE_KEYSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "http/http.h"

typedef struct keystore keystore;
struct store_conn;

/* encryption: GEMGATE_ENCRYPTION_KEY or NULL. */
keystore *keystore_new(const char *encryption);
void keystore_free(keystore *ks);

/* Start-up: read the stored keys.  With an encryption key, plain rows are sealed now; a sealed
 * row that does not open (wrong or missing key) is skipped with an error in the log.  0 / -1. */
int keystore_load(keystore *ks, struct store_conn *c);

/* Appends copies of the enabled secrets (not excluded for a re-check) to out. */
void keystore_secrets(keystore *ks, strlist *out);

/* POST /admin/config/gemini-key {"key"} → 201 {id, key (masked), enabled}; 409 if stored. */
void keystore_route_add(http_req *r);
/* GET /admin/config/gemini-keys → {"keys":[{id, key (masked), enabled, source, created_at}]} */
void keystore_route_list(http_req *r);
/* /admin/config/gemini-keys/{id}: DELETE; POST .../enable, .../disable, .../recheck (probe the
 * key now with a model listing; if it answers, its invalid/disabled marks in the pool are
 * cleared by re-adding it). */
void keystore_route_item(http_req *r);

#endif
