/* prices — price table and bills; contract in prices.h. */
#include "ledger/prices.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/money.h"
#include "base/util.h"
#include "store/store.h"

struct prices {
  pthread_rwlock_t lock;
  price *v;
  size_t n;
};

/* USD per 1M tokens as published by Google for the paid tier in 2025 (text; ≤200k-token prompts
 * for 2.5 Pro).  Imagen is priced per image, taken here as per call.  Edit through the admin API. */
static const struct { const char *model; const char *in, *out, *think, *cached, *req; } defaults[] = {
  { "gemini-2.5-pro",          "1.25",  "10.00", "10.00", "0.125", "0" },
  { "gemini-2.5-flash",        "0.30",  "2.50",  "2.50",  "0.03",  "0" },
  { "gemini-2.5-flash-lite",   "0.10",  "0.40",  "0.40",  "0.01",  "0" },
  { "gemini-2.5-flash-image",  "0.30",  "30.00", "0",     "0.03",  "0" },
  { "gemini-2.0-flash",        "0.10",  "0.40",  "0.40",  "0.025", "0" },
  { "gemini-2.0-flash-lite",   "0.075", "0.30",  "0.30",  "0.075", "0" },
  { "gemini-embedding-001",    "0.15",  "0",     "0",     "0.15",  "0" },
  { "text-embedding-004",      "0",     "0",     "0",     "0",     "0" },
  { "imagen-4.0-generate-001",       "0", "0", "0", "0", "0.04" },
  { "imagen-4.0-fast-generate-001",  "0", "0", "0", "0", "0.02" },
  { "imagen-4.0-ultra-generate-001", "0", "0", "0", "0", "0.06" },
  { "imagen-3.0-generate-002",       "0", "0", "0", "0", "0.03" },
};

prices *prices_new(void)
{
  prices *p = calloc(1, sizeof *p);
  if(p) pthread_rwlock_init(&p->lock, NULL);
  return p;
}

void prices_free(prices *p)
{
  if(!p) return;
  pthread_rwlock_destroy(&p->lock);
  free(p->v);
  free(p);
}

/* Reads the whole table into memory, replacing the current one. */
static int reload(prices *p, struct store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT id, model, input_micros, output_micros, thinking_micros,"
                                    " cached_micros, request_micros, updated_at FROM prices ORDER BY model");
  if(!st) return -1;
  price *v = NULL;
  size_t n = 0;
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    price *nv = realloc(v, (n + 1) * sizeof *v);
    if(!nv) { rc = STORE_ERROR; break; }
    v = nv;
    price *pr = &v[n++];
    pr->id = store_col_int(st, 0);
    snprintf(pr->model, sizeof pr->model, "%s", store_col_text(st, 1));
    pr->input = store_col_int(st, 2);
    pr->output = store_col_int(st, 3);
    pr->thinking = store_col_int(st, 4);
    pr->cached = store_col_int(st, 5);
    pr->request = store_col_int(st, 6);
    pr->updated_at = store_col_int(st, 7);
  }
  store_reset(st);
  if(rc != STORE_DONE) { free(v); return -1; }
  pthread_rwlock_wrlock(&p->lock);
  free(p->v);
  p->v = v;
  p->n = n;
  pthread_rwlock_unlock(&p->lock);
  return 0;
}

int prices_load(prices *p, struct store_conn *c, int64_t now)
{
  for(size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
    int64_t m[5];
    const char *s[5] = { defaults[i].in, defaults[i].out, defaults[i].think, defaults[i].cached, defaults[i].req };
    for(int k = 0; k < 5; k++) money_parse_str(s[k], 6, PRICES_MAX_MICROS, &m[k]);
    if(store_do(c, "INSERT INTO prices (model, input_micros, output_micros, thinking_micros, cached_micros,"
                   " request_micros, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model) DO NOTHING",
                "tiiiiii", defaults[i].model, m[0], m[1], m[2], m[3], m[4], now) < 0) {
      log_error("prices: cannot insert defaults: %s", store_error(c));
      return -1;
    }
  }
  return reload(p, c);
}

/* The row pricing model (lock held): exact, else the longest name it extends, else "*". */
static const price *lookup(const prices *p, const char *model)
{
  if(!strncmp(model, "models/", 7)) model += 7;
  const price *best = NULL, *star = NULL;
  size_t best_len = 0;
  for(size_t i = 0; i < p->n; i++) {
    const price *pr = &p->v[i];
    size_t l = strlen(pr->model);
    if(!strcmp(pr->model, "*")) { star = pr; continue; }
    if(strncmp(model, pr->model, l)) continue;
    if(model[l] && model[l] != '-' && model[l] != '@') continue;
    if(!model[l]) return pr;
    if(l > best_len) { best = pr; best_len = l; }
  }
  return best ? best : star;
}

void price_compute(const price *pr, int64_t in, int64_t out, int64_t thinking, int64_t cached, bill *b)
{
  /* tokens × micro-USD per million tokens = pico-USD.  128 bits: no overflow for any input. */
  if(in < 0) in = 0;
  if(out < 0) out = 0;
  if(thinking < 0) thinking = 0;
  if(cached < 0) cached = 0;
  if(cached > in) cached = in;
  unsigned __int128 pico = (unsigned __int128)(in - cached) * (uint64_t)pr->input +
                           (unsigned __int128)cached * (uint64_t)pr->cached +
                           (unsigned __int128)out * (uint64_t)pr->output +
                           (unsigned __int128)thinking * (uint64_t)pr->thinking +
                           (unsigned __int128)pr->request * 1000000u;
  unsigned __int128 nanos = (pico + 500) / 1000, e4 = (pico + 50000000) / 100000000;
  b->cost_nanos = nanos > INT64_MAX ? INT64_MAX : (int64_t)nanos;
  b->bill_e4 = e4 > MONEY_MAX_E4 ? MONEY_MAX_E4 : (int64_t)e4;
  b->model_id = pr->id;
}

void prices_bill(prices *p, const char *model, int64_t in, int64_t out, int64_t thinking,
                 int64_t cached, bill *b)
{
  *b = (bill){ 0, 0, 0 };
  if(!p || !model) return;
  pthread_rwlock_rdlock(&p->lock);
  const price *pr = lookup(p, model);
  if(pr) price_compute(pr, in, out, thinking, cached, b);
  pthread_rwlock_unlock(&p->lock);
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

gg_rc prices_set(prices *p, struct store_conn *c, const price_update *u, price *out, gg_err *e)
{
  if(!prices_model_valid(u->model, strnlen(u->model, sizeof u->model)))
    return gg_fail(e, GG_BAD_INPUT, "the model name in the path is not valid");
  if(!(u->have & 31)) return gg_fail(e, GG_BAD_INPUT, "give at least one of input, output, thinking, cached, per_request");
  const int64_t given[5] = { u->input, u->output, u->thinking, u->cached, u->request };
  int64_t v[5];
  for(int k = 0; k < 5; k++) {
    if((u->have & (1u << k)) && (given[k] < 0 || given[k] > PRICES_MAX_MICROS))
      return gg_fail(e, GG_BAD_INPUT, "a price must be from 0 to 100000 USD");
    v[k] = (u->have & (1u << k)) ? given[k] : -1;
  }
  /* -1 = keep: CASE keeps the stored value on update, and inserts 0 for a new model. */
  int64_t rc = store_do(c, "INSERT INTO prices (model, input_micros, output_micros, thinking_micros,"
                        " cached_micros, request_micros, updated_at) VALUES (?1, MAX(?2, 0), MAX(?3, 0),"
                        " MAX(?4, 0), MAX(?5, 0), MAX(?6, 0), ?7) ON CONFLICT (model) DO UPDATE SET"
                        " input_micros = CASE WHEN ?2 < 0 THEN prices.input_micros ELSE ?2 END,"
                        " output_micros = CASE WHEN ?3 < 0 THEN prices.output_micros ELSE ?3 END,"
                        " thinking_micros = CASE WHEN ?4 < 0 THEN prices.thinking_micros ELSE ?4 END,"
                        " cached_micros = CASE WHEN ?5 < 0 THEN prices.cached_micros ELSE ?5 END,"
                        " request_micros = CASE WHEN ?6 < 0 THEN prices.request_micros ELSE ?6 END,"
                        " updated_at = ?7",
                        "tiiiiii", u->model, v[0], v[1], v[2], v[3], v[4], now_ms());
  if(rc < 0 || reload(p, c)) return gg_fail(e, GG_DB, "could not store the price");
  bool found = false;
  pthread_rwlock_rdlock(&p->lock);
  for(size_t i = 0; i < p->n; i++)
    if(!strcmp(p->v[i].model, u->model)) { *out = p->v[i]; found = true; }
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
