/* useradmin — admin routes for users and access keys; contract in useradmin.h. */
#include "admin/useradmin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/money.h"
#include "http/server.h"
#include "shared/rshare.h"
#include "admin/stats.h"
#include "users/users.h"

#define LIMIT_MAX 1000000000000LL       /* 10^12: more than any real limit, less than overflow */

typedef struct ujob {
  users *u;
  int op;                  /* 'c'reate, 'k'ey, 'u'pdate, 'd'isable, 'e'nable, 'r'evoke */
  int64_t user_id, key_id;
  char name[64], key_name[64];
  bool has_name, has_key_name;
  user_limits lim;
  int have;
  struct rshare *shared;   /* to tell the other instances (rshare.h), or NULL */
} ujob;

static gg_rc ujob_change(store_conn *c, ujob *j, json_t **out, gg_err *e)
{
  const char *kn = j->has_key_name ? j->key_name : NULL;
  switch(j->op) {
  case 'c': return users_create(j->u, c, j->name, &j->lim, kn, out, e);
  case 'k': return users_add_key(j->u, c, j->user_id, kn, out, e);
  case 'u': return users_update(j->u, c, j->user_id, j->has_name ? j->name : NULL, &j->lim, j->have, out, e);
  case 'd': case 'e': return users_set_disabled(j->u, c, j->user_id, j->op == 'd', out, e);
  case 'r': return users_revoke_key(j->u, c, j->user_id, j->key_id, out, e);
  }
  return GG_INTERNAL;
}

static gg_rc ujob_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  ujob *j = arg;
  gg_rc rc = ujob_change(c, j, out, e);
  if(!rc) rshare_publish(j->shared, RSHARE_USERS);   /* stored: other instances reload users */
  return rc;
}

/* Runs j's change on the store pool: 201 for a new key, 200 for the rest. */
static void ujob_start(http_req *r, ujob *j)
{
  j->shared = r->w->gw->shared;
  dbcall_json(r, j, free, ujob_work, j->op == 'c' || j->op == 'k' ? 201 : 200);
}

/* A name: 1..63 bytes of printable text (no control characters). */
static bool valid_name(json_t *v, char *out, size_t cap)
{
  const char *s = json_string_value(v);
  size_t n = s ? json_string_length(v) : 0;
  if(!s || !n || n >= cap || n > 63) return false;
  for(size_t i = 0; i < n; i++) if((unsigned char)s[i] < 32 || s[i] == 127) return false;
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

static bool valid_model(const char *s, size_t n)
{
  if(!n || n > 63) return false;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == ':' || c == '@' || (c == '*' && i == n - 1);
    if(!ok) return false;
  }
  return true;
}

/* Reads the limit fields of body into *l (bits in *have); other fields must be in `extra`.
 * false with a message for the client. */
static bool parse_limits(json_t *body, user_limits *l, int *have, const char *const *extra, char *msg, size_t cap)
{
  const char *key;
  json_t *v;
  *have = 0;
  json_object_foreach(body, key, v) {
    int64_t *ip = !strcmp(key, "rpm") ? &l->rpm : !strcmp(key, "tpm") ? &l->tpm : !strcmp(key, "rpd") ? &l->rpd : NULL;
    int64_t *mp = !strcmp(key, "daily_budget") ? &l->daily_budget_e4 : !strcmp(key, "monthly_budget") ? &l->monthly_budget_e4 : NULL;
    if(ip) {
      if(!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > LIMIT_MAX) {
        snprintf(msg, cap, "\"%s\" must be a whole number from 0 (unlimited) to %lld", key, LIMIT_MAX);
        return false;
      }
      *ip = json_integer_value(v);
      *have |= ip == &l->rpm ? USERS_F_RPM : ip == &l->tpm ? USERS_F_TPM : USERS_F_RPD;
    } else if(mp) {
      if(!money_parse_json(v, 4, MONEY_MAX_E4, mp)) {
        snprintf(msg, cap, "\"%s\" must be an amount in USD from 0 (unlimited) to 99999999.9999, at most 4 decimals", key);
        return false;
      }
      *have |= mp == &l->daily_budget_e4 ? USERS_F_DAILY : USERS_F_MONTHLY;
    } else if(!strcmp(key, "allowed_models")) {
      size_t i, len = 0;
      json_t *m;
      l->models[0] = '\0';
      if(!json_is_array(v) && !json_is_null(v)) { snprintf(msg, cap, "\"allowed_models\" must be an array of model names"); return false; }
      if(json_array_size(v) > 100) { snprintf(msg, cap, "\"allowed_models\" may list at most 100 models"); return false; }
      json_array_foreach(v, i, m) {
        const char *s = json_string_value(m);
        size_t n = s ? json_string_length(m) : 0;
        if(!s || !valid_model(s, n) || len + n + 2 > sizeof l->models) {
          snprintf(msg, cap, "\"allowed_models\"[%zu] is not a model name (letters, digits, . _ - : @, a trailing *)", i);
          return false;
        }
        len += (size_t)snprintf(l->models + len, sizeof l->models - len, "%s%s", len ? "," : "", s);
      }
      *have |= USERS_F_MODELS;
    } else {
      bool known = false;
      for(size_t i = 0; extra && extra[i]; i++) known |= !strcmp(extra[i], key);
      if(!known) { snprintf(msg, cap, "unknown field \"%.60s\"", key); return false; }
    }
  }
  return true;
}

static ujob *new_job(http_req *r, int op)
{
  ujob *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return NULL; }
  j->u = r->w->gw->users;
  j->op = op;
  return j;
}

/* Optional "key_name" of body into j. */
static bool key_name(json_t *body, ujob *j, char *msg, size_t cap)
{
  json_t *kn = json_object_get(body, "key_name");
  if(!kn) return true;
  if(!valid_name(kn, j->key_name, sizeof j->key_name)) { snprintf(msg, cap, "\"key_name\" must be 1..63 printable characters"); return false; }
  j->has_key_name = true;
  return true;
}

void useradmin_create(http_req *r)
{
  json_t *body = http_body_object(r);
  if(!body) return;
  ujob *j = new_job(r, 'c');
  if(!j) { json_decref(body); return; }
  char msg[200] = "";
  json_t *uid = json_object_get(body, "user_id");
  if(uid) {                                            /* a further key for an existing user */
    j->op = 'k';
    static const char *const extra[] = { "user_id", "key_name", NULL };
    int have;
    if(!json_is_integer(uid) || json_integer_value(uid) <= 0) snprintf(msg, sizeof msg, "\"user_id\" must be a user's id");
    else if(parse_limits(body, &j->lim, &have, extra, msg, sizeof msg) && have)
      snprintf(msg, sizeof msg, "limits are changed with PATCH /admin/users/{id}, not when adding a key");
    else if(!msg[0] && key_name(body, j, msg, sizeof msg)) j->user_id = json_integer_value(uid);
  } else {
    static const char *const extra[] = { "name", "key_name", NULL };
    if(!valid_name(json_object_get(body, "name"), j->name, sizeof j->name))
      snprintf(msg, sizeof msg, "\"name\" is required: 1..63 printable characters");
    else if(parse_limits(body, &j->lim, &j->have, extra, msg, sizeof msg)) key_name(body, j, msg, sizeof msg);
  }
  json_decref(body);
  if(msg[0]) { free(j); http_error(r, 400, NULL, msg, NULL); return; }
  if(j->op == 'k' && !users_exists(j->u, j->user_id, NULL, 0)) { free(j); http_error(r, 404, NULL, "no such user", NULL); return; }
  ujob_start(r, j);
}

void useradmin_list(http_req *r)
{
  gateway *gw = r->w->gw;
  json_t *arr = users_list_json(gw->users, now_ms());
  http_reply_json(r, 200, json_pack("{s:o,s:I}", "users", arr, "total", (json_int_t)json_array_size(arr)), NULL);
}

/* A positive decimal id at *p (advanced); 0 when there is none. */
static int64_t read_id(const char **p, const char *end)
{
  int64_t id = 0;
  const char *q = *p;
  while(q < end && *q >= '0' && *q <= '9' && id < 100000000000000LL) id = id * 10 + (*q++ - '0');
  if(q == *p || (q < end && *q != '/')) return 0;
  *p = q;
  return id;
}

void useradmin_item(http_req *r)
{
  const char *p = r->path.p + 13, *end = r->path.p + r->path.n;      /* after "/admin/users/" */
  int64_t id = read_id(&p, end);
  if(!id) { http_error(r, 404, NULL, "no such route: expected /admin/users/{id}", NULL); return; }
  str rest = { p, (size_t)(end - p) };
  str m = r->method;
  bool get = str_eq(m, STR("GET")), post = str_eq(m, STR("POST")), patch = str_eq(m, STR("PATCH")), del = str_eq(m, STR("DELETE"));
  if(!users_exists(r->w->gw->users, id, NULL, 0)) { http_error(r, 404, NULL, "no such user", NULL); return; }
  int op = 0;
  int64_t key_id = 0;
  const char *allow = NULL;
  if(!rest.n) {
    if(get) { http_reply_json(r, 200, users_json(r->w->gw->users, id, now_ms()), NULL); return; }
    if(post || patch) op = 'u'; else allow = "Allow: GET, PATCH, POST\r\n";
  } else if(str_eq(rest, STR("/disable")) || str_eq(rest, STR("/enable"))) {
    if(post) op = rest.p[1] == 'd' ? 'd' : 'e'; else allow = "Allow: POST\r\n";
  } else if(str_eq(rest, STR("/usage-stats"))) {
    if(get) { stats_route_user_usage(r, id); return; }
    allow = "Allow: GET\r\n";
  } else if(str_eq(rest, STR("/keys"))) {
    if(post) op = 'k'; else allow = "Allow: POST\r\n";
  } else if(str_starts(rest, STR("/keys/"))) {
    const char *q = rest.p + 6;
    key_id = read_id(&q, end);
    str tail = { q, (size_t)(end - q) };
    if(!key_id || (tail.n && !str_eq(tail, STR("/revoke")))) { http_error(r, 404, NULL, "no such route: expected /admin/users/{id}/keys/{key_id}", NULL); return; }
    if((del && !tail.n) || (post && tail.n)) op = 'r'; else allow = tail.n ? "Allow: POST\r\n" : "Allow: DELETE\r\n";
  } else {
    http_error(r, 404, NULL, "no such route under /admin/users/{id}", NULL);
    return;
  }
  if(!op) { http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", allow); return; }
  ujob *j = new_job(r, op);
  if(!j) return;
  j->user_id = id;
  j->key_id = key_id;
  if(op == 'u' || op == 'k') {
    json_t *body = http_body_object(r);
    if(!body) { free(j); return; }
    char msg[200] = "";
    static const char *const upd[] = { "name", NULL }, *const key[] = { "key_name", NULL };
    if(parse_limits(body, &j->lim, &j->have, op == 'u' ? upd : key, msg, sizeof msg)) {
      json_t *name = json_object_get(body, "name");
      if(op == 'k') key_name(body, j, msg, sizeof msg);
      else if(name && !valid_name(name, j->name, sizeof j->name)) snprintf(msg, sizeof msg, "\"name\" must be 1..63 printable characters");
      else if(name) j->has_name = true;
      else if(!j->have) snprintf(msg, sizeof msg, "nothing to change: give name, rpm, tpm, rpd, daily_budget, monthly_budget or allowed_models");
    }
    json_decref(body);
    if(msg[0]) { free(j); http_error(r, 400, NULL, msg, NULL); return; }
  }
  ujob_start(r, j);
}
