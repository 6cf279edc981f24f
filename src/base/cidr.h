/* cidr — address blocks ("10.0.0.0/8", "fd00::/8", or one address "::1"), IPv4 and IPv6, and
 * whether an address falls in one of a list of them.  Pure: the list is the caller's (config
 * holds GEMGATE_TRUSTED_PROXIES as one); matching allocates nothing. */
#ifndef GEMGATE_CIDR_H
#define GEMGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cidr {
  int family;                    /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  int bits;                      /* prefix length: 0..32 or 0..128 */
} cidr;

typedef struct cidr_list { cidr *v; size_t n; } cidr_list;

/* Parses n entries (each an address or address/bits) into *out, replacing what it held.
 * Returns n; or -1 on a bad entry, with its text in bad (truncated to badcap) and *out
 * unchanged; or -1 with bad "" when out of memory.  Free with cidr_list_free. */
int cidr_list_parse(cidr_list *out, const char *const *entries, size_t n, char *bad, size_t badcap);
void cidr_list_free(cidr_list *l);

/* An address in text into a[16]: AF_INET (4 bytes; an IPv4-mapped IPv6 address counts as its
 * IPv4 address), AF_INET6 (16 bytes), or 0 when ip is not an address. */
int cidr_parse_ip(const char *ip, uint8_t a[16]);

/* True when the address ip (text) is in one of l's blocks. */
bool cidr_list_has(const cidr_list *l, const char *ip);

#endif
