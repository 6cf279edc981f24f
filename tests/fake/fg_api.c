/* fg_api — routes, per-key behaviour, and the bodies Google's API would send. */
#include "fg_api.h"

#include "fg_behav.h"
#include "fg_gen.h"
#include "fg_quota.h"
#include "fg_res.h"
#include "fg_route.h"
#include "fg_state.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>

fg_config fg_conf = {3, 0};

#define MAX_MODEL_NAME 256
#define MAX_CHUNKS 10000000
#define MAX_CHUNK_BYTES (64L * 1024 * 1024)
#define RAW_PIECE 65536                          /* bytes per write of /_fake/big.bin */
#define RAW_DEFAULT (25LL * 1024 * 1024)         /* /_fake/big.bin's default size */
#define RAW_MAX (64LL * 1024 * 1024 * 1024)      /* ?bytes= cap */

const char FG_CT_JSON[] = "application/json; charset=UTF-8";
#define CT_JSON FG_CT_JSON
static const char CT_SSE[] = "text/event-stream";

/* Which API call a path names. */
enum route_kind {
    RT_NONE,      /* not under /v1beta/ or /v1/ */
    RT_UNKNOWN,   /* under the API prefix but no such method */
    RT_LIST,      /* GET models */
    RT_GET,       /* GET models/{model} */
    RT_GENERATE,
    RT_STREAM,
    RT_COUNT,
    RT_EMBED,
    RT_BATCH_EMBED,
    RT_PREDICT,
    /* The stateful API (fg_route.h): resources owned by the key that made them. */
    RT_UPLOAD,       /* POST /upload/{v}/files */
    RT_FILES,        /* files[/{id}] */
    RT_CACHES,       /* cachedContents[/{id}] */
    RT_BATCHES,      /* batches[/{id}[:cancel]] */
    RT_BATCH_CREATE, /* models/{model}:batchGenerateContent */
    RT_INTERACTIONS, /* interactions[/{id}] */
};

typedef struct route {
    enum route_kind kind;
    fg_str version; /* "v1beta" or "v1" */
    fg_str model;   /* "gemini-2.5-flash" (n == 0 when the path names none) */
    fg_str rest;    /* the path after /{version}/ */
} route;

/* True when rest is coll or starts with coll + '/'. */
static int under(fg_str rest, const char *coll)
{
    size_t n = strlen(coll);
    return rest.n >= n && memcmp(rest.p, coll, n) == 0 && (rest.n == n || rest.p[n] == '/');
}

/* The models GET models lists; anything else answers 404 to GET models/{model}. */
static const char *const MODEL_JSON[] = {
    "{\"name\":\"models/gemini-2.5-flash\",\"version\":\"001\",\"displayName\":\"Gemini 2.5 "
    "Flash\",\"description\":\"Fake Gemini 2.5 Flash\",\"inputTokenLimit\":1048576,"
    "\"outputTokenLimit\":65536,\"supportedGenerationMethods\":[\"generateContent\","
    "\"countTokens\",\"createCachedContent\",\"batchGenerateContent\"],\"temperature\":1,"
    "\"topP\":0.95,\"topK\":64,\"maxTemperature\":2,\"thinking\":true}",
    "{\"name\":\"models/gemini-2.5-pro\",\"version\":\"2.5\",\"displayName\":\"Gemini 2.5 Pro\","
    "\"description\":\"Fake Gemini 2.5 Pro\",\"inputTokenLimit\":1048576,"
    "\"outputTokenLimit\":65536,\"supportedGenerationMethods\":[\"generateContent\","
    "\"countTokens\",\"createCachedContent\",\"batchGenerateContent\"],\"temperature\":1,"
    "\"topP\":0.95,\"topK\":64,\"maxTemperature\":2,\"thinking\":true}",
    "{\"name\":\"models/gemini-2.0-flash\",\"version\":\"2.0\",\"displayName\":\"Gemini 2.0 "
    "Flash\",\"description\":\"Fake Gemini 2.0 Flash\",\"inputTokenLimit\":1048576,"
    "\"outputTokenLimit\":8192,\"supportedGenerationMethods\":[\"generateContent\","
    "\"countTokens\",\"createCachedContent\",\"batchGenerateContent\"],\"temperature\":1,"
    "\"topP\":0.95,\"topK\":40,\"maxTemperature\":2}",
    "{\"name\":\"models/text-embedding-004\",\"version\":\"004\",\"displayName\":\"Text "
    "Embedding 004\",\"description\":\"Fake text embedding model\",\"inputTokenLimit\":2048,"
    "\"outputTokenLimit\":1,\"supportedGenerationMethods\":[\"embedContent\"]}",
};
#define NMODELS (sizeof MODEL_JSON / sizeof MODEL_JSON[0])

static const char EMBED_VALUES[] =
    "[0.0125,-0.025,0.0375,-0.05,0.0625,-0.075,0.0875,-0.1]";
static const char PREDICT_BODY[] =
    "{\"predictions\":[{\"bytesBase64Encoded\":\"" FG_PNG_B64 "\",\"mimeType\":\"image/png\"}]}";

static fg_buf list_body;  /* {"models":[…]} */
static fg_buf embed_body; /* {"embedding":{"values":[…]}} */
static unsigned char png[128]; /* FG_PNG_B64 decoded, for /_fake/image.png */
static size_t png_len;
static const char zeros[RAW_PIECE]; /* /_fake/big.bin's content */

void fg_api_init(void)
{
    BUF_LIT(&list_body, "{\"models\":[");
    for (size_t i = 0; i < NMODELS; i++) {
        if (i)
            buf_addc(&list_body, ',');
        buf_adds(&list_body, MODEL_JSON[i]);
    }
    BUF_LIT(&list_body, "]}");
    BUF_LIT(&embed_body, "{\"embedding\":{\"values\":");
    buf_adds(&embed_body, EMBED_VALUES);
    BUF_LIT(&embed_body, "}}");
    static const char b64[] = FG_PNG_B64;
    _Static_assert(sizeof b64 / 4 * 3 <= sizeof png, "png buffer too small");
    int n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)sizeof b64 - 1);
    if (n < 0)
        abort();
    /* EVP_DecodeBlock counts the bytes '=' padding stands for: drop them. */
    for (const char *e = b64 + sizeof b64 - 2; *e == '='; e--)
        n--;
    png_len = (size_t)n;
    fg_files_init();
}

void fg_api_free(void)
{
    buf_free(&list_body);
    buf_free(&embed_body);
    fg_res_reset();
    fg_quota_reset();
}

void fg_reply_free(fg_reply *r)
{
    buf_free(&r->head);
    buf_free(&r->body);
    buf_free(&r->model);
    buf_free(&r->piece);
    buf_free(&r->tmp);
    buf_free(&r->text);
    buf_free(&r->usage);
}

/* Clears the per-request fields of r, keeping buffer capacity. */
static void reply_reset(fg_reply *r)
{
    r->hang = r->reset_now = r->close_after = r->http10_keep = r->slow_ms = 0;
    r->head.len = r->body.len = r->model.len = r->piece.len = r->tmp.len = r->text.len = 0;
    r->usage.len = 0;
    r->sbody = NULL;
    r->sbody_len = 0;
    r->stream = FG_STREAM_NONE;
    r->chunked = r->chunks = r->objects = r->pieces = r->interval_ms = r->thoughts = 0;
    r->chunk_bytes = 0;
    r->reset_after = -1;
    r->ncand = 1;
    r->thought_part = r->content_objects = 0;
    r->content = FG_CONTENT_TEXT;
    r->error_at = -1;
    memcpy(r->finish, "STOP", sizeof "STOP");
    r->raw_bytes = 0;
    r->prompt_tokens = 0;
    r->cached_tokens = 0;
    r->resp_id[0] = '\0';
}

/* ---- request helpers ---------------------------------------------------------------- */

fg_str fg_query_param(fg_str q, const char *name, int *found)
{
    size_t nl = strlen(name);
    const char *p = q.p, *end = q.p + q.n;
    *found = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if ((size_t)(pe - p) >= nl && memcmp(p, name, nl) == 0 &&
            (p + nl == pe || p[nl] == '=')) {
            *found = 1;
            const char *v = p + nl == pe ? pe : p + nl + 1;
            return (fg_str){v, (size_t)(pe - v)};
        }
        p = pe + 1;
    }
    return (fg_str){q.p, 0};
}

/* Value of a hex digit, or -1. */
static int hexval(char c)
{
    return (c >= '0' && c <= '9')   ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* '+' stays '+' as Google treats it. */
void fg_pct_decode(fg_str s, fg_buf *out)
{
    out->len = 0;
    buf_reserve(out, s.n);
    for (size_t i = 0; i < s.n; i++) {
        int h, l;
        if (s.p[i] == '%' && i + 2 < s.n && (h = hexval(s.p[i + 1])) >= 0 &&
            (l = hexval(s.p[i + 2])) >= 0) {
            buf_addc(out, (char)(h * 16 + l));
            i += 2;
        } else {
            buf_addc(out, s.p[i]);
        }
    }
}

/* The API key: x-goog-api-key header first, else ?key=. */
static fg_str request_key(fg_worker *w, const fg_req *req)
{
    if (req->api_key.n)
        return req->api_key;
    int found;
    fg_str k = fg_query_param(req->query, "key", &found);
    if (!k.n)
        return k;
    fg_pct_decode(k, &w->key);
    return (fg_str){w->key.p, w->key.len};
}

/* Classifies req's path into *rt. */
static void parse_route(const fg_req *req, route *rt)
{
    fg_str p = req->path;
    *rt = (route){RT_NONE, {p.p, 0}, {p.p, 0}, {p.p, 0}};
    size_t pre;
    if (str_eq(p, "/upload/v1beta/files") || str_eq(p, "/upload/v1/files")) {
        rt->kind = str_eq(req->method, "POST") ? RT_UPLOAD : RT_UNKNOWN;
        rt->version = (fg_str){p.p + 8, p.n - 8 - 6};
        return;
    }
    if (p.n >= 8 && memcmp(p.p, "/v1beta/", 8) == 0)
        pre = 8;
    else if (p.n >= 4 && memcmp(p.p, "/v1/", 4) == 0)
        pre = 4;
    else
        return;
    rt->version = (fg_str){p.p + 1, pre - 2};
    rt->kind = RT_UNKNOWN;
    fg_str rest = {p.p + pre, p.n - pre};
    rt->rest = rest;
    int get = str_eq(req->method, "GET"), post = str_eq(req->method, "POST");
    if (under(rest, "files"))
        rt->kind = RT_FILES;
    else if (under(rest, "cachedContents"))
        rt->kind = RT_CACHES;
    else if (under(rest, "batches") || (rest.n > 8 && memcmp(rest.p, "batches/", 8) == 0))
        rt->kind = RT_BATCHES;
    else if (under(rest, "interactions"))
        rt->kind = RT_INTERACTIONS;
    if (rt->kind != RT_UNKNOWN)
        return;
    if (str_eq(rest, "models")) {
        if (get)
            rt->kind = RT_LIST;
        return;
    }
    if (rest.n <= 7 || memcmp(rest.p, "models/", 7) != 0)
        return;
    fg_str name = {rest.p + 7, rest.n - 7};
    const char *colon = memchr(name.p, ':', name.n);
    fg_str model = {name.p, colon ? (size_t)(colon - name.p) : name.n};
    if (model.n == 0 || model.n > MAX_MODEL_NAME || memchr(model.p, '/', model.n))
        return;
    rt->model = model;
    if (!colon) {
        if (get)
            rt->kind = RT_GET;
        return;
    }
    if (!post)
        return;
    fg_str verb = {colon + 1, (size_t)(name.p + name.n - colon - 1)};
    if (str_eq(verb, "generateContent"))
        rt->kind = RT_GENERATE;
    else if (str_eq(verb, "streamGenerateContent"))
        rt->kind = RT_STREAM;
    else if (str_eq(verb, "countTokens"))
        rt->kind = RT_COUNT;
    else if (str_eq(verb, "embedContent"))
        rt->kind = RT_EMBED;
    else if (str_eq(verb, "batchEmbedContents"))
        rt->kind = RT_BATCH_EMBED;
    else if (str_eq(verb, "predict"))
        rt->kind = RT_PREDICT;
    else if (str_eq(verb, "batchGenerateContent"))
        rt->kind = RT_BATCH_CREATE;
}

/* ---- reply builders ------------------------------------------------------------------ */

void fg_reply_finish(fg_reply *r, int code, const char *ctype)
{
    fg_reply_finish_hdrs(r, code, ctype, NULL, 0);
}

void fg_reply_finish_hdrs(fg_reply *r, int code, const char *ctype, const char *extra,
                          size_t extra_len)
{
    fg_http_head_start(&r->head, code, ctype);
    if (extra_len)
        buf_add(&r->head, extra, extra_len);
    BUF_LIT(&r->head, "Content-Length: ");
    buf_addu(&r->head, fg_reply_entity(r).n);
    if (r->close_after)
        BUF_LIT(&r->head, "\r\nConnection: close");
    else if (r->http10_keep)
        BUF_LIT(&r->head, "\r\nConnection: keep-alive");
    BUF_LIT(&r->head, "\r\n\r\n");
}

/* Answers 200 with a static JSON entity. */
static void reply_static(fg_reply *r, const char *body, size_t n)
{
    r->sbody = body;
    r->sbody_len = n;
    fg_reply_finish(r, 200, CT_JSON);
}

void fg_reply_json(fg_reply *r, int code, const char *json, size_t n)
{
    r->body.len = 0;
    buf_add(&r->body, json, n);
    fg_reply_finish(r, code, CT_JSON);
}

/* :predict — parameters.sampleCount images (1..8; anything else: one), as Imagen answers. */
static void reply_predict(const fg_req *req, fg_reply *r)
{
    json_t *root = json_loadb(req->body.p, req->body.n, 0, NULL);
    json_t *n = json_object_get(json_object_get(root, "parameters"), "sampleCount");
    json_int_t count = json_is_integer(n) ? json_integer_value(n) : 1;
    json_decref(root);
    if (count < 1 || count > 8)
        count = 1;
    if (count == 1) {
        reply_static(r, PREDICT_BODY, sizeof PREDICT_BODY - 1);
        return;
    }
    r->body.len = 0;
    BUF_LIT(&r->body, "{\"predictions\":[");
    for (json_int_t i = 0; i < count; i++) {
        if (i)
            buf_addc(&r->body, ',');
        BUF_LIT(&r->body, "{\"bytesBase64Encoded\":\"" FG_PNG_B64 "\",\"mimeType\":\"image/png\"}");
    }
    BUF_LIT(&r->body, "]}");
    fg_reply_finish(r, 200, CT_JSON);
}

/* Answers code with a malloc'ed JSON entity (taken over and freed). */
static void reply_owned(fg_reply *r, int code, char *body)
{
    r->body.len = 0;
    buf_adds(&r->body, body);
    free(body);
    fg_reply_finish(r, code, CT_JSON);
}

/* 404 NOT_FOUND for an unknown model. */
static void reply_no_model(fg_reply *r, const route *rt, const char *verb)
{
    fg_buf *m = &r->tmp;
    m->len = 0;
    BUF_LIT(m, "models/");
    buf_add(m, rt->model.p, rt->model.n);
    BUF_LIT(m, " is not found for API version ");
    buf_add(m, rt->version.p, rt->version.n);
    BUF_LIT(m, ", or is not supported for ");
    buf_adds(m, verb);
    BUF_LIT(m, ". Call ListModels to see the list of available models and their supported "
               "methods.");
    fg_reply_error(r, 404, m->p, m->len, "", 0);
}

/* splitmix64's finaliser: a bijection on 64 bits that makes counters look random. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Fills r->resp_id with a 22-character Google-looking id, unique within this process: the
 * first 11 characters (66 bits) encode a bijection of (worker id, sequence). */
static void make_response_id(fg_worker *w, fg_reply *r)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t x = mix64(++w->seq ^ ((uint64_t)w->id << 48));
    uint64_t y = mix64(x);
    int i = 0;
    for (; i < 11; i++, x >>= 6)
        r->resp_id[i] = b64[x & 63];
    for (; i < 22; i++, y >>= 6)
        r->resp_id[i] = b64[y & 63];
    r->resp_id[i] = '\0';
}

/* Fields shared by generateContent and streams: model, token counts, responseId, and the
 * features the body asks for (fg_gen_plan).  Returns NULL or the message of a 400. */
static const char *set_generation(fg_worker *w, const fg_req *req, const route *rt, int stream,
                                  fg_reply *r)
{
    buf_addjson(&r->model, rt->model.p, rt->model.n);
    r->prompt_tokens = (long)((req->body.n + 3) / 4) + r->cached_tokens;
    /* x-fake-usage: a JSON object (at most 4 KiB) sent as usageMetadata, verbatim. */
    fg_str u = fg_req_header(req, "x-fake-usage");
    json_t *uj = u.n && u.n <= 4096 ? json_loadb(u.p, u.n, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
    if (json_is_object(uj))
        buf_add(&r->usage, u.p, u.n);
    json_decref(uj);
    make_response_id(w, r);
    return fg_gen_plan(req, rt->model, stream, r);
}

/* generateContent: candidates "Hello from fake {model}" (or what the features ask for). */
static void reply_generate(fg_worker *w, const fg_req *req, const route *rt, fg_reply *r)
{
    const char *err = set_generation(w, req, rt, 0, r);
    if (err) {
        fg_reply_error_plain(r, 400, err);
        return;
    }
    fg_gen_body(r);
    fg_reply_finish(r, 200, CT_JSON);
}

/* Picks the first value that is >= 0. */
static long first_set(long a, long b, long c)
{
    return a >= 0 ? a : b >= 0 ? b : c;
}

/* streamGenerateContent: plans the stream; pieces are built later by fg_api_piece. */
static void reply_stream(fg_worker *w, const fg_req *req, const route *rt, const fg_behav *b,
                         fg_reply *r)
{
    long chunks = first_set(req->x_chunks, b->chunks, fg_conf.chunks);
    r->chunks = (int)(chunks > MAX_CHUNKS ? MAX_CHUNKS : chunks);
    const char *err = set_generation(w, req, rt, 1, r); /* sets objects and pieces */
    if (err) {
        fg_reply_error_plain(r, 400, err);
        return;
    }
    int found;
    fg_str alt = fg_query_param(req->query, "alt", &found);
    r->stream = str_eq(alt, "sse") ? FG_STREAM_SSE : FG_STREAM_ARRAY;
    r->interval_ms = (int)first_set(req->x_interval_ms, b->gap_ms, fg_conf.interval_ms);
    r->chunk_bytes = req->x_chunk_bytes > MAX_CHUNK_BYTES ? MAX_CHUNK_BYTES : req->x_chunk_bytes;
    r->reset_after = b->reset_after < r->pieces ? b->reset_after : -1;
    /* HTTP/1.0 has no chunked framing: the end of the stream is the end of the connection. */
    r->chunked = req->minor >= 1;
    if (!r->chunked)
        r->close_after = 1;
    fg_http_head_start(&r->head, 200, r->stream == FG_STREAM_SSE ? CT_SSE : CT_JSON);
    if (r->chunked)
        BUF_LIT(&r->head, "Transfer-Encoding: chunked\r\n");
    if (r->close_after)
        BUF_LIT(&r->head, "Connection: close\r\n");
    BUF_LIT(&r->head, "\r\n");
}

void fg_api_piece(fg_reply *r, int i)
{
    fg_buf *d = &r->tmp, *out = &r->piece;
    int last = i == r->pieces - 1;
    d->len = out->len = 0;
    if (r->stream == FG_STREAM_RAW) {
        long long left = r->raw_bytes - (long long)i * RAW_PIECE;
        buf_add(d, zeros, left < RAW_PIECE ? (size_t)left : RAW_PIECE);
    } else if (r->objects == 0) {
        if (r->stream == FG_STREAM_ARRAY)
            BUF_LIT(d, "[]");
    } else if (r->stream == FG_STREAM_SSE) {
        BUF_LIT(d, "data: ");
        fg_gen_object(d, r, i);
        BUF_LIT(d, "\r\n\r\n");
    } else {
        if (i == 0)
            buf_addc(d, '[');
        else
            BUF_LIT(d, "\n,\r\n");
        fg_gen_object(d, r, i);
        if (last)
            BUF_LIT(d, "\n]");
    }
    if (!r->chunked) {
        buf_add(out, d->p, d->len);
        return;
    }
    buf_reserve(out, d->len + 24);
    if (d->len) {
        buf_addhex(out, d->len);
        BUF_LIT(out, "\r\n");
        buf_add(out, d->p, d->len);
        BUF_LIT(out, "\r\n");
    }
    if (last)
        BUF_LIT(out, "0\r\n\r\n");
}

/* countTokens: ceil(body_len / 4). */
static void reply_count(const fg_req *req, fg_reply *r)
{
    r->body.len = 0;
    BUF_LIT(&r->body, "{\"totalTokens\":");
    buf_addu(&r->body, (req->body.n + 3) / 4);
    buf_addc(&r->body, '}');
    fg_reply_finish(r, 200, CT_JSON);
}

/* batchEmbedContents: one embedding per element of "requests" (jansson: not a fast path). */
static void reply_batch_embed(const fg_req *req, fg_reply *r)
{
    json_t *in = json_loadb(req->body.p, req->body.n, 0, NULL);
    json_t *reqs = in ? json_object_get(in, "requests") : NULL;
    if (!json_is_array(reqs)) {
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid JSON payload received. Expected \"requests\".");
        return;
    }
    size_t n = json_array_size(reqs);
    json_decref(in);
    fg_buf *b = &r->body;
    b->len = 0;
    BUF_LIT(b, "{\"embeddings\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(b, ',');
        BUF_LIT(b, "{\"values\":");
        BUF_LIT(b, EMBED_VALUES);
        buf_addc(b, '}');
    }
    BUF_LIT(b, "]}");
    fg_reply_finish(r, 200, CT_JSON);
}

/* GET models/{model}: the model's entry, or 404. */
static void reply_get_model(const route *rt, fg_reply *r)
{
    for (size_t i = 0; i < NMODELS; i++) {
        const char *name = MODEL_JSON[i] + sizeof "{\"name\":\"models/" - 1;
        if (strncmp(name, rt->model.p, rt->model.n) == 0 && name[rt->model.n] == '"') {
            reply_static(r, MODEL_JSON[i], strlen(MODEL_JSON[i]));
            return;
        }
    }
    reply_no_model(r, rt, "get");
}

/* GET /_fake/big.bin[?bytes=N][&chunked=1]: N (default 25 MiB) zero bytes, written
 * RAW_PIECE at a time, with Content-Length or (chunked=1) chunked framing. */
static void reply_big(const fg_req *req, fg_reply *r)
{
    int found;
    fg_str v = fg_query_param(req->query, "bytes", &found);
    long long n = found ? fg_parse_u(v.p, v.n) : RAW_DEFAULT;
    if (n < 0 || n > RAW_MAX) {
        fg_reply_error_plain(r, 400, "bytes must be a number from 0 to 64 GiB.");
        return;
    }
    v = fg_query_param(req->query, "chunked", &found);
    int chunked = found && str_eq(v, "1");
    r->stream = FG_STREAM_RAW;
    r->raw_bytes = n;
    r->pieces = n ? (int)((n + RAW_PIECE - 1) / RAW_PIECE) : 1;
    r->chunked = chunked && req->minor >= 1;
    if (chunked && !r->chunked)
        r->close_after = 1; /* HTTP/1.0: the end of the body is the end of the connection */
    fg_http_head_start(&r->head, 200, "application/octet-stream");
    if (r->chunked) {
        BUF_LIT(&r->head, "Transfer-Encoding: chunked\r\n");
    } else if (!chunked) {
        BUF_LIT(&r->head, "Content-Length: ");
        buf_addu(&r->head, (uint64_t)n);
        BUF_LIT(&r->head, "\r\n");
    }
    if (r->close_after)
        BUF_LIT(&r->head, "Connection: close\r\n");
    else if (r->http10_keep)
        BUF_LIT(&r->head, "Connection: keep-alive\r\n");
    BUF_LIT(&r->head, "\r\n");
}

/* /_fake/... control routes. */
static void reply_control(const fg_req *req, fg_reply *r)
{
    fg_str p = req->path;
    int status = 200;
    if (str_eq(p, "/_fake/image.png")) {
        r->sbody = (const char *)png;
        r->sbody_len = png_len;
        fg_reply_finish(r, 200, "image/png");
    } else if (str_eq(p, "/_fake/big.bin"))
        reply_big(req, r);
    else if (str_eq(p, "/_fake/stats"))
        reply_owned(r, 200, fg_state_stats_json());
    else if (str_eq(p, "/_fake/last"))
        reply_owned(r, 200, fg_state_last_json());
    else if (str_eq(p, "/_fake/reset")) {
        fg_res_reset();
        fg_quota_reset();
        reply_owned(r, 200, fg_state_reset());
    } else if (str_eq(p, "/_fake/resources"))
        reply_owned(r, 200, fg_res_dump_json());
    else if (str_eq(p, "/_fake/mode") && str_eq(req->method, "POST")) {
        char *body = fg_state_mode(req->body, &status);
        reply_owned(r, status, body);
    } else
        fg_reply_error_plain(r, 404, "Method not found.");
}

/* Answers a route that passed the key checks. */
static void reply_route(fg_worker *w, const fg_req *req, const route *rt, const fg_behav *b,
                        fg_ctx *c, fg_reply *r)
{
    switch (rt->kind) {
    case RT_UPLOAD: fg_upload_route(c, r); break;
    case RT_FILES: fg_files_route(c, r); break;
    case RT_CACHES: fg_cache_route(c, r); break;
    case RT_BATCHES:
    case RT_BATCH_CREATE: fg_batch_route(c, r); break;
    case RT_INTERACTIONS: fg_interaction_route(c, r); break;
    case RT_GENERATE: reply_generate(w, req, rt, r); break;
    case RT_STREAM: reply_stream(w, req, rt, b, r); break;
    case RT_COUNT: reply_count(req, r); break;
    case RT_EMBED: reply_static(r, embed_body.p, embed_body.len); break;
    case RT_BATCH_EMBED: reply_batch_embed(req, r); break;
    case RT_PREDICT: reply_predict(req, r); break;
    case RT_LIST: reply_static(r, list_body.p, list_body.len); break;
    case RT_GET: reply_get_model(rt, r); break;
    case RT_NONE:
    case RT_UNKNOWN: fg_reply_error_plain(r, 404, "Method not found."); break;
    }
}

/* The RPC a route calls, as API_KEY_SERVICE_BLOCKED names it. */
static const char *rpc_method(enum route_kind k)
{
    switch (k) {
    case RT_STREAM: return "StreamGenerateContent";
    case RT_COUNT: return "CountTokens";
    case RT_EMBED: return "EmbedContent";
    case RT_BATCH_EMBED: return "BatchEmbedContents";
    case RT_LIST: return "ListModels";
    case RT_GET: return "GetModel";
    case RT_BATCH_CREATE: return "BatchGenerateContent";
    default: return "GenerateContent";
    }
}

/* Applies the key's outcome; returns 1 when it produced the reply. */
static int reply_outcome(const fg_behav *b, long key_count, const route *rt, fg_str key,
                         fg_reply *r)
{
    if (b->flaky && (key_count - 1) % b->flaky == 0) {
        fg_reply_error_plain(r, 503, fg_status_message(503));
        return 1;
    }
    switch (b->outcome) {
    case FG_OUT_OK: return 0;
    case FG_OUT_HANG: r->hang = 1; return 1;
    case FG_OUT_RL: fg_reply_rate_limited(r, rt->model, b->retry_delay); return 1;
    case FG_OUT_ECODE: fg_reply_error_plain(r, b->ecode, fg_status_message(b->ecode)); return 1;
    default: fg_reply_verdict(r, b->outcome, key, rpc_method(rt->kind)); return 1;
    }
}

/* rpm<N> / rpd<N>: counts a generate call against the key × model quotas; returns 1 when
 * the call is over one and the 429 is planned. */
static int reply_quota(const fg_behav *b, fg_str key, const route *rt, fg_reply *r)
{
    if ((b->rpm < 0 && b->rpd < 0) || (rt->kind != RT_GENERATE && rt->kind != RT_STREAM))
        return 0;
    double retry = 0;
    int over = fg_quota_take(key, rt->model, b->rpm, b->rpd, &retry);
    if (!over)
        return 0;
    fg_reply_quota(r, rt->model, over == 2, over == 2 ? b->rpd : b->rpm, retry);
    return 1;
}

/* Checks that come before the key's own behaviour: x-fake-status wins over everything, then
 * x-fake-malformed, then a missing key is refused (unless need_key is 0).  Returns 1 when it
 * produced the reply. */
static int reply_gate(const fg_req *req, fg_str key, const route *rt, int need_key, fg_reply *r)
{
    if (req->x_status >= 400 && req->x_status <= 599) {
        if (req->x_status == 429)
            fg_reply_rate_limited(r, rt->model, ""); /* the bare "rl" shape: no RetryInfo */
        else
            fg_reply_error_plain(r, (int)req->x_status, fg_status_message((int)req->x_status));
        return 1;
    }
    fg_str bad = fg_req_header(req, "x-fake-malformed");
    if (bad.n == 1 && bad.p[0] == '1') { /* a 200 whose entity is not the answer asked for */
        static const char MALFORMED[] = "[\"malformed\"]";
        reply_static(r, MALFORMED, sizeof MALFORMED - 1);
        return 1;
    }
    if (!key.n && need_key) {
        fg_reply_error_plain(r, 403, "Method doesn't allow unregistered callers (callers without "
                                  "established identity). Please use API Key or other form of "
                                  "API consumer identity to call this API.");
        return 1;
    }
    return 0;
}

void fg_api_handle(fg_worker *w, const fg_req *req, fg_reply *r)
{
    reply_reset(r);
    r->close_after = !req->keep_alive;
    r->http10_keep = req->keep_alive && req->minor == 0;
    if (req->path.n >= 7 && memcmp(req->path.p, "/_fake/", 7) == 0) {
        reply_control(req, r);
        return;
    }
    fg_str key = request_key(w, req);
    fg_behav b;
    fg_behav_parse("", 0, &b);
    long key_count = 0;
    fg_state_record(req, key, &b, &key_count);

    route rt;
    parse_route(req, &rt);
    if (rt.kind == RT_NONE) {
        fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    r->slow_ms = b.slow_ms;
    fg_ctx c = {w, req, key, rt.version, rt.rest, rt.model};
    /* An upload continuation is authorised by its upload_id, like Google's upload URL. */
    int found = 0;
    if (rt.kind == RT_UPLOAD)
        fg_query_param(req->query, "upload_id", &found);
    if (found) {
        if (!reply_gate(req, key, &rt, 0, r))
            fg_upload_route(&c, r);
        return;
    }
    if (reply_gate(req, key, &rt, 1, r) || reply_outcome(&b, key_count, &rt, key, r) ||
        reply_quota(&b, key, &rt, r))
        return;
    if (b.reset_after >= 0 && rt.kind != RT_STREAM && rt.kind != RT_UNKNOWN) {
        r->reset_now = 1;
        return;
    }
    if ((rt.kind == RT_GENERATE || rt.kind == RT_STREAM || rt.kind == RT_COUNT) &&
        fg_refs_check(&c, r))
        return;
    reply_route(w, req, &rt, &b, &c, r);
}

void fg_api_parse_error(int parse_result, fg_reply *r)
{
    reply_reset(r);
    r->close_after = 1;
    if (parse_result == FG_PARSE_TOOBIG)
        fg_reply_error_plain(r, 413, "Request body is larger than fakegemini accepts.");
    else if (parse_result == FG_PARSE_HEAD_TOOBIG)
        fg_reply_error_plain(r, 431, "Request headers are larger than fakegemini accepts.");
    else
        fg_reply_error_plain(r, 400, "Malformed HTTP request.");
}
