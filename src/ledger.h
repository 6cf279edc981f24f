/* ledger — one row per authenticated call (seeds 000 and 001), written off the event loop.
 *
 * The request path calls ledger_record on a worker thread; it copies the row into an in-memory
 * queue and returns at once (never blocks, never touches the database).  A writer thread commits
 * queued rows in batches, maintaining the hourly rollups in the same transaction.  ledger_close
 * drains the queue before returning, so a graceful stop loses no row. */
#ifndef GEMGATE_LEDGER_H
#define GEMGATE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ledger ledger;
struct store;

typedef struct ledger_row {
  int64_t user_id;            /* 0: a static GEMGATE_ACCESS_KEYS caller */
  int64_t access_key_id;      /* 0: none (static key) */
  char upstream_key[32];      /* masked upstream key ("AIza…wxyz"), "" when none was used */
  char model[64];             /* "" when the call names none */
  bool is_local;              /* answered by the gateway itself, no upstream call */
  char gen_type[32];          /* X-Generation-Type label, else the endpoint kind */
  char endpoint[32];          /* chat, generate, stream, embed, count_tokens, image, models, other */
  bool stream;
  int64_t in_tokens, out_tokens, thinking_tokens, cached_tokens;
  bool success;
  int http_status;
  char error[256];            /* "" on success */
  char ip[64];
  int64_t latency_ms, ttfb_ms;
  int attempts;
  char prompt[1504];          /* first 500 characters (UTF-8), "" when GEMGATE_LOG_PROMPTS=0 */
  int64_t created_ms;
} ledger_row;

/* Queue a copy of *row.  Thread-safe; never blocks.  Fills in the bill from the price table. */
void ledger_record(ledger *l, const ledger_row *row);

#endif
