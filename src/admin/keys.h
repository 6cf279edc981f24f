/* keys — the admin routes for upstream keys stored through the API (pool/keystore.h). */
#ifndef GEMGATE_ADMIN_KEYS_H
#define GEMGATE_ADMIN_KEYS_H

#include "http/http.h"

/* POST /admin/config/gemini-key {"key"} → 201 {id, key (masked), enabled, source, created_at};
 * 409 if stored. */
void admin_keys_add(http_req *r);

/* GET /admin/config/gemini-keys → {"keys":[{id, key (masked), enabled, source, created_at}],
 * "total", "encrypted_at_rest", "note"} */
void admin_keys_list(http_req *r);

/* /admin/config/gemini-keys/{id}: DELETE; POST .../enable, .../disable, .../recheck (probe the
 * key now with a model listing; if it answers, its invalid/disabled marks in the pool are
 * cleared by re-adding it).  Every change rebuilds the pool. */
void admin_keys_item(http_req *r);

#endif
