/* http — the server side of HTTP/1.1: one connection, one request at a time.
 *
 * A connection reads a request head (bounded by max_header), then its body (Content-Length or
 * chunked, bounded by max_body), then hands the request to the worker's handler.  The handler
 * answers at once (http_reply) or later, possibly in pieces (http_start / http_send /
 * http_finish).  The request belongs to its connection: it is valid from the handler call until
 * the handler finishes the response, or until on_abort is called (the client went away), after
 * which the handler must not touch it.  Keep-alive, pipelining (in order), Expect: 100-continue,
 * idle and stalled-reader timeouts are handled here; the bytes themselves are parsed by
 * reqparse.h (pure), which decides every 400/413/431/501 answered before a handler runs. */
#ifndef GEMGATE_HTTP_H
#define GEMGATE_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "base/rc.h"
#include "base/util.h"

#define HTTP_MAX_HEADERS 100
#define HTTP_HIGH_WATER (256 * 1024)   /* pause the producer above this much unsent output */
#define HTTP_LOW_WATER  (64 * 1024)    /* and resume it below this */

struct worker;
struct conn;

typedef struct http_req http_req;
struct http_req {
  struct conn *conn;
  struct worker *w;
  str method, target, path, query;       /* path and query split from target, still encoded */
  int minor;                             /* HTTP/1.<minor> */
  http_header hdr[HTTP_MAX_HEADERS];
  size_t nhdr;
  char *body;                            /* NUL-terminated for convenience; body_len bytes */
  size_t body_len;
  int64_t t0_us;                         /* when the head was complete (mono_us) */
  /* A streamed body: the gateway's stream_body hook (server.h) chose it when the head was
   * complete, so the handler runs then, body stays empty and the body is pulled with
   * http_body_read, as the handler can pass it on (bounded memory however large it is). */
  bool body_stream;
  int64_t body_size;                     /* body_stream: its Content-Length, or -1 (chunked) */
  int body_error;                        /* body_stream: after HTTP_BODY_ERROR, the status (400, 413) */
  char ip[64];                           /* peer address */
  char rid[65];                          /* request id (reqid.h), set before the handler runs */

  /* Set by the handler when it answers asynchronously. */
  void *ctx;
  void (*on_abort)(http_req *r);         /* client gone; after it returns r is invalid */
  void (*on_drain)(http_req *r);         /* unsent output fell below HTTP_LOW_WATER */
  void (*on_body)(http_req *r);          /* body_stream: more of the body (or its end) arrived */

  /* Response state, read-only for handlers. */
  int status;
  bool started, chunked;
  int64_t bytes_out;
};

typedef void (*http_handler)(http_req *r);

/* Take over an accepted socket on worker w. */
void http_accept(struct worker *w, int fd, const char *ip);

/* Close idle connections and mark busy ones to close after their response (shutdown). */
void http_drain(struct worker *w);

/* Close every connection now, aborting in-flight requests (after a drain timed out). */
void http_close_all(struct worker *w);

/* The value of the first header called name (case-insensitive), or {NULL, 0}. */
str http_header_get(const http_req *r, str name);

/* The value of query parameter name (still percent-encoded), or {NULL, 0}. */
str http_query_get(const http_req *r, str name);

/* A complete response.  extra: preformatted header lines ("Retry-After: 5\r\n"), or NULL. */
void http_reply(http_req *r, int status, const char *ctype, const char *body, size_t len, const char *extra);

/* A complete JSON response; takes ownership of j. */
void http_reply_json(http_req *r, int status, json_t *j, const char *extra);

/* The HTTP status for a domain result (GG_BAD_INPUT 400, GG_NOT_FOUND 404, GG_CONFLICT 409,
 * GG_FORBIDDEN 403, GG_LIMITED 429, GG_BUSY and GG_UNAVAILABLE 503, the rest 500). */
int http_status_of(gg_rc rc);

/* A domain failure in Google's error shape: http_status_of(rc), with message (or, when NULL or
 * "", a generic one for the kind).  GG_BUSY adds Retry-After: 1. */
void http_error_rc(http_req *r, gg_rc rc, const char *message);

/* The body as a JSON object (an empty body is {}): a new reference, or NULL after answering
 * 400 "body must be a JSON object". */
json_t *http_body_object(http_req *r);

/* Google's error shape: {"error":{"code","message","status"}} — built here only.  gstatus NULL:
 * the status's own name (http_grpc_status).  http_error_json returns a new reference. */
json_t *http_error_json(int status, const char *gstatus, const char *message);
void http_error(http_req *r, int status, const char *gstatus, const char *message, const char *extra);

/* Start a response in pieces.  headers: preformatted lines (may be NULL).  content_length < 0
 * means unknown: chunked for HTTP/1.1 clients, close-delimited for HTTP/1.0. */
void http_start(http_req *r, int status, const char *headers, int64_t content_length);
void http_send(http_req *r, const void *data, size_t len);
void http_finish(http_req *r);

/* ---- streamed bodies (r->body_stream) ----
 * The connection holds at most HTTP_HIGH_WATER unread body bytes; it reads more from the client
 * as they are pulled, so a slow consumer holds the client back.  A response finished before the
 * whole body was read closes the connection afterwards. */
#define HTTP_BODY_END (-1)
#define HTTP_BODY_ERROR (-2)

/* Up to cap body bytes into buf: their number (> 0); 0 when none are buffered now (on_body runs
 * when more arrive); HTTP_BODY_END once the body is complete (at once for a buffered body);
 * HTTP_BODY_ERROR when its chunked framing is malformed or it passes GEMGATE_MAX_UPLOAD
 * (r->body_error says 400 or 413). */
long http_body_read(http_req *r, char *buf, size_t cap);

/* Bytes queued for the client and not yet written. */
size_t http_pending(const http_req *r);

/* End a started response abnormally: flush what is queued, then close the connection without
 * the terminating chunk, so the client sees a cut, not a clean end. */
void http_abort(http_req *r);

/* ---- taking a connection over (WebSocket) ----
 * After http_upgrade the connection is no longer HTTP: head (the 101 answer, complete) is sent,
 * the bytes read go to ops->on_read, and the caller writes with http_upgraded_send.  The
 * request r is over (do not touch it again).  ops->on_close(arg) is called once if the
 * connection goes (peer closed, error, a write stalled past GEMGATE_IDLE_TIMEOUT, shutdown);
 * after http_upgraded_close no callback comes.  Input already buffered is delivered on the next
 * loop turn. */
struct evbuffer;
typedef struct http_upgrade_ops {
  void (*on_read)(void *arg, struct evbuffer *in);   /* consume what you can; the rest stays */
  void (*on_drain)(void *arg);                       /* unsent output fell below HTTP_LOW_WATER */
  void (*on_close)(void *arg);
} http_upgrade_ops;
struct conn *http_upgrade(http_req *r, const char *head, size_t len, const http_upgrade_ops *ops, void *arg);
void http_upgraded_send(struct conn *c, const void *p, size_t n);
size_t http_upgraded_pending(const struct conn *c);
/* Flush what is queued, then close (lingering for the peer's close); detaches ops. */
void http_upgraded_close(struct conn *c);
/* The worker the connection lives on (its loop for timers; ->draining at shutdown). */
struct worker *http_upgraded_worker(const struct conn *c);
/* Its socket (for socket options only: reading and writing stay with the connection). */
int http_upgraded_fd(const struct conn *c);

const char *http_reason(int status);

/* True for the hop-by-hop headers of RFC 9110 §7.6.1 (Connection, Keep-Alive, Proxy-Connection,
 * TE, Trailer, Transfer-Encoding, Upgrade): they describe one connection and are never
 * forwarded, in either direction. */
bool http_hop_by_hop(str name);

/* Google's status name for an HTTP status ("RESOURCE_EXHAUSTED" for 429, ...). */
const char *http_grpc_status(int status);

#endif
