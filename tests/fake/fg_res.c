/* fg_res — the resource store: a list under one mutex (tests hold tens of resources). */
#include "fg_res.h"

#include "fg_route.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static fg_res *all; /* newest first */
static unsigned long long seq;

static const char *const KIND_NAME[] = {"file", "upload", "cachedContent", "batch",
                                        "interaction"};
static const char *const KIND_PREFIX[] = {"files/", "uploads/", "cachedContents/", "batches/",
                                          ""};

void fg_res_lock(void)
{
    pthread_mutex_lock(&mu);
}

void fg_res_unlock(void)
{
    pthread_mutex_unlock(&mu);
}

double fg_res_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fg_res_time(double t, int frac, char out[40])
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac)
        snprintf(out + n, 40 - n, ".%06dZ", (int)((t - (double)s) * 1e6));
    else
        snprintf(out + n, 40 - n, "Z");
}

/* splitmix64's finaliser: makes a counter look random. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A fresh id in Google's style for kind: files and caches 12 lower-case letters and digits,
 * batches 24, interactions "v1_" + 24 base64url characters. */
static void new_id(fg_res_kind kind, unsigned long long n, char out[48])
{
    static const char b36[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t x = mix64(n ^ ((uint64_t)kind << 56) ^ ((uint64_t)time(NULL) << 20));
    int len = kind == FG_RES_BATCH || kind == FG_RES_INTERACTION ? 24 : 12, i = 0;
    if (kind == FG_RES_INTERACTION) {
        memcpy(out, "v1_", 3);
        i = 3;
        len += 3;
    }
    for (int k = 0; i < len; i++, k++) {
        if (k && k % 10 == 0)
            x = mix64(x); /* 10 characters use 60 bits at most */
        uint64_t v = x;
        for (int j = 0; j < k % 10; j++)
            v = kind == FG_RES_INTERACTION ? v >> 6 : v / 36;
        out[i] = kind == FG_RES_INTERACTION ? b64[v & 63] : b36[v % 36];
    }
    out[i] = '\0';
}

/* Frees r's memory (r is already unlinked). */
static void res_free(fg_res *r)
{
    json_decref(r->obj);
    json_decref(r->aux);
    free(r->owner);
    free(r);
}

/* Drops every expired resource; called with mu held. */
static void sweep(void)
{
    double t = fg_res_now();
    for (fg_res **pp = &all; *pp;) {
        fg_res *r = *pp;
        if (r->expire > 0 && r->expire <= t) {
            *pp = r->next;
            res_free(r);
        } else {
            pp = &r->next;
        }
    }
}

static int owned_by(const fg_res *r, fg_str key)
{
    return r->owner_n == key.n && memcmp(r->owner, key.p, key.n) == 0;
}

fg_res *fg_res_find(fg_res_kind kind, fg_str id, fg_str key, int *own)
{
    sweep();
    for (fg_res *r = all; r; r = r->next) {
        if (r->kind == kind && strlen(r->id) == id.n && memcmp(r->id, id.p, id.n) == 0) {
            *own = owned_by(r, key) ? FG_OWN_MINE : FG_OWN_OTHER;
            return r;
        }
    }
    *own = FG_OWN_NONE;
    return NULL;
}

fg_res *fg_res_add(fg_res_kind kind, fg_str key)
{
    fg_res *r = fg_xcalloc(1, sizeof *r);
    r->kind = kind;
    r->seq = ++seq;
    new_id(kind, r->seq, r->id);
    r->owner = fg_xstrndup(key.p, key.n);
    r->owner_n = key.n;
    r->next = all;
    all = r;
    return r;
}

void fg_res_remove(fg_res *r)
{
    for (fg_res **pp = &all; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            res_free(r);
            return;
        }
    }
}

void fg_res_reply(fg_reply *r, int code, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s)
        abort();
    fg_reply_json(r, code, s, strlen(s));
    free(s);
}

void fg_res_reply_list(fg_res_kind kind, fg_str key, fg_str query, const char *field,
                       fg_reply *r)
{
    int found;
    fg_str v = fg_query_param(query, "pageSize", &found);
    long long size = found ? fg_parse_u(v.p, v.n) : 10;
    if (size <= 0)
        size = 10;
    if (size > 100)
        size = 100;
    /* The page token is the creation number of the next resource: opaque enough for a fake. */
    v = fg_query_param(query, "pageToken", &found);
    long long from = found && v.n ? fg_parse_u(v.p, v.n) : -1;
    if (found && v.n && from < 0) {
        fg_reply_error_plain(r, 400, "Invalid page token.");
        return;
    }
    sweep();
    json_t *out = json_object(), *arr = json_array();
    long long next = -1;
    for (fg_res *x = all; x; x = x->next) {
        if (x->kind != kind || !owned_by(x, key) || (from >= 0 && (long long)x->seq > from))
            continue;
        if ((long long)json_array_size(arr) == size) {
            next = (long long)x->seq;
            break;
        }
        json_array_append(arr, x->obj);
    }
    if (json_array_size(arr))
        json_object_set_new(out, field, arr);
    else
        json_decref(arr);
    if (next >= 0) {
        char tok[32];
        snprintf(tok, sizeof tok, "%lld", next);
        json_object_set_new(out, "nextPageToken", json_string(tok));
    }
    fg_res_reply(r, 200, out);
    json_decref(out);
}

char *fg_res_dump_json(void)
{
    pthread_mutex_lock(&mu);
    sweep();
    json_t *arr = json_array();
    for (fg_res *x = all; x; x = x->next) {
        char name[80];
        snprintf(name, sizeof name, "%s%s", KIND_PREFIX[x->kind], x->id);
        json_t *o = json_pack("{s:s,s:s,s:s%,s:O}", "kind", KIND_NAME[x->kind], "name", name,
                              "key", x->owner, x->owner_n, "resource", x->obj);
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&mu);
    json_t *out = json_pack("{s:o}", "resources", arr);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!s)
        abort();
    return s;
}

void fg_res_reset(void)
{
    pthread_mutex_lock(&mu);
    while (all) {
        fg_res *r = all;
        all = r->next;
        res_free(r);
    }
    pthread_mutex_unlock(&mu);
}
