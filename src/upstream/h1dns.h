/* h1dns — name resolution for the upstream client (h1client), one per worker, never blocking
 * the worker's loop: libevent's evdns (resolv.conf, /etc/hosts) behind a small cache.
 *
 * Answers are kept H1DNS_TTL_MS whatever the record's TTL (evdns_getaddrinfo does not report
 * it); past that an entry is still served while one refresh runs in the background, so a busy
 * origin never waits for DNS again after its first lookup.  Numeric addresses never reach the
 * resolver (h1dns_numeric). */
#ifndef GEMGATE_H1DNS_H
#define GEMGATE_H1DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define H1DNS_MAX_ADDRS 4
#define H1DNS_TTL_MS 60000

struct event_base;
typedef struct h1dns h1dns;

typedef union h1_sockaddr { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; } h1_sockaddr;

/* A host's addresses, IPv4 first, port 0 (the caller sets it). */
typedef struct h1_addrs { int n; h1_sockaddr a[H1DNS_MAX_ADDRS]; } h1_addrs;

/* One waiter for a lookup in flight; embedded in its owner, which must outlive it or cancel. */
typedef struct h1dns_wait h1dns_wait;
/* a: the addresses, NULL on failure; err: why it failed (NULL on success).  Both valid during
 * the call only. */
typedef void (*h1dns_cb)(h1dns_wait *w, const h1_addrs *a, const char *err);
struct h1dns_wait { h1dns_cb cb; h1dns_wait *next, **pprev; };

h1dns *h1dns_new(struct event_base *base);

/* Frees the cache and cancels lookups in flight; waiters are dropped without a call. */
void h1dns_free(h1dns *d);

/* True when host is an IPv4 or IPv6 literal (without brackets); *out gets it. */
bool h1dns_numeric(const char *host, h1_addrs *out);

/* The addresses of host.  1: known now, copied to *out.  0: w is queued and w->cb (set here to
 * cb) runs later from the loop, once.  -1: failed at once (err says why; w not queued). */
int h1dns_lookup(h1dns *d, const char *host, h1_addrs *out, h1dns_wait *w, h1dns_cb cb,
                 char *err, size_t errcap);

/* Drops a queued waiter (its callback will not run).  Harmless when w is not queued. */
void h1dns_cancel(h1dns_wait *w);

#endif
