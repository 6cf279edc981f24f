/* cidr — address blocks and matching; contract in cidr.h. */
#include "base/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "a.b.c.d", "::1", "10.0.0.0/8", "fd00::/8". */
static bool parse_net(const char *s, cidr *out)
{
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  char *slash = strchr(buf, '/');
  long bits = -1;
  if(slash) {
    *slash = '\0';
    char *end;
    bits = strtol(slash + 1, &end, 10);
    if(*end || end == slash + 1) return false;
  }
  memset(out, 0, sizeof *out);
  if(inet_pton(AF_INET, buf, out->addr) == 1) { out->family = AF_INET; out->bits = bits < 0 ? 32 : (int)bits; }
  else if(inet_pton(AF_INET6, buf, out->addr) == 1) { out->family = AF_INET6; out->bits = bits < 0 ? 128 : (int)bits; }
  else return false;
  return out->bits >= 0 && out->bits <= (out->family == AF_INET ? 32 : 128);
}

int cidr_list_parse(cidr_list *out, const char *const *entries, size_t n, char *bad, size_t badcap)
{
  if(badcap) bad[0] = '\0';
  cidr *v = calloc(n ? n : 1, sizeof *v);
  if(!v) return -1;
  for(size_t i = 0; i < n; i++)
    if(!parse_net(entries[i], &v[i])) { snprintf(bad, badcap, "%s", entries[i]); free(v); return -1; }
  free(out->v);
  out->v = v;
  out->n = n;
  return (int)n;
}

void cidr_list_free(cidr_list *l)
{
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static bool in_net(const cidr *net, int family, const uint8_t *a)
{
  if(net->family != family) return false;
  int full = net->bits / 8, rest = net->bits % 8;
  if(memcmp(net->addr, a, (size_t)full)) return false;
  if(!rest) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (net->addr[full] & mask) == (a[full] & mask);
}

int cidr_parse_ip(const char *ip, uint8_t a[16])
{
  if(inet_pton(AF_INET, ip, a) == 1) return AF_INET;
  if(inet_pton(AF_INET6, ip, a) != 1) return 0;
  static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if(!memcmp(a, mapped, 12)) { memmove(a, a + 12, 4); return AF_INET; }
  return AF_INET6;
}

bool cidr_list_has(const cidr_list *l, const char *ip)
{
  uint8_t a[16];
  int fam = cidr_parse_ip(ip, a);
  for(size_t i = 0; fam && i < l->n; i++)
    if(in_net(&l->v[i], fam, a)) return true;
  return false;
}
