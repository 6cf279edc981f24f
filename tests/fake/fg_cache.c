/* fg_cache — cachedContents: create, get, list, patch (ttl / expireTime), delete; each cache
 * belongs to the key that created it. */
#include "fg_res.h"
#include "fg_route.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_TTL 3600.0 /* Google's default: one hour */

static const char NOT_FOUND[] = "CachedContent not found (or permission denied)";

/* Parses a Duration ("300s", "1.5s"); -1 when malformed. */
static double parse_ttl(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end != s && end[0] == 's' && end[1] == '\0' && v >= 0 ? v : -1;
}

/* Sets expireTime (and updateTime) from the body's ttl or expireTime; returns 0, or -1 when
 * the ttl is malformed. */
static int set_expiry(fg_res *x, const json_t *in, int creating)
{
    double t = fg_res_now();
    json_t *ttl = json_object_get(in, "ttl"), *et = json_object_get(in, "expireTime");
    char buf[40];
    if (json_is_string(et)) {
        json_object_set(x->obj, "expireTime", et);
        x->expire = 0; /* kept as given; the fake does not parse timestamps */
    } else if (json_is_string(ttl) || creating) {
        double d = json_is_string(ttl) ? parse_ttl(json_string_value(ttl)) : DEFAULT_TTL;
        if (d < 0)
            return -1;
        x->expire = t + d;
        fg_res_time(x->expire, 1, buf);
        json_object_set_new(x->obj, "expireTime", json_string(buf));
    }
    fg_res_time(t, 1, buf);
    json_object_set_new(x->obj, "updateTime", json_string(buf));
    return 0;
}

/* POST cachedContents: {model, contents, systemInstruction, ttl, displayName}. */
static void cache_create(fg_ctx *c, fg_reply *r)
{
    fg_str b = c->req->body;
    json_t *in = json_loadb(b.p, b.n, JSON_ALLOW_NUL, NULL);
    const json_t *model = json_object_get(in, "model");
    if (!json_is_object(in) || !json_is_string(model)) {
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid JSON payload received. A CachedContent needs a "
                                     "\"model\".");
        return;
    }
    fg_res_lock();
    if (fg_files_check_json(in, c->key, r)) {
        fg_res_unlock();
        json_decref(in);
        return;
    }
    fg_res *x = fg_res_add(FG_RES_CACHE, c->key);
    x->tokens = (long)((b.n + 3) / 4);
    char name[64], now[40];
    snprintf(name, sizeof name, "cachedContents/%s", x->id);
    fg_res_time(fg_res_now(), 1, now);
    const char *m = json_string_value(model);
    fg_buf mb = {0};
    if (strncmp(m, "models/", 7) != 0)
        BUF_LIT(&mb, "models/");
    buf_adds(&mb, m);
    x->obj = json_pack("{s:s,s:s%,s:s}", "name", name, "model", mb.p, mb.len, "createTime", now);
    buf_free(&mb);
    json_t *dn = json_object_get(in, "displayName");
    if (json_is_string(dn))
        json_object_set(x->obj, "displayName", dn);
    if (set_expiry(x, in, 1) < 0) {
        fg_res_remove(x);
        fg_res_unlock();
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid value at 'cached_content.ttl' (type.googleapis.com/"
                                     "google.protobuf.Duration), Field 'ttl', Illegal duration "
                                     "format; duration must end with 's'");
        return;
    }
    json_object_set_new(x->obj, "usageMetadata",
                        json_pack("{s:I}", "totalTokenCount", (json_int_t)x->tokens));
    fg_res_reply(r, 200, x->obj);
    fg_res_unlock();
    json_decref(in);
}

void fg_cache_route(fg_ctx *c, fg_reply *r)
{
    const char *m = NULL;
    fg_str rest = c->rest, method = c->req->method;
    if (str_eq(rest, "cachedContents")) {
        if (str_eq(method, "POST")) {
            cache_create(c, r);
        } else if (str_eq(method, "GET")) {
            fg_res_lock();
            fg_res_reply_list(FG_RES_CACHE, c->key, c->req->query, "cachedContents", r);
            fg_res_unlock();
        } else {
            fg_reply_error_plain(r, 404, "Method not found.");
        }
        return;
    }
    fg_str id = {rest.p + 15, rest.n - 15};
    if (!id.n || memchr(id.p, '/', id.n) || memchr(id.p, ':', id.n)) {
        fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    int own;
    fg_res_lock();
    fg_res *x = fg_res_find(FG_RES_CACHE, id, c->key, &own);
    if (own != FG_OWN_MINE) {
        fg_reply_error_plain(r, own == FG_OWN_OTHER ? 403 : 404, NOT_FOUND);
    } else if (str_eq(method, "GET")) {
        fg_res_reply(r, 200, x->obj);
    } else if (str_eq(method, "DELETE")) {
        fg_res_remove(x);
        fg_reply_json(r, 200, "{}", 2);
    } else if (str_eq(method, "PATCH")) {
        json_t *in = json_loadb(c->req->body.p, c->req->body.n, JSON_ALLOW_NUL, NULL);
        if (!json_is_object(in) || set_expiry(x, in, 0) < 0)
            m = "Invalid JSON payload received. Expected a CachedContent with ttl or expireTime.";
        else
            fg_res_reply(r, 200, x->obj);
        json_decref(in);
    } else {
        m = "Method not found.";
    }
    fg_res_unlock();
    if (m)
        fg_reply_error_plain(r, m[0] == 'M' ? 404 : 400, m);
}
