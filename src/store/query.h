/* query — reading query-string parameters of the statistics routes: percent-decoding, periods,
 * integers and labels, each with a clear message for a 400 when the value is unusable. */
#ifndef GEMGATE_QUERY_H
#define GEMGATE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

typedef enum { PERIOD_TODAY, PERIOD_WEEK, PERIOD_MONTH, PERIOD_ALL } period;

/* Parameter name, percent-decoded into out (cap bytes).  1 when present, 0 when absent, -1 when
 * too long or badly encoded (msg set). */
int query_str(const http_req *r, const char *name, char *out, size_t cap, char *msg, size_t mcap);

/* period=today|week|month|all (def when absent).  false with msg on anything else. */
bool query_period(const http_req *r, period def, period *out, char *msg, size_t mcap);
const char *period_name(period p);
/* The first UTC day (utc_day) a period covers at now: today; the 7 / 30 days ending today;
 * all → INT64_MIN. */
int64_t period_first_day(period p, int64_t now);

/* An integer parameter in [lo, hi]; *out = def when absent.  false with msg otherwise. */
bool query_int(const http_req *r, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out, char *msg, size_t mcap);

/* A label (model, generation type, masked key): letters, digits and . _ - : @ … (the masking
 * ellipsis), up to cap-1 bytes.  "all" (or absent) → "" (no filter).  false with msg. */
bool query_label(const http_req *r, const char *name, char *out, size_t cap, char *msg, size_t mcap);

/* A time: ISO 8601 or seconds since the epoch (utc_parse).  *present says whether given. */
bool query_time(const http_req *r, const char *name, int64_t *out, bool *present, char *msg, size_t mcap);

#endif
