/* server — worker threads, listening sockets, signals.
 *
 * Each worker thread runs its own libevent loop with its own SO_REUSEPORT listener (the kernel
 * spreads connections), its own connections and its own upstream client; workers share only the
 * gateway (configuration, key pool, counters).  SIGTERM/SIGINT: stop accepting, let in-flight
 * requests finish for up to drain_timeout, then exit.  SIGHUP: re-read the upstream key list. */
#ifndef GEMGATE_SERVER_H
#define GEMGATE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "http/http.h"
#include "pool/keypool.h"

struct event_base;
struct evconnlistener;
struct store;
struct ledger;
struct users;
struct prices;
struct keystore;
struct meter;
struct upstream;
struct conn;

/* What all workers share. */
typedef struct gateway {
  config cfg;
  keypool *pool;
  int64_t started_ms;
  atomic_llong requests, upstream_attempts, upstream_errors, retries;
  atomic_llong tokens_in, tokens_out;
  atomic_llong connections;        /* open client connections, all workers */
  struct settings *settings;   /* seed 004's settings for OpenAI requests (settings.h) */
  pthread_mutex_t reload_lock;
  struct store *store;         /* the database (store.h) */
  struct ledger *ledger;       /* one row per call (ledger.h) */
  struct users *users;         /* users, access keys, quotas (users.h) */
  struct prices *prices;       /* the price table (prices.h) */
  struct keystore *keystore;   /* upstream keys managed through the admin API (keystore.h) */
  struct meter *meter;         /* per-model minute/hour/day counts (meter.h) */
  struct owners *owners;       /* which key and user own each resource (owners.h) */
  struct uploads *uploads;     /* resumable uploads in progress (call/upload.h) */
  struct rshare *shared;       /* state shared with other instances through Redis, or NULL (rshare.h) */
  /* Asked once a request head is complete: true to run the handler now and let it pull the body
   * as a stream (http_body_read), not read it whole first (NULL: never). */
  bool (*stream_body)(const http_req *r);
  /* Called when a head announcing a body is complete, before any body byte is read: false after
   * it answered (a caller who will be refused), and the connection closes unread. */
  bool (*admit)(http_req *r);
} gateway;

typedef struct worker {
  int id;
  gateway *gw;
  const config *cfg;
  struct event_base *base;
  struct evconnlistener *listener;
  struct upstream *up;
  http_handler handler;
  struct conn *conns;
  size_t nconns;
  size_t peak_conns;           /* most connections since the last heap trim */
  bool draining;
  long long requests_done;
  struct event *drain_timer, *tick;
  struct event *accept_pause;  /* out of descriptors: the listener rests, this wakes it */
  int64_t accept_logged_ms;    /* the last "accept failed" line (one a second at most) */
  long long accept_failed;     /* failures since that line */
  pthread_t thread;
} worker;

/* Runs the gateway until a stop signal, every request going to handler (main passes the route
 * table's); returns the process exit code. */
int server_run(gateway *gw, http_handler handler);

/* Descriptors: raises RLIMIT_NOFILE's soft limit to the hard one, then lowers cfg->max_conns
 * (per worker) to what fits (server_conns_fit), logging both.  Call before server_run. */
void server_fit_fds(config *cfg);

/* The connections per worker that nofile descriptors hold, at most want: each connection may
 * have a client and an upstream socket open, beside SERVER_FD_RESERVE for the process and
 * SERVER_FD_PER_WORKER for each worker (loop, listener, DNS, the database's files).  At least 1. */
#define SERVER_FD_RESERVE 64
#define SERVER_FD_PER_WORKER 16
int64_t server_conns_fit(int64_t nofile, int workers, int64_t want);

/* How long the listener rests after accept ran out of descriptors (EMFILE/ENFILE), as nginx
 * does: accepting again at once would only fail again, at 100 % CPU. */
#define SERVER_ACCEPT_PAUSE_MS 500

/* Re-read the key list (SIGHUP, admin changes): config_read_keys then kp_set_keys. */
int server_reload_keys(gateway *gw);

/* How many keys GEMGATE_KEYS / GEMGATE_KEYS_FILE name now (read under the reload's lock: a
 * reload replaces the list from a store thread). */
size_t server_key_count(gateway *gw);

#endif
