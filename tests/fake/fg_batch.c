/* fg_batch — batches (models/{m}:batchGenerateContent → a long-running operation that
 * succeeds on its second poll, with inlined responses) and interactions (with
 * previous_interaction_id); both owned by the key that created them. */
#include "fg_res.h"
#include "fg_route.h"

#include <stdio.h>
#include <stdlib.h>

static const char BATCH_TYPE[] =
    "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch";
static const char OUTPUT_TYPE[] =
    "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput";

/* Other keys' batches and interactions answer 403, names that do not exist 404. */
static void reply_not_mine(fg_reply *r, int own)
{
    int code = own == FG_OWN_OTHER ? 403 : 404;
    fg_reply_error_plain(r, code, fg_status_message(code));
}

/* A member under either spelling (camelCase or snake_case). */
static json_t *get2(const json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return v ? v : json_object_get(o, b);
}

/* A generateContent answer for one batch request (or one interaction turn), with the
 * usageMetadata Google's batch responses carry: prompt (⌈request bytes / 4⌉), candidates and
 * thoughts counts, their total, and the per-modality details; or, when the batch was created
 * with x-fake-usage, that object verbatim. */
static json_t *gen_response(const char *model, long prompt, const char *resp_id, const json_t *usage)
{
    char text[300];
    snprintf(text, sizeof text, "Hello from fake %s", model);
    json_t *um = json_is_object(usage) ? json_deep_copy(usage)
                       : json_pack("{s:I,s:i,s:i,s:I,s:[{s:s,s:I}],s:[{s:s,s:i}]}", "promptTokenCount",
                                   (json_int_t)prompt, "candidatesTokenCount", 7,
                                   "thoughtsTokenCount", 12, "totalTokenCount",
                                   (json_int_t)(prompt + 19), "promptTokensDetails", "modality",
                                   "TEXT", "tokenCount", (json_int_t)prompt,
                                   "candidatesTokensDetails", "modality", "TEXT", "tokenCount", 7);
    return json_pack("{s:[{s:{s:[{s:s}],s:s},s:s,s:i}],s:o,s:s,s:s}", "candidates", "content",
                     "parts", "text", text, "role", "model", "finishReason", "STOP", "index", 0,
                     "usageMetadata", um, "modelVersion", model, "responseId", resp_id);
}

static void batch_create(fg_ctx *c, fg_reply *r)
{
    json_t *in = json_loadb(c->req->body.p, c->req->body.n, JSON_ALLOW_NUL, NULL);
    json_t *batch = json_object_get(in, "batch");
    if (!json_is_object(batch)) {
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid JSON payload received. Expected {\"batch\":{…}}.");
        return;
    }
    json_t *cfg = get2(batch, "inputConfig", "input_config");
    json_t *reqs = json_object_get(json_object_get(cfg, "requests"), "requests");
    json_t *dn = get2(batch, "displayName", "display_name");
    fg_res_lock();
    if (fg_files_check_json(in, c->key, r)) {
        fg_res_unlock();
        json_decref(in);
        return;
    }
    fg_str uh = fg_req_header(c->req, "x-fake-usage");
    json_t *usage = uh.n ? json_loadb(uh.p, uh.n, 0, NULL) : NULL;
    fg_res *x = fg_res_add(FG_RES_BATCH, c->key);
    char name[64], now[40], count[24], model[300];
    snprintf(name, sizeof name, "batches/%s", x->id);
    snprintf(model, sizeof model, "models/%.*s", (int)c->model.n, c->model.p);
    fg_res_time(fg_res_now(), 1, now);
    size_t n = json_array_size(reqs);
    snprintf(count, sizeof count, "%zu", n);
    /* Keep each request's metadata and size: the responses are made on the last poll. */
    x->aux = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(reqs, i, q)
    {
        char *s = json_dumps(json_object_get(q, "request"), JSON_COMPACT);
        json_t *meta = json_object_get(q, "metadata");
        json_array_append_new(x->aux, json_pack("{s:O?,s:I,s:o?}", "metadata", meta, "len",
                                                (json_int_t)(s ? strlen(s) : 0), "usage",
                                                usage ? json_deep_copy(usage) : NULL));
        free(s);
    }
    json_t *md = json_pack("{s:s,s:s,s:O?,s:s,s:s,s:{s:s,s:s},s:s,s:s}", "@type", BATCH_TYPE,
                           "model", model, "displayName", json_is_string(dn) ? dn : NULL,
                           "createTime", now, "updateTime", now, "batchStats", "requestCount",
                           count, "pendingRequestCount", count, "state", "BATCH_STATE_PENDING",
                           "name", name);
    json_decref(usage);
    x->obj = json_pack("{s:s,s:o}", "name", name, "metadata", md);
    fg_res_reply(r, 200, x->obj);
    fg_res_unlock();
    json_decref(in);
}

/* One poll: PENDING → RUNNING on the first, → SUCCEEDED (responses inlined) on the second. */
static void batch_advance(fg_res *x)
{
    json_t *md = json_object_get(x->obj, "metadata");
    const char *st = json_string_value(json_object_get(md, "state"));
    if (++x->polls == 1 || !st || strcmp(st, "BATCH_STATE_RUNNING") != 0) {
        if (st && !strcmp(st, "BATCH_STATE_PENDING"))
            json_object_set_new(md, "state", json_string("BATCH_STATE_RUNNING"));
        return;
    }
    char now[40], count[24];
    fg_res_time(fg_res_now(), 1, now);
    const char *model = json_string_value(json_object_get(md, "model")) + 7;
    json_t *list = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(x->aux, i, q)
    {
        char rid[40];
        snprintf(rid, sizeof rid, "%.16s%zu", x->id, i);
        json_int_t len = json_integer_value(json_object_get(q, "len"));
        json_t *one = json_pack("{s:o}", "response", gen_response(model, (long)(len + 3) / 4, rid,
                                                                json_object_get(q, "usage")));
        json_t *meta = json_object_get(q, "metadata");
        if (meta)
            json_object_set(one, "metadata", meta);
        json_array_append_new(list, one);
    }
    snprintf(count, sizeof count, "%zu", json_array_size(x->aux));
    json_t *inl = json_pack("{s:o}", "inlinedResponses", list);
    json_object_set_new(md, "state", json_string("BATCH_STATE_SUCCEEDED"));
    json_object_set_new(md, "updateTime", json_string(now));
    json_object_set_new(md, "endTime", json_string(now));
    json_object_set_new(md, "batchStats", json_pack("{s:s,s:s}", "requestCount", count,
                                                    "successfulRequestCount", count));
    json_object_set_new(md, "output", json_pack("{s:O}", "inlinedResponses", inl));
    json_object_set_new(x->obj, "done", json_true());
    json_object_set_new(x->obj, "response",
                        json_pack("{s:s,s:o}", "@type", OUTPUT_TYPE, "inlinedResponses", inl));
}

void fg_batch_route(fg_ctx *c, fg_reply *r)
{
    fg_str rest = c->rest, method = c->req->method;
    if (c->model.n) {
        batch_create(c, r);
        return;
    }
    if (str_eq(rest, "batches")) {
        if (!str_eq(method, "GET")) {
            fg_reply_error_plain(r, 404, "Method not found.");
            return;
        }
        fg_res_lock();
        fg_res_reply_list(FG_RES_BATCH, c->key, c->req->query, "operations", r);
        fg_res_unlock();
        return;
    }
    fg_str id = {rest.p + 8, rest.n - 8};
    const char *colon = memchr(id.p, ':', id.n);
    fg_str verb = {colon ? colon + 1 : id.p, colon ? (size_t)(id.p + id.n - colon - 1) : 0};
    if (colon)
        id.n = (size_t)(colon - id.p);
    int get = str_eq(method, "GET") && !colon, del = str_eq(method, "DELETE") && !colon;
    int cancel = str_eq(method, "POST") && str_eq(verb, "cancel");
    if (!id.n || memchr(id.p, '/', id.n) || !(get || del || cancel)) {
        fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    int own;
    fg_res_lock();
    fg_res *x = fg_res_find(FG_RES_BATCH, id, c->key, &own);
    if (own != FG_OWN_MINE) {
        reply_not_mine(r, own);
    } else if (get) {
        batch_advance(x);
        fg_res_reply(r, 200, x->obj);
    } else if (del) {
        fg_res_remove(x);
        fg_reply_json(r, 200, "{}", 2);
    } else {
        json_t *md = json_object_get(x->obj, "metadata");
        if (!json_object_get(x->obj, "done")) {
            json_object_set_new(md, "state", json_string("BATCH_STATE_CANCELLED"));
            json_object_set_new(x->obj, "done", json_true());
        }
        fg_reply_json(r, 200, "{}", 2);
    }
    fg_res_unlock();
}

/* POST interactions: {model, input, previous_interaction_id?, store?}. */
static void interaction_create(fg_ctx *c, fg_reply *r)
{
    fg_str b = c->req->body;
    json_t *in = json_loadb(b.p, b.n, JSON_ALLOW_NUL, NULL);
    json_t *model = json_object_get(in, "model"), *agent = json_object_get(in, "agent");
    json_t *prev = json_object_get(in, "previous_interaction_id");
    if (!json_is_object(in) || (!json_is_string(model) && !json_is_string(agent))) {
        json_decref(in);
        fg_reply_error_plain(r, 400, "Invalid JSON payload received. An interaction needs a "
                                     "\"model\" or an \"agent\".");
        return;
    }
    fg_res_lock();
    int own = FG_OWN_MINE;
    if (json_is_string(prev)) {
        const char *p = json_string_value(prev);
        fg_res_find(FG_RES_INTERACTION, (fg_str){p, strlen(p)}, c->key, &own);
    }
    if (own != FG_OWN_MINE || fg_files_check_json(in, c->key, r)) {
        if (own != FG_OWN_MINE)
            reply_not_mine(r, own);
        fg_res_unlock();
        json_decref(in);
        return;
    }
    fg_res *x = fg_res_add(FG_RES_INTERACTION, c->key);
    char now[40], text[300];
    fg_res_time(fg_res_now(), 0, now);
    const char *m = json_is_string(model) ? json_string_value(model) : json_string_value(agent);
    if (!strncmp(m, "models/", 7))
        m += 7;
    snprintf(text, sizeof text, "Hello from fake %s", m);
    json_int_t in_tok = (json_int_t)((b.n + 3) / 4);
    x->obj = json_pack("{s:s,s:O,s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:{s:I,s:i,s:I}}", "id", x->id,
                       json_is_string(model) ? "model" : "agent",
                       json_is_string(model) ? model : agent, "status", "completed", "role",
                       "model", "created", now, "updated", now, "outputs", "type", "text",
                       "text", text, "usage", "total_input_tokens", in_tok,
                       "total_output_tokens", 7, "total_tokens", in_tok + 7);
    if (json_is_string(prev))
        json_object_set(x->obj, "previous_interaction_id", prev);
    fg_res_reply(r, 200, x->obj);
    /* store: false — answered, not kept (Google keeps interactions by default). */
    if (json_is_false(json_object_get(in, "store")))
        fg_res_remove(x);
    fg_res_unlock();
    json_decref(in);
}

void fg_interaction_route(fg_ctx *c, fg_reply *r)
{
    fg_str rest = c->rest, method = c->req->method;
    if (str_eq(rest, "interactions")) {
        if (str_eq(method, "POST"))
            interaction_create(c, r);
        else
            fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    fg_str id = {rest.p + 13, rest.n - 13};
    int get = str_eq(method, "GET"), del = str_eq(method, "DELETE");
    if (!id.n || memchr(id.p, '/', id.n) || memchr(id.p, ':', id.n) || !(get || del)) {
        fg_reply_error_plain(r, 404, "Method not found.");
        return;
    }
    int own;
    fg_res_lock();
    fg_res *x = fg_res_find(FG_RES_INTERACTION, id, c->key, &own);
    if (own != FG_OWN_MINE)
        reply_not_mine(r, own);
    else if (get)
        fg_res_reply(r, 200, x->obj);
    else {
        fg_res_remove(x);
        fg_reply_json(r, 200, "{}", 2);
    }
    fg_res_unlock();
}
