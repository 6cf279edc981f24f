/* chat_sessions — seed 002's multi-turn chat sessions, kept for the caller (convo/):
 *
 *   POST   /api/chat/sessions                {"model", "system"?, "generation_config"?, "cached_content"?} → 201 the session
 *   GET    /api/chat/sessions                the caller's sessions, most recently used first
 *   GET    /api/chat/sessions/{id}           one, with its history (Gemini contents)
 *   DELETE /api/chat/sessions/{id}
 *   POST   /api/chat/sessions/{id}/messages  {"text"} or {"parts"}: the model's reply, the whole
 *                                            history sent upstream; ?stream=1 streams Gemini's own
 *                                            SSE events, then `event: session` with the bookkeeping
 *
 * A session belongs to the user of the access key that made it (another user's is a 404),
 * keeps at most GEMGATE_CHAT_MAX_TURNS exchanges (older ones are dropped, and the answer says
 * how many) and is removed after GEMGATE_CHAT_IDLE_TIMEOUT without a message.  Each message is
 * one call on the call engine (pool, quotas, retries, one ledger row of type chat).  A session
 * that names a cachedContent (or whose history names files) sends it on every message, so the
 * resource routing of the call engine keeps it on the key that owns them.  Errors are in
 * Google's shape, as for the gateway's other routes. */
#ifndef GEMGATE_CHAT_SESSIONS_H
#define GEMGATE_CHAT_SESSIONS_H

#include "http/http.h"

/* POST /api/chat/sessions: create. */
void chat_sessions_create(http_req *r);
/* GET /api/chat/sessions: list. */
void chat_sessions_list(http_req *r);
/* /api/chat/sessions/{id}[/messages]: GET, DELETE, POST …/messages. */
void chat_sessions_item(http_req *r);

#endif
