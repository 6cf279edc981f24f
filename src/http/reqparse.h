/* reqparse — the request side of HTTP/1.1 as pure functions: a request head, then a chunked
 * body's framing.  Bytes in, a verdict out: "need more", a parsed head, or an error with the
 * HTTP status to answer.  No I/O, no allocation, no connection: the caller (http.c) owns the
 * bytes, and everything parsed points into them.
 *
 * What is accepted, on purpose strictly (a gateway in front of paid keys should not guess):
 * request line METHOD SP target SP HTTP/1.0|1.1 with a token method and an origin-form target
 * (any form for OPTIONS); header names are tokens (RFC 9110 tchar exactly: no NUL), values
 * have no control bytes but tab; no obs-fold; HTTP/1.1 needs exactly one valid Host (400).
 * Content-Length together with Transfer-Encoding is refused (smuggling), as are two different
 * Content-Lengths, two Transfer-Encoding lines and Transfer-Encoding on HTTP/1.0 (400).  The
 * only transfer coding is "chunked", and it must be the last one: not last or twice → 400
 * (the length cannot be known), another coding before it → 501 (RFC 9112 6.3).  In a chunked
 * body the size is 1*HEXDIG, extensions follow the grammar, and trailers are field lines. */
#ifndef GEMGATE_REQPARSE_H
#define GEMGATE_REQPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef enum { RP_NEED, RP_DONE, RP_ERROR } rp_step;

typedef enum {
  RP_BODY_NONE,              /* neither Content-Length nor Transfer-Encoding: no body */
  RP_BODY_LENGTH,            /* Content-Length (content_length bytes, maybe 0) */
  RP_BODY_CHUNKED            /* Transfer-Encoding: chunked (rp_chunked below) */
} rp_framing;

typedef struct rp_limits {
  size_t max_header;         /* the head, through its blank line, at most this long (431) */
  int64_t max_body;          /* a body at most this long (413) */
} rp_limits;

/* A request head.  The strs point into the caller's bytes. */
typedef struct rp_head {
  size_t len;                /* bytes of the head through its blank line (RP_DONE) */
  str method, target, path, query;   /* path and query split from target, still encoded */
  int minor;                 /* HTTP/1.<minor>; 1 until the request line was read */
  size_t nhdr;               /* headers stored in the caller's array */
  rp_framing framing;
  int64_t content_length;    /* RP_BODY_LENGTH: the body's length; else 0 */
  bool keep_alive;           /* the connection may carry another request after this one */
  bool expect_continue;      /* answer "100 Continue" now: the client waits for it to send
                                a body (HTTP/1.1, Expect: 100-continue, a body to come) */
  int status;                /* RP_ERROR: the HTTP status to answer (400, 413, 431, 501) */
  const char *error;         /* RP_ERROR: the message to answer with (static) */
} rp_head;

/* Looks at p[0..n), the bytes of a connection from the start of a request on (a head, maybe
 * followed by its body and more requests).  RP_NEED: no blank line yet, and n is within
 * max_header.  RP_DONE: the head is p[0..h->len) and *h describes it, with up to cap headers
 * in hdr (pointing into p).  RP_ERROR: h->status and h->error say what to answer (h->minor
 * what the request line said, if it got that far). */
rp_step rp_head_parse(const char *p, size_t n, const rp_limits *lim, rp_head *h,
                      http_header *hdr, size_t cap);

/* rp_head_parse for a caller that already found the blank line: p[0..len) is the whole head,
 * ending in CRLF CRLF.  Never RP_NEED. */
rp_step rp_head_parse_complete(const char *p, size_t len, const rp_limits *lim, rp_head *h,
                               http_header *hdr, size_t cap);

/* ---------- a chunked body ---------- */

#define RP_CHUNK_LINE_MAX 256                  /* a size or trailer line is shorter, CRLF aside */
#define RP_CHUNK_WINDOW (RP_CHUNK_LINE_MAX + 1) /* bytes rp_chunked_frame needs to decide */

typedef enum {
  RP_CHUNK_SIZE,             /* a chunk-size line (with extensions) */
  RP_CHUNK_DATA,             /* left bytes of chunk data */
  RP_CHUNK_CRLF,             /* the CRLF after chunk data */
  RP_CHUNK_TRAILER,          /* trailer lines (read and dropped) up to the blank line */
  RP_CHUNK_END               /* the body is complete */
} rp_chunk_state;

#define RP_TRAILERS_MAX 32                     /* trailer lines past this: 431 */

typedef struct rp_chunked {
  rp_chunk_state state;
  unsigned trailers;         /* trailer lines read so far */
  uint64_t left;             /* RP_CHUNK_DATA: bytes of the current chunk still to come */
  uint64_t total;            /* body bytes announced so far (sum of the chunk sizes) */
  int64_t max_body;
} rp_chunked;

void rp_chunked_init(rp_chunked *d, int64_t max_body);

/* Every state but RP_CHUNK_DATA and RP_CHUNK_END: p[0..n) is the front of the unconsumed
 * input, and n is at least the smaller of what is buffered and RP_CHUNK_WINDOW.  Returns the
 * framing bytes consumed (> 0) and moves d on; 0 when more input is needed; RP_ERROR's
 * status/error through *status and *error (400 malformed, 413 over max_body, 431 more than
 * RP_TRAILERS_MAX trailer lines) as -1.  A line is malformed once RP_CHUNK_WINDOW bytes hold
 * no CRLF, however they arrived.  After a
 * size line d->state is RP_CHUNK_DATA with d->left > 0, or RP_CHUNK_TRAILER for the last
 * chunk; after the trailers' blank line, RP_CHUNK_END. */
long rp_chunked_frame(rp_chunked *d, const char *p, size_t n, int *status, const char **error);

/* RP_CHUNK_DATA: of avail buffered bytes, how many are chunk data to take now (0: need more);
 * moves d on to RP_CHUNK_CRLF when the chunk is complete. */
size_t rp_chunked_data(rp_chunked *d, size_t avail);

#endif
