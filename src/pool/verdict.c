/* verdict — reading Google's error answers; contract in verdict.h. */
#include "pool/verdict.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/utc.h"

#define MAX_DELAY_MS (30LL * UTC_DAY_MS)

int64_t verdict_duration_ms(const char *s)
{
  if(!s) return -1;
  int64_t whole = 0, frac_ms = 0;
  int digits = 0;
  const char *p = s;
  for(; *p >= '0' && *p <= '9'; p++) {
    if(++digits > 10) return -1;                        /* beyond 30 days anyway */
    whole = whole * 10 + (*p - '0');
  }
  if(!digits) return -1;
  if(*p == '.') {
    int scale = 100, fd = 0;
    for(p++; *p >= '0' && *p <= '9'; p++, fd++) {
      if(fd < 3) frac_ms += (*p - '0') * scale;
      else if(fd == 3 && *p >= '5') frac_ms++;          /* round the 4th digit */
      scale /= 10;
    }
    if(!fd) return -1;
  }
  if(p[0] != 's' || p[1]) return -1;
  int64_t ms = whole * 1000 + frac_ms;
  return ms <= MAX_DELAY_MS ? ms : -1;
}

/* ---- America/Los_Angeles, without the tz database (the process must not depend on TZ) ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int year_of_day(int64_t z)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  return (int)(y + (mp >= 10));
}

/* The day of the nth Sunday (n ≥ 1) of month m in year y. */
static int64_t nth_sunday(int y, int m, int n)
{
  int64_t first = days_from_civil(y, m, 1);
  int64_t wd = (first + 4) % 7;                         /* 1970-01-01 was a Thursday; 0 = Sunday */
  if(wd < 0) wd += 7;
  return first + (7 - wd) % 7 + 7 * (n - 1);
}

/* Pacific offset from UTC (ms, negative) in force at UTC instant t. */
static int64_t pacific_offset(int64_t t)
{
  int y = year_of_day(utc_day(t));
  /* PDT begins 02:00 PST (10:00 UTC) and ends 02:00 PDT (09:00 UTC). */
  int64_t start = nth_sunday(y, 3, 2) * UTC_DAY_MS + 10 * UTC_HOUR_MS;
  int64_t end = nth_sunday(y, 11, 1) * UTC_DAY_MS + 9 * UTC_HOUR_MS;
  return (t >= start && t < end ? -7 : -8) * UTC_HOUR_MS;
}

int64_t verdict_next_pacific_midnight(int64_t now_ms)
{
  int64_t local = now_ms + pacific_offset(now_ms);
  int64_t next_local = (utc_day(local) + 1) * UTC_DAY_MS;
  /* The offset at local midnight can differ from now's (a DST change at 02:00 that night is
   * after midnight, so the offset of midnight is that of the evening before it). */
  int64_t guess = next_local - pacific_offset(now_ms);
  return next_local - pacific_offset(guess - 1);
}

/* ---- the error JSON ---- */

static const char *const KEY_REASONS[] = {
  "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED",
  "CONSUMER_SUSPENDED", "ACCESS_TOKEN_TYPE_UNSUPPORTED",
};

static bool is_key_reason(const char *r)
{
  for(size_t i = 0; i < sizeof KEY_REASONS / sizeof KEY_REASONS[0]; i++)
    if(!strcmp(r, KEY_REASONS[i])) return true;
  return false;
}

static bool type_is(json_t *detail, const char *name)
{
  const char *t = json_string_value(json_object_get(detail, "@type"));
  size_t tn = t ? strlen(t) : 0, nn = strlen(name);
  return tn >= nn && !strcmp(t + tn - nn, name) && (tn == nn || t[tn - nn - 1] == '/');
}

static quota_period period_of(const char *quota_id)
{
  if(!quota_id) return QUOTA_UNSTATED;
  if(strstr(quota_id, "PerDay")) return QUOTA_PER_DAY;
  if(strstr(quota_id, "PerMinute")) return QUOTA_PER_MINUTE;
  return QUOTA_UNSTATED;
}

static quota_metric metric_of(const char *m)
{
  if(!m) return QUOTA_OTHER;
  size_t n = strlen(m);
  if(n >= 9 && !strcmp(m + n - 9, "_requests")) return QUOTA_REQUESTS;
  if(strstr(m, "input_token")) return QUOTA_INPUT_TOKENS;
  return QUOTA_OTHER;
}

/* A quotaValue: a decimal string (as Google sends it) or a JSON integer; -1 otherwise. */
static int64_t quota_value_of(json_t *v)
{
  if(json_is_integer(v)) return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
  const char *s = json_string_value(v);
  if(!s || !*s) return -1;
  int64_t x = 0;
  for(int i = 0; s[i]; i++) {
    if(s[i] < '0' || s[i] > '9' || i >= 15) return -1;
    x = x * 10 + (s[i] - '0');
  }
  return x;
}

static void read_quota_failure(json_t *d, verdict *v)
{
  size_t i;
  json_t *viol;
  json_array_foreach(json_object_get(d, "violations"), i, viol) {
    quota_period p = period_of(json_string_value(json_object_get(viol, "quotaId")));
    if(p < v->period) continue;
    int64_t value = quota_value_of(json_object_get(viol, "quotaValue"));
    if(p == v->period && v->quota_value >= 0 && value < 0) continue;  /* keep the stated one */
    v->period = p;
    v->metric = metric_of(json_string_value(json_object_get(viol, "quotaMetric")));
    v->quota_value = value;
  }
}

void verdict_read(int status, const char *body, size_t len, verdict *out)
{
  memset(out, 0, sizeof *out);
  out->retry_delay_ms = -1;
  out->quota_value = -1;
  out->metric = QUOTA_OTHER;
  if(status >= 200 && status < 300) { out->kind = VERDICT_OK; return; }
  out->kind = status == 429 ? VERDICT_QUOTA : status >= 500 ? VERDICT_SERVER : VERDICT_REQUEST;

  json_t *root = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
  json_t *err = json_object_get(root, "error");
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(err, "details"), i, d) {
    if(type_is(d, "google.rpc.ErrorInfo")) {
      const char *r = json_string_value(json_object_get(d, "reason"));
      if(r && is_key_reason(r) && !out->reason[0]) {
        snprintf(out->reason, sizeof out->reason, "%s", r);
      }
    } else if(type_is(d, "google.rpc.RetryInfo")) {
      out->retry_delay_ms = verdict_duration_ms(json_string_value(json_object_get(d, "retryDelay")));
    } else if(type_is(d, "google.rpc.QuotaFailure")) {
      read_quota_failure(d, out);
    }
  }
  /* Google's leaked-key answer has no ErrorInfo: a 403 PERMISSION_DENIED whose message says so. */
  const char *msg = json_string_value(json_object_get(err, "message"));
  if(status == 403 && !out->reason[0] && msg && strstr(msg, "reported as leaked"))
    snprintf(out->reason, sizeof out->reason, "LEAKED");
  if(status == 401 && !out->reason[0]) snprintf(out->reason, sizeof out->reason, "HTTP_401");
  json_decref(root);

  /* A key verdict wins over the status class: Google answers a bad key 400 or 403. */
  if(out->reason[0] && status != 429 && status < 500) out->kind = VERDICT_KEY;
}
