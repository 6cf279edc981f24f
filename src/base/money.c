/* money — scaled-integer amounts; contract in money.h. */
#include "base/money.h"

#include <stdio.h>
#include <string.h>

static const int64_t POW10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                 1000000000, 10000000000LL, 100000000000LL, 1000000000000LL };

bool money_parse_str(const char *s, int scale, int64_t max, int64_t *out)
{
  if(!s || scale < 0 || scale > 12) return false;
  int64_t whole = 0, frac = 0;
  int nd = 0, nf = 0;
  const char *p = s;
  for(; *p >= '0' && *p <= '9'; p++, nd++) {
    if(whole > (INT64_MAX - 9) / 10) return false;
    whole = whole * 10 + (*p - '0');
  }
  if(*p == '.') {
    for(p++; *p >= '0' && *p <= '9'; p++, nf++) {
      if(nf >= scale) { if(*p != '0') return false; continue; }   /* trailing zeros are fine */
      frac = frac * 10 + (*p - '0');
    }
    if(nf > scale) nf = scale;
  }
  if(*p || (nd == 0 && nf == 0)) return false;
  if(whole > max / POW10[scale]) return false;
  int64_t v = whole * POW10[scale] + frac * POW10[scale - nf];
  if(v > max) return false;
  *out = v;
  return true;
}

bool money_parse_json(const json_t *v, int scale, int64_t max, int64_t *out)
{
  if(json_is_string(v)) return money_parse_str(json_string_value(v), scale, max, out);
  if(json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if(i < 0 || i > max / POW10[scale]) return false;
    *out = (int64_t)i * POW10[scale];
    return true;
  }
  if(json_is_real(v)) {
    double d = json_real_value(v);
    if(!(d >= 0) || d > 1e15) return false;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", scale, d);
    return money_parse_str(buf, scale, max, out);
  }
  return false;
}

void money_format(int64_t v, int scale, char *out, size_t cap)
{
  const char *sign = v < 0 ? "-" : "";
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if(scale <= 0) { snprintf(out, cap, "%s%llu", sign, (unsigned long long)a); return; }
  if(scale > 12) scale = 12;
  uint64_t p = (uint64_t)POW10[scale], f = a % p;
  char frac[16];
  for(int i = scale - 1; i >= 0; i--) { frac[i] = (char)('0' + f % 10); f /= 10; }
  frac[scale] = '\0';
  snprintf(out, cap, "%s%llu.%s", sign, (unsigned long long)(a / p), frac);
}

json_t *money_json(int64_t v, int scale)
{
  char buf[48];
  money_format(v, scale, buf, sizeof buf);
  return json_string(buf);
}

int64_t money_round(int64_t v, int from, int to)
{
  int64_t d = POW10[from - to];
  return v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d);
}
