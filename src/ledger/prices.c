/* prices — the versioned price list, aliases and bills; contract in prices.h. */
#include "ledger/prices.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/money.h"
#include "base/util.h"
#include "store/store.h"

#define TOKENS_MAX (INT64_C(1) << 40)

const price_field price_fields[PRICE_NFIELDS] = {
  [PRICE_INPUT]         = { "input",               "input_micros",        true,  PRICES_MAX_MICROS, -1, 0 },
  [PRICE_INPUT_LONG]    = { "input_long",          "input_long_micros",   true,  PRICES_MAX_MICROS, PRICE_INPUT, 0 },
  [PRICE_OUTPUT]        = { "output",              "output_micros",       true,  PRICES_MAX_MICROS, -1, 0 },
  [PRICE_OUTPUT_LONG]   = { "output_long",         "output_long_micros",  true,  PRICES_MAX_MICROS, PRICE_OUTPUT, 0 },
  [PRICE_CACHED]        = { "cached",              "cached_micros",       true,  PRICES_MAX_MICROS, PRICE_INPUT, 0 },
  [PRICE_CACHED_LONG]   = { "cached_long",         "cached_long_micros",  true,  PRICES_MAX_MICROS, PRICE_CACHED, 0 },
  [PRICE_AUDIO_INPUT]   = { "audio_input",         "audio_input_micros",  true,  PRICES_MAX_MICROS, PRICE_INPUT, 0 },
  [PRICE_AUDIO_CACHED]  = { "audio_cached",        "audio_cached_micros", true,  PRICES_MAX_MICROS, PRICE_CACHED, 0 },
  [PRICE_IMAGE_OUTPUT]  = { "image_output",        "image_output_micros", true,  PRICES_MAX_MICROS, PRICE_OUTPUT, 0 },
  [PRICE_PER_IMAGE]     = { "per_image",           "image_micros",        true,  PRICES_MAX_MICROS, -1, 0 },
  [PRICE_PER_REQUEST]   = { "per_request",         "request_micros",      true,  PRICES_MAX_MICROS, -1, 0 },
  [PRICE_STORAGE]       = { "storage_per_hour",    "storage_micros",      true,  PRICES_MAX_MICROS, -1, 0 },
  [PRICE_LONG_CONTEXT]  = { "long_context_tokens", "long_context_tokens", false, TOKENS_MAX, -1, 0 },
  [PRICE_BATCH_PERCENT] = { "batch_percent",       "batch_percent",       false, 100, -1, 50 },
  [PRICE_MAX_OUTPUT]    = { "max_output_tokens",   "max_output_tokens",   false, TOKENS_MAX, -1, 8192 },
};

/* Google's Gemini API price list, paid tier, Standard (USD; per 1M tokens unless said), as
 * looked up on 2026-12-01 — docs/ledger.md has the source and what is ambiguous.  "" = the
 * field's base (prices.h).  Effective from DEFAULTS_FROM; a model's first version also prices
 * the time before it. */
#define DEFAULTS_FROM INT64_C(1796083200000)          /* 2026-12-01T00:00:00Z */
typedef struct shipped {
  const char *model;
  const char *m[PRICE_LONG_CONTEXT];                 /* the money fields, in enum order */
  int64_t long_context, batch_percent, max_output;
} shipped;
/*                      input   in>long  output  out>long cached  c>long  audio   a.cached img.out per_img per_req storage */
static const shipped defaults[] = {
  { "gemini-2.5-pro",        { "1.25",  "2.50",  "10.00", "15.00", "0.125", "0.25", "1.25", "0.125", "10.00", "0", "0", "4.50" }, 200000, 50, 65536 },
  { "gemini-2.5-flash",      { "0.30",  "",      "2.50",  "",      "0.03",  "",     "1.00", "0.10",  "",      "0", "0", "1.00" }, 0, 50, 65536 },
  { "gemini-2.5-flash-lite", { "0.10",  "",      "0.40",  "",      "0.01",  "",     "0.30", "0.03",  "",      "0", "0", "1.00" }, 0, 50, 65536 },
  { "gemini-2.5-flash-image",{ "0.30",  "",      "2.50",  "",      "0.03",  "",     "",     "",      "30.00", "0", "0", "1.00" }, 0, 50, 32768 },
  { "gemini-2.0-flash",      { "0.10",  "",      "0.40",  "",      "0.025", "",     "0.70", "0.175", "30.00", "0", "0", "1.00" }, 0, 50, 8192 },
  { "gemini-2.0-flash-lite", { "0.075", "",      "0.30",  "",      "",      "",     "",     "",      "",      "0", "0", "0" },    0, 50, 8192 },
  { "gemini-3-pro-preview",  { "2.00",  "4.00",  "12.00", "18.00", "0.20",  "0.40", "",     "",      "",      "0", "0", "4.50" }, 200000, 50, 65536 },
  { "gemini-3.1-pro-preview",{ "2.00",  "4.00",  "12.00", "18.00", "0.20",  "0.40", "",     "",      "",      "0", "0", "4.50" }, 200000, 50, 65536 },
  { "gemini-3-flash-preview",{ "0.50",  "",      "3.00",  "",      "0.05",  "",     "1.00", "0.10",  "",      "0", "0", "1.00" }, 0, 50, 65536 },
  { "gemini-3.1-flash-lite-preview", { "0.25", "", "1.50", "",     "0.025", "",     "0.50", "0.05",  "",      "0", "0", "1.00" }, 0, 50, 65536 },
  { "gemini-3-pro-image-preview", { "2.00", "",  "12.00", "",      "0.20",  "",     "",     "",      "120.00","0", "0", "0" },    0, 50, 32768 },
  { "gemini-embedding-001",  { "0.15",  "",      "0",     "",      "",      "",     "",     "",      "0",     "0", "0", "0" },    0, 50, 0 },
  { "text-embedding-004",    { "0",     "",      "0",     "",      "",      "",     "",     "",      "",      "0", "0", "0" },    0, 100, 0 },
  { "imagen-4.0-generate-001",       { "0", "", "0", "", "", "", "", "", "", "0.04", "0", "0" }, 0, 100, 0 },
  { "imagen-4.0-fast-generate-001",  { "0", "", "0", "", "", "", "", "", "", "0.02", "0", "0" }, 0, 100, 0 },
  { "imagen-4.0-ultra-generate-001", { "0", "", "0", "", "", "", "", "", "", "0.06", "0", "0" }, 0, 100, 0 },
  { "imagen-3.0-generate-002",       { "0", "", "0", "", "", "", "", "", "", "0.03", "0", "0" }, 0, 100, 0 },
};

/* The shipped alias table: names Google moves between models, and the names its previews strip
 * to (the suffix rule) that are not themselves a model here. */
static const char *const default_aliases[][2] = {
  { "gemini-flash-latest",       "gemini-2.5-flash" },
  { "gemini-flash-lite-latest",  "gemini-2.5-flash-lite" },
  { "gemini-pro-latest",         "gemini-2.5-pro" },
  { "gemini-embedding",          "gemini-embedding-001" },
  { "imagen-4.0-generate",       "imagen-4.0-generate-001" },
  { "imagen-4.0-fast-generate",  "imagen-4.0-fast-generate-001" },
  { "imagen-4.0-ultra-generate", "imagen-4.0-ultra-generate-001" },
  { "imagen-3.0-generate",       "imagen-3.0-generate-002" },
};

struct prices {
  pthread_rwlock_t lock;
  price *v;                   /* sorted by model, then effective_from */
  size_t n;
  price_alias *a;             /* sorted by alias */
  size_t na;
  price top;                  /* every field at its highest over the table (GEMGATE_UNPRICED=max) */
};

/* The statements name every field's column, in enum order: the table, an admin's version (a
 * second one at the same time replaces the first), a shipped one (never where the admin priced
 * the model, never twice). */
static char sql_select[1024], sql_upsert[2048], sql_shipped[1024];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static void build_sql(void)
{
  sbuf s = { sql_select, 0, sizeof sql_select - 1, false }, u = { sql_upsert, 0, sizeof sql_upsert - 1, false };
  sbuf d = { sql_shipped, 0, sizeof sql_shipped - 1, false };
  sb_str(&s, "SELECT id, model, effective_from, source, created_at");
  char cols[768];
  sbuf cl = { cols, 0, sizeof cols - 1, false };
  sb_str(&cl, "model, effective_from, source, created_at");
  for(int k = 0; k < PRICE_NFIELDS; k++) {
    sb_str(&s, ", ");
    sb_str(&s, price_fields[k].column);
    sb_str(&cl, ", ");
    sb_str(&cl, price_fields[k].column);
  }
  cols[cl.n] = '\0';
  sb_str(&s, " FROM prices ORDER BY model, effective_from");
  char params[256];
  sbuf pa = { params, 0, sizeof params - 1, false };
  for(int k = 1; k <= 4 + PRICE_NFIELDS; k++) {
    char one[24];
    snprintf(one, sizeof one, "%s?%d", k > 1 ? ", " : "", k);
    sb_str(&pa, one);
  }
  params[pa.n] = '\0';
  sb_str(&u, "INSERT INTO prices (");
  sb_str(&u, cols);
  sb_str(&u, ") VALUES (");
  sb_str(&u, params);
  sb_str(&u, ") ON CONFLICT (model, effective_from) DO UPDATE SET source = excluded.source");
  for(int k = 0; k < PRICE_NFIELDS; k++) {
    sb_str(&u, ", ");
    sb_str(&u, price_fields[k].column);
    sb_str(&u, " = excluded.");
    sb_str(&u, price_fields[k].column);
  }
  sb_str(&d, "INSERT INTO prices (");
  sb_str(&d, cols);
  sb_str(&d, ") SELECT ");
  sb_str(&d, params);
  sb_str(&d, " WHERE NOT EXISTS (SELECT 1 FROM prices WHERE model = ?1 AND source = 'admin')"
             " ON CONFLICT (model, effective_from) DO NOTHING");
  sql_select[s.n] = sql_upsert[u.n] = sql_shipped[d.n] = '\0';
}

prices *prices_new(void)
{
  pthread_once(&sql_once, build_sql);
  prices *p = calloc(1, sizeof *p);
  if(p) pthread_rwlock_init(&p->lock, NULL);
  return p;
}

void prices_free(prices *p)
{
  if(!p) return;
  pthread_rwlock_destroy(&p->lock);
  free(p->v);
  free(p->a);
  free(p);
}

/* ---- the table in memory ---- */

/* The first version of model in v[0..n) (sorted), or n. */
static size_t first_of(const price *v, size_t n, const char *model)
{
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(strcmp(v[mid].model, model) < 0) lo = mid + 1; else hi = mid;
  }
  return lo < n && !strcmp(v[lo].model, model) ? lo : n;
}

/* Reads the whole table and the aliases into memory, replacing the current ones. */
static int reload(prices *p, struct store_conn *c)
{
  store_stmt *st = store_prepare(c, sql_select);
  if(!st) return -1;
  price *v = NULL;
  size_t n = 0, cap = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    if(n == cap) {
      price *nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof *v);
      if(!nv) { rc = STORE_ERROR; break; }
      v = nv;
    }
    price *pr = &v[n++];
    pr->id = store_col_int(st, 0);
    snprintf(pr->model, sizeof pr->model, "%s", store_col_text(st, 1));
    pr->effective_from = store_col_int(st, 2);
    snprintf(pr->source, sizeof pr->source, "%s", store_col_text(st, 3) ? store_col_text(st, 3) : "");
    pr->created_at = store_col_int(st, 4);
    for(int k = 0; k < PRICE_NFIELDS; k++) pr->v[k] = store_col_int(st, 5 + k);
    pr->model_id = n > 1 && !strcmp(v[n - 2].model, pr->model) ? v[n - 2].model_id : pr->id;
  }
  store_reset(st);
  price_alias *a = NULL;
  size_t na = 0;
  if(rc == STORE_DONE && (st = store_prepare(c, "SELECT alias, model, source FROM price_aliases ORDER BY alias"))) {
    while((rc = store_step(st)) == STORE_ROW) {
      price_alias *nv = realloc(a, (na + 1) * sizeof *a);
      if(!nv) { rc = STORE_ERROR; break; }
      a = nv;
      snprintf(a[na].alias, sizeof a[na].alias, "%s", store_col_text(st, 0));
      snprintf(a[na].model, sizeof a[na].model, "%s", store_col_text(st, 1));
      snprintf(a[na].source, sizeof a[na].source, "%s", store_col_text(st, 2));
      na++;
    }
    store_reset(st);
  }
  if(rc != STORE_DONE) { free(v); free(a); return -1; }
  /* The dearest of everything, flat: no long-context tier (its prices are in the maxima), no
   * batch discount. */
  price top = { .source = "max" };
  snprintf(top.model, sizeof top.model, "(unpriced)");
  for(size_t i = 0; i < n; i++)
    for(int k = 0; k < PRICE_NFIELDS; k++) if(v[i].v[k] > top.v[k]) top.v[k] = v[i].v[k];
  static const int longs[][2] = { { PRICE_INPUT, PRICE_INPUT_LONG }, { PRICE_OUTPUT, PRICE_OUTPUT_LONG },
                                  { PRICE_CACHED, PRICE_CACHED_LONG } };
  for(int k = 0; k < 3; k++) {
    int64_t *lo = &top.v[longs[k][0]], *hi = &top.v[longs[k][1]];
    if(*hi > *lo) *lo = *hi; else *hi = *lo;
  }
  top.v[PRICE_LONG_CONTEXT] = 0;
  top.v[PRICE_BATCH_PERCENT] = 100;
  pthread_rwlock_wrlock(&p->lock);
  free(p->v);
  free(p->a);
  p->v = v;
  p->n = n;
  p->a = a;
  p->na = na;
  p->top = top;
  pthread_rwlock_unlock(&p->lock);
  return 0;
}

/* Binds a version's fields after the four leading parameters and runs the insert. */
static int insert_version(struct store_conn *c, const char *sql, const char *model, int64_t from,
                          const char *source, int64_t created, const int64_t v[PRICE_NFIELDS])
{
  store_stmt *st = store_prepare(c, sql);
  if(!st) return -1;
  store_bind_text(st, 1, model);
  store_bind_int(st, 2, from);
  store_bind_text(st, 3, source);
  store_bind_int(st, 4, created);
  for(int k = 0; k < PRICE_NFIELDS; k++) store_bind_int(st, 5 + k, v[k]);
  int rc = store_step(st) == STORE_DONE ? 0 : -1;
  store_reset(st);
  return rc;
}

/* Fields not given take their base field's value, or their default. */
static void complete(int64_t v[PRICE_NFIELDS], uint32_t have)
{
  for(int k = 0; k < PRICE_NFIELDS; k++)      /* bases come earlier in the enum */
    if(!(have & (1u << k))) v[k] = price_fields[k].base >= 0 ? v[price_fields[k].base] : price_fields[k].dflt;
}

int prices_load(prices *p, struct store_conn *c, int64_t now)
{
  for(size_t i = 0; i < ARRAY_LEN(defaults); i++) {
    const shipped *d = &defaults[i];
    int64_t v[PRICE_NFIELDS] = { 0 };
    uint32_t have = 0;
    for(int k = 0; k < PRICE_LONG_CONTEXT; k++)
      if(d->m[k][0] && money_parse_str(d->m[k], 6, PRICES_MAX_MICROS, &v[k])) have |= 1u << k;
    v[PRICE_LONG_CONTEXT] = d->long_context;
    v[PRICE_BATCH_PERCENT] = d->batch_percent;
    v[PRICE_MAX_OUTPUT] = d->max_output;
    complete(v, have | (7u << PRICE_LONG_CONTEXT));
    if(insert_version(c, sql_shipped, d->model, DEFAULTS_FROM, "default", now, v)) {
      log_error("prices: cannot insert the shipped prices: %s", store_error(c));
      return -1;
    }
  }
  for(size_t i = 0; i < ARRAY_LEN(default_aliases); i++)
    if(store_do(c, "INSERT INTO price_aliases (alias, model, source, created_at) VALUES (?, ?, 'default', ?)"
                   " ON CONFLICT (alias) DO NOTHING", "tti", default_aliases[i][0], default_aliases[i][1], now) < 0) {
      log_error("prices: cannot insert the shipped aliases: %s", store_error(c));
      return -1;
    }
  return reload(p, c);
}

/* ---- lookups (read lock held) ---- */

static const price_alias *alias_of(const prices *p, const char *name)
{
  size_t lo = 0, hi = p->na;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    int d = strcmp(p->a[mid].alias, name);
    if(!d) return &p->a[mid];
    if(d < 0) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

/* A version token a name may end with: preview, exp, latest, or 1–8 digits. */
static bool version_token(const char *t)
{
  if(!strcmp(t, "preview") || !strcmp(t, "exp") || !strcmp(t, "latest")) return true;
  size_t n = strlen(t);
  if(!n || n > 8) return false;
  for(size_t i = 0; i < n; i++) if(t[i] < '0' || t[i] > '9') return false;
  return true;
}

/* The first version of the model that prices name (the rules in prices.h), or p->n. */
static size_t resolve(const prices *p, const char *model)
{
  if(!strncmp(model, "models/", 7)) model += 7;
  char name[64];
  snprintf(name, sizeof name, "%s", model);
  for(;;) {
    size_t i = first_of(p->v, p->n, name);
    if(i < p->n) return i;
    const price_alias *a = alias_of(p, name);
    if(a && (i = first_of(p->v, p->n, a->model)) < p->n) return i;
    char *cut = strrchr(name, '@');
    if(!cut) {
      cut = strrchr(name, '-');
      if(!cut || cut == name || !version_token(cut + 1)) break;
    }
    *cut = '\0';
  }
  return first_of(p->v, p->n, "*");
}

/* Of the versions from first on (one model's run), the one in force at t. */
static const price *in_force(const prices *p, size_t first, int64_t t)
{
  const price *best = &p->v[first];
  for(size_t i = first; i < p->n && !strcmp(p->v[i].model, p->v[first].model); i++)
    if(p->v[i].effective_from <= t) best = &p->v[i];
  return best;
}

bool prices_lookup(prices *p, const char *model, int64_t t, price *out)
{
  if(!p || !model) return false;
  pthread_rwlock_rdlock(&p->lock);
  size_t i = resolve(p, model);
  bool found = i < p->n;
  if(found) *out = *in_force(p, i, t);
  pthread_rwlock_unlock(&p->lock);
  return found;
}

/* ---- bills ---- */

static int64_t clamp(int64_t v) { return v < 0 ? 0 : v > TOKENS_MAX ? TOKENS_MAX : v; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void price_compute(const price *pr, const bill_facts *f, bill *b)
{
  /* Counts arrive clamped to [0, 2^40]; prices are at most 10^11.  A product is < 2^77 and the
   * storage term < 2^117: 128 bits hold the sum of every term. */
  const int64_t *v = pr->v;
  int64_t in = clamp(f->in), cached = min64(clamp(f->cached), in);
  int64_t audio = min64(clamp(f->audio_in), in), acached = min64(min64(clamp(f->audio_cached), audio), cached);
  int64_t audio_fresh = min64(audio - acached, in - cached), text_cached = cached - acached;
  int64_t text_fresh = in - cached - audio_fresh;
  int64_t out = clamp(f->out), image_out = min64(clamp(f->image_out), out);
  bool lng = v[PRICE_LONG_CONTEXT] > 0 && in > v[PRICE_LONG_CONTEXT];
  uint64_t pin = (uint64_t)v[lng ? PRICE_INPUT_LONG : PRICE_INPUT];
  uint64_t pout = (uint64_t)v[lng ? PRICE_OUTPUT_LONG : PRICE_OUTPUT];
  uint64_t pcached = (uint64_t)v[lng ? PRICE_CACHED_LONG : PRICE_CACHED];
  typedef unsigned __int128 u128;
  u128 pico = (u128)(uint64_t)(text_fresh + clamp(f->tool)) * pin +
              (u128)(uint64_t)audio_fresh * (uint64_t)v[PRICE_AUDIO_INPUT] +
              (u128)(uint64_t)text_cached * pcached +
              (u128)(uint64_t)acached * (uint64_t)v[PRICE_AUDIO_CACHED] +
              (u128)(uint64_t)(out - image_out + clamp(f->thinking)) * pout +
              (u128)(uint64_t)image_out * (uint64_t)v[PRICE_IMAGE_OUTPUT] +
              (u128)(uint64_t)clamp(f->images) * (uint64_t)v[PRICE_PER_IMAGE] * 1000000u +
              (u128)(f->success ? (uint64_t)v[PRICE_PER_REQUEST] : 0) * 1000000u +
              (u128)(uint64_t)clamp(f->storage_tokens) * (uint64_t)v[PRICE_STORAGE] *
                (uint64_t)clamp(f->storage_seconds) / 3600u;
  if(f->batch) pico = pico * (uint64_t)v[PRICE_BATCH_PERCENT] / 100u;
  u128 nanos = (pico + 500) / 1000, e4 = (pico + 50000000) / 100000000;
  b->cost_nanos = nanos > INT64_MAX ? INT64_MAX : (int64_t)nanos;
  b->bill_e4 = e4 > MONEY_MAX_E4 ? MONEY_MAX_E4 : (int64_t)e4;
  b->model_id = pr->model_id;
  b->price_version = pr->id;
  b->unpriced = false;
}

void prices_bill(prices *p, const char *model, int64_t t, const bill_facts *f, bool at_max, bill *b)
{
  *b = (bill){ .unpriced = true };
  if(!p || !model) return;
  pthread_rwlock_rdlock(&p->lock);
  size_t i = resolve(p, model);
  if(i < p->n) price_compute(in_force(p, i, t), f, b);
  else if(at_max) { price_compute(&p->top, f, b); b->unpriced = true; }
  pthread_rwlock_unlock(&p->lock);
}

/* The price of model in force at t into *pr (the table's highest when unpriced and at_max);
 * false when there is none. */
static bool price_at(prices *p, const char *model, int64_t t, bool at_max, price *pr)
{
  pthread_rwlock_rdlock(&p->lock);
  size_t i = resolve(p, model);
  bool found = i < p->n || at_max;
  if(found) *pr = i < p->n ? *in_force(p, i, t) : p->top;
  pthread_rwlock_unlock(&p->lock);
  return found;
}

/* The output tokens a reservation assumes: the request's maximum, capped by the model's. */
static int64_t max_out(const price *pr, int64_t max_output)
{
  return max_output >= 0 && max_output < pr->v[PRICE_MAX_OUTPUT] ? max_output : pr->v[PRICE_MAX_OUTPUT];
}

int64_t prices_estimate(prices *p, const char *model, int64_t t, int64_t prompt_tokens, int64_t max_output,
                        int64_t images, bool at_max)
{
  price pr;
  if(!p || !model || !price_at(p, model, t, at_max, &pr)) return -1;
  int64_t out = max_out(&pr, max_output);
  bill_facts f = { .in = prompt_tokens, .out = out, .images = images, .success = true };
  bill b;
  price_compute(&pr, &f, &b);
  return b.cost_nanos;
}

int64_t prices_estimate_batch(prices *p, const char *model, int64_t t, int64_t prompt_tokens, int64_t max_output,
                              int64_t requests, bool at_max)
{
  price pr;
  if(!p || !model || !price_at(p, model, t, at_max, &pr)) return -1;
  int64_t one = max_out(&pr, max_output);
  int64_t n = clamp(requests < 1 ? 1 : requests), out = one && n > TOKENS_MAX / one ? TOKENS_MAX : one * n;
  bill_facts f = { .in = prompt_tokens, .out = out, .batch = true };
  bill b;
  price_compute(&pr, &f, &b);
  return b.cost_nanos;
}

/* ---- changes ---- */

bool prices_model_valid(const char *s, size_t n)
{
  if(n == 1 && s[0] == '*') return true;
  if(!n || n > 63) return false;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-' || c == ':' || c == '@'))
      return false;
  }
  return true;
}

/* The version of exactly this model in force at t (no alias, no rules): true with *out. */
static bool exact_version(prices *p, const char *model, int64_t t, price *out)
{
  pthread_rwlock_rdlock(&p->lock);
  size_t i = first_of(p->v, p->n, model);
  bool found = i < p->n;
  if(found) *out = *in_force(p, i, t);
  pthread_rwlock_unlock(&p->lock);
  return found;
}

static gg_rc set_alias(prices *p, struct store_conn *c, const price_update *u, int64_t now, price *out, gg_err *e)
{
  if(!prices_model_valid(u->alias_of, strnlen(u->alias_of, sizeof u->alias_of)) || !strcmp(u->alias_of, "*"))
    return gg_fail(e, GG_BAD_INPUT, "\"alias_of\" must name a model");
  if(!strcmp(u->alias_of, u->model)) return gg_fail(e, GG_BAD_INPUT, "a model cannot be an alias of itself");
  if(u->have) return gg_fail(e, GG_BAD_INPUT, "give either prices or \"alias_of\", not both");
  price cur;
  if(exact_version(p, u->model, now, &cur))
    return gg_fail(e, GG_BAD_INPUT, "this name has prices of its own: it cannot be an alias");
  if(!exact_version(p, u->alias_of, now, out))
    return gg_fail(e, GG_BAD_INPUT, "\"alias_of\" must name a model with prices");
  if(store_do(c, "INSERT INTO price_aliases (alias, model, source, created_at) VALUES (?, ?, 'admin', ?)"
                 " ON CONFLICT (alias) DO UPDATE SET model = excluded.model, source = 'admin',"
                 " created_at = excluded.created_at", "tti", u->model, u->alias_of, now) < 0 || reload(p, c))
    return gg_fail(e, GG_DB, "could not store the alias");
  return GG_OK;
}

gg_rc prices_set(prices *p, struct store_conn *c, const price_update *u, int64_t now, price *out, gg_err *e)
{
  if(!prices_model_valid(u->model, strnlen(u->model, sizeof u->model)))
    return gg_fail(e, GG_BAD_INPUT, "the model name in the path is not valid");
  if(u->alias_of[0]) return set_alias(p, c, u, now, out, e);
  if(!(u->have & ((1u << PRICE_NFIELDS) - 1))) return gg_fail(e, GG_BAD_INPUT, "give at least one price (or \"alias_of\")");
  int64_t from = u->effective_from ? u->effective_from : now;
  if(from < now - 1000) return gg_fail(e, GG_BAD_INPUT, "\"effective_from\" is in the past: a price change never rewrites what was billed");
  int64_t v[PRICE_NFIELDS];
  price cur;
  bool known = exact_version(p, u->model, from, &cur);
  for(int k = 0; k < PRICE_NFIELDS; k++) {
    if(!(u->have & (1u << k))) { v[k] = known ? cur.v[k] : 0; continue; }
    if(u->v[k] < 0 || u->v[k] > price_fields[k].max)
      return gg_fail(e, GG_BAD_INPUT, price_fields[k].money ? "a price must be from 0 to 100000 USD"
                                                            : "a count is out of range");
    v[k] = u->v[k];
  }
  if(!known) complete(v, u->have);
  if(insert_version(c, sql_upsert, u->model, from, "admin", now, v) || reload(p, c)) return gg_fail(e, GG_DB, "could not store the price");
  bool found = false;
  pthread_rwlock_rdlock(&p->lock);
  for(size_t i = first_of(p->v, p->n, u->model); i < p->n && !strcmp(p->v[i].model, u->model); i++)
    if(p->v[i].effective_from == from) { *out = p->v[i]; found = true; }
  pthread_rwlock_unlock(&p->lock);
  return found ? GG_OK : gg_fail(e, GG_DB, "could not store the price");
}

price *prices_list(prices *p, size_t *n)
{
  pthread_rwlock_rdlock(&p->lock);
  price *v = p->n ? malloc(p->n * sizeof *v) : NULL;
  *n = v ? p->n : 0;
  if(v) memcpy(v, p->v, p->n * sizeof *v);
  pthread_rwlock_unlock(&p->lock);
  return v;
}

price_alias *prices_aliases(prices *p, size_t *n)
{
  pthread_rwlock_rdlock(&p->lock);
  price_alias *a = p->na ? malloc(p->na * sizeof *a) : NULL;
  *n = a ? p->na : 0;
  if(a) memcpy(a, p->a, p->na * sizeof *a);
  pthread_rwlock_unlock(&p->lock);
  return a;
}
