/* anthropic — the pure translation layer between Anthropic's Messages API and Gemini's.
 *
 * Messages requests in, Gemini generateContent (or countTokens) bodies out; Gemini answers in,
 * Anthropic messages and stream events out.  No I/O, no clocks, no randomness: ids and model
 * names are passed in, so the same input always gives the same bytes.  The glue
 * (call/anthropic_route.c) authenticates, chooses keys, fetches image URLs and writes answers.
 *
 * Conventions (as in openai/)
 * - Input bodies are (pointer, length) byte ranges, never NUL-terminated, never kept.
 * - Every json_t * returned is a new reference owned by the caller.
 * - Functions that can refuse their input fill an anth_error (HTTP status, Anthropic error type,
 *   message) and return -1 / NULL; nothing needs freeing after a failure.
 * - Bad client input is a 400 whose message starts with the field's path, the way Anthropic
 *   writes it ("messages.2.content.0.type: …"); a field the gateway cannot honour is refused by
 *   name, never dropped.  A malformed upstream answer is a 502.
 * docs/dialects.md has the field tables. */
#ifndef GEMGATE_ANTHROPIC_H
#define GEMGATE_ANTHROPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/alias.h"
#include "base/dbuf.h"

#define ANTH_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))
#define ANTH_EVENT_CAP (4u << 20)     /* largest upstream SSE event the stream translator holds */
#define ANTH_MAX_FETCHES 32           /* image URLs per request */
#define ANTH_PROMPT_CHARS 500

/* ---------------------------------------------------------------- errors */

typedef struct anth_error {
  int status;                 /* HTTP status to answer with */
  char type[32];              /* invalid_request_error, authentication_error, … */
  char message[512];          /* cut at a UTF-8 character boundary */
} anth_error;

/* Fill e; type NULL: anth_error_type(status). */
void anth_error_set(anth_error *e, int status, const char *type, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* Anthropic's error type for a status: 400 invalid_request_error, 401 authentication_error,
 * 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
 * 503 and 529 overloaded_error, other 5xx api_error (other 4xx invalid_request_error). */
const char *anth_error_type(int status);
/* {"type":"error","error":{"type","message"}}. */
json_t *anth_error_json(const anth_error *e);
/* An upstream (Google) error answer with HTTP status → e: the status is kept for 4xx and 5xx
 * (anything else 502), Google's message is kept, prefixed by its status name. */
void anth_google_error(int status, const char *body, size_t n, anth_error *e);
/* Append the SSE event `event: error` for e.  0 or -1. */
int anth_sse_error(dbuf *out, const anth_error *e);

/* ---------------------------------------------------------------- requests */

/* An image URL the glue must fetch; part is the empty object in body that anth_fetch_fill
 * completes (it lives as long as body). */
typedef struct anth_fetch {
  char *url;
  json_t *part;
  char param[128];
} anth_fetch;

typedef struct anth_req {
  char *model;                /* the Gemini model (after the aliases), without "models/" */
  char *client_model;         /* the name the client asked for, reported back */
  bool stream;
  json_t *body;               /* generateContent body, or countTokens body ({generateContentRequest}) */
  anth_fetch *fetch;
  size_t nfetch;
} anth_req;

/* Translate a POST /v1/messages body (count false) or a /v1/messages/count_tokens body (count
 * true: no max_tokens, no stream; the body is {"generateContentRequest":{…}}) into q.  al (may
 * be NULL) maps the model name.  0, or -1 with e filled and q zeroed. */
int anth_parse(const char *p, size_t n, const model_aliases *al, bool count, anth_req *q, anth_error *e);
/* Complete f->part with inlineData from fetched bytes (type sniffed, else content_type when it
 * names an image).  0, or -1 with a 400 in e. */
int anth_fetch_fill(const anth_fetch *f, const char *content_type, const void *data, size_t len, anth_error *e);
void anth_req_free(anth_req *q);

/* ---------------------------------------------------------------- answers */

/* Token counts as Anthropic reports them, from Gemini's last usageMetadata. */
typedef struct anth_usage {
  int64_t input;              /* promptTokenCount less the cached part */
  int64_t cached;             /* cachedContentTokenCount → cache_read_input_tokens */
  int64_t output;             /* candidates + thoughts */
  int64_t thoughts;
  bool seen;
} anth_usage;

/* What the glue tells an answer translation (borrowed for the call; anth_stream_new copies). */
typedef struct anth_meta {
  const char *id;             /* "msg_…": tool_use ids derive from it */
  const char *model;          /* the model name to report */
} anth_meta;

/* A generateContent answer → a Message object.  NULL with e filled: 502 when it is not an
 * answer; an {"error":…} body mapped as anth_google_error.  u (may be NULL) gets the usage. */
json_t *anth_response(const char *p, size_t n, const anth_meta *m, anth_usage *u, anth_error *e);
/* A countTokens answer → {"input_tokens":N}. */
json_t *anth_count_response(const char *p, size_t n, anth_error *e);
/* A Gemini models.list answer → Anthropic's list {"data":[{"type":"model","id","display_name",
 * "created_at"}],"has_more":false,"first_id","last_id"}, the exact aliases (al) listed too.
 * one (may be NULL): only that model, or NULL with a 404 in e. */
json_t *anth_models(const char *p, size_t n, const model_aliases *al, const char *one, anth_error *e);

/* A stateful translator of streamGenerateContent?alt=sse into Anthropic's event stream:
 * message_start, ping, then per block content_block_start / content_block_delta (text_delta,
 * thinking_delta, signature_delta, input_json_delta) / content_block_stop, then message_delta
 * (stop_reason, usage) and message_stop.  Feed it upstream bytes in pieces of any size. */
typedef struct anth_stream anth_stream;

enum { ANTH_STREAM_MORE = 0, ANTH_STREAM_END = 1 };

anth_stream *anth_stream_new(const anth_meta *m);
/* Translate n more upstream bytes, appending events to out.  ANTH_STREAM_END: an error event
 * was appended (upstream error event, malformed event, event over the cap); stop feeding. */
int anth_stream_feed(anth_stream *s, const char *p, size_t n, dbuf *out);
/* The upstream ended cleanly: close the open block, append message_delta and message_stop.
 * ANTH_STREAM_END when an error event was appended instead (e.g. no event at all). */
int anth_stream_finish(anth_stream *s, dbuf *out);
/* The upstream failed mid-stream: append the error event for e (NULL: a 502). */
void anth_stream_abort(anth_stream *s, const anth_error *e, dbuf *out);
const anth_usage *anth_stream_usage(const anth_stream *s);
void anth_stream_free(anth_stream *s);

#endif
