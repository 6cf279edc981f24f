/* upstream — the HTTP client towards Gemini, one per worker, driven by the worker's libevent
 * loop.  Direct calls go through gemgate's own HTTP/1.1 client (h1client.h: pooled keep-alive
 * connections per origin); calls through an outbound proxy and client-named fetches go through
 * a libcurl multi handle.  HTTP/1.1 only, both ways: pausing is how a slow client holds back the
 * upstream, and curl 7.88's HTTP/2 pause/resume is unreliable.
 *
 * A call reports its response head once (on_head), its body piece by piece as it arrives
 * (on_data, which may ask to pause), and its end exactly once (on_done) — unless the caller
 * cancels it first, after which no callback runs. */
#ifndef GEMGATE_UPSTREAM_H
#define GEMGATE_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/util.h"

struct event_base;
typedef struct upstream upstream;
typedef struct up_call up_call;

enum { UP_CONTINUE = 0, UP_PAUSE = 1, UP_ABORT = 2 };

/* Why a call failed; UP_OK when the whole response arrived. */
typedef enum { UP_OK, UP_ERR_CONNECT, UP_ERR_TLS, UP_ERR_TIMEOUT, UP_ERR_RECV, UP_ERR_OTHER } up_error;

typedef struct up_callbacks {
  void (*on_head)(void *ctx, int status, const http_header *h, size_t n);
  /* Return UP_PAUSE to hold the transfer: the bytes are NOT consumed and come again after
   * up_resume.  UP_ABORT fails the call (on_done follows with UP_ERR_OTHER). */
  int (*on_data)(void *ctx, const char *p, size_t n);
  void (*on_done)(void *ctx, up_error err, const char *msg);
} up_callbacks;

typedef struct up_request {
  const char *method;
  const char *url;                 /* full URL */
  const char *const *headers;      /* "Name: value" lines, n_headers of them */
  size_t n_headers;
  const char *body;                /* borrowed: must outlive the call */
  size_t body_len;
  const char *proxy;               /* NULL: direct */
  int64_t timeout_ms;              /* connect timeout, and total time unless stream */
  int64_t idle_ms;                 /* stream: cut after this long without a byte (0: off) */
  int stream;                      /* 1: no total timeout, idle timeout instead */
  int fetch;                       /* 1: a client-named URL (images): http(s) only, ≤ 3
                                      redirects, and no private or loopback address unless
                                      GEMGATE_FETCH_PRIVATE is set */
  /* A body supplied in pieces (uploads), instead of body/body_len: body_size bytes (-1: not
   * known, sent chunked).  When the client can send, it calls body_read(ctx, buf, cap) (ctx:
   * up_start's), which copies up to cap bytes and returns their number, 0 when none are ready
   * yet (then call up_body_ready once some are), UP_BODY_END when the body is complete, or
   * UP_BODY_ERROR to fail the call.  Time waiting for body bytes is not counted by timeout_ms,
   * which then bounds each wait for the upstream (to accept bytes, then to answer).  Direct
   * calls only: up_start refuses a streamed body with a proxy. */
  long (*body_read)(void *ctx, char *buf, size_t cap);
  int64_t body_size;
} up_request;

#define UP_BODY_END (-1)
#define UP_BODY_ERROR (-2)

/* A client on loop base (the worker's).  cfg is borrowed and must outlive the client: ca_file,
 * fetch_private and timeout_ms are read from it. */
upstream *up_new(struct event_base *base, const config *cfg);
void up_free(upstream *u);

/* Start a call.  NULL when it could not be started (then no callback runs). */
up_call *up_start(upstream *u, const up_request *req, const up_callbacks *cb, void *ctx);

/* Let a paused call deliver again.  Callable from outside the call's own callbacks. */
void up_resume(up_call *c);

/* A call with a streamed body that got 0 from body_read: bytes (or the end) are ready now.
 * Never calls back before returning (the send continues from the loop). */
void up_body_ready(up_call *c);

/* Stop a call; no callback runs afterwards.  Not from inside the call's own callbacks. */
void up_cancel(up_call *c);

/* Calls in flight on this worker. */
size_t up_active(const upstream *u);

/* The configuration up_new was given. */
const config *up_config(const upstream *u);

#endif
