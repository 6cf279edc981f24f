/* fg_http — minimal HTTP/1.1 request parsing (head, Content-Length and chunked bodies)
 * and response-head writing.  Transport independent: works on a byte buffer. */
#ifndef FG_HTTP_H
#define FG_HTTP_H

#include "fg_buf.h"
#include "fg_sink.h"

#define FG_MAX_HDRS 64
#define FG_MAX_HEAD (64u * 1024u)          /* request line + headers */
#define FG_MAX_BODY (256u * 1024u * 1024u) /* decoded body */

typedef struct fg_hdr {
    fg_str name, value;
} fg_hdr;

/* One parsed request.  Every fg_str points into the caller's input buffer and is valid
 * until that buffer is changed. */
typedef struct fg_req {
    fg_str method, target, path, query; /* path/query split target at '?' */
    int minor;                          /* HTTP/1.<minor> */
    int keep_alive;                     /* connection may serve another request */
    int expect_continue;                /* "Expect: 100-continue" was sent */
    int chunked;                        /* body used Transfer-Encoding: chunked */
    long long content_length;           /* -1 when absent */
    fg_hdr hdrs[FG_MAX_HDRS];
    int nhdrs;
    fg_str api_key;                     /* x-goog-api-key header (n == 0 when absent) */
    long x_chunks, x_interval_ms, x_chunk_bytes, x_status; /* x-fake-* (-1 when absent) */
    long x_error_after;                 /* x-fake-error-after (-1 when absent) */
    fg_str x_finish;                    /* x-fake-finish (n == 0 when absent) */
    fg_str head;                        /* raw request line + headers incl. final CRLFCRLF */
    fg_str body;                        /* decoded body (empty when sink is set) */
    const fg_sink *sink;                /* the streamed body's count and hash, or NULL */
} fg_req;

/* Incremental parse state for one request; zero it to start the next request. */
typedef struct fg_parser {
    size_t scan;        /* where the search for the end of the head resumes */
    size_t head_len;    /* 0 until the head is complete */
    size_t need;        /* Content-Length framing: total bytes of this request */
    int chunked;        /* chunked framing: the fields below are live */
    int cstate;         /* chunk decoder state */
    size_t crem;        /* bytes left in the current chunk */
    size_t raw_pos;     /* next undecoded raw byte */
    size_t dec_end;     /* end of the decoded body (decoded in place, behind raw_pos) */
    int want_continue;  /* the caller should send "100 Continue" now (it clears this) */
    int continue_done;  /* 100 Continue was already offered for this request */
    fg_sink sink;       /* sink.on: the body streams (fg_http_sink_open said so) */
    size_t shrink;      /* bytes this call removed from the buffer: the caller's length must
                           drop by as much (a streamed body is consumed as it arrives) */
} fg_parser;

/* Asked once per request when its head is parsed: returns 1 (after seeding *s) when the body
 * must stream through a sink instead of being buffered; no size limit applies then.  NULL (the
 * default) streams nothing. */
extern int (*fg_http_sink_open)(const fg_req *req, fg_sink *s);

/* The value of the first header called name (case-insensitive), or n == 0. */
fg_str fg_req_header(const fg_req *req, const char *name);

enum {
    FG_PARSE_MORE = 0,    /* need more bytes */
    FG_PARSE_DONE = 1,    /* *req holds a complete request */
    FG_PARSE_BAD = -1,    /* malformed: answer 400 and close */
    FG_PARSE_TOOBIG = -2, /* body over the limit: answer 413 and close */
    FG_PARSE_HEAD_TOOBIG = -3, /* head over the limit: answer 431 and close */
};

/* Parses the request at the start of buf[0..len).  Chunked bodies are decoded in place, so
 * buf is modified; a streamed body is hashed and cut out of buf (see ps->shrink).  On FG_PARSE_DONE fills *req and sets *consumed to the number of raw
 * bytes this request used (the next pipelined request starts there).  On FG_PARSE_MORE,
 * *hint is the total size the buffer needs to reach (0 if unknown). */
int fg_http_parse(fg_parser *ps, char *buf, size_t len, fg_req *req, size_t *consumed,
                  size_t *hint);

/* Counts the CR/LF bytes at the start of buf: stray line ends some clients send after a
 * body, which a server should skip before the next request line (RFC 9112 §2.2). */
size_t fg_http_leading_crlf(const char *buf, size_t len);

/* Parses a complete head (request line + headers, ending in CRLFCRLF).  Returns 0 or -1. */
int fg_http_parse_head(const char *buf, size_t head_len, fg_req *req);

/* Returns the reason phrase for an HTTP status code. */
const char *fg_http_reason(int code);

/* Appends "HTTP/1.1 <code> <reason>" plus the headers every answer carries (Server, Date,
 * Google's Vary set) and Content-Type.  The caller adds framing headers and the blank line. */
void fg_http_head_start(fg_buf *out, int code, const char *ctype);

/* Converts ASCII to lower case in place. */
void fg_lower(char *s, size_t n);

/* Parses a non-negative decimal; returns -1 if s is not all digits or too large. */
long long fg_parse_u(const char *s, size_t n);

#endif
