/* upload — resumable uploads through the gateway; contract in upload.h. */
#include "call/upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "call/body_prompt.h"
#include "call/native.h"
#include "call/proxy.h"
#include "call/resource.h"
#include "http/auth.h"
#include "http/server.h"
#include "pool/keypool.h"
#include "upstream/upstream.h"

#define HEAD_CAP 4096

/* ---------- the gateway's upload URL ---------- */

/* A Host value fit to put in a URL: host[:port], or [v6]:port. */
static bool host_ok(str h)
{
  if(!h.n || h.n > 255) return false;
  for(size_t i = 0; i < h.n; i++) {
    char ch = h.p[i];
    if(!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
      return false;
  }
  return true;
}

/* <scheme>://<host><r's path>?upload_id=<token>&upload_protocol=resumable */
static void gateway_url(http_req *r, const char *token, char *out, size_t cap)
{
  const config *cfg = r->w->cfg;
  str host = http_header_get(r, STR("Host"));
  if(!host_ok(host)) host = str_c(cfg->listen);
  str proto = http_header_get(r, STR("X-Forwarded-Proto"));
  bool https = str_ieq(proto, STR("https")) && cidr_list_has(&cfg->trusted_nets, r->ip);
  snprintf(out, cap, "%s://%.*s%.*s?upload_id=%s&upload_protocol=resumable", https ? "https" : "http",
           (int)host.n, host.p, (int)r->path.n, r->path.p, token);
}

/* headers with the value of every X-Goog-Upload-URL / -Control-URL line replaced by url.  The
 * first such value is the upstream's upload URL, into *found (cap bytes, "" when none). */
static void rewrite_urls(const char *headers, const char *url, char *out, size_t cap, char *found, size_t fcap)
{
  sbuf b = { out, 0, cap - 1, false };
  found[0] = '\0';
  for(const char *p = headers; p && *p; ) {
    const char *eol = strstr(p, "\r\n");
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    str name = { p, colon ? (size_t)(colon - p) : 0 };
    if(colon && (str_ieq(name, STR("X-Goog-Upload-URL")) || str_ieq(name, STR("X-Goog-Upload-Control-URL")))) {
      const char *v = colon + 1;
      while(*v == ' ') v++;
      if(!found[0]) snprintf(found, fcap, "%.*s", (int)(p + len - v), v);
      sb_put(&b, name.p, name.n);
      SB_LIT(&b, ": ");
      sb_str(&b, url);
    } else {
      sb_put(&b, p, len);
    }
    SB_LIT(&b, "\r\n");
    p = eol ? eol + 2 : NULL;
  }
  out[b.full ? 0 : b.n] = '\0';
}

/* ---------- start: a codec that rewrites the upload URL ---------- */

typedef struct ustart {
  uploads *ups;
  char token[UPLOAD_TOKEN_LEN + 1];  /* "" for a one-request upload */
  bool bound;
} ustart;

static void us_start(void *st, http_req *r, int status, const char *headers, int64_t cl)
{
  ustart *u = st;
  char head[HEAD_CAP], theirs[UPLOAD_URL_MAX], url[512] = "", hash[OWN_HASH_LEN + 1];
  if(u->token[0]) gateway_url(r, u->token, url, sizeof url);
  rewrite_urls(headers, url, head, sizeof head, theirs, sizeof theirs);
  if(theirs[0] && u->token[0]) {
    proxy_key_hash(r, hash);
    u->bound = uploads_bind(u->ups, u->token, theirs, hash);
    if(!u->bound) log_warn("upload: the upstream's upload URL could not be kept (%zu bytes)", strlen(theirs));
  }
  if(theirs[0] && !u->bound) {   /* never hand out Google's URL: it carries the key */
    char none[HEAD_CAP];
    rewrite_urls(headers, "", none, sizeof none, theirs, sizeof theirs);
    memcpy(head, none, sizeof head);
  }
  http_start(r, status, head, cl);
}

static void us_data(void *st, http_req *r, const char *p, size_t n) { http_send(r, p, n); }
static void us_end(void *st, http_req *r) { http_finish(r); }
static void us_cut(void *st, http_req *r, const char *msg) { http_abort(r); }

static void us_error(void *st, http_req *r, int status, const char *headers, const char *body, size_t len,
                     const char *extra)
{
  char head[HEAD_CAP], theirs[UPLOAD_URL_MAX];
  rewrite_urls(headers ? headers : "Content-Type: application/json; charset=UTF-8\r\n", "", head, sizeof head,
               theirs, sizeof theirs);
  size_t hl = strlen(head);
  snprintf(head + hl, sizeof head - hl, "%s", extra ? extra : "");
  http_start(r, status, head, (int64_t)len);
  http_send(r, body, len);
  http_finish(r);
}

static void us_free(void *st)
{
  ustart *u = st;
  if(u->token[0] && !u->bound) uploads_remove(u->ups, str_c(u->token));
  free(u);
}

static const proxy_codec start_codec = { us_start, us_data, us_end, us_cut, us_error, us_free };

static void on_one_shot(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  resource_record(r->w->gw, &s->who, key_hash, s->model, body, len);
}

static void start(http_req *r, const principal *who)
{
  gateway *gw = r->w->gw;
  str proto = http_header_get(r, STR("X-Goog-Upload-Protocol"));
  str cmd = http_header_get(r, STR("X-Goog-Upload-Command"));
  str declared = http_header_get(r, STR("X-Goog-Upload-Header-Content-Length"));
  char num[24];
  if(declared.n && declared.n < sizeof num) {
    memcpy(num, declared.p, declared.n);
    num[declared.n] = '\0';
    int64_t v = parse_int(num);
    if(v > gw->cfg.max_upload) {
      char m[160];
      snprintf(m, sizeof m, "the file is %lld bytes; this gateway accepts uploads up to %lld bytes (GEMGATE_MAX_UPLOAD)",
               (long long)v, (long long)gw->cfg.max_upload);
      http_error(r, 413, "INVALID_ARGUMENT", m, NULL);
      return;
    }
  }
  ustart *u = calloc(1, sizeof *u);
  if(!u) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  u->ups = gw->uploads;
  bool resumable = str_ieq(proto, STR("resumable")) && cmd.p && memmem(cmd.p, cmd.n, "start", 5);
  if(resumable && !uploads_reserve(gw->uploads, who, now_ms(), u->token)) {
    free(u);
    http_error(r, 503, "UNAVAILABLE", "too many uploads in progress: try again later", "Retry-After: 60\r\n");
    return;
  }
  proxy_spec s = { .who = *who, .prompt_of = body_prompt_gemini, .codec = &start_codec, .codec_state = u };
  s.url = native_upstream_url(gw->cfg.upstream, r);
  s.hdrs = proxy_client_headers(r, &s.nhdrs);
  s.body = r->body;
  s.body_len = r->body_len;
  if(!resumable) {                  /* the whole file in this one request (multipart / raw) */
    s.capture = true;
    s.on_ok = on_one_shot;
  }
  if(!s.url || !s.hdrs) {
    free(s.url);
    free(s.hdrs);
    us_free(u);
    http_error(r, 500, NULL, "out of memory", NULL);
    return;
  }
  proxy_start(r, &s);
}

/* ---------- continuation: the body streams through ---------- */

typedef struct ucall {
  http_req *r;
  gateway *gw;
  upload_session s;
  char token[UPLOAD_TOKEN_LEN + 1];
  kp_key *key;
  up_call *up;
  char **hdrs;
  size_t nhdrs, body_off;
  int status;
  bool started, final;
  int64_t bytes;
  char *cap;
  size_t caplen;
} ucall;

static void uc_free(ucall *u)
{
  if(u->up) up_cancel(u->up);
  if(u->key) kp_release(u->gw->pool, u->key);
  for(size_t i = 0; u->hdrs && i <= u->nhdrs; i++) free(u->hdrs[i]);
  free(u->hdrs);
  free(u->cap);
  free(u);
}

static void uc_abort(http_req *r)
{
  ucall *u = r->ctx;
  log_info("upload %s %s: the client went away after %lld bytes", u->s.who.label, r->ip, (long long)u->bytes);
  uc_free(u);
}

static void uc_on_body(http_req *r)
{
  ucall *u = r->ctx;
  if(u->up) up_body_ready(u->up);
}

/* h1client pulls the body: from the connection as it streams in, or from a buffered one. */
static long uc_body_read(void *ctx, char *buf, size_t cap)
{
  ucall *u = ctx;
  http_req *r = u->r;
  long n;
  if(!r->body_stream) {
    n = (long)(r->body_len - u->body_off < cap ? r->body_len - u->body_off : cap);
    if(!n) return UP_BODY_END;
    memcpy(buf, r->body + u->body_off, (size_t)n);
    u->body_off += (size_t)n;
  } else {
    n = http_body_read(r, buf, cap);
    if(n == HTTP_BODY_END) return UP_BODY_END;
    if(n == HTTP_BODY_ERROR) return UP_BODY_ERROR;
  }
  u->bytes += n;
  return n;
}

static void uc_head(void *ctx, int status, const http_header *h, size_t n)
{
  ucall *u = ctx;
  char head[HEAD_CAP], head2[HEAD_CAP], url[512], theirs[UPLOAD_URL_MAX];
  int64_t cl;
  u->status = status;
  for(size_t i = 0; i < n; i++)
    if(str_ieq(h[i].name, STR("X-Goog-Upload-Status")) && str_ieq(h[i].value, STR("final"))) u->final = true;
  proxy_format_headers(head, sizeof head, h, n, &cl);
  gateway_url(u->r, u->token, url, sizeof url);
  rewrite_urls(head, url, head2, sizeof head2, theirs, sizeof theirs);
  u->started = true;
  http_start(u->r, status, head2, cl);
}

static int uc_data(void *ctx, const char *p, size_t n)
{
  ucall *u = ctx;
  if(u->final && u->status >= 200 && u->status < 300 && u->caplen + n <= PROXY_CAPTURE_MAX) {
    char *b = realloc(u->cap, u->caplen + n);
    if(b) { u->cap = b; memcpy(b + u->caplen, p, n); u->caplen += n; }
  }
  http_send(u->r, p, n);
  return UP_CONTINUE;
}

static void uc_done(void *ctx, up_error err, const char *msg)
{
  ucall *u = ctx;
  http_req *r = u->r;
  u->up = NULL;
  kp_outcome o = err != UP_OK ? KP_NETWORK_ERROR : u->status == 429 ? KP_RATE_LIMITED
               : u->status >= 500 ? KP_SERVER_ERROR : u->status >= 400 ? KP_CLIENT_ERROR : KP_OK;
  if(err != UP_OK && r->body_error) o = KP_ABORTED;   /* the client's body broke off: not the key's fault */
  kp_result res = { .outcome = o, .retry_delay_ms = -1, .error = o == KP_NETWORK_ERROR || o == KP_SERVER_ERROR ? msg : NULL };
  kp_report(u->gw->pool, u->key, "", now_ms(), &res);
  u->key = NULL;
  log_info("upload %s %s status=%d bytes=%lld%s ms=%lld", u->s.who.label, r->ip, err == UP_OK ? u->status : 0,
           (long long)u->bytes, u->final ? " final" : "", (long long)((mono_us() - r->t0_us) / 1000));
  r->on_abort = NULL;
  r->on_body = NULL;
  if(err == UP_OK) {
    if(u->final && u->status >= 200 && u->status < 300) {
      resource_record(u->gw, &u->s.who, u->s.key_hash, "", u->cap, u->caplen);
      uploads_remove(u->gw->uploads, str_c(u->token));
    }
    http_finish(r);
  } else if(u->started) {
    http_abort(r);
  } else if(r->body_error) {
    http_error(r, r->body_error, NULL, r->body_error == 413 ? "the upload is larger than GEMGATE_MAX_UPLOAD"
               : "the upload body is malformed", NULL);
  } else {
    char m[300];
    snprintf(m, sizeof m, "the upload to the upstream failed: %s", msg);
    http_error(r, err == UP_ERR_TIMEOUT ? 504 : 502, NULL, m, NULL);
  }
  uc_free(u);
}

static const up_callbacks uc_callbacks = { uc_head, uc_data, uc_done };

static void not_found(http_req *r)
{
  http_error(r, 404, "NOT_FOUND", "Upload session not found or expired.", NULL);
}

static void continuation(http_req *r, str token)
{
  gateway *gw = r->w->gw;
  int64_t now = now_ms();
  ucall *u = calloc(1, sizeof *u);
  if(!u) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  u->r = r;
  u->gw = gw;
  if(token.n != UPLOAD_TOKEN_LEN || !uploads_get(gw->uploads, token, now, &u->s)) { free(u); not_found(r); return; }
  memcpy(u->token, token.p, UPLOAD_TOKEN_LEN);
  if(http_header_get(r, STR("x-goog-api-key")).p || http_query_get(r, STR("key")).p ||
     http_header_get(r, STR("Authorization")).p) {
    principal who;                   /* a credential that is sent must be the session's caller's */
    if(auth_client(gw, r, &who) != AUTH_OK || who.user_id != u->s.who.user_id) { free(u); not_found(r); return; }
  }
  if(gw->cfg.proxies.n) {
    free(u);
    http_error(r, 501, "UNIMPLEMENTED", "upload continuations cannot go through GEMGATE_PROXY (streamed bodies "
               "need gemgate's own upstream client)", NULL);
    return;
  }
  kp_owner_state st;
  int64_t retry = -1;
  u->key = kp_acquire_hash(gw->pool, u->s.key_hash, "", now, &retry, &st);
  if(!u->key) {
    free(u);
    char extra[48] = "";
    if(retry > 0) snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)((retry + 999) / 1000));
    if(st == KP_OWNER_GONE)
      http_error(r, 410, NULL, "this upload's upstream key was removed from the gateway's pool: start the upload again", NULL);
    else
      http_error(r, st == KP_OWNER_COOLING ? 429 : 503, NULL, "this upload's upstream key cannot serve now; no other "
                 "key can continue it: retry later", extra[0] ? extra : NULL);
    return;
  }
  u->hdrs = proxy_client_headers(r, &u->nhdrs);
  const char *secret = kp_key_secret(u->key);
  char *slot = u->hdrs ? malloc(strlen(secret) + 17) : NULL;
  if(!slot) { uc_free(u); http_error(r, 500, NULL, "out of memory", NULL); return; }
  snprintf(slot, strlen(secret) + 17, "x-goog-api-key: %s", secret);
  u->hdrs[u->nhdrs] = slot;
  char method[8] = "POST";
  if(str_eq(r->method, STR("PUT"))) memcpy(method, "PUT", 4);
  up_request req = {
    .method = method, .url = u->s.url, .headers = (const char *const *)u->hdrs, .n_headers = u->nhdrs + 1,
    .timeout_ms = gw->cfg.timeout_ms, .body_read = uc_body_read,
    .body_size = r->body_stream ? r->body_size : (int64_t)r->body_len,
  };
  r->ctx = u;
  r->on_abort = uc_abort;
  r->on_body = uc_on_body;
  u->up = up_start(r->w->up, &req, &uc_callbacks, u);
  if(!u->up) {
    r->on_abort = NULL;
    r->on_body = NULL;
    uc_free(u);
    http_error(r, 502, NULL, "could not start the upload to the upstream", NULL);
  }
}

/* ---------- routes ---------- */

bool upload_streams(const http_req *r)
{
  return str_starts(r->path, STR("/upload/")) && http_query_get(r, STR("upload_id")).p != NULL;
}

void upload_route(http_req *r)
{
  gateway *gw = r->w->gw;
  if(!gw->uploads) { http_error(r, 503, NULL, "uploads are not available", NULL); return; }
  str token = http_query_get(r, STR("upload_id"));
  if(token.p) {
    if(!str_eq(r->method, STR("POST")) && !str_eq(r->method, STR("PUT"))) { not_found(r); return; }
    continuation(r, token);
    return;
  }
  principal who = { 0 };
  auth_result a = auth_client(gw, r, &who);
  if(a != AUTH_OK) {
    http_error(r, 401, "UNAUTHENTICATED", a == AUTH_MISSING ? "missing access key: send it as x-goog-api-key, ?key= "
               "or Authorization: Bearer" : "access key not valid", NULL);
    return;
  }
  start(r, &who);
}
