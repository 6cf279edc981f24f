/* useradmin — the admin routes for users and their access keys (seed 004's
 * POST /admin/config/user-key, and list / change / disable / revoke).  Bodies are validated on
 * the worker (cheap, no I/O); the change runs on a store pool thread (users.h). */
#ifndef GEMGATE_USERADMIN_H
#define GEMGATE_USERADMIN_H

#include "http/http.h"

/* POST /admin/config/user-key {"name", "rpm"?, "tpm"?, "rpd"?, "daily_budget"?, "monthly_budget"?,
 * "allowed_models"?, "key_name"?} → 201 with the new user and its key (shown once); or
 * {"user_id", "key_name"?} → 201 with a further key for that user. */
void useradmin_create(http_req *r);

/* GET /admin/users */
void useradmin_list(http_req *r);

/* Everything under /admin/users/{id}: GET; PATCH or POST {name?, limits…}; POST /disable,
 * /enable, /keys {"key_name"?}; DELETE /keys/{key_id} (or POST /keys/{key_id}/revoke);
 * GET /usage-stats (seed 000's answer for that user). */
void useradmin_item(http_req *r);

#endif
