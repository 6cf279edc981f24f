/* convo — the conversations the gateway keeps for its callers: stored Responses API responses
 * (so previous_response_id can rebuild the conversation) and seed 002's chat sessions.
 *
 * Both live in the store (tables convo_responses and chat_sessions, migration 3), so they
 * survive a restart and are shared by every instance on one database.  Each belongs to one
 * user (principal.user_id; the static GEMGATE_ACCESS_KEYS are user 0): another user's id is
 * GG_NOT_FOUND, exactly like an id that never existed, so ids cannot be probed.  Each expires
 * at the expires_at its writer gives (GEMGATE_RESPONSES_TTL after a response was made,
 * GEMGATE_CHAT_IDLE_TIMEOUT after a session's last message) and a user
 * keeps at most CONVO_MAX_RESPONSES / CONVO_MAX_SESSIONS: a new one removes the oldest.
 * Expired rows are deleted as new ones are written (a bounded sweep per write), and are never
 * answered meanwhile.
 *
 * Documents (a response object, input items, a Gemini conversation, a session's history) are
 * JSON text the caller builds and parses; this module only keeps them.  Every function runs on
 * a store connection, i.e. on a store pool thread (store_submit), never on an event loop. */
#ifndef GEMGATE_CONVO_H
#define GEMGATE_CONVO_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "store/store.h"

#define CONVO_MAX_RESPONSES 1000      /* stored responses per user */
#define CONVO_MAX_SESSIONS 200        /* chat sessions per user */
#define CONVO_SWEEP 100               /* expired rows removed per write, at most */
#define CONVO_ID_MAX 64

/* ---------------------------------------------------------------- responses */

typedef struct convo_response {
  char id[CONVO_ID_MAX];
  int64_t user_id;
  char model[128];
  char *response;                    /* the response object, as answered */
  char *input_items;                 /* the request's input items (a JSON array) */
  char *state;                       /* the conversation through this response (the caller's JSON) */
  int64_t created_at, expires_at;
} convo_response;

/* Store r (its strings borrowed), replacing none: an id is written once.  Sweeps expired rows
 * and the user's oldest beyond CONVO_MAX_RESPONSES.  GG_CONFLICT when the id exists. */
gg_rc convo_response_put(store_conn *c, const convo_response *r, int64_t now, gg_err *e);
/* The user's response id, unexpired at now, into *out (strings malloc'ed: convo_response_free).
 * GG_NOT_FOUND when there is none (or it is another user's, or expired). */
gg_rc convo_response_get(store_conn *c, int64_t user_id, const char *id, int64_t now, convo_response *out, gg_err *e);
/* Delete the user's response id.  GG_NOT_FOUND as for get. */
gg_rc convo_response_delete(store_conn *c, int64_t user_id, const char *id, int64_t now, gg_err *e);
void convo_response_free(convo_response *r);

/* ---------------------------------------------------------------- chat sessions */

typedef struct convo_session {
  char id[CONVO_ID_MAX];
  int64_t user_id;
  char model[128];
  char *config;                      /* the session's settings (the caller's JSON object) */
  char *history;                     /* the turns kept (the caller's JSON array) */
  int64_t turns;                     /* exchanges in history */
  int64_t dropped;                   /* exchanges dropped so far to keep the cap */
  int64_t version;                   /* bumped by every append: the compare of convo_session_save */
  int64_t created_at, updated_at, expires_at;
} convo_session;

/* Create s (strings borrowed; version 0, history "[]" when NULL), expiring at s->expires_at.
 * Sweeps expired sessions and the user's least recently used beyond CONVO_MAX_SESSIONS. */
gg_rc convo_session_create(store_conn *c, const convo_session *s, int64_t now, gg_err *e);
/* The user's session id, unexpired at now.  GG_NOT_FOUND otherwise.  Strings malloc'ed. */
gg_rc convo_session_get(store_conn *c, int64_t user_id, const char *id, int64_t now, convo_session *out, gg_err *e);
/* Replace the history of the user's session id if its version is still `version` (nobody
 * appended meanwhile), bumping it, and move its expiry to expires_at.  GG_CONFLICT when another
 * message was saved first, GG_NOT_FOUND when the session is gone. */
gg_rc convo_session_save(store_conn *c, int64_t user_id, const char *id, int64_t version, const char *history,
                         int64_t turns, int64_t dropped, int64_t now, int64_t expires_at, gg_err *e);
/* The user's unexpired sessions, most recently used first, at most limit, without their
 * history (history NULL).  *out is a malloc'ed array of *n sessions: convo_sessions_free. */
gg_rc convo_session_list(store_conn *c, int64_t user_id, int64_t now, int limit, convo_session **out, size_t *n,
                         gg_err *e);
gg_rc convo_session_delete(store_conn *c, int64_t user_id, const char *id, int64_t now, gg_err *e);
void convo_session_free(convo_session *s);
void convo_sessions_free(convo_session *v, size_t n);

#endif
