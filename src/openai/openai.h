/* openai — the pure translation layer between OpenAI's API and Gemini's.
 *
 * OpenAI request bodies in, Gemini request bodies out; Gemini answers in, OpenAI answers out.
 * No I/O, no clocks, no randomness: whatever a translation needs (ids, timestamps, settings) is
 * passed in, so the same input always gives the same bytes.  The glue (proxy.c) chooses keys,
 * calls the upstream, fetches http(s) images and writes the answers.
 *
 * Conventions
 * - Input bodies are (pointer, length) byte ranges, never NUL-terminated, never kept.
 * - Every json_t * returned is a new reference owned by the caller (json_decref).
 * - Functions that can refuse their input fill an oai_error (HTTP status, OpenAI error type,
 *   code, param, message) and return -1 / NULL; nothing needs freeing after a failure.
 * - Serialise what these functions produce with oai_dump (compact, 17 significant digits), not
 *   with a lower JSON_REAL_PRECISION, so that floats (embeddings, temperatures) survive intact.
 * - Bad client input is a 400 with a param naming the field ("messages[2].content[0].type");
 *   a malformed upstream answer is a 502. */
#ifndef GEMGATE_OPENAI_H
#define GEMGATE_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/util.h"

#define OAI_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))
#define OAI_EVENT_CAP (4u << 20)      /* largest upstream SSE event the stream translator holds */
#define OAI_MAX_FETCHES 32            /* http(s) images per chat request */
#define OAI_MAX_CHOICES 8             /* n / candidateCount upper bound (Gemini's) */
#define OAI_PROMPT_CHARS 500          /* characters of the prompt kept for the ledger */
#define OAI_EMBED_BATCH 100           /* Gemini's batchEmbedContents limit per call */
#define OAI_EMBED_MAX_INPUTS 2048     /* OpenAI's limit per embeddings request */
#define OAI_SCHEMA_MAX_DEPTH 64       /* JSON Schema nesting accepted in tools / response_format */
#define OAI_DEFAULT_IMAGE_MODEL "imagen-3.0-generate-002"

/* ---------------------------------------------------------------- buffers and errors */

/* A growable byte buffer.  Zero-initialise it; the owner frees it with oai_buf_free.  Drain it
 * by sending p[0..n) and setting n = 0 (the memory is kept for reuse). */
typedef struct oai_buf { char *p; size_t n, cap; } oai_buf;

/* Append n bytes; 0, or -1 when out of memory (the buffer is unchanged then). */
int oai_buf_append(oai_buf *b, const void *p, size_t n);
/* Release the memory; the buffer is empty and reusable afterwards. */
void oai_buf_free(oai_buf *b);

/* An error to answer in OpenAI's shape.  Plain arrays, nothing to free.  Empty param / code
 * strings are written as JSON null. */
typedef struct oai_error {
  int status;            /* HTTP status to answer with */
  char type[32];         /* invalid_request_error, authentication_error, rate_limit_error, … */
  char code[48];
  char param[128];
  char message[512];     /* cut at a UTF-8 character boundary when longer */
} oai_error;

/* Fill e.  type NULL: the usual type for status (oai_error_type).  code/param NULL: null. */
void oai_error_set(oai_error *e, int status, const char *type, const char *code, const char *param,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* OpenAI's error type for an HTTP status: 400 invalid_request_error, 401 authentication_error,
 * 403 permission_error, 404 not_found_error, 429 rate_limit_error, 5xx api_error. */
const char *oai_error_type(int status);
/* {"error":{"message","type","param","code"}}; new reference, never NULL unless out of memory. */
json_t *oai_error_json(const oai_error *e);
/* Translate an upstream (Google) error answer — JSON {"error":{code,message,status,details}} or
 * any garbage — received with HTTP status into e (e->status is the status to answer with):
 * 400→400 invalid_request_error, 401→401, 403→403 permission_error, 404→404 not_found_error
 * (code model_not_found), 429→429 rate_limit_error (code rate_limit_exceeded), 5xx→same status
 * api_error; anything else → 502.  Google's message is kept; unless said otherwise above the
 * code is the ErrorInfo reason or Google's status in lower case ("api_key_invalid",
 * "unavailable"), else "server_error" for a 5xx, else null. */
void oai_google_error(int status, const char *body, size_t n, oai_error *e);
/* Append the SSE event `data: {"error":…}\n\n` for e.  0, or -1 when out of memory. */
int oai_sse_error(oai_buf *out, const oai_error *e);
/* Serialise j with OAI_DUMP_FLAGS; malloc'ed, NUL-terminated, caller frees.  *len (if given)
 * gets the length.  NULL when out of memory. */
char *oai_dump(const json_t *j, size_t *len);
/* Whether a model name is safe to put in an upstream URL path: 1–128 of [A-Za-z0-9._-] after
 * an optional "models/" prefix.  Every parse function below checks this already. */
bool oai_model_ok(const char *name);

/* Token counts from Gemini's usageMetadata (the last one seen). */
typedef struct oai_usage {
  int64_t prompt, candidates, thoughts, cached, total;
  bool seen;
} oai_usage;

/* What the glue tells a response translation.  Strings are borrowed for the call only
 * (oai_stream_new copies them). */
typedef struct oai_meta {
  const char *id;        /* "chatcmpl-…", unique per response: tool call ids derive from it */
  const char *model;     /* the model name to report, usually the one the client asked for */
  int64_t created;       /* Unix seconds */
} oai_meta;

/* ---------------------------------------------------------------- chat completions: request */

typedef enum { OAI_INJECT_SYSTEM, OAI_INJECT_USER_PREFIX, OAI_INJECT_USER_SUFFIX } oai_inject_pos;

/* The gateway-wide settings of seed 004, applied to every chat request.  Borrowed. */
typedef struct oai_settings {
  bool thinking_enabled;          /* apply the default below when the request says nothing */
  int thinking_budget;            /* -1 auto, 0 off, 1..32768 */
  bool include_thoughts;
  bool inject_enabled;
  const char *inject_content;     /* NULL or "" = nothing to inject */
  oai_inject_pos inject_position;
} oai_settings;

/* An http(s) image the glue must fetch.  part is the empty JSON object inside chat->body that
 * oai_fetch_fill completes; it lives as long as chat->body. */
typedef struct oai_fetch {
  char *url;                      /* owned by the oai_chat */
  json_t *part;                   /* borrowed from chat->body */
  char param[128];                /* "messages[1].content[2].image_url.url", for errors */
} oai_fetch;

/* A translated chat request.  Everything is owned by the struct: oai_chat_free. */
typedef struct oai_chat {
  char *model;                    /* without "models/", checked with oai_model_ok */
  bool stream;                    /* streamGenerateContent?alt=sse, else generateContent */
  bool include_usage;             /* stream_options.include_usage */
  int n;                          /* choices asked for, 1..8 */
  json_t *body;                   /* the Gemini request body (NULL when raw is set) */
  char *raw;                      /* … or that body serialised, from oai_chat_parse_fast */
  size_t raw_len;
  oai_fetch *fetch;               /* images to fetch before sending body */
  size_t nfetch;
  char *prompt;                   /* ≤ OAI_PROMPT_CHARS characters of the last user text */
} oai_chat;

/* Translate an OpenAI POST /v1/chat/completions body (p, n) under settings s (may be NULL)
 * into c.  0 on success; -1 with e filled (400 for every fault of the input) and c zeroed.
 * Send c->body (after the fetches) to models/<model>:streamGenerateContent?alt=sse when
 * c->stream (the stream translator reads SSE only), else to models/<model>:generateContent.
 *
 * How it reads what OpenAI leaves open:
 * - system/developer messages, wherever they stand, become systemInstruction parts in order;
 *   a conversation of instructions only is sent as the user's turn.  Same-role turns merge
 *   (user and tool results share Gemini's "user" role); empty text parts are dropped; a
 *   request with no content left is a 400 on "messages".
 * - tool results: {"content": the text parsed as JSON when it is JSON, else the text}; the
 *   function name comes from the earlier assistant tool call with that id (or the message's
 *   "name").  Tool call ids are not sent to Gemini.  A call's
 *   extra_content.google.thought_signature goes back as thoughtSignature; for gemini-3* models
 *   a replayed call without one gets Google's documented placeholder.
 * - reasoning_effort → thinkingBudget: none 0, minimal 512, low 1024, medium 8192, high 24576,
 *   with includeThoughts on for a non-zero budget (asking for reasoning over the OpenAI API is
 *   the only way to see it).  thinking_config (or google.thinking_config, as Google's own
 *   endpoint takes it via extra_body) {thinking_budget -1..32768, include_thoughts} wins over
 *   reasoning_effort and is sent as given (includeThoughts only when given).  The settings'
 *   default applies only when the request has neither, and not to models known to refuse
 *   thinkingConfig (gemini-1*, gemini-2.0*, gemma*, imagen*, *image*, *embedding*, *tts*);
 *   settings with thinking disabled send nothing (the model's own default).
 * - injection: position system → the first systemInstruction part; user_prefix/user_suffix →
 *   a text part before/after the parts of the last user message (a user turn of its own when
 *   there is none).
 * - parameters: n 1..8 (candidateCount sent only when > 1); stop ≤ 5; seed must fit int32;
 *   zero penalties are left out (some models refuse penalties at all); max_completion_tokens
 *   wins over max_tokens; top_k is accepted as an extension.  An explicit null means "not
 *   given".  Fields not listed here (user, logprobs, metadata, parallel_tool_calls, …) are
 *   ignored, not refused.  tool_choice without tools configures nothing.
 * - content parts: text, image_url (base64 data: URL → inlineData; a Gemini Files API name or
 *   URI — "files/x", http(s)://host/v1beta/files/x or /v1/files/x — → fileData.fileUri, not
 *   fetched; other http(s) → c->fetch), input_audio (→ audio/<format>), file (file_data: data:
 *   URL or bare base64 PDF; file_id naming a Files API file → fileData; any other file_id is
 *   refused).  Only user messages may carry media. */
int oai_chat_parse(const char *p, size_t n, const oai_settings *s, oai_chat *c, oai_error *e);
/* The same translation without a tree, for the common request (openai_chat_fast.c): model,
 * messages of role system/developer/user/assistant with string or text-part content, and the
 * sampling and stream options, in one pass; the Gemini body serialised into c->raw (c->body
 * NULL, no fetches), equal as JSON to oai_chat_parse's, and the same model, stream,
 * include_usage, n and prompt.  false for any other shape, any fault of the input, an injection
 * to place (c zeroed): then oai_chat_parse decides, errors included. */
bool oai_chat_parse_fast(const char *p, size_t n, const oai_settings *s, oai_chat *c);
/* Complete f->part with {"inlineData":{"mimeType","data":base64}} from fetched bytes.  The
 * image type is sniffed from the bytes (PNG, JPEG, GIF, WebP, HEIC), else taken from an
 * image/… or application/pdf content_type (may be NULL).  0, or -1 with a 400 in e. */
int oai_fetch_fill(const oai_fetch *f, const char *content_type, const void *data, size_t len,
                   oai_error *e);
/* Free what c owns and zero it; safe on a zeroed struct. */
void oai_chat_free(oai_chat *c);

/* ---------------------------------------------------------------- chat completions: answer */

/* Translate a generateContent answer (p, n; HTTP 200) into a chat.completion object.  u (may
 * be NULL) gets the usage counts.  NULL with e filled when the upstream sent something that is
 * not a generateContent answer (502) or an {"error":…} body (mapped as oai_google_error).
 * One choice per candidate; message.content is the text (thoughts excluded), null when there
 * are only tool calls, "" when there is nothing (a blocked prompt gives one such choice with
 * finish_reason content_filter); reasoning_content only when there were thoughts; tool call
 * ids are "call_<m->id less its "chatcmpl-" prefix>_<choice>_<k>"; any function call makes the finish
 * reason tool_calls.  usage: completion_tokens = candidates + thoughts, total = prompt +
 * completion (Gemini's own total, which may count tool-use prompts, stays in u). */
json_t *oai_chat_response(const char *p, size_t n, const oai_meta *m, oai_usage *u, oai_error *e);

/* The same translation without a tree, for the common answer: one candidate whose parts are all
 * text, usage, other keys passed over — one pass over p[0..n), the text copied as it stands.
 * The serialised chat.completion (malloc'ed, NUL-terminated, *len bytes; the caller frees), equal
 * as JSON to what oai_chat_response gives; NULL for any other shape, an error, anything the
 * scanner is not sure of (then oai_chat_response decides).  Usage is left to the caller. */
char *oai_chat_fast(const char *p, size_t n, const oai_meta *m, size_t *len);

/* A stateful translator of a streamGenerateContent?alt=sse answer into chat.completion.chunk
 * events.  Feed it the upstream bytes in pieces of any size; it appends complete OpenAI SSE
 * events to the caller's buffer and holds at most one incomplete upstream event
 * (≤ OAI_EVENT_CAP bytes).  One stream per response; free with oai_stream_free. */
typedef struct oai_stream oai_stream;

enum { OAI_STREAM_MORE = 0, OAI_STREAM_END = 1 };

/* A new translator; copies m's strings.  NULL when out of memory (or m's strings are not
 * UTF-8). */
oai_stream *oai_stream_new(const oai_meta *m, bool include_usage);
/* Translate n more upstream bytes, appending to out.  OAI_STREAM_MORE: go on.  OAI_STREAM_END:
 * the stream is over — an error event was appended (upstream error event, malformed event,
 * event over the cap); stop feeding and end the response.  Once ended, it appends nothing. */
int oai_stream_feed(oai_stream *s, const char *p, size_t n, oai_buf *out);
/* The upstream ended cleanly: translate a last unterminated event, close unfinished choices,
 * append the usage chunk (include_usage) and `data: [DONE]`.  OAI_STREAM_MORE when it ended
 * cleanly, OAI_STREAM_END when an error event was appended instead (e.g. no event at all). */
int oai_stream_finish(oai_stream *s, oai_buf *out);
/* The upstream failed mid-stream (cut, timeout): append the error event for e (NULL: a 502
 * "upstream connection failed") and end the stream.  No [DONE] follows an error event. */
void oai_stream_abort(oai_stream *s, const oai_error *e, oai_buf *out);
/* The last usageMetadata seen (all zero, seen false, before any). */
const oai_usage *oai_stream_usage(const oai_stream *s);
/* The error the stream ended with, or NULL when it has not failed. */
const oai_error *oai_stream_error(const oai_stream *s);
void oai_stream_free(oai_stream *s);

/* ---------------------------------------------------------------- models */

/* Gemini models.list answer → {"object":"list","data":[{"id","object":"model","created":0,
 * "owned_by":"google"}]}.  NULL with a 502 in e when it is not a model list. */
json_t *oai_models(const char *p, size_t n, oai_error *e);
/* One model object for GET /v1/models/{id} (the "models/" prefix removed). */
json_t *oai_model(const char *id);

/* ---------------------------------------------------------------- embeddings */

/* A translated embeddings request: one batchEmbedContents body per OAI_EMBED_BATCH inputs, to
 * be sent to models/<model>:batchEmbedContents in order.  Owned: oai_embed_free. */
typedef struct oai_embed {
  char *model;                    /* without "models/" */
  bool base64;                    /* encoding_format "base64" */
  size_t ninputs;
  json_t **batch;
  size_t nbatch;
  int64_t est_tokens;             /* estimate of the input tokens (Gemini reports none) */
  char *prompt;                   /* ≤ OAI_PROMPT_CHARS characters of the first input */
} oai_embed;

/* Translate an OpenAI POST /v1/embeddings body into r.  0, or -1 with a 400 in e. */
int oai_embed_parse(const char *p, size_t n, oai_embed *r, oai_error *e);
/* The OpenAI list from the batch answers (bodies[i] answers r->batch[i]).  NULL with e filled
 * (502 when an answer is malformed or has the wrong number of embeddings). */
json_t *oai_embed_response(const oai_embed *r, const str *bodies, size_t nbodies, oai_error *e);
void oai_embed_free(oai_embed *r);

/* ---------------------------------------------------------------- images */

/* A translated image generation request.  gemini: body is a generateContent body for
 * models/<model>:generateContent; else an Imagen body for models/<model>:predict. */
typedef struct oai_image {
  char *model;
  bool gemini;
  bool url;                       /* response_format "url": answered with data: URLs */
  int n;
  json_t *body;
  char *prompt;                   /* ≤ OAI_PROMPT_CHARS characters */
} oai_image;

/* Translate an OpenAI POST /v1/images/generations body into r.  0, or -1 with a 400 in e. */
int oai_image_parse(const char *p, size_t n, oai_image *r, oai_error *e);
/* {"created","data":[{"b64_json"} or {"url":"data:…"}]} from the upstream answer.  u (may be
 * NULL) gets usage when the answer has any.  NULL with e filled: 502 for a malformed answer,
 * 400 content_policy_violation when no image came back. */
json_t *oai_image_response(const oai_image *r, const char *p, size_t n, int64_t created,
                           oai_usage *u, oai_error *e);
void oai_image_free(oai_image *r);

#endif
