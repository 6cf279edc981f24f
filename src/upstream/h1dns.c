/* h1dns — evdns behind a per-worker cache; contract in h1dns.h. */
#include "upstream/h1dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "base/util.h"

#define MAX_ENTRIES 64
#define RETRY_MS 5000            /* after a failed refresh, the stale answer serves this long */

typedef struct entry {
  struct entry *next;
  h1dns *d;
  char *host;
  h1_addrs addrs;                /* n == 0: no answer yet */
  int64_t expires_ms;
  struct evdns_getaddrinfo_request *req;
  bool querying;
  h1dns_wait *waiters;
  char err[160];
} entry;

struct h1dns {
  struct event_base *base;
  struct evdns_base *dns;        /* created at the first name lookup */
  entry *entries;                /* most recently created first */
  size_t n;
};

/* Monotonic milliseconds, for expiry. */
static int64_t mono_ms(void) { return mono_us() / 1000; }

h1dns *h1dns_new(struct event_base *base)
{
  h1dns *d = calloc(1, sizeof *d);
  if(d) d->base = base;
  return d;
}

void h1dns_free(h1dns *d)
{
  if(!d) return;
  /* Cancelling runs on_answer with EVUTIL_EAI_CANCEL, which only clears req. */
  for(entry *e = d->entries; e; e = e->next)
    if(e->req) evdns_getaddrinfo_cancel(e->req);
  for(entry *e = d->entries, *nx; e; e = nx) { nx = e->next; free(e->host); free(e); }
  if(d->dns) evdns_base_free(d->dns, 0);
  free(d);
}

bool h1dns_numeric(const char *host, h1_addrs *out)
{
  memset(out, 0, sizeof *out);
  if(inet_pton(AF_INET, host, &out->a[0].in.sin_addr) == 1) out->a[0].in.sin_family = AF_INET;
  else if(inet_pton(AF_INET6, host, &out->a[0].in6.sin6_addr) == 1) out->a[0].in6.sin6_family = AF_INET6;
  else return false;
  out->n = 1;
  return true;
}

/* Takes an answer's addresses, IPv4 first: a host whose IPv6 route is missing or black-holed
 * would otherwise cost a connect timeout before the fallback (we try addresses in turn). */
static int take_addrs(entry *e, const struct evutil_addrinfo *res)
{
  h1_addrs a = { 0 };
  for(int fam = 0; fam < 2; fam++)
    for(const struct evutil_addrinfo *r = res; r && a.n < H1DNS_MAX_ADDRS; r = r->ai_next) {
      if(r->ai_family != (fam ? AF_INET6 : AF_INET)) continue;
      size_t len = fam ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
      if(r->ai_addrlen < len) continue;
      memcpy(&a.a[a.n++], r->ai_addr, len);
    }
  if(a.n) e->addrs = a;
  return a.n;
}

/* Runs each waiter once.  The list is detached first: a callback may cancel other waiters (they
 * unlink themselves from the detached list) or queue new ones for a later answer. */
static void wake(entry *e, const h1_addrs *a, const char *err)
{
  h1dns_wait *list = e->waiters, *w;
  e->waiters = NULL;
  if(list) list->pprev = &list;
  while((w = list)) {
    list = w->next;
    if(list) list->pprev = &list;
    w->next = NULL;
    w->pprev = NULL;
    w->cb(w, a, err);
  }
}

static void on_answer(int result, struct evutil_addrinfo *res, void *arg)
{
  entry *e = arg;
  e->req = NULL;
  e->querying = false;
  if(result == EVUTIL_EAI_CANCEL) return;            /* h1dns_free */
  if(result == 0 && !take_addrs(e, res)) result = EVUTIL_EAI_NONAME;   /* no usable family */
  if(res) evutil_freeaddrinfo(res);
  if(result == 0) {
    e->expires_ms = mono_ms() + H1DNS_TTL_MS;
    e->err[0] = '\0';
    wake(e, &e->addrs, NULL);
    return;
  }
  snprintf(e->err, sizeof e->err, "could not resolve host %s: %s", e->host, evutil_gai_strerror(result));
  if(e->addrs.n) e->expires_ms = mono_ms() + RETRY_MS;   /* keep serving the last answer */
  wake(e, NULL, e->err);
}

/* Starts a query for e; its answer may arrive before this returns (hosts file, errors). */
static void start_query(h1dns *d, entry *e)
{
  if(!d->dns) d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  if(!d->dns) {
    snprintf(e->err, sizeof e->err, "could not resolve host %s: no resolver", e->host);
    return;
  }
  /* No AI_ADDRCONFIG: its interface probe misreads sandboxes and loopback-only hosts, and an
   * unroutable family costs nothing here (IPv4 is tried first, a refused connect moves on). */
  struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
  e->querying = true;
  struct evdns_getaddrinfo_request *req = evdns_getaddrinfo(d->dns, e->host, NULL, &hints, on_answer, e);
  if(e->querying) e->req = req;                      /* else answered already */
}

/* Drops the oldest entry nobody waits for, once the cache is full. */
static void evict(h1dns *d)
{
  entry **victim = NULL;
  for(entry **pp = &d->entries; *pp; pp = &(*pp)->next)
    if(!(*pp)->querying && !(*pp)->waiters) victim = pp;
  if(!victim) return;
  entry *e = *victim;
  *victim = e->next;
  free(e->host);
  free(e);
  d->n--;
}

int h1dns_lookup(h1dns *d, const char *host, h1_addrs *out, h1dns_wait *w, h1dns_cb cb,
                 char *err, size_t errcap)
{
  entry *e = d->entries;
  while(e && strcmp(e->host, host)) e = e->next;
  if(e && e->addrs.n) {
    *out = e->addrs;
    if(mono_ms() >= e->expires_ms && !e->querying) start_query(d, e);   /* refresh behind */
    return 1;
  }
  if(!e) {
    if(d->n >= MAX_ENTRIES) evict(d);
    e = calloc(1, sizeof *e);
    if(e && !(e->host = strdup(host))) { free(e); e = NULL; }
    if(!e) { snprintf(err, errcap, "could not resolve host %s: out of memory", host); return -1; }
    e->d = d;
    e->next = d->entries;
    d->entries = e;
    d->n++;
  }
  if(!e->querying) {
    start_query(d, e);
    if(!e->querying) {                                /* answered (or failed) at once */
      if(e->addrs.n) { *out = e->addrs; return 1; }
      snprintf(err, errcap, "%s", e->err);
      return -1;
    }
  }
  w->cb = cb;
  w->next = e->waiters;
  if(w->next) w->next->pprev = &w->next;
  w->pprev = &e->waiters;
  e->waiters = w;
  return 0;
}

void h1dns_cancel(h1dns_wait *w)
{
  if(!w->pprev) return;
  *w->pprev = w->next;
  if(w->next) w->next->pprev = w->pprev;
  w->next = NULL;
  w->pprev = NULL;
}
