/* proxy — the call engine shared by every client API: choose a key, call the upstream, retry
 * on another key while nothing has reached the client, hand the answer to a codec that writes
 * it in the caller's API shape, report to the key pool, record the call.
 *
 * A codec turns the upstream's answer into the client's: native passthrough (native.c) copies
 * bytes; the OpenAI codecs (openai_route.c) translate.  Every codec callback gets the codec's
 * own state and the client request; `end`, `cut` and `error` must answer the request fully, and
 * call proxy_settle once just before writing their last bytes: that records the call's ledger
 * row with what the client gets (record.h). */
#ifndef GEMGATE_PROXY_H
#define GEMGATE_PROXY_H

#include "call/usage.h"
#include "http/auth.h"
#include "http/http.h"
#include "ledger/ledger.h"
#include "pool/owners.h"

typedef struct proxy_codec {
  /* A 2xx head: begin the client's response.  headers: the upstream's forwardable header
   * lines; content_length: the upstream's, or -1. */
  void (*start)(void *st, http_req *r, int status, const char *headers, int64_t content_length);
  /* Body bytes of the 2xx answer, as they arrive. */
  void (*data)(void *st, http_req *r, const char *p, size_t n);
  /* The 2xx answer is complete: finish r. */
  void (*end)(void *st, http_req *r);
  /* The 2xx answer broke off after start: end r so the client sees the failure. */
  void (*cut)(void *st, http_req *r, const char *msg);
  /* An error answer in Google's shape — the upstream's own (headers from it) or the gateway's
   * (headers NULL; extra e.g. Retry-After): answer r with it, translated if need be. */
  void (*error)(void *st, http_req *r, int status, const char *headers, const char *body, size_t len,
                const char *extra);
  void (*free)(void *st);
} proxy_codec;

/* What to send upstream for one client call.  The engine owns url, hdrs and body_owned after
 * proxy_start (it frees them); body may point into the request (borrowed). */
typedef struct proxy_spec {
  principal who;
  char model[64];
  ledger_prompt_fn prompt_of;  /* the client dialect's prompt extractor, for the ledger row */
  char *url;
  char **hdrs;                 /* "Name: value" lines; one more slot at [nhdrs] for the key */
  size_t nhdrs;
  const char *body;
  size_t body_len;
  char *body_owned;
  bool stream;
  const proxy_codec *codec;
  void *codec_state;
  /* Resources (resource.h fills these in proxy_start).  pin: the hex hash of the key that owns
   * pin_name — every attempt goes to that key, none to another.  on_ok: called once when a 2xx
   * answer has arrived whole, before the codec's end, with the hash of the key that answered and,
   * when capture is set, the answer's first PROXY_CAPTURE_MAX bytes (else NULL, 0). */
  char pin[OWN_HASH_LEN + 1];
  char pin_name[OWN_NAME_MAX + 1];
  bool capture;
  bool sum_usage;              /* add up every usageMetadata of the answer (usage_sum): a batch's */
  void (*on_ok)(http_req *r, const struct proxy_spec *s, const char *key_hash, const char *body, size_t len);
} proxy_spec;

#define PROXY_CAPTURE_MAX (256 * 1024)

/* What a codec's end/cut/error answers, where it differs from what the engine knows (the
 * upstream's status, the engine's own error, the tokens of the last usageMetadata). */
typedef struct proxy_answer {
  int status;                 /* the status the client gets; 0: the engine's */
  const char *error;          /* the client is told this failed (NULL: the engine's verdict) */
  int64_t in_tokens;          /* ≥ 0: the input tokens the client was told (embeddings) */
  int64_t images;             /* ≥ 0: the images the client got */
  const char *model;          /* non-NULL: the model the row names (GET /v1/models/{id}) */
} proxy_answer;
#define PROXY_ANSWER_INIT { 0, NULL, -1, -1, NULL }

/* From inside a codec's end, cut or error callback, before its last write: record the call
 * (once; later calls do nothing).  a NULL: as the engine says. */
void proxy_settle(http_req *r, const proxy_answer *a);

/* Run the call; answers r eventually (through the codec).  Takes ownership of spec's parts. */
void proxy_start(http_req *r, proxy_spec *spec);

/* Answer r with the gateway's own error through codec (for errors found before any call). */
void proxy_fail(http_req *r, const proxy_codec *codec, void *st, int status, const char *message,
                const char *extra);

/* The hex hash of the key the call on r is using now (kp_key_hash), into out[65]; "" when
 * none.  For codecs, from their start callback. */
void proxy_key_hash(http_req *r, char out[OWN_HASH_LEN + 1]);

/* For the billing hooks (resbill.h), from an on_ok callback of the call on r.
 * proxy_key_mask: the masked key of the current attempt into out (cap bytes), "" when none.
 * proxy_take_reservation: the budget reservation of a batch creation call (0 for other kinds),
 * which then no longer settles with the call's row: the caller holds it until the batch's bill.
 * proxy_set_storage: the call's row bills tokens × seconds of context cache storage.
 * proxy_drop_usage: the answer's usageMetadata are not this call's (a batch's responses, billed
 * on the batch's own row): the call's row carries no tokens. */
void proxy_key_mask(http_req *r, char *out, size_t cap);
int64_t proxy_take_reservation(http_req *r);
void proxy_set_storage(http_req *r, int64_t tokens, int64_t seconds);
void proxy_drop_usage(http_req *r);
/* From inside spec.on_ok of a sum_usage call: the answer's summed tokens (usage_sum) into *out and
 * whether it saw "done": true; returns the number of responses summed. */
int64_t proxy_usage_sum(http_req *r, usage *out, bool *done);

/* An upstream answer's headers as the client gets them: preformatted "Name: value\r\n" lines
 * into out (cap bytes, whole lines only), without hop-by-hop headers, Date, Server, Alt-Svc and
 * Content-Length, whose value goes to *content_length (-1 when absent). */
void proxy_format_headers(char *out, size_t cap, const http_header *h, size_t n, int64_t *content_length);

/* The client headers worth forwarding upstream ("Name: value" lines, malloc'ed; one spare
 * slot at the end for the key header, so the array has *count + 1 entries). */
char **proxy_client_headers(const http_req *r, size_t *count);

/* The model named in a Gemini path ("/v1beta/models/gemini-2.5-flash:generateContent" →
 * "gemini-2.5-flash"), copied into out (cap bytes); "" when none.  Sets *action to what follows
 * the colon (or {NULL,0}). */
void proxy_parse_model(str path, char *out, size_t cap, str *action);

/* Google's error body for the gateway's own errors: {"error":{"code","message","status"}}.
 * malloc'ed; *len set. */
char *proxy_error_body(int status, const char *message, size_t *len);

#endif
