/* openai_internal — helpers shared by the openai*.c files; not part of the module's API. */
#ifndef GEMGATE_OPENAI_INTERNAL_H
#define GEMGATE_OPENAI_INTERNAL_H

#include "openai/openai.h"

/* "a string", "an object", … for error messages. */
const char *oai_jtype(const json_t *v);
/* The member k of o, or NULL when absent or JSON null (OpenAI reads an explicit null as "not
 * given"). */
json_t *oai_opt(const json_t *o, const char *k);
/* Copy at most cap-1 bytes of s (n bytes) into dst, cutting at a UTF-8 character boundary. */
void oai_copy_utf8(char *dst, size_t cap, const char *s, size_t n);
/* malloc'ed copy of the first max characters (code points) of valid UTF-8 s. */
char *oai_dup_chars(const char *s, size_t n, size_t max);
/* malloc'ed standard base64 of p; *outlen gets its length.  NULL when out of memory. */
char *oai_b64(const void *p, size_t n, size_t *outlen);
/* snprintf for param paths ("messages[3].content[1].type"): cut silently when too long. */
void oai_fmt(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 400s naming param; each fills e and returns -1. */
int oai_bad_missing(oai_error *e, const char *param);
int oai_bad_type(oai_error *e, const char *param, const json_t *v, const char *want);
int oai_bad_value(oai_error *e, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Checked numbers: 0 when v (non-NULL) is within range (*out set), else a 400 naming param.
 * An integer may come as a number without fraction (some clients send 100.0). */
int oai_number_in(oai_error *e, const json_t *v, const char *param, double lo, double hi);
int oai_int_in(oai_error *e, const json_t *v, const char *param, int64_t lo, int64_t hi, int64_t *out);
int oai_boolean(oai_error *e, const json_t *v, const char *param, bool *out);
/* Parse a client request body: an object, or NULL with the 400 in e (invalid JSON, invalid UTF-8,
 * too deep, not an object). */
json_t *oai_load_request(const char *p, size_t n, oai_error *e);
/* Parse an upstream answer: an object, or NULL with a 502 in e. */
json_t *oai_load_upstream(const char *p, size_t n, oai_error *e);
/* e from an upstream {"error":{…}} object; status 0 takes the error's own code. */
void oai_google_error_obj(int status, const json_t *err, oai_error *e);
/* Append a string literal. */
#define OAI_LIT(b, lit) oai_buf_append((b), (lit), sizeof(lit) - 1)
/* Append the compact serialisation of j.  0 or -1. */
int oai_buf_dump(oai_buf *b, const json_t *j);
/* Strip "models/" and check the name; malloc'ed copy or NULL with a 400 in e (param "model"). */
char *oai_model_name(const json_t *v, oai_error *e);

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid — as strict as
 * jansson. */
size_t oai_utf8_seq(const unsigned char *s, size_t n);

/* A Gemini answer or stream event of the common shape, scanned in one pass (openai_fast.c): one
 * candidate whose parts are all text, usageMetadata, other keys checked and passed over.  The
 * texts point into the input, as they stand between their quotes (JSON-escaped). */
typedef struct oai_fast {
  const char *text[16];        /* the non-empty text parts */
  size_t textn[16], ntext;
  bool has_finish;             /* finishReason, in finish (no escapes in it) */
  char finish[32];
  bool has_index, index_int;   /* the candidate's "index", and whether it is an integer */
  int64_t index;
  bool has_usage;              /* usageMetadata, with its five counts (a positive integer, else 0) */
  int64_t prompt, candidates, thoughts, cached, total;
} oai_fast;

/* The one-pass scanner under both fast paths (openai_fast.c): each checks what it reads as
 * strictly as jansson would parse it and is false where jansson would refuse, and for \u escapes
 * (left to the tree path).  Blanks before a token are passed over. */
typedef struct oai_scan { const char *p, *end; } oai_scan;
bool oai_scan_eat(oai_scan *s, char c);
/* A string: its contents as they stand between the quotes; *plain when it holds no escape. */
bool oai_scan_string(oai_scan *s, const char **b, size_t *bn, bool *plain);
/* A number; *is_int and *v for an integer of at most 18 digits. */
bool oai_scan_number(oai_scan *s, bool *is_int, int64_t *v);
/* Any value, checked and passed over. */
bool oai_scan_skip(oai_scan *s);
/* An object's members: *first true at its '{'; 1 with the next key (length 0 when it has an
 * escape) and the value at s->p, 0 after its '}', -1 when malformed. */
int oai_scan_member(oai_scan *s, bool *first, const char **k, size_t *kn);

/* Appends v in decimal.  false: memory. */
bool oai_put_int(oai_buf *b, int64_t v);

/* true with *a; false for any other shape or anything jansson would refuse (the tree path then
 * decides). */
bool oai_fast_scan(const char *p, size_t n, oai_fast *a);
/* Appends the texts, concatenated, as they stand (the inside of a JSON string).  false: memory. */
bool oai_fast_text(oai_buf *b, const oai_fast *a);
/* Tests: s translates every event through jansson (the tree path the fast one must equal). */
void oai_stream_tree_only(oai_stream *s);

void oai_usage_read(oai_usage *u, const json_t *usage_metadata);
/* OpenAI's usage object: prompt_tokens, completion_tokens (candidates + thoughts),
 * total_tokens, prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens. */
json_t *oai_usage_json(const oai_usage *u);
/* Gemini finishReason → OpenAI finish_reason (never NULL). */
const char *oai_finish_reason(const char *gemini_reason);

/* What one Gemini content's parts say, split the OpenAI way. */
typedef struct oai_parts {
  oai_buf text;          /* non-thought text, concatenated */
  oai_buf thought;       /* thought text, concatenated */
  json_t *calls;         /* array of tool_call objects, NULL when none */
  bool has_text, has_thought;
} oai_parts;

/* Collect the parts of a Gemini content object.  Tool call ids are "call_<id suffix>_<choice>_<k>"
 * with k counting from *ncalls, which is advanced; with_index adds "index": k (stream deltas).
 * 0 or -1 when out of memory.  oai_parts_free afterwards in both cases. */
int oai_parts_collect(oai_parts *x, const json_t *content, const char *chatid, size_t choice,
                      size_t *ncalls, bool with_index);
void oai_parts_free(oai_parts *x);

/* reasoning_effort → thinkingBudget (none 0, minimal 512, low 1024, medium 8192, high 24576);
 * -2 for an effort not in the table.  Shared by chat completions and the Responses API. */
int oai_effort_budget(const char *effort);
/* False for models known to refuse a thinkingConfig (the gateway's default is not applied). */
bool oai_may_think(const char *model);

/* Clean a JSON Schema into Gemini's Schema subset.  response: for responseSchema (adds
 * propertyOrdering).  param names the schema in errors.  NULL with a 400 in e when it cannot be
 * used (too deep, too large, not an object); an empty object when nothing usable is left. */
json_t *oai_schema_clean(const json_t *schema, bool response, const char *param, oai_error *e);

#endif
