/* utc — UTC calendar helpers; contract in utc.h. */
#include "base/utc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t from_tm(struct tm *tm) { return (int64_t)timegm(tm) * 1000; }

int64_t utc_month_start(int64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  struct tm m = { .tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = 1 };
  return from_tm(&m);
}

int64_t utc_next_month(int64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  struct tm m = { .tm_year = tm.tm_year + (tm.tm_mon == 11), .tm_mon = (tm.tm_mon + 1) % 12, .tm_mday = 1 };
  return from_tm(&m);
}

void utc_iso(int64_t ms, char *out, size_t cap)
{
  time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* n digits at *p into *v; advances p. */
static bool digits(const char **p, int n, int *v)
{
  *v = 0;
  for(int i = 0; i < n; i++, (*p)++) {
    if(!isdigit((unsigned char)**p)) return false;
    *v = *v * 10 + (**p - '0');
  }
  return true;
}

bool utc_parse(const char *s, int64_t *ms)
{
  if(!s || !*s) return false;
  bool all_digits = true;
  for(const char *p = s; *p; p++) if(!isdigit((unsigned char)*p)) all_digits = false;
  if(all_digits) {
    if(strlen(s) > 11) return false;
    long long secs = 0;
    sscanf(s, "%lld", &secs);
    if(secs < 946684800LL || secs > 253402300799LL) return false;   /* 2000 .. 9999 */
    *ms = secs * 1000;
    return true;
  }
  const char *p = s;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if(!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d)) return false;
  int64_t off = 0;
  if(*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if(!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) return false;
    if(*p == ':') { p++; if(!digits(&p, 2, &sec)) return false; }
    if(*p == '.') { p++; while(isdigit((unsigned char)*p)) p++; }
    if(*p == 'Z' || *p == 'z') p++;
    else if(*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      if(!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59) return false;
      off = sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    }
  }
  if(*p) return false;
  if(y < 2000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
  int64_t v = from_tm(&tm);
  struct tm back;
  time_t t = (time_t)(v / 1000);
  gmtime_r(&t, &back);
  if(back.tm_mday != d && sec < 60) return false;   /* 2025-02-30 */
  *ms = v - off;
  return true;
}
