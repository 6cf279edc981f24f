/* clientip — trusted proxies and X-Forwarded-For; contract in clientip.h. */
#include "http/clientip.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clientip_net {
  int family;                    /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  int bits;
};

static clientip_net *nets;       /* set once before the workers start, then read-only */
static size_t nnets;

/* Parses "a.b.c.d", "::1", "10.0.0.0/8", "fd00::/8". */
static bool parse_net(const char *s, clientip_net *out)
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

int clientip_set(const char *const *entries, size_t n, char *bad, size_t badcap)
{
  clientip_net *v = calloc(n ? n : 1, sizeof *v);
  if(!v) return -1;
  for(size_t i = 0; i < n; i++)
    if(!parse_net(entries[i], &v[i])) { snprintf(bad, badcap, "%s", entries[i]); free(v); return -1; }
  free(nets);
  nets = v;
  nnets = n;
  return (int)n;
}

static bool in_net(const clientip_net *net, int family, const uint8_t *a)
{
  if(net->family != family) return false;
  int full = net->bits / 8, rest = net->bits % 8;
  if(memcmp(net->addr, a, (size_t)full)) return false;
  if(!rest) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (net->addr[full] & mask) == (a[full] & mask);
}

/* Parses an address (IPv4-mapped IPv6 counts as IPv4). */
static int parse_ip(const char *ip, uint8_t a[16])
{
  if(inet_pton(AF_INET, ip, a) == 1) return AF_INET;
  if(inet_pton(AF_INET6, ip, a) != 1) return 0;
  static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if(!memcmp(a, mapped, 12)) { memmove(a, a + 12, 4); return AF_INET; }
  return AF_INET6;
}

bool clientip_trusted(const char *ip)
{
  uint8_t a[16];
  int fam = parse_ip(ip, a);
  for(size_t i = 0; fam && i < nnets; i++)
    if(in_net(&nets[i], fam, a)) return true;
  return false;
}

/* One X-Forwarded-For entry, trimmed, port and brackets removed, into out. */
static bool entry_ip(const char *b, const char *e, char *out, size_t cap)
{
  while(b < e && (*b == ' ' || *b == '\t')) b++;
  while(e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
  if(b < e && *b == '[') {                        /* [v6]:port */
    const char *rb = memchr(b, ']', (size_t)(e - b));
    if(!rb) return false;
    b++;
    e = rb;
  } else {
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if(colon && !memchr(colon + 1, ':', (size_t)(e - colon - 1))) e = colon;   /* v4:port */
  }
  if(e <= b || (size_t)(e - b) >= cap) return false;
  memcpy(out, b, (size_t)(e - b));
  out[e - b] = '\0';
  uint8_t a[16];
  return parse_ip(out, a) != 0;
}

void clientip_of(const http_req *r, char *out, size_t cap)
{
  snprintf(out, cap, "%s", r->ip);
  if(!nnets || !clientip_trusted(r->ip)) return;
  /* All X-Forwarded-For headers, in order, form one list; walk it from the right. */
  char list[2048];
  size_t len = 0;
  for(size_t i = 0; i < r->nhdr; i++) {
    if(!str_ieq(r->hdr[i].name, STR("X-Forwarded-For"))) continue;
    int w = snprintf(list + len, sizeof list - len, "%s%.*s", len ? "," : "", (int)r->hdr[i].value.n, r->hdr[i].value.p);
    if(w < 0 || (size_t)w >= sizeof list - len) return;       /* absurdly long: keep the peer */
    len += (size_t)w;
  }
  const char *end = list + len;
  while(end > list) {
    const char *b = end;
    while(b > list && b[-1] != ',') b--;
    char ip[64];
    if(!entry_ip(b, end, ip, sizeof ip)) return;               /* malformed: the last hop it is */
    snprintf(out, cap, "%s", ip);
    if(!clientip_trusted(ip)) return;
    end = b > list ? b - 1 : list;
  }
}
