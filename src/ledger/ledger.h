/* ledger — one row per authenticated call (seeds 000 and 001), written off the event loop.
 *
 * The request path calls ledger_record on a worker thread; it copies the row into an in-memory
 * queue and returns at once (never blocks, never touches the database).  A writer thread commits
 * queued rows in batches, maintaining the hourly rollups in the same transaction (a batch
 * smaller than LEDGER_BATCH waits LEDGER_LINGER_MS for more rows first: group commit).
 * ledger_close drains the queue before returning, so a graceful stop loses no row.
 *
 * Queue policy: at most LEDGER_MAX_ROWS rows or LEDGER_MAX_BYTES of them wait in memory.  Beyond
 * that (the database has been unwritable for a long while) a new row is dropped, counted in
 * ledger_stats.dropped and logged once a second — the request path is never slowed to wait for
 * the database.  A batch that fails to commit for a moment (store_transient: busy, locked, the
 * connection lost) is retried with backoff, keeping its rows.  A batch the database refuses (a
 * constraint, a trigger, bad data) is halved until the row it cannot take is alone; every other
 * row commits, and that row goes to the ledger_rejects table (all its fields as JSON, the error,
 * the time), is counted in ledger_stats.rejected and logged once — billed and accounted like a
 * written row, since the call happened.
 *
 * The ledger knows no HTTP and no API dialect: a row is plain facts, and the prompt of a
 * request body is taken by the extractor the row names (ledger_row.prompt_of). */
#ifndef GEMGATE_LEDGER_H
#define GEMGATE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_MAX_ROWS 200000
#define LEDGER_MAX_BYTES (64u << 20)
#define LEDGER_BATCH 4096
#define LEDGER_LINGER_MS 10           /* a small batch waits this long for company */
#define LEDGER_CACHE_KIB 2048        /* the writer's page cache (store_cache_limit): it appends,
                                      * touching the right edges of its B-trees; the default 32 MiB
                                      * filled up under load and was the gateway's largest heap */
#define LEDGER_LOCK_WAIT_MS 1000      /* the writer's wait for another connection's write lock:
                                         then it backs off and retries, keeping its rows */
#define LEDGER_PROMPT_CHARS 500
#define LEDGER_BODY_COPY (64u << 10)
#define LEDGER_MAX_TOKENS (INT64_C(1) << 40)   /* a token count is clamped to [0, this] */

/* v clamped to [0, LEDGER_MAX_TOKENS]. */
static inline int64_t ledger_clamp_tokens(int64_t v)
{
  return v < 0 ? 0 : v > LEDGER_MAX_TOKENS ? LEDGER_MAX_TOKENS : v;
}

typedef struct ledger ledger;
struct store;
struct users;
struct prices;
struct meter;

/* The prompt of a request body, written into out (NUL-terminated, at most max_chars UTF-8
 * characters and cap-1 bytes; "" when there is none).  The call engine picks one per client
 * dialect; the ledger's writer thread calls it, so it must be pure and thread-safe. */
typedef void (*ledger_prompt_fn)(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

/* The plain facts of one call, filled by the call engine (call/record.c) or a test. */
typedef struct ledger_row {
  int64_t user_id;            /* 0: a static GEMGATE_ACCESS_KEYS caller */
  int64_t access_key_id;      /* 0: none (static key) */
  char upstream_key[32];      /* masked upstream key ("AIza…wxyz"), "" when none was used */
  char model[64];             /* "" when the call names none */
  bool is_local;              /* answered by the gateway itself, no upstream call */
  char gen_type[32];          /* X-Generation-Type label, else the endpoint kind */
  char endpoint[32];          /* chat, generate, stream, embed, count_tokens, image, models, other */
  bool stream;
  int64_t in_tokens, out_tokens, thinking_tokens, cached_tokens;   /* in includes cached; out images */
  int64_t tool_tokens;        /* toolUsePromptTokenCount: billed as input */
  int64_t audio_tokens, audio_cached_tokens;   /* the audio part of in, and of cached */
  int64_t image_tokens;       /* the image part of out */
  int64_t images;             /* images delivered (Imagen): billed per image */
  int64_t storage_tokens, storage_seconds;     /* a context cache created, for that long */
  bool batch;                 /* billed at the batch price */
  int64_t reserved_nanos;     /* the budget reservation the call holds (users_check_call): released
                                 when the row is settled */
  bool counted;               /* users_check counted the request already (else the writer does) */
  bool unpriced;              /* refused because the model has no price (refused is set too) */
  bool success;
  bool refused;               /* refused by the gateway's quota check (users_check): recorded, but
                                 not counted against quotas or in the per-model meters */
  int http_status;
  char error[256];            /* "" on success */
  char ip[64];
  char request_id[65];        /* X-Request-Id (http/reqid.h), "" when none */
  int64_t latency_ms, ttfb_ms;
  int attempts;
  char prompt[1504];          /* first 500 characters (UTF-8), "" when GEMGATE_LOG_PROMPTS=0 */
  const char *body;           /* the request body (borrowed until ledger_record returns): when
                                 prompt is "" and prompt_of is set, the writer thread takes the
                                 prompt from a copy of its first LEDGER_BODY_COPY bytes with
                                 prompt_of, so no worker parses JSON */
  size_t body_len;
  ledger_prompt_fn prompt_of;
  int64_t created_ms;
} ledger_row;

typedef struct ledger_stats {
  int64_t recorded;           /* rows handed to ledger_record */
  int64_t written;            /* rows committed */
  int64_t dropped;            /* rows refused because the queue was full (or by ledger_rejects too) */
  int64_t rejected;           /* rows the database refused, kept in ledger_rejects */
  int64_t queued;             /* rows waiting now */
  int64_t batches, failed_batches;
} ledger_stats;

/* Start the writer on its own connection to s (PostgreSQL: two writers, each on its own, taking
 * batches from the one queue).  users/prices/meter may be NULL (no accounting, no bills, no
 * meters).  log_prompts false (GEMGATE_LOG_PROMPTS=0): no prompt is stored, neither
 * a row's own nor one taken from its body — the one place that setting is applied.  NULL on
 * failure, with a message. */
ledger *ledger_open(struct store *s, struct users *u, struct prices *p, struct meter *m,
                    bool log_prompts, char *err, size_t errcap);

/* Drain the queue (every row recorded so far is committed, unless the database refuses for
 * good), stop the writer, free.  Call after the workers have stopped. */
void ledger_close(ledger *l);

/* Queue a copy of *row.  Thread-safe; never blocks, never bills: the writer thread bills the
 * row from the price table (at the version in force at created_ms) and, once it is committed,
 * accounts its tokens and cost to its user's quotas.  The per-model meter counts it at once.  A
 * row the queue cannot take is billed and accounted here (the money was spent). */
void ledger_record(ledger *l, const ledger_row *row);

/* GEMGATE_UNPRICED=max: a row whose model has no price is billed at the table's highest prices
 * (else at nothing).  Either way the row says unpriced.  Before the first row. */
void ledger_set_unpriced_max(ledger *l, bool at_max);

/* Wait (up to timeout_ms) until every row recorded so far is committed.  For tests and the
 * benchmark; true when drained. */
bool ledger_flush(ledger *l, int64_t timeout_ms);

void ledger_get_stats(ledger *l, ledger_stats *out);

/* The prompt: the first 500 characters of text (UTF-8, cut at a character boundary). */
void ledger_set_prompt(ledger_row *row, const char *text, size_t n);

#endif
