/* clientip — trusted proxies and X-Forwarded-For; contract in clientip.h. */
#include "http/clientip.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/server.h"

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
  return cidr_parse_ip(out, a) != 0;
}

void clientip_of(const http_req *r, char *out, size_t cap)
{
  clientip_from(&r->w->cfg->trusted_nets, r, out, cap);
}

void clientip_from(const cidr_list *trusted, const http_req *r, char *out, size_t cap)
{
  size_t il = strnlen(r->ip, cap - 1);               /* a copy, cut to cap as snprintf would */
  memcpy(out, r->ip, il);
  out[il] = '\0';
  if(!trusted->n || !cidr_list_has(trusted, r->ip)) return;
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
    if(!cidr_list_has(trusted, ip)) return;
    end = b > list ? b - 1 : list;
  }
}
