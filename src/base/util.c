#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

bool str_ieq_bytes(const char *a, const char *b, size_t n)
{
  for(size_t i = 0; i < n; i++) {                 /* ASCII only: no locale, no call per byte */
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if(x == y) continue;
    if((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}

bool str_starts(str s, str prefix)
{
  return s.n >= prefix.n && memcmp(s.p, prefix.p, prefix.n) == 0;
}

char *str_dup(str s)
{
  char *d = malloc(s.n + 1);
  if(!d) return NULL;
  memcpy(d, s.p, s.n);
  d[s.n] = '\0';
  return d;
}

int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Shared by the duration and size parsers: a non-negative decimal number and its suffix. */
static int parse_number(const char *s, double *v, const char **suffix)
{
  if(!s || !*s || *s == '-' || isspace((unsigned char)*s)) return -1;
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if(errno || end == s || !(*v >= 0 && *v <= 1e15)) return -1;   /* also "nan": every comparison false */
  *suffix = end;
  return 0;
}

int64_t parse_duration_ms(const char *s)
{
  double v;
  const char *u;
  if(parse_number(s, &v, &u)) return -1;
  double mul;
  if(!*u || !strcmp(u, "s")) mul = 1000;
  else if(!strcmp(u, "ms")) mul = 1;
  else if(!strcmp(u, "m")) mul = 60000;
  else if(!strcmp(u, "h")) mul = 3600000;
  else return -1;
  if(v * mul >= 9e18) return -1;            /* past int64: the cast would be undefined */
  return (int64_t)(v * mul + 0.5);
}

int64_t parse_size(const char *s)
{
  double v;
  const char *u;
  if(parse_number(s, &v, &u)) return -1;
  double mul;
  if(!*u) mul = 1;
  else if(!strcasecmp(u, "k") || !strcasecmp(u, "kb") || !strcasecmp(u, "kib")) mul = 1024;
  else if(!strcasecmp(u, "m") || !strcasecmp(u, "mb") || !strcasecmp(u, "mib")) mul = 1048576;
  else return -1;
  if(v * mul >= 9e18) return -1;            /* past int64: the cast would be undefined */
  return (int64_t)(v * mul);
}

int64_t parse_int(const char *s)
{
  if(!s || !*s) return -1;
  int64_t v = 0;
  for(; *s; s++) {
    if(*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

bool secret_eq(const char *a, size_t an, const char *b, size_t bn)
{
  if(an != bn) return false;
  unsigned char d = 0;
  for(size_t i = 0; i < an; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

uint64_t hash64(const char *p, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  for(size_t i = 0; i < n; i++) { h ^= (unsigned char)p[i]; h *= 1099511628211ULL; }
  return h;
}

void sb_u64(sbuf *b, uint64_t v)
{
  char tmp[20];
  size_t i = sizeof tmp;
  do { tmp[--i] = (char)('0' + v % 10); v /= 10; } while(v);
  sb_put(b, tmp + i, sizeof tmp - i);
}

void sb_hex(sbuf *b, uint64_t v)
{
  char tmp[16];
  size_t i = sizeof tmp;
  do { tmp[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while(v);
  sb_put(b, tmp + i, sizeof tmp - i);
}
