/* query — reading query strings and building WHERE clauses; contract in query.h. */
#include "store/query.h"

#include <stdio.h>
#include <string.h>

#include "base/utc.h"

/* The raw value of name in qs (still encoded); {NULL, 0} when absent.  A bare "name" (no '=')
 * is present and empty.  The same reading as http_query_get, which this layer cannot use. */
static str find(str qs, const char *name)
{
  str want = str_c(name);
  const char *p = qs.p, *end = p ? p + qs.n : NULL;   /* NULL + 0 is UB */
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    const char *eq = memchr(p, '=', (size_t)(amp - p));
    str k = { p, (size_t)((eq ? eq : amp) - p) };
    if(str_eq(k, want)) return eq ? (str){ eq + 1, (size_t)(amp - eq - 1) } : (str){ amp, 0 };
    p = amp + 1;
  }
  return (str){ NULL, 0 };
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

gg_rc query_str(str qs, const char *name, char *out, size_t cap, bool *present, gg_err *e)
{
  str v = find(qs, name);
  *present = v.p != NULL;
  if(!v.p) return GG_OK;
  size_t n = 0;
  for(size_t i = 0; i < v.n; i++) {
    char c = v.p[i];
    if(c == '%') {
      int a = i + 2 < v.n ? hexval(v.p[i + 1]) : -1, b = i + 2 < v.n ? hexval(v.p[i + 2]) : -1;
      if(a < 0 || b < 0) return gg_fail(e, GG_BAD_INPUT, "parameter %s is badly encoded", name);
      c = (char)(a * 16 + b);
      i += 2;
    } else if(c == '+') c = ' ';
    if(!c || n + 1 >= cap) return gg_fail(e, GG_BAD_INPUT, "parameter %s is too long", name);
    out[n++] = c;
  }
  out[n] = '\0';
  return GG_OK;
}

static const char *const PERIODS[] = { "today", "week", "month", "all" };

const char *period_name(period p) { return PERIODS[p]; }

gg_rc query_period(str qs, period def, period *out, gg_err *e)
{
  char v[16];
  bool present;
  *out = def;
  if(query_str(qs, "period", v, sizeof v, &present, e) == GG_OK) {
    if(!present) return GG_OK;
    for(int i = 0; i < 4; i++) if(!strcmp(v, PERIODS[i])) { *out = (period)i; return GG_OK; }
  }
  return gg_fail(e, GG_BAD_INPUT, "period must be today, week, month or all");
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

gg_rc query_int(str qs, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out, gg_err *e)
{
  char v[24];
  bool present;
  *out = def;
  bool read = query_str(qs, name, v, sizeof v, &present, e) == GG_OK;
  if(read && !present) return GG_OK;
  int64_t x = read ? parse_int(v) : -1;
  if(!read || x < lo || x > hi)
    return gg_fail(e, GG_BAD_INPUT, "parameter %s must be a whole number from %lld to %lld", name, (long long)lo, (long long)hi);
  *out = x;
  return GG_OK;
}

gg_rc query_label(str qs, const char *name, char *out, size_t cap, gg_err *e)
{
  bool present;
  gg_rc rc = query_str(qs, name, out, cap, &present, e);
  if(rc) return rc;
  if(!present || !strcmp(out, "all")) { out[0] = '\0'; return GG_OK; }
  if(!out[0]) return gg_fail(e, GG_BAD_INPUT, "parameter %s is empty", name);
  for(const unsigned char *p = (const unsigned char *)out; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-' || *p == ':' || *p == '@' || *p >= 0x80;   /* ≥ 0x80: the "…" of masked keys */
    if(!ok) return gg_fail(e, GG_BAD_INPUT, "parameter %s has characters no %s can have", name, name);
  }
  return GG_OK;
}

gg_rc query_time(str qs, const char *name, int64_t *out, bool *present, gg_err *e)
{
  char v[48];
  gg_rc rc = query_str(qs, name, v, sizeof v, present, e);
  if(rc || !*present) return rc;
  if(!utc_parse(v, out))
    return gg_fail(e, GG_BAD_INPUT, "parameter %s must be a date (2025-01-23), a UTC time (2025-01-23T10:30:00Z) or seconds"
                   " since 1970, year 2000..9999", name);
  return GG_OK;
}

/* ---- WHERE ---- */

void query_where_init(query_where *w)
{
  w->n = (size_t)snprintf(w->sql, sizeof w->sql, " WHERE 1 = 1");
  w->nargs = 0;
  w->full = false;
}

void query_and(query_where *w, const char *sql)
{
  size_t len = strlen(sql);
  if(w->full || w->n + len >= sizeof w->sql) { w->full = true; return; }
  memcpy(w->sql + w->n, sql, len + 1);
  w->n += len;
}

static query_arg *next_arg(query_where *w)
{
  if(w->nargs >= QUERY_MAX_ARGS) { w->full = true; return NULL; }
  return &w->arg[w->nargs++];
}

void query_arg_int(query_where *w, int64_t v)
{
  query_arg *a = next_arg(w);
  if(a) *a = (query_arg){ NULL, v };
}

void query_arg_text(query_where *w, const char *v)
{
  query_arg *a = next_arg(w);
  if(a) *a = (query_arg){ v ? v : "", 0 };
}

void query_and_int(query_where *w, const char *sql, int64_t v) { query_and(w, sql); query_arg_int(w, v); }
void query_and_text(query_where *w, const char *sql, const char *v) { query_and(w, sql); query_arg_text(w, v); }

int query_bind(const query_where *w, store_stmt *st, int first)
{
  for(int k = 0; k < w->nargs; k++, first++) {
    if(w->arg[k].text) store_bind_text(st, first, w->arg[k].text);
    else store_bind_int(st, first, w->arg[k].i);
  }
  return first;
}
