/* catalog — listing the upstream's models; contract in catalog.h. */
#include "pool/catalog.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define SECRET_HDR "x-goog-api-key: "
#define NAMES_MAX (4 * KP_MAX_MODELS)   /* more than the pool could track anyway */

typedef struct listing {
  keypool *pool;
  kp_key *key;
  upstream *up;
  const config *cfg;
  int status, pages;
  char *body;
  size_t len;
  char **names;
  size_t n, cap;
  char hdr[600];                        /* SECRET_HDR + the secret: wiped before it is freed */
} listing;

int catalog_parse(const char *body, size_t len, char ***names, size_t *n, size_t *cap, size_t max, char **next)
{
  *next = NULL;
  json_t *root = json_loadb(body, len, 0, NULL);
  if(!json_is_object(root)) { json_decref(root); return -1; }
  json_t *models = json_object_get(root, "models"), *m;
  size_t i;
  json_array_foreach(models, i, m) {
    const char *name = json_string_value(json_object_get(m, "name"));
    if(!name || strncmp(name, "models/", 7) || !name[7] || *n >= max) continue;
    if(*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 64;
      char **nv = realloc(*names, nc * sizeof *nv);
      if(!nv) break;
      *names = nv;
      *cap = nc;
    }
    if(((*names)[*n] = strdup(name + 7))) (*n)++;
  }
  const char *tok = json_string_value(json_object_get(root, "nextPageToken"));
  if(tok && *tok) *next = strdup(tok);
  json_decref(root);
  return 0;
}

static void listing_free(listing *l)
{
  for(size_t i = 0; i < l->n; i++) free(l->names[i]);
  free(l->names);
  free(l->body);
  memset(l->hdr, 0, sizeof l->hdr);
  free(l);
}

static void finish(listing *l, int ok)
{
  kp_catalog_done(l->pool, l->key, now_ms(), (const char *const *)l->names, l->n, ok);
  if(ok) log_info("key pool: the upstream lists %zu models", l->n);
  else log_warn("key pool: listing the upstream's models failed (status %d); trying again later", l->status);
  listing_free(l);
}

static bool start_page(listing *l, const char *token);

static void on_head(void *ctx, int status, const http_header *h, size_t n) { ((listing *)ctx)->status = status; }

static int on_data(void *ctx, const char *p, size_t n)
{
  listing *l = ctx;
  if(l->len + n > CATALOG_BODY_MAX) return UP_ABORT;
  char *b = realloc(l->body, l->len + n + 1);
  if(!b) return UP_ABORT;
  memcpy(b + l->len, p, n);
  l->body = b;
  l->len += n;
  return UP_CONTINUE;
}

static void on_done(void *ctx, up_error err, const char *msg)
{
  listing *l = ctx;
  char *next = NULL;
  int ok = err == UP_OK && l->status == 200 &&
           catalog_parse(l->body ? l->body : "", l->len, &l->names, &l->n, &l->cap, NAMES_MAX, &next) == 0;
  free(l->body);
  l->body = NULL;
  l->len = 0;
  if(ok && next && l->pages < CATALOG_PAGES) {
    bool started = start_page(l, next);
    free(next);
    if(!started) finish(l, 0);
    return;
  }
  free(next);
  finish(l, ok);
}

static const up_callbacks callbacks = { on_head, on_data, on_done };

/* Percent-encodes s (RFC 3986 unreserved bytes pass) into out; false if it does not fit. */
static bool encode(const char *s, char *out, size_t cap)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for(; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.' || ch == '~';
    if(o + (plain ? 1 : 3) >= cap) return false;
    if(plain) out[o++] = (char)ch;
    else { out[o++] = '%'; out[o++] = hex[ch >> 4]; out[o++] = hex[ch & 15]; }
  }
  out[o] = '\0';
  return true;
}

static bool start_page(listing *l, const char *token)
{
  char url[2048], tok[1024] = "";
  if(token && !encode(token, tok, sizeof tok)) return false;
  snprintf(url, sizeof url, "%s/v1beta/models?pageSize=1000%s%s", l->cfg->upstream, tok[0] ? "&pageToken=" : "", tok);
  const char *secret = kp_key_secret(l->key);
  const char *hdrs[] = { l->hdr };
  up_request req = {
    .method = "GET", .url = url, .headers = hdrs, .n_headers = 1, .timeout_ms = l->cfg->timeout_ms,
    .proxy = l->cfg->proxies.n ? l->cfg->proxies.v[hash64(secret, strlen(secret)) % l->cfg->proxies.n] : NULL,
  };
  l->status = 0;
  l->pages++;
  return up_start(l->up, &req, &callbacks, l) != NULL;
}

void catalog_tick(keypool *pool, upstream *up, const config *cfg)
{
  kp_key *k = kp_catalog_begin(pool, now_ms());
  if(!k) return;
  listing *l = calloc(1, sizeof *l);
  const char *secret = kp_key_secret(k);
  if(!l || strlen(secret) + sizeof SECRET_HDR > sizeof l->hdr) {
    kp_catalog_done(pool, k, now_ms(), NULL, 0, 0);
    free(l);
    return;
  }
  *l = (listing){ .pool = pool, .key = k, .up = up, .cfg = cfg };
  snprintf(l->hdr, sizeof l->hdr, SECRET_HDR "%s", secret);
  if(!start_page(l, NULL)) finish(l, 0);
}
