/* fg_state — counters, modes and the last request, behind one mutex. */
#include "fg_state.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

/* One counted name (a key or a path).  For keys, parsed caches the key's own tokens and
 * mode holds the /_fake/mode override. */
typedef struct entry {
    char *name;
    size_t nlen;
    uint64_t hash;
    long count;
    int has_mode;
    fg_behav parsed, mode;
} entry;

/* Open-addressing hash table of entries; cap is a power of two. */
typedef struct map {
    entry *slots;
    size_t cap, used;
} map;

#define LAST_BODY_MAX (64u * 1024u) /* /_fake/last shows bodies shorter than this */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total;
static map keys, paths;
static int have_last;
static fg_buf last_head, last_body;

/* FNV-1a: short strings, no adversary. */
static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Frees every name and the slot array. */
static void map_free(map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].name);
    free(m->slots);
    *m = (map){0};
}

/* Doubles the table (or creates it) and re-inserts the entries. */
static void map_grow(map *m)
{
    map g = {fg_xcalloc(m->cap ? m->cap * 2 : 64, sizeof(entry)), m->cap ? m->cap * 2 : 64,
             m->used};
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].name)
            continue;
        size_t j = m->slots[i].hash & (g.cap - 1);
        while (g.slots[j].name)
            j = (j + 1) & (g.cap - 1);
        g.slots[j] = m->slots[i];
    }
    free(m->slots);
    *m = g;
}

/* Finds name's entry, creating it (count 0, key tokens parsed) when missing. */
static entry *map_get(map *m, const char *name, size_t n)
{
    if ((m->used + 1) * 4 > m->cap * 3)
        map_grow(m);
    uint64_t h = hash_str(name, n);
    size_t j = h & (m->cap - 1);
    for (; m->slots[j].name; j = (j + 1) & (m->cap - 1)) {
        entry *e = &m->slots[j];
        if (e->hash == h && e->nlen == n && memcmp(e->name, name, n) == 0)
            return e;
    }
    entry *e = &m->slots[j];
    e->name = fg_xstrndup(name, n);
    e->nlen = n;
    e->hash = h;
    fg_behav_parse(name, n, &e->parsed);
    m->used++;
    return e;
}

void fg_state_init(void)
{
    map_grow(&keys);
    map_grow(&paths);
}

void fg_state_free(void)
{
    map_free(&keys);
    map_free(&paths);
    buf_free(&last_head);
    buf_free(&last_body);
}

void fg_state_record(const fg_req *req, fg_str key, fg_behav *b, long *key_count)
{
    pthread_mutex_lock(&mu);
    total++;
    map_get(&paths, req->path.p, req->path.n)->count++;
    if (key.n) {
        entry *e = map_get(&keys, key.p, key.n);
        *key_count = ++e->count;
        *b = e->has_mode ? e->mode : e->parsed;
    }
    /* Copy now, render on demand: /_fake/last is rare, API requests are not. */
    last_head.len = last_body.len = 0;
    buf_add(&last_head, req->head.p, req->head.n);
    buf_add(&last_body, req->body.p, req->body.n);
    have_last = 1;
    pthread_mutex_unlock(&mu);
}

/* Serialises v compactly, frees it, returns a malloc'ed string. */
static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!s)
        abort();
    return s;
}

/* A JSON object {name: count} for the entries of m with a non-zero count. */
static json_t *counts(const map *m)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->cap; i++) {
        const entry *e = &m->slots[i];
        if (e->name && e->count > 0)
            json_object_setn_new_nocheck(o, e->name, e->nlen, json_integer(e->count));
    }
    return o;
}

char *fg_state_stats_json(void)
{
    pthread_mutex_lock(&mu);
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer(total));
    json_object_set_new(o, "by_key", counts(&keys));
    json_object_set_new(o, "by_path", counts(&paths));
    pthread_mutex_unlock(&mu);
    return dump(o);
}

/* A JSON string from raw bytes; bytes that are not valid UTF-8 become '?'. */
static json_t *jstr(const char *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    if (s)
        return s;
    char *c = fg_xstrndup(p, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] >= 0x80 || c[i] == '\0')
            c[i] = '?';
    s = json_stringn(c, n);
    free(c);
    return s;
}

/* {lower-case name: value}; repeated headers are joined with ", " as HTTP allows. */
static json_t *headers_json(const fg_req *req)
{
    json_t *h = json_object();
    for (int i = 0; i < req->nhdrs; i++) {
        char *name = fg_xstrndup(req->hdrs[i].name.p, req->hdrs[i].name.n);
        fg_lower(name, req->hdrs[i].name.n);
        json_t *old = json_object_get(h, name);
        if (old) {
            fg_buf joined = {0};
            buf_adds(&joined, json_string_value(old));
            BUF_LIT(&joined, ", ");
            buf_add(&joined, req->hdrs[i].value.p, req->hdrs[i].value.n);
            json_object_set_new(h, name, jstr(joined.p, joined.len));
            buf_free(&joined);
        } else {
            json_object_set_new(h, name, jstr(req->hdrs[i].value.p, req->hdrs[i].value.n));
        }
        free(name);
    }
    return h;
}

/* The body as a JSON string when it is under LAST_BODY_MAX bytes of valid UTF-8, else null. */
static json_t *body_json(const char *p, size_t n)
{
    json_t *s = NULL;
    if (n < LAST_BODY_MAX)
        s = n ? json_stringn(p, n) : json_string("");
    return s ? s : json_null();
}

/* Lower-case hex SHA-256 of p[0..n) into out (65 bytes). */
static void sha256_hex(const void *p, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL))
        abort();
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

char *fg_state_last_json(void)
{
    pthread_mutex_lock(&mu);
    json_t *o = json_object();
    fg_req *req = fg_xmalloc(sizeof *req);
    if (have_last && fg_http_parse_head(last_head.p, last_head.len, req) == 0) {
        char hex[65];
        sha256_hex(last_body.p ? last_body.p : "", last_body.len, hex);
        json_object_set_new(o, "method", jstr(req->method.p, req->method.n));
        json_object_set_new(o, "path", jstr(req->path.p, req->path.n));
        json_object_set_new(o, "query", jstr(req->query.p, req->query.n));
        json_object_set_new(o, "headers", headers_json(req));
        json_object_set_new(o, "body_sha256", json_string(hex));
        json_object_set_new(o, "body_len", json_integer((json_int_t)last_body.len));
        json_object_set_new(o, "body", body_json(last_body.p, last_body.len));
    }
    pthread_mutex_unlock(&mu);
    free(req);
    return dump(o);
}

char *fg_state_mode(fg_str body, int *status)
{
    json_error_t err;
    json_t *in = json_loadb(body.p, body.n, 0, &err);
    json_t *key = in ? json_object_get(in, "key") : NULL;
    json_t *mode = in ? json_object_get(in, "mode") : NULL;
    if (!json_is_string(key) || json_string_length(key) == 0 ||
        (mode && !json_is_string(mode) && !json_is_null(mode))) {
        json_decref(in);
        *status = 400;
        return dump(json_pack("{s:s}", "error", "want {\"key\":string,\"mode\":string|null}"));
    }
    pthread_mutex_lock(&mu);
    entry *e = map_get(&keys, json_string_value(key), json_string_length(key));
    e->has_mode = json_is_string(mode);
    if (e->has_mode)
        fg_behav_parse(json_string_value(mode), json_string_length(mode), &e->mode);
    pthread_mutex_unlock(&mu);
    json_t *out = json_pack("{s:O,s:O}", "key", key, "mode", mode ? mode : json_null());
    json_decref(in);
    *status = 200;
    return dump(out);
}

char *fg_state_reset(void)
{
    pthread_mutex_lock(&mu);
    map_free(&keys);
    map_free(&paths);
    map_grow(&keys);
    map_grow(&paths);
    total = 0;
    have_last = 0;
    last_head.len = last_body.len = 0;
    pthread_mutex_unlock(&mu);
    return dump(json_pack("{s:b}", "ok", 1));
}
