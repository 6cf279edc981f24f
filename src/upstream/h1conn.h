/* h1conn — connections of the upstream client (h1client): opening them (DNS through h1dns,
 * non-blocking connect trying each address in turn, the TLS handshake through h1tls), reading
 * and writing on them plain or TLS alike, and one pool of idle keep-alive connections per origin
 * (scheme, host, port) per worker.
 *
 * A connection is either in use by one owner (a call) or idle in its origin's pool.  In use, it
 * reports to its owner through the pool's h1_conn_ops.  Idle, it stays registered for reading:
 * a peer that closes it (EOF, reset) or sends anything unexpected is noticed by the event loop
 * and the connection is dropped at once; taking one peeks once more (one recv), for what came
 * within the loop turn: a connection with unexpected bytes is closed, never reused.
 * Idle connections are capped per origin (H1_IDLE_MAX) and closed after H1_IDLE_MS unused. */
#ifndef GEMGATE_H1CONN_H
#define GEMGATE_H1CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "upstream/h1dns.h"
#include "upstream/upstream.h"

#define H1_BUF (64 * 1024)        /* read buffer per connection; also bounds a response head */
#define H1_IDLE_MAX 256           /* idle connections kept per origin */
#define H1_IDLE_MS 60000          /* an idle connection unused this long is closed */
#define H1_AGAIN (-1)             /* h1conn_read / h1conn_write: would block; wait for an event */
#define H1_ERROR (-2)             /*                              failed; msg says why */

struct event_base;
struct event;
typedef struct h1_pool h1_pool;
typedef struct h1_origin h1_origin;
typedef struct h1_conn h1_conn;

/* What a connection in use reports to its owner.  failed: opening it failed (DNS, connect,
 * TLS); the connection is already closed and freed when this runs. */
typedef struct h1_conn_ops {
  void (*ready)(void *owner);                            /* open (and handshaken): send */
  void (*io)(void *owner, short what);                   /* EV_READ and/or EV_WRITE */
  void (*failed)(void *owner, up_error err, const char *msg);
} h1_conn_ops;

/* One connection.  The owner uses buf[rpos..rlen) (bytes read, not yet consumed) and uses; the
 * other fields belong to h1conn.c. */
struct h1_conn {
  h1_origin *o;
  void *owner;                    /* NULL while idle */
  size_t rpos, rlen;
  unsigned uses;                  /* requests begun on it, the current one included */
  int fd, state;
  struct ssl_st *ssl;
  struct event *rev, *wev;        /* rev: EV_READ|EV_PERSIST while open and not paused */
  bool rev_on, wev_on, idle;
  h1_conn *prev, *next;           /* the origin's idle list */
  int64_t idle_since_ms;
  h1dns_wait dw;
  h1_addrs addrs;
  int ai;                         /* the address being tried */
  char buf[];                     /* H1_BUF bytes */
};

h1_pool *h1pool_new(struct event_base *base, const char *ca_file, const h1_conn_ops *ops);

/* Closes the idle connections and frees the origins; connections in use must be closed first. */
void h1pool_free(h1_pool *p);

/* The origin for (tls, host, port), created on first use and kept for the pool's lifetime.
 * host: without IPv6 brackets (at most 255 bytes).  NULL on OOM. */
h1_origin *h1pool_origin(h1_pool *p, bool tls, const char *host, size_t hostn, uint16_t port);

/* The Host header value for an origin: host (bracketed when IPv6), ":port" unless the
 * scheme's default.  NUL-terminated; *len gets its length. */
const char *h1_origin_hosthdr(const h1_origin *o, size_t *len);

/* The most recently used idle connection of o with nothing unread (closed or not: h1conn.c
 * idle_quiet), now owned by owner; NULL when none. */
h1_conn *h1pool_take(h1_origin *o, void *owner);

/* Opens a new connection to o for owner.  Never calls back before returning: ops->ready or
 * ops->failed follows from the loop.  NULL when it failed at once (*err and msg say why). */
h1_conn *h1conn_open(h1_origin *o, void *owner, up_error *err, char *msg, size_t cap);

/* The owner is done and the connection sits at a message boundary: back to the idle pool (or
 * closed when the pool is full). */
void h1conn_release(h1_conn *k);

/* Closes and frees k, in any state; no callback runs. */
void h1conn_close(h1_conn *k);

/* Reads into buf[rlen..H1_BUF), advancing rlen.  > 0: bytes read; 0: the peer closed;
 * H1_AGAIN; H1_ERROR (msg set). */
long h1conn_read(h1_conn *k, char *msg, size_t cap);

/* Writes from iov (TLS: from its first non-empty part).  Bytes written, H1_AGAIN (the owner
 * gets an io when it may retry), or H1_ERROR (msg set). */
long h1conn_write(h1_conn *k, const struct iovec *iov, int n, char *msg, size_t cap);

/* TLS bytes already read from the socket and not yet returned (the loop would not report
 * them: read again before waiting). */
bool h1conn_pending(const h1_conn *k);

/* Schedules an io(EV_READ) from the loop, for bytes the loop cannot see (h1conn_pending). */
void h1conn_kick(h1_conn *k);

/* Ask for (or stop asking for) an io(EV_WRITE) once the socket is writable. */
void h1conn_want_write(h1_conn *k, bool on);

/* Stop reading the socket (backpressure), or start again; resuming also schedules an
 * io(EV_READ) from the loop so bytes kept meanwhile are delivered without new input. */
void h1conn_pause(h1_conn *k, bool paused);

#endif
