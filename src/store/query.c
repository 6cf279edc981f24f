/* query — query-string parameters; contract in query.h. */
#include "store/query.h"

#include <stdio.h>
#include <string.h>

#include "base/utc.h"

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int query_str(const http_req *r, const char *name, char *out, size_t cap, char *msg, size_t mcap)
{
  str v = http_query_get(r, str_c(name));
  if(!v.p) return 0;
  size_t n = 0;
  for(size_t i = 0; i < v.n; i++) {
    char c = v.p[i];
    if(c == '%') {
      int a = i + 2 < v.n ? hexval(v.p[i + 1]) : -1, b = i + 2 < v.n ? hexval(v.p[i + 2]) : -1;
      if(a < 0 || b < 0) { snprintf(msg, mcap, "parameter %s is badly encoded", name); return -1; }
      c = (char)(a * 16 + b);
      i += 2;
    } else if(c == '+') c = ' ';
    if(!c || n + 1 >= cap) { snprintf(msg, mcap, "parameter %s is too long", name); return -1; }
    out[n++] = c;
  }
  out[n] = '\0';
  return 1;
}

static const char *const PERIODS[] = { "today", "week", "month", "all" };

const char *period_name(period p) { return PERIODS[p]; }

bool query_period(const http_req *r, period def, period *out, char *msg, size_t mcap)
{
  char v[16];
  int rc = query_str(r, "period", v, sizeof v, msg, mcap);
  *out = def;
  if(rc == 0) return true;
  for(int i = 0; rc > 0 && i < 4; i++) if(!strcmp(v, PERIODS[i])) { *out = (period)i; return true; }
  snprintf(msg, mcap, "period must be today, week, month or all");
  return false;
}

int64_t period_first_day(period p, int64_t now)
{
  int64_t today = utc_day(now);
  switch(p) {
  case PERIOD_TODAY: return today;
  case PERIOD_WEEK: return today - 6;
  case PERIOD_MONTH: return today - 29;
  default: return INT64_MIN;
  }
}

bool query_int(const http_req *r, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out, char *msg, size_t mcap)
{
  char v[24];
  int rc = query_str(r, name, v, sizeof v, msg, mcap);
  *out = def;
  if(rc == 0) return true;
  int64_t x = rc > 0 ? parse_int(v) : -1;
  if(x < lo || x > hi) { snprintf(msg, mcap, "parameter %s must be a whole number from %lld to %lld", name, (long long)lo, (long long)hi); return false; }
  *out = x;
  return true;
}

bool query_label(const http_req *r, const char *name, char *out, size_t cap, char *msg, size_t mcap)
{
  int rc = query_str(r, name, out, cap, msg, mcap);
  if(rc < 0) return false;
  if(rc == 0 || !strcmp(out, "all")) { out[0] = '\0'; return true; }
  for(const unsigned char *p = (const unsigned char *)out; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-' || *p == ':' || *p == '@' || *p >= 0x80;   /* ≥ 0x80: the "…" of masked keys */
    if(!ok || !out[0]) { snprintf(msg, mcap, "parameter %s has characters no %s can have", name, name); return false; }
  }
  if(!out[0]) { snprintf(msg, mcap, "parameter %s is empty", name); return false; }
  return true;
}

bool query_time(const http_req *r, const char *name, int64_t *out, bool *present, char *msg, size_t mcap)
{
  char v[48];
  int rc = query_str(r, name, v, sizeof v, msg, mcap);
  *present = rc > 0;
  if(rc <= 0) return rc == 0;
  if(!utc_parse(v, out)) {
    snprintf(msg, mcap, "parameter %s must be a date (2025-01-23), a UTC time (2025-01-23T10:30:00Z) or seconds since 1970, year 2000..9999", name);
    return false;
  }
  return true;
}
