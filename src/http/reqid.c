/* reqid — request ids; contract in reqid.h. */
#include "http/reqid.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/cidr.h"
#include "base/log.h"
#include "http/server.h"

bool reqid_valid(str v)
{
  if(!v.n || v.n >= LOG_RID_CAP) return false;
  for(size_t i = 0; i < v.n; i++) {
    char c = v.p[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-'))
      return false;
  }
  return true;
}

void reqid_make(char *out)
{
  static __thread uint32_t prefix, counter;
  if(!prefix) {
    if(getrandom(&prefix, sizeof prefix, 0) != sizeof prefix) prefix = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    prefix |= 1;                    /* never 0: 0 means "not drawn yet" */
  }
  uint64_t v = (uint64_t)prefix << 32 | ++counter;
  static const char hex[] = "0123456789abcdef";
  for(int i = 15; i >= 0; i--, v >>= 4) out[i] = hex[v & 15];
  out[16] = '\0';
}

void reqid_assign(http_req *r)
{
  if(r->rid[0]) return;
  str v = http_header_get(r, STR("X-Request-Id"));
  const cidr_list *trusted = &r->w->cfg->trusted_nets;
  if(v.p && trusted->n && reqid_valid(v) && cidr_list_has(trusted, r->ip)) {
    memcpy(r->rid, v.p, v.n);
    r->rid[v.n] = '\0';
    return;
  }
  reqid_make(r->rid);
}
