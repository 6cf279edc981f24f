/* resources — the admin's view of who owns which stateful resource (pool/owners.h). */
#ifndef GEMGATE_ADMIN_RESOURCES_H
#define GEMGATE_ADMIN_RESOURCES_H

#include "http/http.h"

/* GET /admin/resources[?user=&kind=&model=&key=&limit=&cursor=]: every recorded resource, newest
 * first, grouped per user: {"total","count","users":[{"user_id","name","resources":[{"name",
 * "kind","model","key":{"id","masked"}|null,"created_at"}]}],"next_cursor"?}.  user: a user id
 * (0 = the static access keys); kind: file, cachedContent, batch, interaction, operation,
 * tunedModel, fileSearchStore, corpus; key: an id of /api/status/keys; limit 1..1000 (100);
 * cursor: a next_cursor.  key null: the owning key is no longer in the pool.  From memory. */
void admin_resources_list(http_req *r);

#endif
