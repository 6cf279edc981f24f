/* verdict — what an upstream error answer says, and about whom: the key or the request.
 *
 * Google states its verdicts in the error JSON ({"error":{"code","message","status",
 * "details":[{"@type":…}]}}): google.rpc.ErrorInfo carries a reason about the credential,
 * google.rpc.QuotaFailure names the quotas a 429 broke (per minute or per day, with their value),
 * google.rpc.RetryInfo the delay.  Only Google's own statement about the key counts against it:
 * the body is parsed as JSON, never searched for a substring, so a prompt echoed back that
 * contains "API_KEY_INVALID" is just text.  Pure: no state, no I/O; the pool acts on the result. */
#ifndef GEMGATE_VERDICT_H
#define GEMGATE_VERDICT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  VERDICT_OK,            /* 2xx */
  VERDICT_REQUEST,       /* the request's fault (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED on
                            a resource, any other 4xx): to the client as is, no retry, no mark */
  VERDICT_KEY,           /* Google's verdict on the key: mark it invalid, try another */
  VERDICT_QUOTA,         /* 429: cool the key for this model */
  VERDICT_SERVER         /* 5xx: counts towards the key's failure run; try another */
} verdict_kind;

typedef enum { QUOTA_UNSTATED, QUOTA_PER_MINUTE, QUOTA_PER_DAY } quota_period;
typedef enum { QUOTA_REQUESTS, QUOTA_INPUT_TOKENS, QUOTA_OTHER } quota_metric;

typedef struct verdict {
  verdict_kind kind;
  char reason[48];             /* ErrorInfo.reason ("API_KEY_INVALID"), "LEAKED" for Google's
                                  leaked-key 403, "HTTP_401" for a bare 401; "" otherwise */
  int64_t retry_delay_ms;      /* RetryInfo.retryDelay; -1 when absent or not a sane duration */
  quota_period period;         /* the longest period among the quotas broken (QUOTA_PER_DAY wins) */
  quota_metric metric;         /* of the violation that set period */
  int64_t quota_value;         /* its quotaValue (the limit Google enforces); -1 when not stated */
} verdict;

/* Reads an upstream answer: status and (for non-2xx) its body, any bytes, possibly not JSON.
 * Fills *out completely. */
void verdict_read(int status, const char *body, size_t len, verdict *out);

/* A Google duration ("27s", "20.04466179s", "0.5s") in ms, rounded; -1 unless it is digits with
 * an optional fraction and an 's', and at most 30 days (no inf, nan, exponents or signs). */
int64_t verdict_duration_ms(const char *s);

/* The next midnight in America/Los_Angeles after now_ms (ms since the epoch, UTC): when Google
 * resets per-day quotas.  US daylight time rules (2007 on): PDT from the second Sunday of March
 * 02:00 to the first Sunday of November 02:00 local time. */
int64_t verdict_next_pacific_midnight(int64_t now_ms);

#endif
