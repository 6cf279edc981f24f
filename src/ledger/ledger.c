/* ledger — the queue, the batched writer and its rollups; contract in ledger.h. */
#include "ledger/ledger.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/utc.h"
#include "base/util.h"
#include "ledger/meter.h"
#include "ledger/prices.h"
#include "ledger/prompt.h"
#include "store/store.h"
#include "users/users.h"

/* A queued row: the fixed fields inline, error and prompt in the tail (sized to fit). */
typedef struct entry {
  struct entry *next;
  size_t size;
  int64_t user_id, access_key_id, reserved;
  bill_facts f;                   /* what the call used; billed by the writer into b */
  bill b;
  int64_t latency_ms, ttfb_ms, created_ms;
  int http_status, attempts;
  bool is_local, stream, success, refused, unpriced_refused, counted;
  ledger_prompt_fn prompt_of;     /* set: prompt holds raw request-body bytes (raw_len); the
                                     writer extracts the prompt from them with this */
  size_t raw_len;
  char upstream_key[32], model[64], gen_type[32], endpoint[32], ip[64], request_id[65];
  char *error, *prompt;           /* point into text */
  char text[];
} entry;

#define MAX_WRITERS 2

/* A writer thread, on a connection of its own.  PostgreSQL gets two: while one commits (the
 * server flushing its WAL, updating the rollups), the other sends its rows; their rollup merges
 * lock rows in key order, so they never deadlock.  SQLite has one write lock: one writer. */
typedef struct writer {
  struct ledger *l;
  store_conn *c;
  pthread_t thread;
  char why[256];                 /* the last failed batch's error, taken before its rollback */
} writer;

struct ledger {
  store *s;
  writer w[MAX_WRITERS];
  int nwriters;
  users *users;
  prices *prices;
  meter *meter;
  bool log_prompts;
  bool unpriced_max;             /* GEMGATE_UNPRICED=max */
  pthread_mutex_t mu;
  pthread_cond_t cv, idle_cv;
  entry *head, *tail;
  size_t nrows, nbytes;
  bool closing;
  int busy;                      /* writers holding a batch */
  int64_t last_drop_log;
  ledger_stats st;
};

/* ---- rollups: aggregated per batch, then one upsert per bucket ---- */

typedef enum { R_HOURLY, R_DAILY, R_DIM } rkind;

typedef struct measures { int64_t calls, refused, in, out, thinking, cached, bill_e4, cost_nanos; } measures;

typedef struct bucket {
  rkind kind;
  int64_t t, user;               /* hour / day (R_DIM: day, or -1 for all time); user */
  const char *a, *b, *c;         /* hourly: model, type, key; daily: model, type; dim: dim name */
  char val[64];                  /* R_DIM: the value (copied: a user id is formatted on the fly) */
  const char *status;            /* also marks the slot used */
  measures m;
  uint64_t hash;
} bucket;

#define ROW_BUCKETS 13            /* the buckets one row adds to (agg_add) */

/* The table, and the slots the last row added to: a row with the same hour, user, model, type,
 * key and status as the one before (the common case under load) adds to them directly, without
 * nine hashes and lookups. */
typedef struct agg {
  bucket *v;
  size_t n, cap;
  const struct entry *prev;
  size_t prev_cap, slot[ROW_BUCKETS], nslot;
} agg;

static bool same(const char *x, const char *y) { return x == y || (x && y && !strcmp(x, y)); }

static uint64_t mix(uint64_t h, const char *s) { return s ? (h ^ hash64(s, strlen(s))) * 1099511628211ULL : h * 31; }

/* Finds or adds the bucket with the given key (linear probing over a power-of-two table, kept
 * at most half full).  Strings a, b, c must outlive the batch; val is copied. */
/* Room for `more` new buckets without passing half full: 0, or -1 when out of memory.  Slots
 * stay where they are until the next growth. */
static int agg_reserve(agg *g, size_t more)
{
  if((g->n + more) * 2 >= g->cap) {
    size_t ncap = g->cap ? g->cap * 2 : 1024;
    while((g->n + more) * 2 >= ncap) ncap *= 2;
    bucket *nv = calloc(ncap, sizeof *nv);
    if(!nv) return -1;
    for(size_t i = 0; i < g->cap; i++) {
      if(!g->v[i].status) continue;
      size_t j = g->v[i].hash & (ncap - 1);
      while(nv[j].status) j = (j + 1) & (ncap - 1);
      nv[j] = g->v[i];
    }
    free(g->v);
    g->v = nv;
    g->cap = ncap;
  }
  return 0;
}

static bucket *agg_get(agg *g, rkind kind, int64_t t, int64_t user, const char *a, const char *b,
                       const char *c, const char *val, const char *status)
{
  uint64_t h = (uint64_t)kind * 0x9e3779b97f4a7c15ULL ^ (uint64_t)t * 31 ^ (uint64_t)user * 131;
  h = mix(mix(mix(mix(mix(h, a), b), c), val), status);
  if(agg_reserve(g, 1)) return NULL;
  size_t i = h & (g->cap - 1);
  for(;; i = (i + 1) & (g->cap - 1)) {
    bucket *x = &g->v[i];
    if(!x->status) break;
    if(x->hash == h && x->kind == kind && x->t == t && x->user == user && same(x->a, a) && same(x->b, b) &&
       same(x->c, c) && !strcmp(x->val, val ? val : "") && same(x->status, status))
      return x;
  }
  bucket *x = &g->v[i];
  *x = (bucket){ .kind = kind, .t = t, .user = user, .a = a, .b = b, .c = c, .status = status, .hash = h };
  snprintf(x->val, sizeof x->val, "%s", val ? val : "");
  g->n++;
  return x;
}

static void add_m(measures *m, const entry *e)
{
  m->calls++;
  m->refused += e->refused;
  m->in = i64_add(m->in, e->f.in);
  m->out = i64_add(m->out, e->f.out);
  m->thinking = i64_add(m->thinking, e->f.thinking);
  m->cached = i64_add(m->cached, e->f.cached);
  m->bill_e4 = i64_add(m->bill_e4, e->b.bill_e4);
  m->cost_nanos = i64_add(m->cost_nanos, e->b.cost_nanos);
}

/* Every bucket one row contributes to: its hour, its user's day, per dimension its day and all
 * time, and its user's type of all time. */
static bool same_buckets(const entry *a, const entry *b)
{
  return a->user_id == b->user_id && a->success == b->success && a->created_ms / UTC_HOUR_MS == b->created_ms / UTC_HOUR_MS &&
         !strcmp(a->model, b->model) && !strcmp(a->gen_type, b->gen_type) && !strcmp(a->upstream_key, b->upstream_key);
}

static bucket *agg_slot(agg *g, bucket *x)
{
  if(x && g->nslot < ROW_BUCKETS) g->slot[g->nslot++] = (size_t)(x - g->v);
  return x;
}

static int agg_add(agg *g, const entry *e)
{
  if(g->prev && g->prev_cap == g->cap && same_buckets(g->prev, e)) {
    for(size_t i = 0; i < g->nslot; i++) add_m(&g->v[g->slot[i]].m, e);
    return 0;
  }
  /* Room for all of this row's buckets first, so none moves while its slots are noted. */
  if(agg_reserve(g, ROW_BUCKETS)) return -1;
  g->prev = NULL;
  g->nslot = 0;
  const char *st = e->success ? "success" : "failed";
  int64_t hour = e->created_ms / UTC_HOUR_MS, day = utc_day(e->created_ms);
  if(!agg_slot(g, agg_get(g, R_HOURLY, hour, e->user_id, e->model, e->gen_type, e->upstream_key, NULL, st))) return -1;
  if(!agg_slot(g, agg_get(g, R_DAILY, day, e->user_id, e->model, e->gen_type, NULL, NULL, st))) return -1;
  char uid[24];
  snprintf(uid, sizeof uid, "%lld", (long long)e->user_id);
  const char *dims[][2] = { { "all", "" }, { "model", e->model }, { "user", uid }, { "key", e->upstream_key }, { "type", e->gen_type } };
  for(int d = 0; d < 5; d++)
    for(int k = 0; k < 2; k++)
      if(!agg_slot(g, agg_get(g, R_DIM, k ? -1 : day, 0, dims[d][0], NULL, NULL, dims[d][1], st))) return -1;
  /* A user's types of all time ("<user>:<type>"): seed 000's by_type names them all, and its
   * period=all answer is these few rows. */
  char ut[64];
  snprintf(ut, sizeof ut, "%s:%s", uid, e->gen_type);
  if(!agg_slot(g, agg_get(g, R_DIM, -1, 0, "utype", NULL, NULL, ut, st))) return -1;
  for(size_t i = 0; i < g->nslot; i++) add_m(&g->v[g->slot[i]].m, e);
  g->prev = e;
  g->prev_cap = g->cap;
  return 0;
}

/* t.c + excluded.c, saturated at INT64_MAX (SQLite would turn an overflowing sum into a REAL). */
#define SAT(t, c) " " c " = CASE WHEN excluded." c " > 9223372036854775807 - " t "." c \
                  " THEN 9223372036854775807 ELSE " t "." c " + excluded." c " END"
#define SET_MEASURES(t) \
  SAT(t, "calls") "," SAT(t, "refused") "," SAT(t, "input_tokens") "," SAT(t, "output_tokens") "," \
  SAT(t, "thinking_tokens") "," SAT(t, "cached_tokens") "," SAT(t, "bill_e4") "," SAT(t, "cost_nanos")
#define MEASURE_COLS "calls, refused, input_tokens, output_tokens, thinking_tokens, cached_tokens, bill_e4, cost_nanos"

static const char SQL_ROW[] =
  "INSERT INTO ledger (user_id, access_key_id, upstream_key, model_id, model_name, is_local, generation_type,"
  " endpoint, stream, input_tokens, output_tokens, thinking_tokens, cached_tokens, bill_e4, cost_nanos, status,"
  " http_status, refused, error_message, request_ip, latency_ms, ttfb_ms, attempts, prompt, created_at, images,"
  " tool_tokens, audio_tokens, image_tokens, price_version, unpriced, storage_tokens, storage_seconds, request_id,"
  " cached_audio_tokens)"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_HOURLY[] =
  "INSERT INTO usage_hourly (hour, user_id, model_name, generation_type, upstream_key, status, " MEASURE_COLS ")"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour, user_id, model_name, generation_type,"
  " upstream_key, status) DO UPDATE SET" SET_MEASURES("usage_hourly");
static const char SQL_DAILY[] =
  "INSERT INTO usage_daily (day, user_id, model_name, generation_type, status, " MEASURE_COLS ")"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, day, model_name, generation_type, status)"
  " DO UPDATE SET" SET_MEASURES("usage_daily");
static const char SQL_DIM[] =
  "INSERT INTO usage_dim (dim, day, value, status, " MEASURE_COLS ")"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dim, day, value, status) DO UPDATE SET" SET_MEASURES("usage_dim");

#define PROMPT_CAP (LEDGER_PROMPT_CHARS * 3 + 4)

/* The row's prompt: its own, or taken from its body copy into buf (PROMPT_CAP bytes). */
static const char *row_prompt(const entry *e, char *buf)
{
  if(!e->prompt_of) return e->prompt;
  e->prompt_of(e->prompt, e->raw_len, buf, PROMPT_CAP, LEDGER_PROMPT_CHARS);   /* the JSON work the workers were spared */
  prompt_sanitize(buf);
  return buf;
}

/* One row into st (SQL_ROW, prepared once per batch). */
static int insert_row(store_stmt *st, const entry *e)
{
  char prompt[PROMPT_CAP];
  const char *pr = row_prompt(e, prompt);
  int i = 1;
  store_bind_int(st, i++, e->user_id);
  if(e->access_key_id) store_bind_int(st, i++, e->access_key_id); else store_bind_null(st, i++);
  store_bind_text(st, i++, e->upstream_key);
  if(e->b.model_id) store_bind_int(st, i++, e->b.model_id); else store_bind_null(st, i++);
  store_bind_text(st, i++, e->model);
  store_bind_int(st, i++, e->is_local);
  store_bind_text(st, i++, e->gen_type);
  store_bind_text(st, i++, e->endpoint);
  store_bind_int(st, i++, e->stream);
  store_bind_int(st, i++, e->f.in);
  store_bind_int(st, i++, e->f.out);
  store_bind_int(st, i++, e->f.thinking);
  store_bind_int(st, i++, e->f.cached);
  store_bind_int(st, i++, e->b.bill_e4);
  store_bind_int(st, i++, e->b.cost_nanos);
  store_bind_text(st, i++, e->success ? "success" : "failed");
  store_bind_int(st, i++, e->http_status);
  store_bind_int(st, i++, e->refused);
  store_bind_text(st, i++, e->error);
  store_bind_text(st, i++, e->ip);
  store_bind_int(st, i++, e->latency_ms);
  store_bind_int(st, i++, e->ttfb_ms);
  store_bind_int(st, i++, e->attempts);
  store_bind_text(st, i++, pr);
  store_bind_int(st, i++, e->created_ms);
  store_bind_int(st, i++, e->f.images);
  store_bind_int(st, i++, e->f.tool);
  store_bind_int(st, i++, e->f.audio_in);
  store_bind_int(st, i++, e->f.image_out);
  if(e->b.price_version) store_bind_int(st, i++, e->b.price_version); else store_bind_null(st, i++);
  store_bind_int(st, i++, e->b.unpriced || e->unpriced_refused);
  store_bind_int(st, i++, e->f.storage_tokens);
  store_bind_int(st, i++, e->f.storage_seconds);
  store_bind_text(st, i++, e->request_id);
  store_bind_int(st, i++, e->f.audio_cached);
  int rc = store_step(st) == STORE_DONE ? 0 : -1;
  store_reset(st);
  return rc;
}

/* One bucket into its rollup; sts[kind] is its statement, prepared at first use in the batch. */
static int upsert(store_conn *c, store_stmt **sts, const bucket *x)
{
  static const char *const sql[] = { [R_HOURLY] = SQL_HOURLY, [R_DAILY] = SQL_DAILY, [R_DIM] = SQL_DIM };
  store_stmt *st = sts[x->kind] ? sts[x->kind] : (sts[x->kind] = store_prepare_bulk(c, sql[x->kind]));
  if(!st) return -1;
  int i = 1;
  if(x->kind == R_DIM) {
    store_bind_text(st, i++, x->a);
    store_bind_int(st, i++, x->t);
    store_bind_text(st, i++, x->val);
  } else {
    store_bind_int(st, i++, x->t);
    store_bind_int(st, i++, x->user);
    store_bind_text(st, i++, x->a);
    store_bind_text(st, i++, x->b);
    if(x->kind == R_HOURLY) store_bind_text(st, i++, x->c);
  }
  store_bind_text(st, i++, x->status);
  const measures *m = &x->m;
  int64_t v[] = { m->calls, m->refused, m->in, m->out, m->thinking, m->cached, m->bill_e4, m->cost_nanos };
  for(size_t k = 0; k < 8; k++) store_bind_int(st, i++, v[k]);
  int rc = store_step(st) == STORE_DONE ? 0 : -1;
  store_reset(st);
  return rc;
}

/* The row's bill, at the price version in force when the call was made.  A refused row was
 * never made: it bills nothing. */
static void bill_entry(ledger *l, entry *e)
{
  if(e->refused) { e->b = (bill){ 0 }; return; }
  prices_bill(l->prices, e->model, e->created_ms, &e->f, l->unpriced_max, &e->b);
  if(!e->model[0]) e->b.unpriced = false;      /* a call without a model (files, lists) is free */
}

/* A committed (or given up) row's tokens and cost, to its user's quotas, releasing the budget
 * reservation the call held — in one step. */
static void account(ledger *l, const entry *e)
{
  if(!l->users) return;
  /* The tokens the rollups carry (and a restart reads back): input, output, thinking. */
  int64_t tokens = e->refused ? 0 : e->f.in + e->f.out + e->f.thinking;   /* ≤ 3 · 2^40 */
  if(!e->refused || e->reserved)
    users_settle(l->users, e->user_id, e->reserved, !e->refused && !e->counted, tokens, e->b.cost_nanos, e->created_ms);
}

/* One transaction: the rows, then their rollups (bulk statements: PostgreSQL gets them with
 * COPY at the commit; one upsert per bucket, so no key repeats).  0; -1, rolled back, when the
 * failure may pass (store_transient); -2, rolled back, when the database refused the rows.
 * The error is in w->why either way. */
static int write_batch(writer *w, entry *rows)
{
  ledger *l = w->l;
  store_conn *c = w->c;
  agg g = { 0 };
  store_stmt *sts[3] = { NULL, NULL, NULL }, *ins = NULL;
  int rc = store_begin(c);
  if(!rc && !(ins = store_prepare_bulk(c, SQL_ROW))) rc = -1;
  for(entry *e = rows; !rc && e; e = e->next) {
    bill_entry(l, e);
    rc = insert_row(ins, e) || agg_add(&g, e);
  }
  /* Table by table, always in this order (PostgreSQL sends each table's rows at the commit in
   * the order its statement was first used): two writers then lock rollup rows in one order. */
  for(rkind k = R_HOURLY; k <= R_DIM; k++)
    for(size_t i = 0; !rc && i < g.cap; i++)
      if(g.v[i].status && g.v[i].kind == k) rc = upsert(c, sts, &g.v[i]);
  if(!rc) rc = store_commit(c);
  if(rc) {
    /* Both asked before the rollback, which replaces SQLite's last error. */
    rc = store_transient(c) ? -1 : -2;
    snprintf(w->why, sizeof w->why, "%s", store_error(c));
    store_rollback(c);
  }
  free(g.v);
  return rc;
}

static void free_rows(entry *e)
{
  while(e) { entry *n = e->next; free(e); e = n; }
}

/* Rows the writer is done with — committed, quarantined, or given up (*count says which):
 * accounted (the money was spent either way), taken off the queue's bounds, freed. */
static void settle(ledger *l, entry *rows, int64_t *count)
{
  size_t n = 0, bytes = 0;
  for(entry *e = rows; e; e = e->next) { account(l, e); n++; bytes += e->size; }
  pthread_mutex_lock(&l->mu);
  *count += (int64_t)n;
  l->nrows -= n;
  l->nbytes -= bytes;
  pthread_mutex_unlock(&l->mu);
  free_rows(rows);
}

/* ---- a batch the database refuses: split, and the row it cannot take quarantined ---- */

/* Every field of the row, under the ledger's column names, as JSON (malloc'd; NULL when out of
 * memory). */
static char *row_json(const entry *e)
{
  char prompt[PROMPT_CAP];
  json_t *j = json_pack("{s:I,s:I,s:s,s:I,s:s,s:b,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:i,s:b,s:s,s:s,"
                        "s:I,s:I,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:s}",
                        "user_id", (json_int_t)e->user_id, "access_key_id", (json_int_t)e->access_key_id,
                        "upstream_key", e->upstream_key, "model_id", (json_int_t)e->b.model_id,
                        "model_name", e->model, "is_local", e->is_local, "generation_type", e->gen_type,
                        "endpoint", e->endpoint, "stream", e->stream, "input_tokens", (json_int_t)e->f.in,
                        "output_tokens", (json_int_t)e->f.out, "thinking_tokens", (json_int_t)e->f.thinking,
                        "cached_tokens", (json_int_t)e->f.cached, "bill_e4", (json_int_t)e->b.bill_e4,
                        "cost_nanos", (json_int_t)e->b.cost_nanos, "status", e->success ? "success" : "failed",
                        "http_status", e->http_status, "refused", e->refused, "error_message", e->error,
                        "request_ip", e->ip, "latency_ms", (json_int_t)e->latency_ms, "ttfb_ms", (json_int_t)e->ttfb_ms,
                        "attempts", e->attempts, "prompt", row_prompt(e, prompt), "created_at", (json_int_t)e->created_ms,
                        "images", (json_int_t)e->f.images, "tool_tokens", (json_int_t)e->f.tool,
                        "audio_tokens", (json_int_t)e->f.audio_in, "cached_audio_tokens", (json_int_t)e->f.audio_cached,
                        "image_tokens", (json_int_t)e->f.image_out,
                        "price_version", (json_int_t)e->b.price_version, "unpriced", e->b.unpriced || e->unpriced_refused,
                        "storage_tokens", (json_int_t)e->f.storage_tokens, "storage_seconds", (json_int_t)e->f.storage_seconds,
                        "request_id", e->request_id);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return text;
}

/* The one row the database refuses, alone: into ledger_rejects with the error, logged once,
 * settled.  0; -1 when that write fails for a moment (*left = e, retried later).  A row even
 * ledger_rejects refuses is dropped, counted and logged. */
static int quarantine(writer *w, entry *e, entry **left)
{
  ledger *l = w->l;
  char why[sizeof w->why];
  snprintf(why, sizeof why, "%s", w->why);
  char *fields = row_json(e);
  int64_t n = -1;
  if(fields && !store_begin(w->c)) {
    n = store_do(w->c, "INSERT INTO ledger_rejects (request_id, user_id, created_at, rejected_at, error, fields)"
                       " VALUES (?, ?, ?, ?, ?, ?)", "tiiitt", e->request_id, e->user_id, e->created_ms, now_ms(), why, fields);
    if(n < 0 || store_commit(w->c)) n = -1;
  }
  bool transient = n < 0 && (!fields || store_transient(w->c));
  if(n < 0) store_rollback(w->c);
  free(fields);
  if(transient) { *left = e; return -1; }
  /* No secret here: the upstream key is the masked one, the prompt is not logged. */
  if(n >= 0)
    log_error("ledger: row refused by the database, kept in ledger_rejects (request %s, user %lld, model %s): %s",
              e->request_id[0] ? e->request_id : "-", (long long)e->user_id, e->model[0] ? e->model : "-", why);
  else
    log_error("ledger: row refused by the database and by ledger_rejects, dropped (request %s, user %lld, model %s): %s",
              e->request_id[0] ? e->request_id : "-", (long long)e->user_id, e->model[0] ? e->model : "-", why);
  settle(l, e, n >= 0 ? &l->st.rejected : &l->st.dropped);
  return 0;
}

/* Writes the n rows of a list the database refused as one batch, settling what it can: halves
 * are tried until the row it cannot take is alone (about 2·log2(n) transactions per such row),
 * and every other row commits.  0 when every row is settled; -1 on a transient failure, with
 * *left the rows not settled yet, in their order (the others are). */
static int write_split(writer *w, entry *rows, size_t n, entry **left)
{
  ledger *l = w->l;
  if(n == 1) return quarantine(w, rows, left);
  entry *mid = rows;
  for(size_t i = 1; i < n / 2; i++) mid = mid->next;
  entry *half[2] = { rows, mid->next };
  size_t len[2] = { n / 2, n - n / 2 };
  mid->next = NULL;
  for(int k = 0; k < 2; k++) {
    int rc = write_batch(w, half[k]);
    if(rc == 0) settle(l, half[k], &l->st.written);
    else if(rc == -1) *left = half[k];
    else rc = write_split(w, half[k], len[k], left);
    if(rc < 0) {
      if(k == 0) {                 /* the second half waits behind what is left of the first */
        entry *t = *left;
        while(t->next) t = t->next;
        t->next = half[1];
      }
      return -1;
    }
  }
  return 0;
}

static void *writer_main(void *arg)
{
  writer *w = arg;
  ledger *l = w->l;
  int failures = 0;
  pthread_setname_np(pthread_self(), "gg-ledger");   /* the bench splits CPU time by thread name */
  pthread_mutex_lock(&l->mu);
  for(;;) {
    while(!l->head && !l->closing) pthread_cond_wait(&l->cv, &l->mu);
    if(!l->head) break;
    if(!l->closing && l->nrows < LEDGER_BATCH && !failures) {
      /* Group commit: linger a moment so a batch gathers.  A commit costs about as much as a
       * hundred rows; one per request would halve the rate the writer sustains. */
      pthread_mutex_unlock(&l->mu);
      struct timespec linger = { 0, LEDGER_LINGER_MS * 1000000L };
      nanosleep(&linger, NULL);
      pthread_mutex_lock(&l->mu);
      if(!l->head) continue;       /* the other writer took them meanwhile */
    }
    /* Take up to LEDGER_BATCH rows; under load batches fill up by themselves. */
    entry *batch = l->head, *last = batch;
    size_t n = 1;
    while(last->next && n < LEDGER_BATCH) { last = last->next; n++; }
    l->head = last->next;
    if(!l->head) l->tail = NULL;
    last->next = NULL;
    l->busy++;
    pthread_mutex_unlock(&l->mu);

    int64_t t0 = mono_us();
    entry *left = NULL;
    int rc = write_batch(w, batch);
    mhist_observe(&metrics.ledger_commit, mono_us() - t0);
    if(rc == 0) settle(l, batch, &l->st.written);
    else if(rc == -2) {
      /* Refused, not busy: retrying it whole would stall every later row for ever. */
      log_error("ledger: a batch of %zu rows was refused (%s): splitting it to keep the rows the database takes", n, w->why);
      rc = write_split(w, batch, n, &left);
    } else {
      left = batch;
    }
    if(rc && l->closing && failures >= 5) {        /* given up: the money was spent */
      size_t k = 0;
      for(entry *e = left; e; e = e->next) k++;
      log_error("ledger: giving up on %zu rows at shutdown", k);
      int64_t lost = 0;
      settle(l, left, &lost);
      rc = 0;
    }
    pthread_mutex_lock(&l->mu);
    if(rc == 0) {
      l->st.batches++;
      failures = 0;
      l->busy--;
      pthread_cond_broadcast(&l->idle_cv);
      continue;
    }
    /* Put what is left back in front, wait, retry: its rows are not lost to a busy database. */
    if(!store_conn_lost(w->c)) log_error("ledger: batch not written, retried: %s", w->why);   /* a loss: the store says it */
    l->st.failed_batches++;
    for(last = left; last->next; last = last->next) {}
    last->next = l->head;
    l->head = left;
    if(!l->tail) l->tail = last;
    l->busy--;
    failures++;
    int64_t ms = 100LL << (failures < 6 ? failures : 6);
    if(ms > 1000 && store_conn_lost(w->c)) ms = 1000;   /* the connection's own retry pace: flush soon after it is back */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if(until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&l->cv, &l->mu, &until);
  }
  pthread_cond_broadcast(&l->idle_cv);
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static void close_writers(ledger *l)
{
  for(int i = 0; i < l->nwriters; i++) {
    pthread_join(l->w[i].thread, NULL);
    store_disconnect(l->w[i].c);
  }
  l->nwriters = 0;
}

ledger *ledger_open(store *s, users *u, prices *p, meter *m, bool log_prompts, char *err, size_t errcap)
{
  ledger *l = calloc(1, sizeof *l);
  if(!l) { snprintf(err, errcap, "out of memory"); return NULL; }
  int n = store_parallel_writes(s) ? MAX_WRITERS : 1;
  for(int i = 0; i < n; i++) {
    l->w[i] = (writer){ .l = l, .c = store_connect(s, err, errcap) };
    if(!l->w[i].c) {
      for(int k = 0; k < i; k++) store_disconnect(l->w[k].c);
      free(l);
      return NULL;
    }
    store_lock_wait(l->w[i].c, LEDGER_LOCK_WAIT_MS);
    store_cache_limit(l->w[i].c, LEDGER_CACHE_KIB);
  }
  l->s = s;
  l->users = u;
  l->prices = p;
  l->meter = m;
  l->log_prompts = log_prompts;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  pthread_cond_init(&l->idle_cv, NULL);
  for(int i = 0; i < n; i++) {
    if(pthread_create(&l->w[i].thread, NULL, writer_main, &l->w[i])) {
      snprintf(err, errcap, "cannot start the ledger writer");
      pthread_mutex_lock(&l->mu);
      l->closing = true;
      pthread_cond_broadcast(&l->cv);
      pthread_mutex_unlock(&l->mu);
      close_writers(l);
      for(int k = i; k < n; k++) store_disconnect(l->w[k].c);
      free(l);
      return NULL;
    }
    l->nwriters++;
  }
  return l;
}

void ledger_set_unpriced_max(ledger *l, bool at_max)
{
  if(l) l->unpriced_max = at_max;
}

void ledger_close(ledger *l)
{
  if(!l) return;
  pthread_mutex_lock(&l->mu);
  l->closing = true;
  size_t left = l->nrows;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  if(left) log_info("ledger: writing the last %zu rows", left);
  close_writers(l);
  log_info("ledger: %lld rows written, %lld dropped", (long long)l->st.written, (long long)l->st.dropped);
  free_rows(l->head);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv);
  pthread_cond_destroy(&l->idle_cv);
  free(l);
}

/* Copies s into a fixed field, cutting at a character boundary, and makes it valid UTF-8. */
static void put(char *dst, size_t cap, const char *s)
{
  size_t n = s ? strnlen(s, cap - 1) : 0;
  n = prompt_cut(s ? s : "", n, (size_t)-1, cap - 1);
  memcpy(dst, s ? s : "", n);
  dst[n] = '\0';
  prompt_sanitize(dst);
}

void ledger_record(ledger *l, const ledger_row *row)
{
  if(!l) return;
  size_t elen = strnlen(row->error, sizeof row->error - 1);
  size_t plen = l->log_prompts ? strnlen(row->prompt, sizeof row->prompt - 1) : 0;
  bool raw = l->log_prompts && !plen && row->prompt_of && row->body && row->body_len;
  if(raw) plen = row->body_len < LEDGER_BODY_COPY ? row->body_len : LEDGER_BODY_COPY;
  size_t size = sizeof(entry) + elen + plen + 2;
  int64_t created = row->created_ms ? row->created_ms : now_ms();
  /* Counts are clamped where they enter (call/usage.c); again here for every other caller. */
  bill_facts f = {
    .in = ledger_clamp_tokens(row->in_tokens), .out = ledger_clamp_tokens(row->out_tokens),
    .thinking = ledger_clamp_tokens(row->thinking_tokens), .cached = ledger_clamp_tokens(row->cached_tokens),
    .tool = ledger_clamp_tokens(row->tool_tokens), .audio_in = ledger_clamp_tokens(row->audio_tokens),
    .audio_cached = ledger_clamp_tokens(row->audio_cached_tokens), .image_out = ledger_clamp_tokens(row->image_tokens),
    .images = ledger_clamp_tokens(row->images), .storage_tokens = ledger_clamp_tokens(row->storage_tokens),
    .storage_seconds = ledger_clamp_tokens(row->storage_seconds), .success = row->success, .batch = row->batch,
  };
  if(f.cached > f.in) f.cached = f.in;         /* promptTokenCount includes the cached ones */
  if(!row->refused && l->meter) meter_add(l->meter, row->model, created, 1, f.in + f.out + f.thinking);

  entry *e = NULL;
  pthread_mutex_lock(&l->mu);
  l->st.recorded++;
  bool full = l->closing || l->nrows >= LEDGER_MAX_ROWS || l->nbytes + size > LEDGER_MAX_BYTES;
  if(!full) { l->nrows++; l->nbytes += size; }
  pthread_mutex_unlock(&l->mu);
  if(!full && !(e = malloc(size))) {
    pthread_mutex_lock(&l->mu);
    l->nrows--; l->nbytes -= size;
    pthread_mutex_unlock(&l->mu);
  }
  if(!e) {
    /* Dropped: not written, but billed and accounted — the call happened. */
    entry tmp = { .user_id = row->user_id, .reserved = row->reserved_nanos, .f = f, .created_ms = created,
                  .refused = row->refused, .counted = row->counted };
    put(tmp.model, sizeof tmp.model, row->model);
    bill_entry(l, &tmp);
    account(l, &tmp);
    pthread_mutex_lock(&l->mu);
    l->st.dropped++;
    int64_t now = now_ms();
    bool say = now - l->last_drop_log >= 1000;
    if(say) l->last_drop_log = now;
    int64_t dropped = l->st.dropped;
    pthread_mutex_unlock(&l->mu);
    if(say) log_error("ledger: queue full (%d rows waiting for the database): %lld rows dropped so far",
                      LEDGER_MAX_ROWS, (long long)dropped);
    return;
  }
  *e = (entry){ .size = size, .user_id = row->user_id, .access_key_id = row->access_key_id,
                .reserved = row->reserved_nanos, .f = f,
                .latency_ms = row->latency_ms, .ttfb_ms = row->ttfb_ms, .created_ms = created,
                .http_status = row->http_status, .attempts = row->attempts, .is_local = row->is_local,
                .stream = row->stream, .success = row->success, .refused = row->refused,
                .unpriced_refused = row->unpriced, .counted = row->counted };
  put(e->upstream_key, sizeof e->upstream_key, row->upstream_key);
  put(e->model, sizeof e->model, row->model);
  put(e->gen_type, sizeof e->gen_type, row->gen_type[0] ? row->gen_type : row->endpoint[0] ? row->endpoint : "other");
  put(e->endpoint, sizeof e->endpoint, row->endpoint[0] ? row->endpoint : "other");
  put(e->ip, sizeof e->ip, row->ip);
  put(e->request_id, sizeof e->request_id, row->request_id);
  e->error = e->text;
  put(e->error, elen + 1, row->error);
  e->prompt = e->text + elen + 1;
  if(raw) {
    memcpy(e->prompt, row->body, plen);
    e->prompt[plen] = '\0';
    e->prompt_of = row->prompt_of;
    e->raw_len = plen;
  } else {
    put(e->prompt, plen + 1, l->log_prompts ? row->prompt : "");
  }

  pthread_mutex_lock(&l->mu);
  if(l->tail) l->tail->next = e; else l->head = e;
  l->tail = e;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

bool ledger_flush(ledger *l, int64_t timeout_ms)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (timeout_ms % 1000) * 1000000;
  if(until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&l->mu);
  int rc = 0;
  while((l->nrows || l->busy) && rc == 0) rc = pthread_cond_timedwait(&l->idle_cv, &l->mu, &until);
  bool ok = !l->nrows && !l->busy;
  pthread_mutex_unlock(&l->mu);
  return ok;
}

void ledger_get_stats(ledger *l, ledger_stats *out)
{
  pthread_mutex_lock(&l->mu);
  *out = l->st;
  out->queued = (int64_t)l->nrows;
  pthread_mutex_unlock(&l->mu);
}

void ledger_set_prompt(ledger_row *row, const char *text, size_t n)
{
  size_t k = prompt_cut(text, n, LEDGER_PROMPT_CHARS, sizeof row->prompt - 1);
  memcpy(row->prompt, text, k);
  row->prompt[k] = '\0';
}
