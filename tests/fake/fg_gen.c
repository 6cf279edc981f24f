/* fg_gen — candidates, parts and usage for generateContent and its streams. */
#include "fg_gen.h"

#include <jansson.h>
#include <stdlib.h>

#define MAX_CANDIDATES 8

/* Keys the body scan looks for (each as a quoted JSON key followed by ':'). */
enum {
    K_THINKING = 1 << 0, /* "thinkingConfig" */
    K_THOUGHTS = 1 << 1, /* "includeThoughts": true */
    K_CAND = 1 << 2,     /* "candidateCount" */
    K_DECLS = 1 << 3,    /* "functionDeclarations" */
    K_RESPONSE = 1 << 4, /* "functionResponse" */
    K_JSON = 1 << 5,     /* "responseMimeType": "application/json" */
};

static const char THOUGHT_PART[] = "{\"text\":\"Let me think about it.\",\"thought\":true}";
static const char JSON_ANSWER[] = "{\"answer\":\"Hello from fake\"}";
static const char CALL_ARGS[] = "\"args\":{\"city\":\"Paris\"}";
#define CALL_SIGNATURE "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==" /* base64 of "fake-thought-signature" */
static const char IMAGE_PARTS[] =
    "{\"text\":\"Here is your image\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"" FG_PNG_B64
    "\"}}";
/* What Google sends when a stream fails after it started. */
static const char STREAM_ERROR[] =
    "{\"error\":{\"code\":500,\"message\":\"Internal error encountered.\",\"status\":\"INTERNAL\"}}";

/* ---- reading the request --------------------------------------------------------------- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The key (a string literal, without quotes) ends right before the closing quote at e and
 * its opening quote is in place; s is where the body starts. */
#define KEY_ENDS_AT(e, s, lit)                                                  \
    ((size_t)((e) - (s)) >= sizeof(lit) && (e)[-(long)sizeof(lit)] == '"' &&   \
     memcmp((e) - (sizeof(lit) - 1), (lit), sizeof(lit) - 1) == 0)

/* True when the value after a colon (p is just past it; whitespace allowed) starts with
 * lit[0..n). */
static int value_is(const char *p, const char *end, const char *lit, size_t n)
{
    while (p < end && is_ws(*p))
        p++;
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* One pass over the body: which feature keys occur.  Every feature is an object key, so the
 * scan stops only at ':' (memchr) and looks back for a quoted key ending there.  Colons are
 * rare in prose and absent from base64, and a quarter as frequent as quotes in JSON
 * structure, so this costs about a memchr over the body.  A key quoted inside a prompt's
 * text has escaped quotes (\"), so it does not match. */
static unsigned scan_body(fg_str body)
{
    unsigned k = 0;
    const char *s = body.p, *p = body.p, *end = body.p + body.n;
    while (p < end && (p = memchr(p, ':', (size_t)(end - p))) != NULL) {
        const char *e = p++; /* walks back to the key's closing quote */
        while (e > s && is_ws(e[-1]))
            e--;
        if (e - s < 16 || e[-1] != '"') /* 16: "thinkingConfig", the shortest key */
            continue;
        e--;
        switch (e[-1]) {
        case 't':
            if (KEY_ENDS_AT(e, s, "candidateCount"))
                k |= K_CAND;
            break;
        case 's':
            if (KEY_ENDS_AT(e, s, "functionDeclarations"))
                k |= K_DECLS;
            else if (KEY_ENDS_AT(e, s, "includeThoughts") && value_is(p, end, "true", 4))
                k |= K_THOUGHTS;
            break;
        case 'e':
            if (KEY_ENDS_AT(e, s, "functionResponse"))
                k |= K_RESPONSE;
            else if (KEY_ENDS_AT(e, s, "responseMimeType") &&
                     value_is(p, end, "\"application/json\"", 18))
                k |= K_JSON;
            break;
        case 'g':
            if (KEY_ENDS_AT(e, s, "thinkingConfig"))
                k |= K_THINKING;
            break;
        }
    }
    return k;
}

/* The first declared function's name: tools[].functionDeclarations[0].name. */
static const char *first_declared(json_t *root)
{
    size_t i;
    json_t *tool;
    json_array_foreach(json_object_get(root, "tools"), i, tool)
    {
        json_t *name = json_object_get(
            json_array_get(json_object_get(tool, "functionDeclarations"), 0), "name");
        if (json_is_string(name))
            return json_string_value(name);
    }
    return NULL;
}

/* The first functionResponse part in contents[].parts[] (NULL if none). */
static json_t *first_function_response(json_t *root)
{
    size_t i, j;
    json_t *content, *part;
    json_array_foreach(json_object_get(root, "contents"), i, content)
    {
        json_array_foreach(json_object_get(content, "parts"), j, part)
        {
            json_t *fr = json_object_get(part, "functionResponse");
            if (json_is_object(fr))
                return fr;
        }
    }
    return NULL;
}

/* The features that need the parsed body (k has K_CAND, K_DECLS or K_RESPONSE).  Returns
 * NULL or a 400 message. */
static const char *plan_parsed(const fg_req *req, fg_str model, unsigned k, fg_reply *r)
{
    json_t *root = json_loadb(req->body.p, req->body.n, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return "Invalid JSON payload received. Expected a GenerateContentRequest object.";
    }
    const char *err = NULL;
    json_t *cc = json_object_get(json_object_get(root, "generationConfig"), "candidateCount");
    if (cc) {
        json_int_t n = json_is_integer(cc) ? json_integer_value(cc) : -1;
        if (n < 0 || n > MAX_CANDIDATES)
            err = "Invalid value at 'generation_config.candidate_count': only values from 1 "
                  "to 8 are supported.";
        else if (n > 0)
            r->ncand = (int)n;
    }
    if (!err && r->content == FG_CONTENT_TEXT && (k & K_DECLS) && !(k & K_RESPONSE)) {
        const char *name = first_declared(root);
        if (name) {
            r->content = FG_CONTENT_CALL;
            r->text.len = 0;
            buf_adds(&r->text, name);
        }
    }
    json_t *fr;
    if (!err && r->content == FG_CONTENT_TEXT && !(k & K_JSON) && (k & K_RESPONSE) &&
        (fr = first_function_response(root)) != NULL) {
        char *said = json_dumps(json_object_get(fr, "response"), JSON_COMPACT | JSON_ENCODE_ANY);
        r->content = FG_CONTENT_WHOLE;
        r->text.len = 0;
        BUF_LIT(&r->text, "Hello from fake ");
        buf_add(&r->text, model.p, model.n);
        BUF_LIT(&r->text, ": the tool said ");
        buf_adds(&r->text, said ? said : "null");
        free(said);
    }
    json_decref(root);
    return err;
}

/* Copies an x-fake-finish value made of [A-Za-z0-9_] into r->finish (else keeps STOP). */
static void plan_finish(fg_str v, fg_reply *r)
{
    if (v.n == 0 || v.n >= sizeof r->finish)
        return;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return;
    }
    memcpy(r->finish, v.p, v.n);
    r->finish[v.n] = '\0';
}

const char *fg_gen_plan(const fg_req *req, fg_str model, int stream, fg_reply *r)
{
    unsigned k = scan_body(req->body);
    r->thoughts = (k & (K_THINKING | K_THOUGHTS)) != 0;
    r->thought_part = (k & K_THOUGHTS) != 0;
    if (req->x_finish.n)
        plan_finish(req->x_finish, r);
    if (model.n >= 5 && memmem(model.p, model.n, "image", 5))
        r->content = FG_CONTENT_IMAGE;
    if (k & (K_CAND | K_DECLS | K_RESPONSE)) {
        const char *err = plan_parsed(req, model, k, r);
        if (err)
            return err;
    }
    if (r->content == FG_CONTENT_TEXT && (k & K_JSON)) {
        r->content = FG_CONTENT_WHOLE;
        r->text.len = 0;
        BUF_LIT(&r->text, JSON_ANSWER);
    }
    if (!stream)
        return NULL;
    /* A function call or an image comes whole, in one object. */
    int one = r->content == FG_CONTENT_CALL || r->content == FG_CONTENT_IMAGE;
    r->content_objects = one ? r->chunks > 0 : r->chunks;
    r->objects = r->content_objects + (r->thought_part && r->content_objects > 0);
    if (req->x_error_after >= 0) {
        r->error_at = req->x_error_after < r->objects ? (int)req->x_error_after : r->objects;
        r->objects = r->error_at + 1;
    }
    r->pieces = r->objects ? r->objects : 1;
    return NULL;
}

/* ---- writing the answer ---------------------------------------------------------------- */

/* Appends `,"modelVersion":"…","responseId":"…"}` — the tail of every generation object. */
static void add_version_tail(fg_buf *b, const fg_reply *r)
{
    BUF_LIT(b, ",\"modelVersion\":\"");
    buf_add(b, r->model.p, r->model.len);
    BUF_LIT(b, "\",\"responseId\":\"");
    buf_adds(b, r->resp_id);
    BUF_LIT(b, "\"}");
}

/* Appends a usageMetadata object (candidatesTokenCount left out when cand is 0, as Google
 * does; promptTokensDetails only when details). */
static void add_usage(fg_buf *b, const fg_reply *r, long cand, int details)
{
    long thoughts = r->thoughts ? 3 : 0;
    if (r->usage.len) { /* x-fake-usage */
        BUF_LIT(b, "\"usageMetadata\":");
        buf_add(b, r->usage.p, r->usage.len);
        return;
    }
    BUF_LIT(b, "\"usageMetadata\":{\"promptTokenCount\":");
    buf_addu(b, (uint64_t)r->prompt_tokens);
    if (cand) {
        BUF_LIT(b, ",\"candidatesTokenCount\":");
        buf_addu(b, (uint64_t)cand);
    }
    BUF_LIT(b, ",\"totalTokenCount\":");
    buf_addu(b, (uint64_t)(r->prompt_tokens + cand + thoughts));
    if (r->cached_tokens) {
        /* promptTokenCount already includes them, as Google counts. */
        BUF_LIT(b, ",\"cachedContentTokenCount\":");
        buf_addu(b, (uint64_t)r->cached_tokens);
    }
    if (thoughts) {
        BUF_LIT(b, ",\"thoughtsTokenCount\":");
        buf_addu(b, (uint64_t)thoughts);
    }
    if (details) {
        BUF_LIT(b, ",\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":");
        buf_addu(b, (uint64_t)r->prompt_tokens);
        BUF_LIT(b, "}]");
    }
    buf_addc(b, '}');
}

/* Appends the function call part, signed as Gemini 3 signs its calls (thoughtSignature on the
 * call's part), so that clients can be tested for sending the signature back. */
static void add_call(fg_buf *b, const fg_reply *r)
{
    BUF_LIT(b, "{\"functionCall\":{\"name\":\"");
    buf_addjson(b, r->text.p, r->text.len);
    BUF_LIT(b, "\",");
    BUF_LIT(b, CALL_ARGS);
    BUF_LIT(b, "},\"thoughtSignature\":\"" CALL_SIGNATURE "\"}");
}

/* Appends `,"finishReason":"…"`. */
static void add_finish(fg_buf *b, const fg_reply *r)
{
    BUF_LIT(b, ",\"finishReason\":\"");
    buf_adds(b, r->finish);
    buf_addc(b, '"');
}

/* Appends `,"index":k}` closing candidate k. */
static void close_candidate(fg_buf *b, int k)
{
    BUF_LIT(b, ",\"index\":");
    buf_addu(b, (uint64_t)k);
    buf_addc(b, '}');
}

void fg_gen_body(fg_reply *r)
{
    fg_buf *b = &r->body;
    b->len = 0;
    buf_reserve(b, 512 + 2 * r->model.len);
    BUF_LIT(b, "{\"candidates\":[");
    for (int k = 0; k < r->ncand; k++) {
        if (k)
            buf_addc(b, ',');
        BUF_LIT(b, "{\"content\":{\"parts\":[");
        if (r->thought_part) {
            BUF_LIT(b, THOUGHT_PART);
            buf_addc(b, ',');
        }
        switch (r->content) {
        case FG_CONTENT_TEXT:
            BUF_LIT(b, "{\"text\":\"Hello from fake ");
            buf_add(b, r->model.p, r->model.len);
            if (k) {
                BUF_LIT(b, " #");
                buf_addu(b, (uint64_t)k);
            }
            BUF_LIT(b, "\"}");
            break;
        case FG_CONTENT_WHOLE:
            BUF_LIT(b, "{\"text\":\"");
            buf_addjson(b, r->text.p, r->text.len);
            BUF_LIT(b, "\"}");
            break;
        case FG_CONTENT_CALL: add_call(b, r); break;
        case FG_CONTENT_IMAGE: BUF_LIT(b, IMAGE_PARTS); break;
        }
        BUF_LIT(b, "],\"role\":\"model\"}");
        add_finish(b, r);
        close_candidate(b, k);
    }
    BUF_LIT(b, "],");
    add_usage(b, r, 7L * r->ncand, 1);
    add_version_tail(b, r);
}

/* Where piece j of n pieces of text starts: j/n of the way, moved forward off UTF-8
 * continuation bytes so no piece splits a character. */
static size_t split_at(const fg_buf *t, int j, int n)
{
    size_t at = (size_t)((unsigned long long)t->len * (unsigned)j / (unsigned)n);
    while (at < t->len && ((unsigned char)t->p[at] & 0xC0) == 0x80)
        at++;
    return at;
}

/* Appends candidate k's parts of content object j; returns where the text of a plain-text
 * part ends (for padding), else 0. */
static size_t add_stream_parts(fg_buf *b, const fg_reply *r, int j, int k)
{
    size_t text_end = 0;
    switch (r->content) {
    case FG_CONTENT_TEXT:
        BUF_LIT(b, "{\"text\":\"chunk ");
        buf_addu(b, (uint64_t)j);
        if (k) {
            BUF_LIT(b, " #");
            buf_addu(b, (uint64_t)k);
        }
        buf_addc(b, ' ');
        text_end = b->len;
        BUF_LIT(b, "\"}");
        break;
    case FG_CONTENT_WHOLE: {
        size_t from = split_at(&r->text, j, r->content_objects);
        size_t to = split_at(&r->text, j + 1, r->content_objects);
        BUF_LIT(b, "{\"text\":\"");
        buf_addjson(b, r->text.p + from, to - from);
        BUF_LIT(b, "\"}");
        break;
    }
    case FG_CONTENT_CALL: add_call(b, r); break;
    case FG_CONTENT_IMAGE: BUF_LIT(b, IMAGE_PARTS); break;
    }
    return text_end;
}

void fg_gen_object(fg_buf *b, const fg_reply *r, int i)
{
    if (i == r->error_at) {
        BUF_LIT(b, STREAM_ERROR);
        return;
    }
    int lead = r->thought_part && r->content_objects > 0; /* object 0 is the thought */
    int j = i - lead;                                     /* content object index, -1: thought */
    size_t start = b->len, text_end = 0;
    BUF_LIT(b, "{\"candidates\":[");
    for (int k = 0; k < r->ncand; k++) {
        if (k)
            buf_addc(b, ',');
        BUF_LIT(b, "{\"content\":{\"parts\":[");
        if (j < 0) {
            BUF_LIT(b, THOUGHT_PART);
        } else {
            size_t e = add_stream_parts(b, r, j, k);
            if (k == 0)
                text_end = e;
        }
        BUF_LIT(b, "],\"role\":\"model\"}");
        if (j >= 0 && j == r->content_objects - 1)
            add_finish(b, r);
        close_candidate(b, k);
    }
    BUF_LIT(b, "],");
    add_usage(b, r, (long)(j + 1) * r->ncand, 0);
    add_version_tail(b, r);
    size_t have = b->len - start;
    if (text_end && r->chunk_bytes > 0 && (size_t)r->chunk_bytes > have) {
        /* Pad inside the text so the object stays valid JSON of about chunk_bytes. */
        size_t pad = (size_t)r->chunk_bytes - have, tail = b->len - text_end;
        buf_reserve(b, pad);
        memmove(b->p + text_end + pad, b->p + text_end, tail);
        memset(b->p + text_end, 'x', pad);
        b->len += pad;
    }
}
