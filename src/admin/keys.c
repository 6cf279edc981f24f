/* keys — admin routes for stored upstream keys; contract in keys.h. */
#include "admin/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/log.h"
#include "base/utc.h"
#include "http/server.h"
#include "pool/keystore.h"
#include "pool/probe.h"
#include "shared/rshare.h"

static json_t *key_json(const keystore_key *k)
{
  if(!k->masked[0]) return json_pack("{s:s,s:I}", "status", "ok", "id", (json_int_t)k->id);   /* not in memory */
  char created[32];
  utc_iso(k->created_at, created, sizeof created);
  return json_pack("{s:I,s:s,s:b,s:s,s:s}", "id", (json_int_t)k->id, "key", k->masked, "enabled", k->enabled,
                   "source", "admin", "created_at", created);
}

/* One change to one key, run on a store pool thread; the pool is rebuilt after it. */
typedef struct kjob {
  gateway *gw;
  int64_t id;
  int action;              /* 'a'dd, 'd'elete, 'e'nable, 'x' disable, 'r'eset after a re-check */
  char *secret;            /* add: the new key (wiped and freed with the job) */
  keystore_key key;        /* reset: the key probed */
  int probe_status;
  probe *probe;            /* re-check: the probe in flight */
} kjob;

static void kjob_free(void *arg)
{
  kjob *j = arg;
  if(j->secret) { memset(j->secret, 0, strlen(j->secret)); free(j->secret); }
  free(j);
}

static kjob *kjob_new(http_req *r, int action, int64_t id)
{
  kjob *j = calloc(1, sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return NULL; }
  j->gw = r->w->gw;
  j->action = action;
  j->id = id;
  return j;
}

static gg_rc kjob_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  kjob *j = arg;
  keystore *ks = j->gw->keystore;
  keystore_key k = { 0 };
  gg_rc rc = GG_OK;
  switch(j->action) {
  case 'a': rc = keystore_add(ks, c, j->secret, &k, e); break;
  case 'd': rc = keystore_remove(ks, c, j->id, &k, e); break;
  case 'e': case 'x': rc = keystore_set_enabled(ks, c, j->id, j->action == 'e', &k, e); break;
  case 'r':
    /* Out of the pool and back in: a fresh entry, without the invalid/disabled marks. */
    keystore_exclude(ks, j->id, true);
    server_reload_keys(j->gw);
    keystore_exclude(ks, j->id, false);
    break;
  }
  if(rc) return rc;
  server_reload_keys(j->gw);
  if(j->action != 'r') rshare_publish(j->gw->shared, RSHARE_KEYS);   /* stored: other instances reload */
  if(j->action == 'd' && k.masked[0])
    *out = json_pack("{s:s,s:I,s:s}", "status", "deleted", "id", (json_int_t)k.id, "key", k.masked);
  else if(j->action == 'r')
    *out = json_pack("{s:I,s:s,s:b,s:i,s:s}", "id", (json_int_t)j->id, "key", j->key.masked, "ok", 1,
                     "upstream_status", j->probe_status, "result", "answers: back in the pool");
  else
    *out = key_json(&k);
  return GG_OK;
}

void admin_keys_add(http_req *r)
{
  json_t *body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
  json_t *k = json_object_get(body, "key");
  const char *s = json_string_value(k);
  if(!json_is_object(body) || json_object_size(body) != 1 || !s || !keystore_secret_valid(s, json_string_length(k))) {
    json_decref(body);
    http_error(r, 400, NULL, "body must be {\"key\": \"<upstream API key>\"} (8..256 printable characters, no spaces or commas)", NULL);
    return;
  }
  kjob *j = kjob_new(r, 'a', 0);
  if(j && !(j->secret = strdup(s))) { free(j); j = NULL; http_error_rc(r, GG_NOMEM, NULL); }
  json_decref(body);
  if(j) dbcall_json(r, j, kjob_free, kjob_work, 201);
}

void admin_keys_list(http_req *r)
{
  size_t n;
  bool sealed;
  keystore_key *v = keystore_list(r->w->gw->keystore, &n, &sealed);
  json_t *arr = json_array();
  for(size_t i = 0; i < n; i++) json_array_append_new(arr, key_json(&v[i]));
  free(v);
  http_reply_json(r, 200, json_pack("{s:o,s:I,s:b,s:s}", "keys", arr, "total", (json_int_t)json_array_size(arr),
                                    "encrypted_at_rest", sealed, "note",
                                    "keys from GEMGATE_KEYS / GEMGATE_KEYS_FILE are listed by GET /api/status/keys"), NULL);
}

/* ---- re-check: a probe on this worker's upstream client, then the reset on the store pool ---- */

static void probe_abort(http_req *r)
{
  kjob *j = r->ctx;
  probe_cancel(j->probe);
  kjob_free(j);
}

static void on_probe(void *ctx, bool ok, int status, up_error err, const char *msg)
{
  http_req *r = ctx;
  kjob *j = r->ctx;
  j->probe = NULL;
  j->probe_status = status;
  r->on_abort = NULL;
  if(ok) {
    log_info("keystore: re-check of %s: answers", j->key.masked);
    dbcall_json(r, j, kjob_free, kjob_work, 200);
    return;
  }
  char m[200];
  if(err != UP_OK) snprintf(m, sizeof m, "no answer: %s", msg);
  else snprintf(m, sizeof m, "the upstream answered %d", status);
  log_info("keystore: re-check of %s: %s", j->key.masked, m);
  http_reply_json(r, 200, json_pack("{s:I,s:s,s:b,s:i,s:s}", "id", (json_int_t)j->id, "key", j->key.masked, "ok", 0,
                                    "upstream_status", status, "result", m), NULL);
  kjob_free(j);
}

static void recheck(http_req *r, int64_t id)
{
  kjob *j = kjob_new(r, 'r', id);
  if(!j) return;
  char secret[KEYSTORE_SECRET_MAX + 1];
  if(keystore_secret(j->gw->keystore, id, secret, sizeof secret, &j->key)) {
    free(j);
    http_error(r, 404, NULL, "no such upstream key", NULL);
    return;
  }
  r->ctx = j;
  r->on_abort = probe_abort;
  j->probe = probe_start(r->w->up, &j->gw->cfg, secret, on_probe, r);
  memset(secret, 0, sizeof secret);
  if(!j->probe) { r->on_abort = NULL; kjob_free(j); http_error(r, 500, NULL, "could not start the probe", NULL); }
}

void admin_keys_item(http_req *r)
{
  const char *p = r->path.p + 26, *end = r->path.p + r->path.n;   /* after "/admin/config/gemini-keys/" */
  int64_t id = 0;
  const char *q = p;
  while(q < end && *q >= '0' && *q <= '9' && id < 1000000000000LL) id = id * 10 + (*q++ - '0');
  str rest = { q, (size_t)(end - q) };
  if(q == p || id <= 0 || (rest.n && rest.p[0] != '/')) { http_error(r, 404, NULL, "no such route: expected /admin/config/gemini-keys/{id}", NULL); return; }
  int action = 0;
  const char *allow = "Allow: DELETE\r\n";
  if(!rest.n) action = str_eq(r->method, STR("DELETE")) ? 'd' : 0;
  else {
    allow = "Allow: POST\r\n";
    bool post = str_eq(r->method, STR("POST"));
    if(str_eq(rest, STR("/enable"))) action = post ? 'e' : 0;
    else if(str_eq(rest, STR("/disable"))) action = post ? 'x' : 0;
    else if(str_eq(rest, STR("/recheck"))) action = post ? 'c' : 0;
    else { http_error(r, 404, NULL, "no such route: use /enable, /disable or /recheck", NULL); return; }
  }
  if(!action) { http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", allow); return; }
  if(action == 'c') { recheck(r, id); return; }
  kjob *j = kjob_new(r, action, id);
  if(j) dbcall_json(r, j, kjob_free, kjob_work, 200);
}
