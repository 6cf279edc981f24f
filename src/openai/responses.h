/* responses — OpenAI's Responses API (POST /v1/responses) ⇄ Gemini, as pure translations in
 * the conventions of openai.h: byte ranges in, new references out, an oai_error on refusal.
 *
 * A request is parsed once (oai_rreq_parse), then completed with the stored conversation of
 * its previous_response_id, if any (oai_rreq_build), which the glue loads in between.  The
 * answer — whole (oai_rresp) or streamed event by event (oai_rstream) — gives the response
 * object and the model's turn; oai_rstate_next folds both into the conversation the glue stores
 * under the new response's id.  Gemini's thoughtSignatures survive a function-calling exchange
 * both ways: in that stored conversation, and in reasoning items' encrypted_content for a
 * client that sends its items back itself (store: false).  docs/dialects.md has the tables. */
#ifndef GEMGATE_RESPONSES_H
#define GEMGATE_RESPONSES_H

#include "base/alias.h"
#include "openai/openai.h"

/* A parsed Responses request.  Owned: oai_rreq_free. */
typedef struct oai_rreq {
  char *model;                  /* the Gemini model (after the aliases), without "models/" */
  char *client_model;           /* the name asked for, reported back */
  bool stream;
  bool store;                   /* default true */
  char *previous_id;            /* previous_response_id, or NULL */
  json_t *items;                /* this request's input items as listed back: each has a type and an id */
  json_t *echo;                 /* the request's settings, as the response object repeats them */
  json_t *body;                 /* the Gemini body: contents and systemInstruction come with oai_rreq_build */
  json_t *state;                /* after oai_rreq_build: the conversation sent ({contents, system, calls}) */
  oai_fetch *fetch;             /* http(s) images to fetch before sending (oai_fetch_fill) */
  size_t nfetch;
  char *prompt;                 /* ≤ OAI_PROMPT_CHARS of the last user text */
  /* the translation's own, for oai_rreq_build */
  json_t *turns, *system, *instructions, *calls, *unnamed;
} oai_rreq;

/* Translate a POST /v1/responses body (p, n) into q.  al (may be NULL) maps the model name; s
 * (may be NULL) is seed 004's settings (its thinking default applies when the request asks
 * nothing about reasoning); id is the new response's id ("resp_…"), from which input item ids
 * derive.  0, or -1 with e filled (400 naming the field for any fault of the input). */
int oai_rreq_parse(const char *p, size_t n, const model_aliases *al, const oai_settings *s, const char *id,
                   oai_rreq *q, oai_error *e);
/* Complete q->body with the conversation: prev (the stored state of previous_response_id, may
 * be NULL) then this request's input.  A function_call_output whose call is in neither is a
 * 400.  0 or -1. */
int oai_rreq_build(oai_rreq *q, const json_t *prev, oai_error *e);
void oai_rreq_free(oai_rreq *q);

/* What the answer translations are told (borrowed for the call; oai_rstream_new copies). */
typedef struct oai_rmeta {
  const char *id;               /* "resp_…": item and call ids derive from it */
  const char *model;            /* the model name to report */
  int64_t created;              /* Unix seconds */
  const json_t *echo;           /* oai_rreq.echo */
} oai_rmeta;

/* A generateContent answer → the response object (status completed, or incomplete with
 * incomplete_details for MAX_TOKENS / a safety stop / a blocked prompt).  *turn (may be NULL)
 * gets the model's Gemini content to keep (thought text left out, signatures kept; NULL when
 * it said nothing); u (may be NULL) the usage.  NULL with e filled: a malformed answer 502, an
 * {"error":…} body as oai_google_error. */
json_t *oai_rresp(const char *p, size_t n, const oai_rmeta *m, json_t **turn, oai_usage *u, oai_error *e);

/* The conversation to store under a response: q->state with the model's turn appended and the
 * response's function calls named (call_id → name).  New reference, NULL when out of memory. */
json_t *oai_rstate_next(const oai_rreq *q, const json_t *response, const json_t *turn);

/* A streamed answer (streamGenerateContent?alt=sse) → the Responses event stream: every event
 * `event: <type>\ndata: {…,"sequence_number":n}\n\n`, n from 0.  response.created,
 * response.in_progress, then per output item output_item.added, its parts and deltas
 * (content_part.added / output_text.delta / output_text.done / content_part.done;
 * reasoning_summary_part.added / reasoning_summary_text.delta / …done / …part.done;
 * function_call_arguments.delta / …done), output_item.done; then response.completed (or
 * response.incomplete).  Failures: an `error` event, then response.failed. */
typedef struct oai_rstream oai_rstream;

oai_rstream *oai_rstream_new(const oai_rmeta *m);
/* Translate n more upstream bytes, appending events to out.  OAI_STREAM_END once failed. */
int oai_rstream_feed(oai_rstream *s, const char *p, size_t n, oai_buf *out);
/* The upstream ended cleanly: close the open item into out, and write the terminal event
 * (response.completed / response.incomplete) into last, which the glue sends once the response
 * is stored.  OAI_STREAM_END when a failure was appended to out instead. */
int oai_rstream_finish(oai_rstream *s, oai_buf *out, oai_buf *last);
/* The upstream failed mid-stream: append the failure for e (NULL: a 502). */
void oai_rstream_abort(oai_rstream *s, const oai_error *e, oai_buf *out);
/* After a clean finish: the response object, and the model's turn (NULL when it said nothing);
 * borrowed from s. */
const json_t *oai_rstream_response(const oai_rstream *s);
const json_t *oai_rstream_turn(const oai_rstream *s);
const oai_usage *oai_rstream_usage(const oai_rstream *s);
void oai_rstream_free(oai_rstream *s);

/* The stored input items of a response → GET /v1/responses/{id}/input_items's list: order
 * "desc" (default, newest first) or "asc", at most limit, after the item whose id is after
 * (may be NULL).  NULL with a 400 in e when after names no item. */
json_t *oai_rinput_items(const json_t *items, bool asc, int64_t limit, const char *after, oai_error *e);

#endif
