/* reslist — the caller's own resources, merged across keys; contract in reslist.h. */
#include "call/reslist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/crypto.h"
#include "base/log.h"
#include "call/record.h"
#include "call/resource.h"
#include "http/server.h"
#include "pool/keypool.h"
#include "pool/owners.h"
#include "upstream/upstream.h"

#define PAGE_DEFAULT 10
#define PAGE_MAX 100
#define ITEM_CAP (1024 * 1024)     /* a resource's JSON; more is refused as malformed */

typedef struct list list;

typedef struct item {
  list *l;
  own_entry e;
  kp_key *key;
  up_call *up;
  char *url, *auth;
  int status;
  char *body;
  size_t len;
  bool done, skip;
  char err[160];
} item;

struct list {
  http_req *r;
  gateway *gw;
  principal who;                 /* the caller, for the ledger row */
  const char *field;             /* "files", "cachedContents", "operations" */
  item items[PAGE_MAX];
  size_t n, pending;
  bool starting, more;
  char next[OWN_NAME_MAX + 64];  /* the next page's token, or "" */
};

/* ---------- page tokens: base64url("<created_ms>:<name>") ---------- */

static int b64val(char ch)
{
  if(ch >= 'A' && ch <= 'Z') return ch - 'A';
  if(ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if(ch >= '0' && ch <= '9') return ch - '0' + 52;
  if(ch == '-') return 62;
  if(ch == '_') return 63;
  return -1;
}

/* Decodes s into out (cap bytes, NUL-terminated); false on anything but base64url. */
static bool b64url_decode(str s, char *out, size_t cap)
{
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for(size_t i = 0; i < s.n; i++) {
    int v = b64val(s.p[i]);
    if(v < 0) return false;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      if(n + 1 >= cap) return false;
      out[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[n] = '\0';
  return true;
}

static void make_token(const own_entry *e, char *out, size_t cap)
{
  char raw[OWN_NAME_MAX + 32];
  int n = snprintf(raw, sizeof raw, "%lld:%s", (long long)e->created_ms, e->name);
  if(crypto_b64url((const uint8_t *)raw, (size_t)n, out, cap) < 0) out[0] = '\0';
}

static bool parse_token(str t, char *name, size_t cap, int64_t *ms)
{
  char raw[OWN_NAME_MAX + 32];
  if(!b64url_decode(t, raw, sizeof raw)) return false;
  char *colon = strchr(raw, ':');
  if(!colon || colon == raw) return false;
  *colon = '\0';
  int64_t v = parse_int(raw);
  if(v < 0 || own_kind_of(str_c(colon + 1)) < 0) return false;
  *ms = v;
  snprintf(name, cap, "%s", colon + 1);
  return true;
}

/* ---------- reading one resource ---------- */

static void list_free(list *l)
{
  for(size_t i = 0; i < l->n; i++) {
    item *it = &l->items[i];
    if(it->up) up_cancel(it->up);
    if(it->key) kp_release(l->gw->pool, it->key);
    free(it->url);
    free(it->auth);
    free(it->body);
  }
  free(l);
}

static void list_abort(http_req *r) { list_free(r->ctx); }

static void list_finish(list *l)
{
  http_req *r = l->r;
  r->on_abort = NULL;
  for(size_t i = 0; i < l->n; i++) {
    item *it = &l->items[i];
    if(it->skip || (it->status >= 200 && it->status < 300)) continue;
    char m[OWN_NAME_MAX + 200];
    snprintf(m, sizeof m, "could not read %s from its upstream key: %s", it->e.name, it->err);
    record_local(r, &l->who, "", NULL, false, 502, m);
    list_free(l);
    http_error(r, 502, NULL, m, NULL);
    return;
  }
  json_t *arr = json_array();
  for(size_t i = 0; i < l->n; i++) {
    item *it = &l->items[i];
    json_t *j = it->skip ? NULL : json_loadb(it->body ? it->body : "", it->len, 0, NULL);
    if(json_is_object(j)) json_array_append(arr, j);
    json_decref(j);
  }
  json_t *out = json_object();
  if(json_array_size(arr)) json_object_set(out, l->field, arr);
  if(l->more && l->next[0]) json_object_set_new(out, "nextPageToken", json_string(l->next));
  json_decref(arr);
  record_local(r, &l->who, "", NULL, false, 200, NULL);   /* answered from the gateway's own record */
  list_free(l);
  http_reply_json(r, 200, out, NULL);
}

static void item_head(void *ctx, int status, const http_header *h, size_t n) { ((item *)ctx)->status = status; }

static int item_data(void *ctx, const char *p, size_t n)
{
  item *it = ctx;
  if(it->len + n > ITEM_CAP) return UP_ABORT;
  char *b = realloc(it->body, it->len + n + 1);
  if(!b) return UP_ABORT;
  it->body = b;
  memcpy(b + it->len, p, n);
  it->len += n;
  b[it->len] = '\0';
  return UP_CONTINUE;
}

static void item_done(void *ctx, up_error err, const char *msg)
{
  item *it = ctx;
  list *l = it->l;
  it->up = NULL;
  it->done = true;
  kp_outcome o = err != UP_OK ? KP_NETWORK_ERROR : it->status >= 500 ? KP_SERVER_ERROR
               : it->status == 429 ? KP_RATE_LIMITED : it->status >= 400 ? KP_CLIENT_ERROR : KP_OK;
  if(err != UP_OK) { snprintf(it->err, sizeof it->err, "%s", msg); it->status = 0; }
  else if(it->status == 403 || it->status == 404) {   /* gone upstream (deleted, expired): forget it */
    it->skip = true;
    owners_remove(l->gw->owners, str_c(it->e.name));
  } else snprintf(it->err, sizeof it->err, "HTTP %d", it->status);
  kp_result res = { .outcome = o, .retry_delay_ms = -1, .error = o == KP_OK || o == KP_CLIENT_ERROR ? NULL : it->err };
  kp_report(l->gw->pool, it->key, "", now_ms(), &res);
  it->key = NULL;
  if(--l->pending == 0 && !l->starting) list_finish(l);
}

static const up_callbacks item_cb = { item_head, item_data, item_done };

/* Starts the read of it; false when it is skipped (its key cannot serve). */
static bool item_start(list *l, item *it, str version)
{
  gateway *gw = l->gw;
  kp_owner_state st;
  it->key = kp_acquire_hash(gw->pool, it->e.key_hash, "", now_ms(), NULL, &st);
  if(!it->key) { it->skip = true; return false; }
  const char *secret = kp_key_secret(it->key);
  size_t ul = strlen(gw->cfg.upstream) + version.n + strlen(it->e.name) + 4;
  it->url = malloc(ul);
  it->auth = malloc(strlen(secret) + 17);
  if(!it->url || !it->auth) { it->skip = true; return false; }
  snprintf(it->url, ul, "%s/%.*s/%s", gw->cfg.upstream, (int)version.n, version.p, it->e.name);
  snprintf(it->auth, strlen(secret) + 17, "x-goog-api-key: %s", secret);
  const char *hdrs[] = { it->auth };
  const config *cfg = &gw->cfg;
  up_request req = {
    .method = "GET", .url = it->url, .headers = hdrs, .n_headers = 1, .timeout_ms = cfg->timeout_ms,
    .proxy = cfg->proxies.n ? cfg->proxies.v[hash64(secret, strlen(secret)) % cfg->proxies.n] : NULL,
  };
  it->up = up_start(l->r->w->up, &req, &item_cb, it);
  if(!it->up) { snprintf(it->err, sizeof it->err, "could not start the request"); return true; }
  l->pending++;
  return true;
}

/* ---------- the route ---------- */

bool reslist_handle(http_req *r, const principal *who)
{
  gateway *gw = r->w->gw;
  if(!gw->owners || !str_eq(r->method, STR("GET"))) return false;
  str rest = resource_rest(r->path);
  if(!rest.p) return false;
  int kind;
  const char *field;
  if(str_eq(rest, STR("files"))) { kind = OWN_FILE; field = "files"; }
  else if(str_eq(rest, STR("cachedContents"))) { kind = OWN_CACHE; field = "cachedContents"; }
  else if(str_eq(rest, STR("batches"))) { kind = OWN_BATCH; field = "operations"; }
  else return false;
  str version = { r->path.p + 1, (size_t)(rest.p - r->path.p - 2) };
  int64_t size = PAGE_DEFAULT;
  str ps = http_query_get(r, STR("pageSize")), pt = http_query_get(r, STR("pageToken"));
  if(ps.n) {
    char num[16];
    if(ps.n >= sizeof num) size = -1;
    else { memcpy(num, ps.p, ps.n); num[ps.n] = '\0'; size = parse_int(num); }
    if(size < 0) {
      record_local(r, who, "", NULL, false, 400, "pageSize must be a non-negative integer");
      http_error(r, 400, NULL, "pageSize must be a non-negative integer", NULL);
      return true;
    }
    if(size == 0) size = PAGE_DEFAULT;
    if(size > PAGE_MAX) size = PAGE_MAX;
  }
  char after[OWN_NAME_MAX + 1] = "";
  int64_t after_ms = 0;
  if(pt.n && !parse_token(pt, after, sizeof after, &after_ms)) {
    record_local(r, who, "", NULL, false, 400, "Invalid page token.");
    http_error(r, 400, NULL, "Invalid page token.", NULL);
    return true;
  }
  list *l = calloc(1, sizeof *l);
  if(!l) { http_error(r, 500, NULL, "out of memory", NULL); return true; }
  l->r = r;
  l->gw = gw;
  l->who = *who;
  l->field = field;
  own_entry page[PAGE_MAX];
  own_filter f = { .user_id = who->user_id, .kind = kind };
  l->n = owners_page(gw->owners, &f, after, after_ms, page, (size_t)size, &l->more);
  if(l->n) make_token(&page[l->n - 1], l->next, sizeof l->next);
  log_info("list %s %s %.*s: %zu of the caller's own", who->label, r->ip, (int)r->path.n, r->path.p, l->n);
  r->ctx = l;
  r->on_abort = list_abort;
  l->starting = true;
  for(size_t i = 0; i < l->n; i++) {
    l->items[i].l = l;
    l->items[i].e = page[i];
    item_start(l, &l->items[i], version);
  }
  l->starting = false;
  if(l->pending == 0) list_finish(l);
  return true;
}
