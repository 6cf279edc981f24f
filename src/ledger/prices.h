/* prices — the price list as data, and the bill of a call in integer units only.
 *
 * Per model, versions of its prices, each effective from a time: a change is a new version, so
 * it never rewrites what earlier calls were billed (every row stores the version that billed
 * it).  A version has a price per 1M tokens for input, output (thinking is billed as output),
 * cached input, audio input and its cached form, image output tokens, each of the first three
 * again above a long-context threshold; a price per image, per successful request, and per 1M
 * tokens stored per hour (context caches); a batch discount; and the model's largest output, for
 * estimates.  Google's list is shipped as default versions (docs/ledger.md says from where and
 * when), inserted at start for models the admin has not priced; an admin's versions are never
 * overwritten.  An alias table maps other names onto priced models.
 *
 * The table lives in memory (rwlock): billing never touches the database.  Name resolution
 * (prices_lookup): the exact name; else an alias; else the name without a trailing version
 * token (`@…`, or `-preview`, `-exp`, `-latest`, `-<digits>`), again and again; else "*" if the
 * admin priced it; else the model is unpriced. */
#ifndef GEMGATE_PRICES_H
#define GEMGATE_PRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

typedef struct prices prices;
struct store_conn;

/* The fields of a version: money in micro-USD (per 1M tokens unless said), or counts. */
enum {
  PRICE_INPUT, PRICE_INPUT_LONG, PRICE_OUTPUT, PRICE_OUTPUT_LONG, PRICE_CACHED, PRICE_CACHED_LONG,
  PRICE_AUDIO_INPUT, PRICE_AUDIO_CACHED, PRICE_IMAGE_OUTPUT,
  PRICE_PER_IMAGE,           /* per image delivered */
  PRICE_PER_REQUEST,         /* per successful call */
  PRICE_STORAGE,             /* per 1M tokens per hour (a context cache) */
  PRICE_LONG_CONTEXT,        /* tokens: a prompt above this bills input, output and cached at *_LONG; 0: never */
  PRICE_BATCH_PERCENT,       /* percent of the price a batch call pays */
  PRICE_MAX_OUTPUT,          /* tokens: the model's largest answer, for cost estimates */
  PRICE_NFIELDS
};

typedef struct price_field {
  const char *name;          /* in JSON (admin routes) */
  const char *column;        /* in the prices table */
  bool money;                /* micro-USD, shown as a decimal string; else a count */
  int64_t max;
  int base;                  /* a new model's unset field copies this field (-1: dflt) */
  int64_t dflt;
} price_field;

extern const price_field price_fields[PRICE_NFIELDS];

#define PRICES_MAX_MICROS 100000000000LL    /* $100,000 per million tokens: a typo, surely */

typedef struct price {
  int64_t id;                 /* the version: price_version on the rows it bills */
  int64_t model_id;           /* the model's first version: model_id on the rows */
  char model[64];
  int64_t effective_from;     /* ms UTC */
  char source[8];             /* "default" (shipped), "admin", "legacy" (before versions) */
  int64_t v[PRICE_NFIELDS];
  int64_t created_at;
} price;

typedef struct price_alias { char alias[64], model[64], source[8]; } price_alias;

/* What a call used, for its bill.  in is Gemini's promptTokenCount, which includes the cached
 * tokens; audio_in the audio part of it (cached audio included: audio_cached); out is
 * candidatesTokenCount, which includes image_out. */
typedef struct bill_facts {
  int64_t in, out, thinking, cached, tool, audio_in, audio_cached, image_out, images;
  int64_t storage_tokens, storage_seconds;   /* a context cache created for that long */
  bool success;                              /* the per-request price is for successful calls */
  bool batch;
} bill_facts;

typedef struct bill {
  int64_t bill_e4;            /* decimal(12,4) × 10^4, rounded half up */
  int64_t cost_nanos;         /* exact to 10^-9 USD (rounded half up from pico-USD) */
  int64_t model_id, price_version;   /* 0 when unpriced */
  bool unpriced;
} bill;

prices *prices_new(void);
void prices_free(prices *p);

/* Start-up: insert the shipped versions and aliases the admin has not overridden, then load
 * the table.  0 or -1. */
int prices_load(prices *p, struct store_conn *c, int64_t now);

/* The version that prices model at time t (ms): the name resolved as above, then its latest
 * version effective at t (a model's first version also prices the time before it).  true with
 * *out; false when the model is unpriced.  Thread-safe, memory only. */
bool prices_lookup(prices *p, const char *model, int64_t t, price *out);

/* The bill of f under one version (pure; for tests and the ledger). */
void price_compute(const price *pr, const bill_facts *f, bill *b);

/* The bill of a call to model at time t.  An unpriced model bills at the highest price of every
 * field over the whole table when at_max (GEMGATE_UNPRICED=max), else nothing; b->unpriced says
 * so either way.  Thread-safe, memory only. */
void prices_bill(prices *p, const char *model, int64_t t, const bill_facts *f, bool at_max, bill *b);

/* The most a call to model at t can cost, in nanos, before it is made: prompt_tokens at the
 * input price (the long-context one above the threshold), max_output tokens (-1: the model's
 * largest, max_output_tokens) at the output price, images at the image price; -1 when unpriced
 * (and not at_max).  For budget reservations. */
int64_t prices_estimate(prices *p, const char *model, int64_t t, int64_t prompt_tokens, int64_t max_output,
                        int64_t images, bool at_max);

/* The most a batch of `requests` requests can cost at the batch price: prompt_tokens (all the
 * requests' together) at the input price, and each request's output — max_output (-1: the
 * model's largest) capped at the model's largest — at the output price, all × batch_percent; -1
 * when unpriced (and not at_max). */
int64_t prices_estimate_batch(prices *p, const char *model, int64_t t, int64_t prompt_tokens, int64_t max_output,
                              int64_t requests, bool at_max);

/* A change: a new version of model's prices, effective from effective_from (ms; 0: now; never
 * before now — history is not rewritten), with the fields whose bit is in `have` (1 << PRICE_*)
 * and the others carried from the version in force then (or, for a new model, each field's
 * base or default).  alias_of set instead: model becomes a name for that priced model. */
typedef struct price_update {
  char model[64];
  int64_t v[PRICE_NFIELDS];
  uint32_t have;
  int64_t effective_from;
  char alias_of[64];
} price_update;

/* A model name for the table: letters, digits, . _ - : @ and at most 63 of them; or "*". */
bool prices_model_valid(const char *s, size_t n);

/* Store the change, then load the table again.  On a store pool thread.  GG_OK with *out (the
 * version stored, or for an alias the target's current version); GG_BAD_INPUT (model name, no
 * field, a value out of range, a time in the past, an alias of an unpriced model or of itself, an
 * alias named like a priced model), GG_NOMEM or GG_DB, with a message in e. */
gg_rc prices_set(prices *p, struct store_conn *c, const price_update *u, int64_t now, price *out, gg_err *e);

/* Copies, malloc'ed (caller frees), *n entries; NULL with *n = 0 when empty or out of memory.
 * Every version, by model then effective_from; every alias, by name. */
price *prices_list(prices *p, size_t *n);
price_alias *prices_aliases(prices *p, size_t *n);

#endif
