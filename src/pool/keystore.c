/* keystore — upstream keys stored through the admin API; contract in keystore.h. */
#include "pool/keystore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "admin/dbcall.h"
#include "pool/keypool.h"
#include "base/log.h"
#include "http/server.h"
#include "store/store.h"
#include "upstream/upstream.h"
#include "base/utc.h"

#define SECRET_MAX 256

typedef struct skey {
  int64_t id;
  char *secret;
  char masked[32];
  bool enabled, excluded;          /* excluded: out of the pool for a moment (re-check reset) */
  int64_t created_at;
} skey;

struct keystore {
  pthread_mutex_t mu;
  bool sealing;
  uint8_t key[CRYPTO_KEY_LEN];
  skey *v;
  size_t n;
};

keystore *keystore_new(const char *encryption)
{
  keystore *ks = calloc(1, sizeof *ks);
  if(!ks) return NULL;
  pthread_mutex_init(&ks->mu, NULL);
  ks->sealing = crypto_derive_key(encryption, ks->key);
  return ks;
}

void keystore_free(keystore *ks)
{
  if(!ks) return;
  for(size_t i = 0; i < ks->n; i++) free(ks->v[i].secret);
  free(ks->v);
  memset(ks->key, 0, sizeof ks->key);
  pthread_mutex_destroy(&ks->mu);
  free(ks);
}

/* The stored form of a secret: sealed, or "plain:" + the secret without an encryption key. */
static char *stored_form(keystore *ks, const char *secret)
{
  if(ks->sealing) return crypto_seal(ks->key, secret);
  size_t n = strlen(secret) + 7;
  char *s = malloc(n);
  if(s) snprintf(s, n, "plain:%s", secret);
  return s;
}

static char *open_form(keystore *ks, const char *stored)
{
  if(!strncmp(stored, "plain:", 6)) return strdup(stored + 6);
  if(!ks->sealing) return NULL;
  return crypto_open(ks->key, stored);
}

static void hash_hex(const char *secret, char out[65])
{
  uint8_t h[32];
  crypto_sha256(secret, strlen(secret), h);
  crypto_hex(h, 32, out);
}

/* Adds to the in-memory copy (mutex held). */
static int add_mem(keystore *ks, int64_t id, char *secret, bool enabled, int64_t created_at)
{
  skey *nv = realloc(ks->v, (ks->n + 1) * sizeof *nv);
  if(!nv) return -1;
  ks->v = nv;
  skey *k = &ks->v[ks->n++];
  *k = (skey){ .id = id, .secret = secret, .enabled = enabled, .created_at = created_at };
  kp_mask(secret, k->masked, sizeof k->masked);
  return 0;
}

static skey *find(keystore *ks, int64_t id)
{
  for(size_t i = 0; i < ks->n; i++) if(ks->v[i].id == id) return &ks->v[i];
  return NULL;
}

int keystore_load(keystore *ks, struct store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT id, secret, enabled, created_at FROM upstream_keys ORDER BY id");
  if(!st) return -1;
  store_rc rc;
  int64_t reseal[256];
  size_t nreseal = 0;
  pthread_mutex_lock(&ks->mu);
  while((rc = store_step(st)) == STORE_ROW) {
    int64_t id = store_col_int(st, 0);
    const char *stored = store_col_text(st, 1);
    char *secret = stored ? open_form(ks, stored) : NULL;
    if(!secret) {
      log_error("keystore: upstream key #%lld cannot be decrypted (GEMGATE_ENCRYPTION_KEY missing or changed): skipped", (long long)id);
      continue;
    }
    if(ks->sealing && !strncmp(stored, "plain:", 6) && nreseal < 256) reseal[nreseal++] = id;
    add_mem(ks, id, secret, store_col_int(st, 2) != 0, store_col_int(st, 3));
  }
  store_reset(st);
  /* Keys stored before GEMGATE_ENCRYPTION_KEY was set are sealed now. */
  for(size_t i = 0; rc == STORE_DONE && i < nreseal; i++) {
    skey *k = find(ks, reseal[i]);
    char *sealed = stored_form(ks, k->secret);
    if(sealed && store_do(c, "UPDATE upstream_keys SET secret = ? WHERE id = ?", "ti", sealed, k->id) >= 0)
      log_info("keystore: upstream key %s is now stored encrypted", k->masked);
    free(sealed);
  }
  pthread_mutex_unlock(&ks->mu);
  return rc == STORE_DONE ? 0 : -1;
}

void keystore_secrets(keystore *ks, strlist *out)
{
  pthread_mutex_lock(&ks->mu);
  for(size_t i = 0; i < ks->n; i++) {
    if(!ks->v[i].enabled || ks->v[i].excluded) continue;
    char **nv = realloc(out->v, (out->n + 1) * sizeof *nv);
    if(!nv) break;
    out->v = nv;
    out->v[out->n++] = strdup(ks->v[i].secret);
  }
  pthread_mutex_unlock(&ks->mu);
}

static json_t *key_json(const skey *k)
{
  char created[32];
  utc_iso(k->created_at, created, sizeof created);
  return json_pack("{s:I,s:s,s:b,s:s,s:s}", "id", (json_int_t)k->id, "key", k->masked, "enabled", k->enabled,
                   "source", "admin", "created_at", created);
}

/* ---- routes ---- */

typedef struct kjob {
  keystore *ks;
  gateway *gw;
  int64_t id;
  char *secret;            /* add: the new key (freed with the job) */
  int action;              /* 'a'dd, 'd'elete, 'e'nable, 'x' disable, 'r'eset after a re-check */
  int status;
  json_t *out;
  /* re-check */
  http_req *r;
  up_call *up;
  int probe_status;
  char hdr[SECRET_MAX + 32], masked[32];
} kjob;

static void kjob_free(void *arg)
{
  kjob *j = arg;
  if(j->secret) { memset(j->secret, 0, strlen(j->secret)); free(j->secret); }
  json_decref(j->out);
  memset(j->hdr, 0, sizeof j->hdr);
  free(j);
}

/* Pool thread: the change in the database, then in memory, then in the pool. */
static void kjob_work(store_conn *c, void *arg)
{
  kjob *j = arg;
  keystore *ks = j->ks;
  int64_t now = now_ms();
  j->status = 500;
  if(j->action == 'a') {
    char hex[65], masked[32];
    hash_hex(j->secret, hex);
    kp_mask(j->secret, masked, sizeof masked);
    char *stored = stored_form(ks, j->secret);
    store_stmt *st = stored ? store_prepare(c, "INSERT INTO upstream_keys (secret, hash, masked, enabled, created_at, updated_at)"
                                               " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (hash) DO NOTHING RETURNING id") : NULL;
    if(st) {
      store_bind_text(st, 1, stored);
      store_bind_text(st, 2, hex);
      store_bind_text(st, 3, masked);
      store_bind_int(st, 4, now);
      store_bind_int(st, 5, now);
      store_rc rc = store_step(st);
      j->id = rc == STORE_ROW ? store_col_int(st, 0) : 0;
      while(rc == STORE_ROW) rc = store_step(st);
      store_reset(st);
      if(rc != STORE_DONE) j->status = 500;
      else if(!j->id) j->status = 409;
      else {
        pthread_mutex_lock(&ks->mu);
        add_mem(ks, j->id, j->secret, true, now);
        j->secret = NULL;                              /* owned by the keystore now */
        j->out = key_json(find(ks, j->id));
        pthread_mutex_unlock(&ks->mu);
        j->status = 201;
      }
    }
    free(stored);
  } else if(j->action == 'd' || j->action == 'e' || j->action == 'x') {
    int64_t n = j->action == 'd' ? store_do(c, "DELETE FROM upstream_keys WHERE id = ?", "i", j->id)
                                 : store_do(c, "UPDATE upstream_keys SET enabled = ?, updated_at = ? WHERE id = ?", "iii",
                                            (int64_t)(j->action == 'e'), now, j->id);
    if(n < 0) return;
    if(n == 0) { j->status = 404; return; }
    pthread_mutex_lock(&ks->mu);
    skey *k = find(ks, j->id);
    if(k && j->action == 'd') {
      j->out = json_pack("{s:s,s:I,s:s}", "status", "deleted", "id", (json_int_t)k->id, "key", k->masked);
      free(k->secret);
      *k = ks->v[--ks->n];
    } else if(k) {
      k->enabled = j->action == 'e';
      j->out = key_json(k);
    }
    pthread_mutex_unlock(&ks->mu);
    if(!j->out) j->out = json_pack("{s:s,s:I}", "status", "ok", "id", (json_int_t)j->id);
    j->status = 200;
  } else if(j->action == 'r') {
    /* Out of the pool and back in: a fresh entry, without the invalid/disabled marks. */
    pthread_mutex_lock(&ks->mu);
    skey *k = find(ks, j->id);
    if(k) k->excluded = true;
    pthread_mutex_unlock(&ks->mu);
    server_reload_keys(j->gw);
    pthread_mutex_lock(&ks->mu);
    if((k = find(ks, j->id))) k->excluded = false;
    pthread_mutex_unlock(&ks->mu);
    j->status = 200;
  }
  if(j->status < 300) server_reload_keys(j->gw);
}

static void kjob_reply(dbcall *d, http_req *r, void *arg)
{
  kjob *j = arg;
  if(j->action == 'r')
    http_reply_json(r, 200, json_pack("{s:I,s:s,s:b,s:i,s:s}", "id", (json_int_t)j->id, "key", j->masked, "ok", 1,
                                      "upstream_status", j->probe_status, "result", "answers: back in the pool"), NULL);
  else if(j->status < 300) { http_reply_json(r, j->status, j->out, NULL); j->out = NULL; }
  else if(j->status == 404) http_error(r, 404, NULL, "no such upstream key", NULL);
  else if(j->status == 409) http_error(r, 409, NULL, "this upstream key is already stored", NULL);
  else http_error(r, 500, NULL, "could not store the change", NULL);
  dbcall_end(d);
}

void keystore_route_add(http_req *r)
{
  json_t *body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
  json_t *k = json_object_get(body, "key");
  const char *s = json_string_value(k);
  size_t n = s ? json_string_length(k) : 0;
  bool ok = json_is_object(body) && json_object_size(body) == 1 && s && n >= 8 && n <= SECRET_MAX;
  for(size_t i = 0; ok && i < n; i++) ok = s[i] > ' ' && s[i] < 127 && s[i] != ',';
  if(!ok) {
    json_decref(body);
    http_error(r, 400, NULL, "body must be {\"key\": \"<upstream API key>\"} (8..256 printable characters, no spaces or commas)", NULL);
    return;
  }
  kjob *j = calloc(1, sizeof *j);
  if(j) { j->ks = r->w->gw->keystore; j->gw = r->w->gw; j->action = 'a'; j->secret = strdup(s); }
  json_decref(body);
  if(!j || !j->secret) { free(j); http_error(r, 500, NULL, "out of memory", NULL); return; }
  dbcall_start(r, j, kjob_free, kjob_work, kjob_reply);
}

void keystore_route_list(http_req *r)
{
  keystore *ks = r->w->gw->keystore;
  json_t *arr = json_array();
  pthread_mutex_lock(&ks->mu);
  for(size_t i = 0; i < ks->n; i++) json_array_append_new(arr, key_json(&ks->v[i]));
  bool sealed = ks->sealing;
  pthread_mutex_unlock(&ks->mu);
  http_reply_json(r, 200, json_pack("{s:o,s:I,s:b,s:s}", "keys", arr, "total", (json_int_t)json_array_size(arr),
                                    "encrypted_at_rest", sealed, "note",
                                    "keys from GEMGATE_KEYS / GEMGATE_KEYS_FILE are listed by GET /api/status/keys"), NULL);
}

/* ---- re-check: a probe on this worker's upstream client ---- */

static void probe_abort(http_req *r)
{
  kjob *j = r->ctx;
  if(j->up) up_cancel(j->up);
  kjob_free(j);
}

static void probe_head(void *ctx, int status, const http_header *h, size_t n) { ((kjob *)ctx)->probe_status = status; }
static int probe_data(void *ctx, const char *p, size_t n) { return UP_CONTINUE; }

static void probe_done(void *ctx, up_error err, const char *msg)
{
  kjob *j = ctx;
  http_req *r = j->r;
  j->up = NULL;
  r->on_abort = NULL;
  memset(j->hdr, 0, sizeof j->hdr);
  if(err == UP_OK && j->probe_status == 200) {
    log_info("keystore: re-check of %s: answers", j->masked);
    dbcall_start(r, j, kjob_free, kjob_work, kjob_reply);
    return;
  }
  char m[200];
  if(err != UP_OK) snprintf(m, sizeof m, "no answer: %s", msg);
  else snprintf(m, sizeof m, "the upstream answered %d", j->probe_status);
  log_info("keystore: re-check of %s: %s", j->masked, m);
  http_reply_json(r, 200, json_pack("{s:I,s:s,s:b,s:i,s:s}", "id", (json_int_t)j->id, "key", j->masked, "ok", 0,
                                    "upstream_status", j->probe_status, "result", m), NULL);
  kjob_free(j);
}

static const up_callbacks probe_cb = { probe_head, probe_data, probe_done };

static void recheck(http_req *r, int64_t id)
{
  gateway *gw = r->w->gw;
  keystore *ks = gw->keystore;
  kjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  *j = (kjob){ .ks = ks, .gw = gw, .id = id, .action = 'r', .r = r };
  pthread_mutex_lock(&ks->mu);
  skey *k = find(ks, id);
  if(k) {
    snprintf(j->hdr, sizeof j->hdr, "x-goog-api-key: %s", k->secret);
    snprintf(j->masked, sizeof j->masked, "%s", k->masked);
  }
  pthread_mutex_unlock(&ks->mu);
  if(!k) { free(j); http_error(r, 404, NULL, "no such upstream key", NULL); return; }
  char url[1024];
  snprintf(url, sizeof url, "%s/v1beta/models?pageSize=1", gw->cfg.upstream);
  const char *hdrs[] = { j->hdr };
  const char *secret = j->hdr + 16;
  up_request req = {
    .method = "GET", .url = url, .headers = hdrs, .n_headers = 1, .timeout_ms = gw->cfg.timeout_ms,
    .proxy = gw->cfg.proxies.n ? gw->cfg.proxies.v[hash64(secret, strlen(secret)) % gw->cfg.proxies.n] : NULL,
  };
  r->ctx = j;
  r->on_abort = probe_abort;
  j->up = up_start(r->w->up, &req, &probe_cb, j);
  if(!j->up) { r->on_abort = NULL; kjob_free(j); http_error(r, 500, NULL, "could not start the probe", NULL); }
}

void keystore_route_item(http_req *r)
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
  kjob *j = calloc(1, sizeof *j);
  if(!j) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  *j = (kjob){ .ks = r->w->gw->keystore, .gw = r->w->gw, .id = id, .action = action };
  dbcall_start(r, j, kjob_free, kjob_work, kjob_reply);
}
