/* fg_route — what fg_api.c shares with the files that answer the stateful routes (fg_files.c,
 * fg_cache.c, fg_batch.c) and the errors (fg_err.c). */
#ifndef FG_ROUTE_H
#define FG_ROUTE_H

#include "fg_api.h"
#include "fg_behav.h"

extern const char FG_CT_JSON[]; /* "application/json; charset=UTF-8" */

/* One API request, as the route handlers see it. */
typedef struct fg_ctx {
    fg_worker *w;
    const fg_req *req;
    fg_str key;     /* the caller's API key (n == 0 for an upload continuation without one) */
    fg_str version; /* "v1beta" or "v1" */
    fg_str rest;    /* the path after /{version}/ ("files/abc", "cachedContents") */
    fg_str model;   /* models/{model}:batchGenerateContent: the model */
} fg_ctx;

/* Completes a non-stream reply: status line, headers (extra: ready-made "Name: v\r\n" lines,
 * may be NULL) with Content-Length, blank line. */
void fg_reply_finish(fg_reply *r, int code, const char *ctype);
void fg_reply_finish_hdrs(fg_reply *r, int code, const char *ctype, const char *extra,
                          size_t extra_len);
/* Answers code with the JSON entity json[0..n) (copied). */
void fg_reply_json(fg_reply *r, int code, const char *json, size_t n);
/* Value of query parameter name (raw); found reports presence. */
fg_str fg_query_param(fg_str q, const char *name, int *found);
/* Percent-decodes s into out (replacing its contents). */
void fg_pct_decode(fg_str s, fg_buf *out);

/* ---- fg_err.c: Google's error bodies ---------------------------------------------------- */
/* {"error":{"code","message","status","details":[details]}}; msg raw, details ready JSON. */
void fg_reply_error(fg_reply *r, int code, const char *msg, size_t msglen, const char *details,
                    size_t dlen);
void fg_reply_error_plain(fg_reply *r, int code, const char *msg);
/* The message Google uses for a bare status. */
const char *fg_status_message(int code);
/* The rl<N> 429: QuotaFailure (quotaValue 250), Help, RetryInfo when delay is not "". */
void fg_reply_rate_limited(fg_reply *r, fg_str model, const char *delay);
/* The rpm<N> / rpd<N> 429: one QuotaFailure violation with quotaValue limit, Help, and
 * RetryInfo retry_s (Google sends a short one even for the per-day quota). */
void fg_reply_quota(fg_reply *r, fg_str model, int per_day, int limit, double retry_s);
/* A key verdict (invalid, forbid, expired, blocked, disabled, suspended, leaked) for key;
 * method is the RPC the path names ("GenerateContent"), for API_KEY_SERVICE_BLOCKED. */
void fg_reply_verdict(fg_reply *r, enum fg_outcome o, fg_str key, const char *method);

/* ---- the stateful routes ---------------------------------------------------------------- */
/* Installs the upload sink hook; call once at start-up. */
void fg_files_init(void);
/* POST /upload/{v}/files (start, upload, finalize, query). */
void fg_upload_route(fg_ctx *c, fg_reply *r);
/* {v}/files, {v}/files/{id}. */
void fg_files_route(fg_ctx *c, fg_reply *r);
/* {v}/cachedContents[/{id}]. */
void fg_cache_route(fg_ctx *c, fg_reply *r);
/* {v}/batches[/{id}[:cancel]] and models/{m}:batchGenerateContent (c->model set). */
void fg_batch_route(fg_ctx *c, fg_reply *r);
/* {v}/interactions[/{id}]. */
void fg_interaction_route(fg_ctx *c, fg_reply *r);
/* generateContent / stream / countTokens bodies naming resources (cachedContent, fileUri,
 * file_uri): answers 403/404 and returns 1 when one is not the caller's; else sets
 * r->cached_tokens and returns 0.  Costs two memmem calls when the body names none. */
int fg_refs_check(fg_ctx *c, fg_reply *r);
/* Every fileUri / file_uri in v must name one of key's files; else answers 403 as Google does
 * and returns 1.  Called with fg_res_lock held. */
#include <jansson.h>
int fg_files_check_json(const json_t *v, fg_str key, fg_reply *r);

#endif
