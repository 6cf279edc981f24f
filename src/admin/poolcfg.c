/* poolcfg — the pool's run-time settings; contract in poolcfg.h. */
#include "admin/poolcfg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/log.h"
#include "pool/keypool.h"
#include "shared/rshare.h"

#define ROW "pool"
#define MAX_LIMITS 64

static pthread_mutex_t change = PTHREAD_MUTEX_INITIALIZER;   /* merge, store, apply: one at a time */

static json_t *current(gateway *gw)
{
  json_t *o = kp_config_json(gw->pool);
  json_object_set_new(o, "max_retries", json_integer(__atomic_load_n(&gw->cfg.max_retries, __ATOMIC_RELAXED)));
  return o;
}

static bool whole(json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
  if(!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) return false;
  *out = json_integer_value(v);
  return true;
}

/* cur with fields applied, checked, into *k (limits into lim); the message of the first bad
 * field, or NULL. */
static const char *merge(json_t *cur, json_t *fields, kp_config *k, kp_limit *lim, int *retries)
{
  static const char *const known[] = { "strategy", "max_retries", "cooldown_ms", "cooldown_max_ms", "max_failures", "key_limits" };
  const char *key;
  json_t *v;
  json_object_foreach(fields, key, v) {
    bool ok = false;
    for(size_t i = 0; i < ARRAY_LEN(known); i++) ok = ok || !strcmp(key, known[i]);
    if(!ok) return "unknown field: expected strategy, max_retries, cooldown_ms, cooldown_max_ms, max_failures, key_limits";
    json_object_set(cur, key, v);
  }
  memset(k, 0, sizeof *k);
  const char *s = json_string_value(json_object_get(cur, "strategy"));
  if(s && !strcmp(s, "round_robin")) k->strategy = KP_ROUND_ROBIN;
  else if(s && !strcmp(s, "least_used")) k->strategy = KP_LEAST_USED;
  else if(s && !strcmp(s, "health")) k->strategy = KP_HEALTH;
  else return "strategy must be round_robin, least_used or health";
  int64_t n;
  if(!whole(json_object_get(cur, "max_retries"), 0, 20, &n)) return "max_retries must be 0..20";
  *retries = (int)n;
  if(!whole(json_object_get(cur, "cooldown_ms"), 1, 86400000, &k->cooldown_base_ms)) return "cooldown_ms must be 1..86400000";
  if(!whole(json_object_get(cur, "cooldown_max_ms"), k->cooldown_base_ms, 86400000, &k->cooldown_max_ms))
    return "cooldown_max_ms must be at least cooldown_ms and at most 86400000";
  if(!whole(json_object_get(cur, "max_failures"), 1, 1000000, &n)) return "max_failures must be 1..1000000";
  k->max_failures = (int)n;
  json_t *ls = json_object_get(cur, "key_limits"), *l;
  if(!json_is_array(ls) || json_array_size(ls) > MAX_LIMITS) return "key_limits must be a list of at most 64 {model, rpm, tpm, rpd}";
  size_t i;
  json_array_foreach(ls, i, l) {
    const char *m = json_string_value(json_object_get(l, "model"));
    if(!m || !*m || strlen(m) >= sizeof lim[i].model) return "each key limit needs a model (or \"*\") of at most 63 characters";
    memset(&lim[i], 0, sizeof lim[i]);
    snprintf(lim[i].model, sizeof lim[i].model, "%s", m);
    for(int f = 0; f < 3; f++) {
      static const char *const names[] = { "rpm", "tpm", "rpd" };
      int64_t *dst = f == 0 ? &lim[i].rpm : f == 1 ? &lim[i].tpm : &lim[i].rpd;
      json_t *x = json_object_get(l, names[f]);
      if(x && !whole(x, 0, INT64_MAX / 2, dst)) return "rpm, tpm and rpd must be whole numbers, 0 for no limit";
    }
    for(size_t j = 0; j < i; j++) if(!strcmp(lim[j].model, lim[i].model)) return "a model appears twice in key_limits";
  }
  k->limits = lim;
  k->nlimits = json_array_size(ls);
  return NULL;
}

static void apply(gateway *gw, const kp_config *k, int retries)
{
  kp_configure(gw->pool, k);
  __atomic_store_n(&gw->cfg.max_retries, retries, __ATOMIC_RELAXED);   /* read by the call engine */
}

typedef struct job { gateway *gw; json_t *fields; } job;

static void job_free(void *arg)
{
  job *j = arg;
  json_decref(j->fields);
  free(j);
}

static gg_rc change_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  job *j = arg;
  static kp_limit lim[MAX_LIMITS];          /* under change */
  pthread_mutex_lock(&change);
  json_t *cur = current(j->gw);
  kp_config k;
  int retries;
  const char *bad = merge(cur, j->fields, &k, lim, &retries);
  gg_rc rc = GG_OK;
  if(bad) rc = gg_fail(e, GG_BAD_INPUT, "%s", bad);
  else {
    char *text = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t w = text ? store_do(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name)"
                                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", "tti", ROW, text,
                                now_ms()) : -1;
    free(text);
    if(w < 0) rc = gg_fail(e, GG_DB, "could not store the settings");
    else {
      apply(j->gw, &k, retries);
      log_info("settings: pool changed: strategy %s, %d retries, cooldown %lld..%lld ms, %d failures, %zu key limits",
               json_string_value(json_object_get(cur, "strategy")), retries, (long long)k.cooldown_base_ms,
               (long long)k.cooldown_max_ms, k.max_failures, k.nlimits);
      *out = current(j->gw);
      rshare_publish(j->gw->shared, RSHARE_SETTINGS);       /* stored: other instances reload it */
    }
  }
  json_decref(cur);
  pthread_mutex_unlock(&change);
  return rc;
}

void poolcfg_route(http_req *r)
{
  gateway *gw = r->w->gw;
  if(str_eq(r->method, STR("GET"))) { http_reply_json(r, 200, current(gw), NULL); return; }
  if(!str_eq(r->method, STR("POST"))) {
    http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", "Allow: GET, POST\r\n");
    return;
  }
  json_t *b = http_body_object(r);
  if(!b) return;
  job *j = malloc(sizeof *j);
  if(!j) { json_decref(b); http_error_rc(r, GG_NOMEM, NULL); return; }
  j->gw = gw;
  j->fields = b;
  dbcall_json(r, j, job_free, change_work, 200);
}

void poolcfg_load(gateway *gw, store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  if(!st) return;
  store_bind_text(st, 1, ROW);
  json_t *stored = store_step(st) == STORE_ROW ? json_loads(store_col_text(st, 0) ? store_col_text(st, 0) : "", 0, NULL) : NULL;
  store_reset(st);
  if(!stored) return;
  static kp_limit lim[MAX_LIMITS];
  json_t *cur = current(gw);
  kp_config k;
  int retries;
  const char *bad = json_is_object(stored) ? merge(cur, stored, &k, lim, &retries) : "not an object";
  if(bad) log_error("settings: the stored pool settings are not valid (%s); using GEMGATE_*", bad);
  else apply(gw, &k, retries);
  json_decref(cur);
  json_decref(stored);
}
