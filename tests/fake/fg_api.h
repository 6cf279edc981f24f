/* fg_api — turns a parsed request into a reply plan: what to send, when, and how to end.
 * Transports (fg_loop for plain HTTP, fg_tls for HTTPS) carry the plan out; nothing here
 * touches a socket. */
#ifndef FG_API_H
#define FG_API_H

#include "fg_http.h"

/* Process-wide defaults from the command line. */
typedef struct fg_config {
    int chunks;      /* default stream length (--chunks) */
    int interval_ms; /* default pause between stream chunks (--interval-ms) */
} fg_config;
extern fg_config fg_conf;

/* Per-thread scratch for the handler; zero-initialise and set id. */
typedef struct fg_worker {
    unsigned id;  /* distinguishes threads in responseIds */
    uint64_t seq; /* responses made by this worker */
    fg_buf key;   /* percent-decoded ?key= value */
    int tls;      /* serving HTTPS: URLs the fake hands out say https:// */
} fg_worker;

/* FG_STREAM_RAW: /_fake/big.bin, raw_bytes zero bytes sent piece by piece. */
enum fg_stream { FG_STREAM_NONE, FG_STREAM_SSE, FG_STREAM_ARRAY, FG_STREAM_RAW };

/* What each candidate answers (planned by fg_gen_plan). */
enum fg_content {
    FG_CONTENT_TEXT,  /* "Hello from fake {model}" (streams: "chunk i ") */
    FG_CONTENT_WHOLE, /* the text in `text` (JSON mode, tool result), split over a stream */
    FG_CONTENT_CALL,  /* one functionCall part naming the function in `text` */
    FG_CONTENT_IMAGE, /* a text part and an inlineData PNG part */
};

/* A reply plan.  Reused across requests on one connection (buffers keep their capacity).
 * Order of events: wait slow_ms; then hang, or reset_now, or send head + entity, or for
 * streams send head + piece 0, then piece 1.. each interval_ms after the previous one was
 * handed to the kernel, resetting the connection after reset_after pieces when >= 0. */
typedef struct fg_reply {
    int hang;          /* never answer; read until the peer closes */
    int reset_now;     /* abort the connection (RST) before any byte */
    int close_after;   /* close the connection after this reply */
    int http10_keep;   /* HTTP/1.0 client asked for keep-alive: say yes in the head */
    int slow_ms;       /* delay before the response head */
    fg_buf head;       /* status line, headers, blank line */
    fg_buf body;       /* entity of a non-stream reply (unless sbody is set) */
    const char *sbody; /* static entity used instead of body when non-NULL */
    size_t sbody_len;
    enum fg_stream stream;
    int chunked;       /* stream pieces carry chunked framing (HTTP/1.1 clients) */
    int chunks;        /* content objects asked for (x-fake-chunks, chunks<N>, --chunks) */
    int objects;       /* JSON objects in the stream (thought, content, error) */
    int pieces;        /* writes in the stream: max(objects, 1) */
    int interval_ms;
    long chunk_bytes;  /* pad each object to about this size (0: no padding) */
    int reset_after;   /* -1: never */
    long prompt_tokens;
    int thoughts;      /* the request asked for thinking: count 3 thought tokens */
    long cached_tokens; /* tokens of the owned cachedContent the request names (0: none) */
    fg_buf usage;      /* x-fake-usage: the usageMetadata object to send instead (len 0: none) */
    /* Generation features (fg_gen_plan). */
    int ncand;         /* candidates per answer (candidateCount) */
    int thought_part;  /* includeThoughts: a thought part first (streams: object 0) */
    enum fg_content content;
    int content_objects; /* stream objects carrying content (after the thought object) */
    int error_at;      /* stream object that is the mid-stream error, -1 for none */
    char finish[48];   /* finishReason of the last content object */
    fg_buf text;       /* FG_CONTENT_WHOLE: the answer (raw); FG_CONTENT_CALL: function name */
    long long raw_bytes; /* FG_STREAM_RAW: zero bytes to send */
    fg_buf model;      /* model name, JSON-escaped */
    char resp_id[24];
    fg_buf piece;      /* the current stream piece, framed, ready to send */
    fg_buf tmp;        /* scratch for building a piece */
} fg_reply;

/* Builds the static bodies (model list, …); call once at start-up. */
void fg_api_init(void);
/* Frees what fg_api_init built. */
void fg_api_free(void);
/* Frees a reply's buffers. */
void fg_reply_free(fg_reply *r);

/* Plans the reply to req (any route, /_fake/... included), counting it in fg_state. */
void fg_api_handle(fg_worker *w, const fg_req *req, fg_reply *r);
/* Plans the reply to a request that could not be parsed (400, 413 or 431; then close). */
void fg_api_parse_error(int parse_result, fg_reply *r);
/* Builds stream piece i (0-based, < r->pieces) into r->piece, including the chunked
 * terminator after the last piece. */
void fg_api_piece(fg_reply *r, int i);

/* The entity of a non-stream reply. */
static inline fg_str fg_reply_entity(const fg_reply *r)
{
    if (r->sbody)
        return (fg_str){r->sbody, r->sbody_len};
    return (fg_str){r->body.p, r->body.len};
}

#endif
