/* fg_err — Google's error bodies: bare statuses, quota 429s, and the verdicts on a key. */
#include "fg_route.h"

#include <stdio.h>

/* google.rpc.Code name for an HTTP status, as Google's API front end maps them. */
const char *fg_rpc_status(int code)
{
    switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 431: return "INVALID_ARGUMENT";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "UNIMPLEMENTED";
    case 502: return "UNAVAILABLE";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return code < 500 ? "FAILED_PRECONDITION" : "UNKNOWN";
    }
}

/* Answers {"error":{"code","message","status","details":[details]}}; msg is raw text,
 * details is ready-made JSON (the array's contents, may be ""). */
void fg_reply_error(fg_reply *r, int code, const char *msg, size_t msglen, const char *details,
                    size_t dlen)
{
    fg_buf *b = &r->body;
    b->len = 0;
    BUF_LIT(b, "{\"error\":{\"code\":");
    buf_addu(b, (uint64_t)code);
    BUF_LIT(b, ",\"message\":\"");
    buf_addjson(b, msg, msglen);
    BUF_LIT(b, "\",\"status\":\"");
    buf_adds(b, fg_rpc_status(code));
    BUF_LIT(b, "\",\"details\":[");
    buf_add(b, details, dlen);
    BUF_LIT(b, "]}}");
    fg_reply_finish(r, code, FG_CT_JSON);
}

/* reply_error for a C-string message and no details. */
void fg_reply_error_plain(fg_reply *r, int code, const char *msg)
{
    fg_reply_error(r, code, msg, strlen(msg), "", 0);
}

/* The message Google uses for a bare status (x-fake-status, e<code>, flaky). */
const char *fg_status_message(int code)
{
    switch (code) {
    case 400: return "Request contains an invalid argument.";
    case 401: return "Request had invalid authentication credentials.";
    case 403: return "The caller does not have permission";
    case 404: return "Requested entity was not found.";
    case 429: return "Resource has been exhausted (e.g. check quota).";
    case 500:
        return "An internal error has occurred. Please retry or report in "
               "https://developers.generativeai.google/guide/troubleshooting";
    case 503: return "The model is overloaded. Please try again later.";
    case 504: return "Deadline expired before operation could complete.";
    default: return fg_http_reason(code);
    }
}

/* 429 RESOURCE_EXHAUSTED with QuotaFailure, Help and (when delay is not "") RetryInfo. */
void fg_reply_rate_limited(fg_reply *r, fg_str model, const char *delay)
{
    fg_buf *d = &r->tmp;
    d->len = 0;
    BUF_LIT(d, "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{"
               "\"quotaMetric\":\"generativelanguage.googleapis.com/"
               "generate_content_free_tier_requests\",\"quotaId\":"
               "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\",\"quotaDimensions\":{"
               "\"location\":\"global\",\"model\":\"");
    if (model.n)
        buf_addjson(d, model.p, model.n);
    else
        BUF_LIT(d, "gemini-2.5-flash");
    BUF_LIT(d, "\"},\"quotaValue\":\"250\"}]},{\"@type\":\"type.googleapis.com/google.rpc.Help\","
               "\"links\":[{\"description\":\"Learn more about Gemini API quotas\",\"url\":"
               "\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]}");
    if (delay[0]) {
        BUF_LIT(d, ",{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"");
        buf_adds(d, delay);
        BUF_LIT(d, "\"}");
    }
    static const char msg[] =
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
    fg_reply_error(r, 429, msg, sizeof msg - 1, d->p, d->len);
}

/* 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID. */
static void reply_key_invalid(fg_reply *r)
{
    static const char msg[] = "API key not valid. Please pass a valid API key.";
    static const char det[] =
        "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\","
        "\"domain\":\"googleapis.com\",\"metadata\":{\"service\":"
        "\"generativelanguage.googleapis.com\"}}";
    fg_reply_error(r, 400, msg, sizeof msg - 1, det, sizeof det - 1);
}

/* 403 PERMISSION_DENIED for a key whose project is suspended. */
static void reply_forbidden(fg_reply *r)
{
    static const char msg[] = "Permission denied: Consumer has been suspended.";
    static const char det[] =
        "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
        "\"CONSUMER_SUSPENDED\",\"domain\":\"googleapis.com\",\"metadata\":{\"service\":"
        "\"generativelanguage.googleapis.com\"}}";
    fg_reply_error(r, 403, msg, sizeof msg - 1, det, sizeof det - 1);
}

/* The project number Google names as the key's consumer: stable per key, 12 digits. */
static unsigned long long project_of(fg_str key)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < key.n; i++)
        h = (h ^ (unsigned char)key.p[i]) * 1099511628211ULL;
    return 100000000000ULL + h % 900000000000ULL;
}

/* Appends an ErrorInfo detail: reason, domain googleapis.com, metadata {service, and consumer
 * "projects/N" when project is non-zero}; more is extra ready-made metadata members. */
static void add_error_info(fg_buf *d, const char *reason, unsigned long long project,
                           const char *more)
{
    BUF_LIT(d, "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"");
    buf_adds(d, reason);
    BUF_LIT(d, "\",\"domain\":\"googleapis.com\",\"metadata\":{");
    if (project) {
        BUF_LIT(d, "\"consumer\":\"projects/");
        buf_addu(d, project);
        BUF_LIT(d, "\",");
    }
    BUF_LIT(d, "\"service\":\"generativelanguage.googleapis.com\"");
    if (more)
        buf_adds(d, more);
    BUF_LIT(d, "}}");
}

/* Appends a LocalizedMessage detail (en-US) repeating msg. */
static void add_localized(fg_buf *d, const char *msg, size_t n)
{
    BUF_LIT(d, ",{\"@type\":\"type.googleapis.com/google.rpc.LocalizedMessage\",\"locale\":"
               "\"en-US\",\"message\":\"");
    buf_addjson(d, msg, n);
    BUF_LIT(d, "\"}");
}

void fg_reply_verdict(fg_reply *r, enum fg_outcome o, fg_str key, const char *method)
{
    fg_buf *d = &r->tmp, m = {0};
    unsigned long long proj = project_of(key);
    char num[24];
    snprintf(num, sizeof num, "%llu", proj);
    d->len = 0;
    int code = 403;
    switch (o) {
    case FG_OUT_INVALID: reply_key_invalid(r); return;
    case FG_OUT_FORBID: reply_forbidden(r); return;
    case FG_OUT_EXPIRED:
        code = 400;
        buf_adds(&m, "API key expired. Please renew the API key.");
        add_error_info(d, "API_KEY_EXPIRED", 0, NULL);
        add_localized(d, m.p, m.len);
        break;
    case FG_OUT_BLOCKED: {
        buf_adds(&m, "Requests to this API generativelanguage.googleapis.com method "
                     "google.ai.generativelanguage.v1beta.GenerativeService.");
        buf_adds(&m, method);
        buf_adds(&m, " are blocked.");
        fg_buf more = {0};
        BUF_LIT(&more, ",\"apiName\":\"generativelanguage.googleapis.com\",\"methodName\":"
                       "\"google.ai.generativelanguage.v1beta.GenerativeService.");
        buf_adds(&more, method);
        buf_addc(&more, '"');
        add_error_info(d, "API_KEY_SERVICE_BLOCKED", proj, buf_cstr(&more));
        buf_free(&more);
        add_localized(d, m.p, m.len);
        break;
    }
    case FG_OUT_DISABLED: {
        fg_buf url = {0}, more = {0};
        BUF_LIT(&url, "https://console.developers.google.com/apis/api/"
                      "generativelanguage.googleapis.com/overview?project=");
        buf_adds(&url, num);
        buf_adds(&m, "Generative Language API has not been used in project ");
        buf_adds(&m, num);
        buf_adds(&m, " before or it is disabled. Enable it by visiting ");
        buf_add(&m, url.p, url.len);
        buf_adds(&m, " then retry. If you enabled this API recently, wait a few minutes for the "
                     "action to propagate to our systems and retry.");
        BUF_LIT(&more, ",\"activationUrl\":\"");
        buf_add(&more, url.p, url.len);
        BUF_LIT(&more, "\",\"serviceTitle\":\"Generative Language API\",\"containerInfo\":\"");
        buf_adds(&more, num);
        buf_addc(&more, '"');
        add_error_info(d, "SERVICE_DISABLED", proj, buf_cstr(&more));
        add_localized(d, m.p, m.len);
        BUF_LIT(d, ",{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{\"description\":"
                   "\"Google developers console API activation\",\"url\":\"");
        buf_add(d, url.p, url.len);
        BUF_LIT(d, "\"}]}");
        buf_free(&url);
        buf_free(&more);
        break;
    }
    case FG_OUT_SUSPENDED:
        /* Google names the key itself in this message. */
        buf_adds(&m, "Permission denied: Consumer 'api_key:");
        buf_add(&m, key.p, key.n);
        buf_adds(&m, "' has been suspended.");
        add_error_info(d, "CONSUMER_SUSPENDED", proj, NULL);
        break;
    case FG_OUT_LEAKED: {
        /* Google's leaked-key answer has no details at all (observed), so no ErrorInfo. */
        static const char body[] =
            "{\"error\":{\"code\":403,\"message\":\"Your API key was reported as leaked. Please "
            "use another API key.\",\"status\":\"PERMISSION_DENIED\"}}";
        r->body.len = 0;
        BUF_LIT(&r->body, body);
        fg_reply_finish(r, 403, FG_CT_JSON);
        return;
    }
    default: return;
    }
    fg_reply_error(r, code, m.p, m.len, d->p, d->len);
    buf_free(&m);
}

void fg_reply_quota(fg_reply *r, fg_str model, int per_day, int limit, double retry_s)
{
    static const char metric[] = "generativelanguage.googleapis.com/"
                                 "generate_content_free_tier_requests";
    fg_buf *d = &r->tmp, m = {0};
    char num[64];
    d->len = 0;
    BUF_LIT(d, "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{"
               "\"quotaMetric\":\"");
    BUF_LIT(d, metric);
    BUF_LIT(d, "\",\"quotaId\":\"");
    buf_adds(d, per_day ? "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
                        : "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
    BUF_LIT(d, "\",\"quotaDimensions\":{\"location\":\"global\",\"model\":\"");
    buf_addjson(d, model.p, model.n);
    BUF_LIT(d, "\"},\"quotaValue\":\"");
    buf_addu(d, (uint64_t)limit);
    BUF_LIT(d, "\"}]},{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{"
               "\"description\":\"Learn more about Gemini API quotas\",\"url\":"
               "\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]},"
               "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"");
    /* RetryInfo carries whole seconds; the message the exact value, as Google's do. */
    snprintf(num, sizeof num, "%llds", (long long)retry_s);
    buf_adds(d, num);
    BUF_LIT(d, "\"}");
    buf_adds(&m, "You exceeded your current quota, please check your plan and billing details. "
                 "For more information on this error, head to: "
                 "https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current "
                 "usage, head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for "
                 "metric: ");
    buf_adds(&m, metric);
    buf_adds(&m, ", limit: ");
    buf_addu(&m, (uint64_t)limit);
    buf_adds(&m, ", model: ");
    buf_add(&m, model.p, model.n);
    snprintf(num, sizeof num, "\nPlease retry in %.6fs.", retry_s);
    buf_adds(&m, num);
    fg_reply_error(r, 429, m.p, m.len, d->p, d->len);
    buf_free(&m);
}
