/* prices — the per-model price table (input, output, thinking and cached tokens per million, and
 * a price per call for per-image models) and the bill of a call, in integer units only.
 *
 * Defaults for current Gemini models are inserted at start when missing (an admin's edits are
 * never overwritten); the table lives in memory (rwlock) so billing on the request path never
 * touches the database.  A model is priced by its exact name, else the longest listed name it
 * extends ("gemini-2.5-flash-preview-05-20" → "gemini-2.5-flash"), else "*" if listed, else 0. */
#ifndef GEMGATE_PRICES_H
#define GEMGATE_PRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

typedef struct prices prices;
struct store_conn;

typedef struct price {
  int64_t id;
  char model[64];
  int64_t input, output, thinking, cached;   /* micro-USD per 1M tokens */
  int64_t request;                           /* micro-USD per call */
  int64_t updated_at;
} price;

typedef struct bill {
  int64_t bill_e4;      /* decimal(12,4) × 10^4, rounded half up */
  int64_t cost_nanos;   /* exact to 10^-9 USD */
  int64_t model_id;     /* the price row's id, 0 when unpriced */
} bill;

prices *prices_new(void);
void prices_free(prices *p);

/* Start-up: insert missing defaults, then load the table.  0 or -1. */
int prices_load(prices *p, struct store_conn *c, int64_t now);

/* The bill of a call.  in includes cached (Gemini's promptTokenCount does); cached tokens are
 * billed at the cached price, the rest at the input price; the per-request price is per image
 * delivered (images).  Thread-safe, memory only. */
void prices_bill(prices *p, const char *model, int64_t in, int64_t out, int64_t thinking,
                 int64_t cached, int64_t images, bill *b);

/* The same for one price row (exposed for tests). */
void price_compute(const price *pr, int64_t in, int64_t out, int64_t thinking, int64_t cached, int64_t images,
                   bill *b);

#define PRICES_MAX_MICROS 100000000000LL    /* $100,000 per million tokens: a typo, surely */

/* A change to one model's prices: the fields whose PRICE_F_* bit is in `have` get the value
 * given (micro-USD, 0..PRICES_MAX_MICROS); the others keep theirs (0 for a new model). */
enum { PRICE_F_INPUT = 1, PRICE_F_OUTPUT = 2, PRICE_F_THINKING = 4, PRICE_F_CACHED = 8, PRICE_F_REQUEST = 16 };
typedef struct price_update {
  char model[64];
  int64_t input, output, thinking, cached, request;
  unsigned have;
} price_update;

/* A model name for the table: letters, digits, . _ - : @ and at most 63 of them; or "*". */
bool prices_model_valid(const char *s, size_t n);

/* Store the change (inserting the model if new), then load the table again.  On a store pool
 * thread.  GG_OK with *out (the model's row as stored); GG_BAD_INPUT (model name, no field, a
 * value out of range), GG_NOMEM or GG_DB, with a message in e. */
gg_rc prices_set(prices *p, struct store_conn *c, const price_update *u, price *out, gg_err *e);

/* A copy of the table, by model name: malloc'ed (caller frees), *n rows; NULL with *n = 0 when
 * empty or out of memory.  Memory only. */
price *prices_list(prices *p, size_t *n);

#endif
