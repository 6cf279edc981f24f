/* fg_files — the Files API: the resumable upload protocol (bodies stream through an fg_sink,
 * never held), files get/list/delete, and the ownership checks on generate bodies. */
#include "fg_res.h"
#include "fg_route.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define UPLOAD_TTL (7 * 86400.0) /* an upload session lives a week, as Google's do */
#define FILE_TTL (48 * 3600.0)   /* files expire after 48 hours */

static const char CT_TEXT[] = "text/plain; charset=utf-8";

/* True when the comma-separated X-Goog-Upload-Command value v has the word w. */
static int has_command(fg_str v, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i + n <= v.n; i++)
        if (strncasecmp(v.p + i, w, n) == 0)
            return 1;
    return 0;
}

/* An upload continuation: POST /upload/{v}/files?...upload_id=... */
static int is_continuation(const fg_req *req, fg_str *id)
{
    if (req->path.n < 8 || memcmp(req->path.p, "/upload/", 8) != 0)
        return 0;
    if (!str_eq(req->path, "/upload/v1beta/files") && !str_eq(req->path, "/upload/v1/files"))
        return 0;
    int found;
    *id = fg_query_param(req->query, "upload_id", &found);
    return found;
}

/* The sink hook: every continuation streams, seeded with its upload's running hash. */
static int sink_open(const fg_req *req, fg_sink *s)
{
    fg_str id;
    if (!is_continuation(req, &id))
        return 0;
    SHA256_Init(&s->sha);
    int own;
    fg_res_lock();
    fg_res *u = fg_res_find(FG_RES_UPLOAD, id, (fg_str){"", 0}, &own);
    if (u)
        s->sha = u->sha;
    fg_res_unlock();
    return 1;
}

void fg_files_init(void)
{
    fg_http_sink_open = sink_open;
}

/* "http://host" or "https://host" from the request's Host header. */
static void base_url(const fg_ctx *c, fg_buf *out)
{
    fg_str host = fg_req_header(c->req, "host");
    buf_adds(out, c->w->tls ? "https://" : "http://");
    if (host.n)
        buf_add(out, host.p, host.n);
    else
        BUF_LIT(out, "127.0.0.1");
}

/* Appends s percent-encoded for a query value (RFC 3986 unreserved characters kept). */
static void add_pct(fg_buf *b, fg_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            buf_addc(b, (char)ch);
        } else {
            buf_addc(b, '%');
            buf_addc(b, hex[ch >> 4]);
            buf_addc(b, hex[ch & 15]);
        }
    }
}

/* The File resource's name segment's 403, in Google's words (also for files that do not
 * exist: Google does not tell the two apart). */
static void reply_file_denied(fg_reply *r, fg_str id)
{
    fg_buf m = {0};
    buf_adds(&m, "You do not have permission to access the File ");
    buf_add(&m, id.p, id.n);
    buf_adds(&m, " or it may not exist.");
    fg_reply_error(r, 403, m.p, m.len, "", 0);
    buf_free(&m);
}

/* A string member of o (first of two spellings), or NULL. */
static const char *str2(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (!json_is_string(v))
        v = json_object_get(o, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* start: a new upload session owned by the caller; its URL carries the key and upload_id. */
static void upload_start(fg_ctx *c, fg_reply *r)
{
    const fg_req *req = c->req;
    json_t *in = req->body.n ? json_loadb(req->body.p, req->body.n, 0, NULL) : NULL;
    if (req->body.n && !json_is_object(in)) {
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid JSON payload received. Expected a CreateFile"
                                     "Request object.");
        return;
    }
    const json_t *file = json_object_get(in, "file");
    const char *display = str2(file, "displayName", "display_name");
    const char *mime = str2(file, "mimeType", "mime_type");
    fg_str hmime = fg_req_header(req, "x-goog-upload-header-content-type");
    fg_str hlen = fg_req_header(req, "x-goog-upload-header-content-length");
    json_t *meta = json_object();
    if (display)
        json_object_set_new(meta, "displayName", json_string(display));
    if (hmime.n)
        json_object_set_new(meta, "mimeType", json_stringn(hmime.p, hmime.n));
    else
        json_object_set_new(meta, "mimeType", json_string(mime ? mime : "application/octet-stream"));
    if (hlen.n)
        json_object_set_new(meta, "declaredBytes", json_integer(fg_parse_u(hlen.p, hlen.n)));
    json_decref(in);

    fg_res_lock();
    fg_res *u = fg_res_add(FG_RES_UPLOAD, c->key);
    u->obj = meta;
    u->expire = fg_res_now() + UPLOAD_TTL;
    SHA256_Init(&u->sha);
    fg_buf url = {0}, h = {0};
    base_url(c, &url);
    BUF_LIT(&url, "/upload/");
    buf_add(&url, c->version.p, c->version.n);
    BUF_LIT(&url, "/files?key=");
    add_pct(&url, c->key);
    BUF_LIT(&url, "&upload_id=");
    buf_adds(&url, u->id);
    BUF_LIT(&url, "&upload_protocol=resumable");
    fg_res_unlock();
    BUF_LIT(&h, "X-Goog-Upload-Status: active\r\nX-Goog-Upload-URL: ");
    buf_add(&h, url.p, url.len);
    BUF_LIT(&h, "\r\nX-Goog-Upload-Control-URL: ");
    buf_add(&h, url.p, url.len);
    BUF_LIT(&h, "\r\nX-Goog-Upload-Chunk-Granularity: 8388608\r\n");
    r->body.len = 0;
    fg_reply_finish_hdrs(r, 200, CT_TEXT, h.p, h.len);
    buf_free(&url);
    buf_free(&h);
}

/* Google's sha256Hash: base64 of the lower-case hex digest. */
static void hash_field(SHA256_CTX *sha, char out[96])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32], txt[64];
    SHA256_Final(md, sha);
    for (int i = 0; i < 32; i++) {
        txt[2 * i] = (unsigned char)hex[md[i] >> 4];
        txt[2 * i + 1] = (unsigned char)hex[md[i] & 15];
    }
    EVP_EncodeBlock((unsigned char *)out, txt, 64);
}

/* finalize: turns upload u into a File resource and answers {"file":{…}}; lock held. */
static void upload_finalize(fg_ctx *c, fg_res *u, fg_reply *r)
{
    char created[40], expires[40], hash[96];
    double t = fg_res_now();
    fg_res_time(t, 1, created);
    fg_res_time(t + FILE_TTL, 1, expires);
    hash_field(&u->sha, hash);
    fg_res *f = fg_res_add(FG_RES_FILE, (fg_str){u->owner, u->owner_n});
    f->expire = t + FILE_TTL;
    fg_buf uri = {0};
    base_url(c, &uri);
    BUF_LIT(&uri, "/v1beta/files/");
    buf_adds(&uri, f->id);
    char name[64], size[24];
    snprintf(name, sizeof name, "files/%s", f->id);
    snprintf(size, sizeof size, "%lld", u->received);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_t *dn = json_object_get(u->obj, "displayName");
    if (dn)
        json_object_set(o, "displayName", dn);
    json_object_set(o, "mimeType", json_object_get(u->obj, "mimeType"));
    json_object_set_new(o, "sizeBytes", json_string(size));
    json_object_set_new(o, "createTime", json_string(created));
    json_object_set_new(o, "updateTime", json_string(created));
    json_object_set_new(o, "expirationTime", json_string(expires));
    json_object_set_new(o, "sha256Hash", json_string(hash));
    json_object_set_new(o, "uri", json_stringn(uri.p, uri.len));
    json_object_set_new(o, "state", json_string("ACTIVE"));
    json_object_set_new(o, "source", json_string("UPLOADED"));
    f->obj = o;
    buf_free(&uri);
    fg_res_remove(u);
    json_t *out = json_pack("{s:O}", "file", o);
    fg_res_reply(r, 200, out);
    json_decref(out);
    /* fg_res_reply built the head; Google marks the session final. */
    fg_buf h = {0};
    BUF_LIT(&h, "X-Goog-Upload-Status: final\r\n");
    r->head.len = 0;
    fg_reply_finish_hdrs(r, 200, FG_CT_JSON, h.p, h.len);
    buf_free(&h);
}

/* upload / query / finalize on an existing session (found by upload_id alone). */
static void upload_continue(fg_ctx *c, fg_str id, fg_reply *r)
{
    const fg_req *req = c->req;
    fg_str cmd = fg_req_header(req, "x-goog-upload-command");
    int own;
    fg_res_lock();
    fg_res *u = fg_res_find(FG_RES_UPLOAD, id, (fg_str){"", 0}, &own);
    if (!u) {
        fg_res_unlock();
        fg_reply_error_plain(r, 404, "Upload session not found.");
        return;
    }
    fg_buf h = {0};
    if (has_command(cmd, "upload")) {
        fg_str off = fg_req_header(req, "x-goog-upload-offset");
        if (off.n && fg_parse_u(off.p, off.n) != u->received) {
            fg_res_unlock();
            fg_reply_error_plain(r, 400, "Invalid upload offset.");
            return;
        }
        if (req->sink) {
            u->sha = req->sink->sha;
            u->received += req->sink->bytes;
        } else {
            SHA256_Update(&u->sha, req->body.p, req->body.n);
            u->received += (long long)req->body.n;
        }
    }
    if (has_command(cmd, "finalize")) {
        upload_finalize(c, u, r);
        fg_res_unlock();
        return;
    }
    if (!has_command(cmd, "upload") && !has_command(cmd, "query")) {
        fg_res_unlock();
        fg_reply_error_plain(r, 400, "Unknown X-Goog-Upload-Command.");
        return;
    }
    BUF_LIT(&h, "X-Goog-Upload-Status: active\r\nX-Goog-Upload-Size-Received: ");
    buf_addu(&h, (uint64_t)u->received);
    BUF_LIT(&h, "\r\n");
    fg_res_unlock();
    r->body.len = 0;
    fg_reply_finish_hdrs(r, 200, CT_TEXT, h.p, h.len);
    buf_free(&h);
}

void fg_upload_route(fg_ctx *c, fg_reply *r)
{
    fg_str id;
    if (is_continuation(c->req, &id)) {
        upload_continue(c, id, r);
        return;
    }
    fg_str cmd = fg_req_header(c->req, "x-goog-upload-command");
    fg_str proto = fg_req_header(c->req, "x-goog-upload-protocol");
    if (!has_command(cmd, "start") || !str_eq(proto, "resumable")) {
        fg_reply_error_plain(r, 400, "The fake supports only X-Goog-Upload-Protocol: resumable "
                                     "with X-Goog-Upload-Command: start.");
        return;
    }
    upload_start(c, r);
}

void fg_files_route(fg_ctx *c, fg_reply *r)
{
    fg_str rest = c->rest;
    int get = str_eq(c->req->method, "GET"), del = str_eq(c->req->method, "DELETE");
    if (str_eq(rest, "files")) {
        if (!get) {
            fg_reply_error_plain(r, 404, "Method not found.");
            return;
        }
        fg_res_lock();
        fg_res_reply_list(FG_RES_FILE, c->key, c->req->query, "files", r);
        fg_res_unlock();
        return;
    }
    fg_str id = {rest.p + 6, rest.n - 6};
    if (!id.n || memchr(id.p, '/', id.n) || memchr(id.p, ':', id.n) || (!get && !del)) {
        fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    int own;
    fg_res_lock();
    fg_res *f = fg_res_find(FG_RES_FILE, id, c->key, &own);
    if (own != FG_OWN_MINE)
        reply_file_denied(r, id);
    else if (get)
        fg_res_reply(r, 200, f->obj);
    else {
        fg_res_remove(f);
        fg_reply_json(r, 200, "{}", 2);
    }
    fg_res_unlock();
}

/* The file id a Files API URI names ("…/files/abc", "files/abc"), or n == 0. */
static fg_str uri_file_id(const char *s)
{
    const char *p = strstr(s, "files/");
    if (!p || (p != s && p[-1] != '/'))
        return (fg_str){s, 0};
    p += 6;
    size_t n = strcspn(p, "/?:#");
    return (fg_str){p, n};
}

int fg_files_check_json(const json_t *v, fg_str key, fg_reply *r)
{
    const char *k;
    const json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            if ((!strcmp(k, "fileUri") || !strcmp(k, "file_uri")) && json_is_string(x)) {
                fg_str id = uri_file_id(json_string_value(x));
                int own;
                if (id.n && (fg_res_find(FG_RES_FILE, id, key, &own), own != FG_OWN_MINE)) {
                    reply_file_denied(r, id);
                    return 1;
                }
            } else if (fg_files_check_json(x, key, r)) {
                return 1;
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (fg_files_check_json(x, key, r))
                return 1;
        }
    }
    return 0;
}

/* The cachedContent a generate body names: its tokens, or the 403/404 Google answers. */
static int check_cache(const json_t *cc, fg_str key, fg_reply *r)
{
    if (!json_is_string(cc))
        return 0;
    const char *s = json_string_value(cc);
    if (strncmp(s, "cachedContents/", 15) != 0)
        return 0;
    fg_str id = {s + 15, strlen(s + 15)};
    int own;
    fg_res *x = fg_res_find(FG_RES_CACHE, id, key, &own);
    if (own == FG_OWN_MINE) {
        r->cached_tokens = x->tokens;
        return 0;
    }
    fg_reply_error_plain(r, own == FG_OWN_OTHER ? 403 : 404,
                         "CachedContent not found (or permission denied)");
    return 1;
}

int fg_refs_check(fg_ctx *c, fg_reply *r)
{
    fg_str b = c->req->body;
    if (!memmem(b.p, b.n, "cachedContent\"", 14) && !memmem(b.p, b.n, "ile_uri\"", 8) &&
        !memmem(b.p, b.n, "ileUri\"", 7))
        return 0;
    json_t *in = json_loadb(b.p, b.n, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0; /* fg_gen answers the bad JSON */
    }
    fg_res_lock();
    int done = check_cache(json_object_get(in, "cachedContent"), c->key, r) ||
               check_cache(json_object_get(in, "cached_content"), c->key, r) ||
               fg_files_check_json(in, c->key, r);
    fg_res_unlock();
    json_decref(in);
    return done;
}
