/* convo — stored responses and chat sessions; contract in convo.h. */
#include "convo/convo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_col(store_stmt *st, int i)
{
  const char *t = store_col_text(st, i);
  return strdup(t ? t : "");
}

static gg_rc db_fail(store_conn *c, gg_err *e)
{
  return gg_fail(e, GG_DB, "database error: %s", store_error(c));
}

/* Remove at most CONVO_SWEEP expired rows of table, then the user's oldest beyond max (by
 * order_col).  Part of a write's transaction. */
static int sweep(store_conn *c, const char *table, const char *order_col, int64_t user_id, int max, int64_t now)
{
  char sql[320];
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE expires_at <= ? LIMIT %d)", table,
           table, CONVO_SWEEP);
  if(store_do(c, sql, "i", now) < 0) return -1;
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE user_id = ? AND id NOT IN (SELECT id FROM %s WHERE user_id = ?"
           " ORDER BY %s DESC, id DESC LIMIT %d)", table, table, order_col, max - 1);
  return store_do(c, sql, "ii", user_id, user_id) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- responses */

gg_rc convo_response_put(store_conn *c, const convo_response *r, int64_t now, gg_err *e)
{
  if(store_begin(c)) return db_fail(c, e);
  if(sweep(c, "convo_responses", "created_at", r->user_id, CONVO_MAX_RESPONSES, now)) goto fail;
  int64_t n = store_do(c, "INSERT INTO convo_responses (id, user_id, model, response, input_items, state, created_at,"
                          " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "tittttii", r->id, r->user_id, r->model,
                       r->response, r->input_items, r->state, r->created_at, r->expires_at);
  if(n == STORE_CONSTRAINT) { store_rollback(c); return gg_fail(e, GG_CONFLICT, "response %s exists already", r->id); }
  if(n < 0 || store_commit(c)) goto fail;
  return GG_OK;
fail:
  store_rollback(c);
  return db_fail(c, e);
}

gg_rc convo_response_get(store_conn *c, int64_t user_id, const char *id, int64_t now, convo_response *out, gg_err *e)
{
  memset(out, 0, sizeof *out);
  store_stmt *st = store_prepare(c, "SELECT model, response, input_items, state, created_at, expires_at FROM convo_responses"
                                    " WHERE id = ? AND user_id = ? AND expires_at > ?");
  if(!st) return db_fail(c, e);
  store_bind_text(st, 1, id);
  store_bind_int(st, 2, user_id);
  store_bind_int(st, 3, now);
  store_rc rc = store_step(st);
  if(rc == STORE_ROW) {
    snprintf(out->id, sizeof out->id, "%s", id);
    out->user_id = user_id;
    snprintf(out->model, sizeof out->model, "%s", store_col_text(st, 0) ? store_col_text(st, 0) : "");
    out->response = dup_col(st, 1);
    out->input_items = dup_col(st, 2);
    out->state = dup_col(st, 3);
    out->created_at = store_col_int(st, 4);
    out->expires_at = store_col_int(st, 5);
  }
  store_reset(st);
  if(rc == STORE_DONE) return gg_fail(e, GG_NOT_FOUND, "no such response");
  if(rc != STORE_ROW) return db_fail(c, e);
  if(!out->response || !out->input_items || !out->state) { convo_response_free(out); return GG_NOMEM; }
  return GG_OK;
}

gg_rc convo_response_delete(store_conn *c, int64_t user_id, const char *id, int64_t now, gg_err *e)
{
  int64_t n = store_do(c, "DELETE FROM convo_responses WHERE id = ? AND user_id = ? AND expires_at > ?", "tii", id,
                       user_id, now);
  if(n < 0) return db_fail(c, e);
  return n ? GG_OK : gg_fail(e, GG_NOT_FOUND, "no such response");
}

void convo_response_free(convo_response *r)
{
  free(r->response);
  free(r->input_items);
  free(r->state);
  r->response = r->input_items = r->state = NULL;
}

/* ---------------------------------------------------------------- chat sessions */

gg_rc convo_session_create(store_conn *c, const convo_session *s, int64_t now, gg_err *e)
{
  if(store_begin(c)) return db_fail(c, e);
  if(sweep(c, "chat_sessions", "updated_at", s->user_id, CONVO_MAX_SESSIONS, now)) goto fail;
  int64_t n = store_do(c, "INSERT INTO chat_sessions (id, user_id, model, config, history, turns, dropped, version,"
                          " created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?)", "titttiii", s->id, s->user_id, s->model, s->config, s->history ? s->history : "[]", s->created_at,
                       s->updated_at, s->expires_at);
  if(n == STORE_CONSTRAINT) { store_rollback(c); return gg_fail(e, GG_CONFLICT, "session %s exists already", s->id); }
  if(n < 0 || store_commit(c)) goto fail;
  return GG_OK;
fail:
  store_rollback(c);
  return db_fail(c, e);
}

#define SESSION_COLS "id, model, config, turns, dropped, version, created_at, updated_at, expires_at"

static void session_row(store_stmt *st, int64_t user_id, convo_session *s)
{
  memset(s, 0, sizeof *s);
  snprintf(s->id, sizeof s->id, "%s", store_col_text(st, 0) ? store_col_text(st, 0) : "");
  s->user_id = user_id;
  snprintf(s->model, sizeof s->model, "%s", store_col_text(st, 1) ? store_col_text(st, 1) : "");
  s->config = dup_col(st, 2);
  s->turns = store_col_int(st, 3);
  s->dropped = store_col_int(st, 4);
  s->version = store_col_int(st, 5);
  s->created_at = store_col_int(st, 6);
  s->updated_at = store_col_int(st, 7);
  s->expires_at = store_col_int(st, 8);
}

gg_rc convo_session_get(store_conn *c, int64_t user_id, const char *id, int64_t now, convo_session *out, gg_err *e)
{
  memset(out, 0, sizeof *out);
  store_stmt *st = store_prepare(c, "SELECT " SESSION_COLS ", history FROM chat_sessions"
                                    " WHERE id = ? AND user_id = ? AND expires_at > ?");
  if(!st) return db_fail(c, e);
  store_bind_text(st, 1, id);
  store_bind_int(st, 2, user_id);
  store_bind_int(st, 3, now);
  store_rc rc = store_step(st);
  if(rc == STORE_ROW) {
    session_row(st, user_id, out);
    out->history = dup_col(st, 9);
  }
  store_reset(st);
  if(rc == STORE_DONE) return gg_fail(e, GG_NOT_FOUND, "no such session");
  if(rc != STORE_ROW) return db_fail(c, e);
  if(!out->config || !out->history) { convo_session_free(out); return GG_NOMEM; }
  return GG_OK;
}

gg_rc convo_session_save(store_conn *c, int64_t user_id, const char *id, int64_t version, const char *history,
                         int64_t turns, int64_t dropped, int64_t now, int64_t expires_at, gg_err *e)
{
  int64_t n = store_do(c, "UPDATE chat_sessions SET history = ?, turns = ?, dropped = ?, version = version + 1,"
                          " updated_at = ?, expires_at = ? WHERE id = ? AND user_id = ? AND version = ? AND expires_at > ?",
                       "tiiiitiii", history, turns, dropped, now, expires_at, id, user_id, version, now);
  if(n < 0) return db_fail(c, e);
  if(n) return GG_OK;
  /* Nothing changed: gone, or someone else's message came first. */
  convo_session s;
  gg_rc rc = convo_session_get(c, user_id, id, now, &s, e);
  convo_session_free(&s);
  if(rc == GG_OK) return gg_fail(e, GG_CONFLICT, "another message to this session was answered meanwhile; send yours again");
  return rc;
}

gg_rc convo_session_list(store_conn *c, int64_t user_id, int64_t now, int limit, convo_session **out, size_t *n,
                         gg_err *e)
{
  *out = NULL;
  *n = 0;
  store_stmt *st = store_prepare(c, "SELECT " SESSION_COLS " FROM chat_sessions WHERE user_id = ? AND expires_at > ?"
                                    " ORDER BY updated_at DESC, id DESC LIMIT ?");
  if(!st) return db_fail(c, e);
  store_bind_int(st, 1, user_id);
  store_bind_int(st, 2, now);
  store_bind_int(st, 3, limit);
  convo_session *v = calloc((size_t)(limit > 0 ? limit : 1), sizeof *v);
  store_rc rc = v ? STORE_ROW : STORE_ERROR;
  while(v && *n < (size_t)limit && (rc = store_step(st)) == STORE_ROW) session_row(st, user_id, &v[(*n)++]);
  store_reset(st);
  if(rc != STORE_DONE && rc != STORE_ROW) {
    convo_sessions_free(v, *n);
    *n = 0;
    return v ? db_fail(c, e) : GG_NOMEM;
  }
  *out = v;
  return GG_OK;
}

gg_rc convo_session_delete(store_conn *c, int64_t user_id, const char *id, int64_t now, gg_err *e)
{
  int64_t n = store_do(c, "DELETE FROM chat_sessions WHERE id = ? AND user_id = ? AND expires_at > ?", "tii", id,
                       user_id, now);
  if(n < 0) return db_fail(c, e);
  return n ? GG_OK : gg_fail(e, GG_NOT_FOUND, "no such session");
}

void convo_session_free(convo_session *s)
{
  free(s->config);
  free(s->history);
  s->config = s->history = NULL;
}

void convo_sessions_free(convo_session *v, size_t n)
{
  for(size_t i = 0; v && i < n; i++) convo_session_free(&v[i]);
  free(v);
}
