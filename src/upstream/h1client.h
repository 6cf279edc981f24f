/* h1client — gemgate's own HTTP/1.1 client for upstream calls, one per worker, driven by the
 * worker's libevent loop.  upstream.c sends it every direct call (no outbound proxy, not a
 * client-named fetch) and keeps libcurl for the rest; the calls here keep upstream.h's contract
 * exactly: on_head once, on_data in pieces (UP_PAUSE keeps the bytes for after h1_resume,
 * UP_ABORT fails the call), on_done exactly once unless cancelled, and no callback ever runs
 * before h1_start has returned.
 *
 * Why not libcurl here: on the passthrough path it was most of the gateway's instructions per
 * request and added its own system calls (connection checks, proxy lookups) to each call.
 *
 * How: keep-alive connections pooled per origin (h1conn), a request written with one writev
 * (head built into a reused buffer, body borrowed), the response parsed in place from the
 * connection's read buffer (h1parse), DNS through evdns with a cache (h1dns), TLS with OpenSSL
 * (h1tls).  A request that fails on a reused connection before any response byte arrived is sent
 * again once on a fresh connection: the old one had gone stale, and no byte reached the caller.
 * Timeouts as upstream.c's curl path: timeout_ms for the whole call (connect included), or for a
 * stream with idle_ms: timeout_ms until the first byte, then idle_ms between bytes.  Neither runs
 * while the call is paused: the total timeout stops and resumes with what was left, so it
 * measures only time spent waiting on the upstream, never on a slow client. */
#ifndef GEMGATE_H1CLIENT_H
#define GEMGATE_H1CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "upstream/upstream.h"

struct event_base;
typedef struct h1_client h1_client;
typedef struct h1_call h1_call;

/* The first member of every call handle upstream.c hands out (an h1_call here, a libcurl call
 * there), so up_resume / up_cancel know which engine a handle belongs to. */
typedef struct up_tag { bool curl; } up_tag;

/* ca_file: the CA bundle for TLS (NULL: the system's); borrowed for the client's lifetime. */
h1_client *h1_new(struct event_base *base, const char *ca_file);

/* Closes every connection; calls still in flight are dropped without a callback. */
void h1_free(h1_client *cl);

/* Starts a call (req as in upstream.h; proxy and fetch are ignored).  NULL when the URL is not
 * one this client serves (scheme other than http/https, user info, bad port or characters) or
 * memory ran out — the caller may use another engine; no callback runs then. */
h1_call *h1_start(h1_client *cl, const up_request *req, const up_callbacks *cb, void *ctx);

/* As up_resume / up_cancel / up_active. */
void h1_resume(h1_call *c);
void h1_cancel(h1_call *c);
size_t h1_active(const h1_client *cl);

/* The streamed body has bytes again (up_body_ready). */
void h1_body_ready(h1_call *c);

#endif
