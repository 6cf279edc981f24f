/* h1parse — the HTTP/1.1 response side of the upstream client (h1client): the status line and
 * headers of a response head, then the body's framing (Content-Length, chunked, until close, or
 * none).  Pure functions over caller-owned bytes: no I/O, no allocation, so the caller decides
 * where bytes live and when they are consumed (which is how a paused transfer keeps its bytes). */
#ifndef GEMGATE_H1PARSE_H
#define GEMGATE_H1PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define H1_MAX_HEADERS 100   /* headers of a response head stored for the caller */

/* What a response head says about the message and its connection. */
typedef struct h1_head {
  int status;                /* 100..999 */
  int minor;                 /* HTTP/1.<minor> */
  int64_t content_length;    /* -1: no Content-Length */
  bool chunked;              /* Transfer-Encoding's last coding is chunked */
  bool other_te;             /* a Transfer-Encoding that is not chunked: the body runs until close */
  bool conn_close;           /* Connection: close */
  bool conn_keep_alive;      /* Connection: keep-alive (matters for HTTP/1.0) */
  size_t nhdr;               /* headers stored in the caller's array */
} h1_head;

/* Parses the response head at p[0..n).  Returns the head's length through its blank line once
 * it is complete, 0 while more bytes are needed, -1 when it is malformed: a bad status line
 * (a CTL in the reason included), a line with no colon, a field name that is not a token or
 * a value holding a CTL other than HTAB (NUL, a bare CR, DEL) — so every header that reaches
 * a caller can be written into a client's head as it is.  A bare LF ends a line (RFC 9112 2.2).  hdr receives up to cap
 * headers pointing into p (later ones still count for framing but are not stored). */
long h1_parse_head(const char *p, size_t n, h1_head *h, http_header *hdr, size_t cap);

/* A field line's name is a token and its value holds no CTL but HTAB. */
bool h1_field_ok(const char *name, size_t nn, const char *value, size_t vn);

/* True when the connection may carry another request after this response. */
bool h1_head_keep_alive(const h1_head *h);

typedef enum { H1B_NONE, H1B_LENGTH, H1B_CHUNKED, H1B_CLOSE } h1_body_mode;

/* Where a body's framing stands. */
typedef struct h1_body {
  h1_body_mode mode;
  int state;                 /* chunked: size line, data, data's CRLF, trailers */
  uint64_t left;             /* bytes of the current chunk (or of the whole body) still to come */
} h1_body;

/* The framing of the body that follows head h (RFC 9112 §6.3).  head_request: the request was
 * HEAD, so there is no body whatever the head says. */
void h1_body_init(h1_body *b, const h1_head *h, bool head_request);

typedef enum { H1_NEED, H1_DATA, H1_END, H1_BAD } h1_step;

/* Looks at the unconsumed bytes p[0..n).  *skip is set to the framing bytes at the front that
 * the caller must drop (chunk-size lines, CRLFs, trailers) whatever the result.  Then:
 * H1_DATA — *len body bytes start at p + *skip; they stay unconsumed until h1_body_take, so a
 *           caller that cannot take them now calls h1_body_step again later and gets them again;
 * H1_END  — the message is complete (a close-delimited body never ends here: see h1_body_eof);
 * H1_NEED — more bytes are needed;  H1_BAD — malformed framing. */
h1_step h1_body_step(h1_body *b, const char *p, size_t n, size_t *skip, size_t *len);

/* The caller consumed len bytes of the span h1_body_step returned. */
void h1_body_take(h1_body *b, size_t len);

/* True when the peer closing the connection completes the body (close-delimited). */
static inline bool h1_body_eof(const h1_body *b) { return b->mode == H1B_CLOSE; }

#endif
