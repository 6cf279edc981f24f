/* meter — per-model sliding windows for seed 004's usage_stats; contract in meter.h. */
#include "ledger/meter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "base/window.h"

typedef struct mwin {
  char model[64];
  win minute, hour, day;
} mwin;

struct meter {
  pthread_mutex_t mu;
  mwin *m;
  size_t n;
};

meter *meter_new(void)
{
  meter *m = calloc(1, sizeof *m);
  if(!m) return NULL;
  m->m = calloc(METER_MAX_MODELS + 1, sizeof *m->m);
  if(!m->m) { free(m); return NULL; }
  pthread_mutex_init(&m->mu, NULL);
  return m;
}

void meter_free(meter *m)
{
  if(!m) return;
  pthread_mutex_destroy(&m->mu);
  free(m->m);
  free(m);
}

/* The windows of model, created on first sight (mutex held). */
static mwin *find(meter *m, const char *model)
{
  if(!model[0]) model = "(none)";
  for(size_t i = 0; i < m->n; i++)
    if(!strcmp(m->m[i].model, model)) return &m->m[i];
  if(m->n >= METER_MAX_MODELS) model = "(other)";
  for(size_t i = 0; i < m->n; i++)
    if(!strcmp(m->m[i].model, model)) return &m->m[i];
  mwin *w = &m->m[m->n++];
  snprintf(w->model, sizeof w->model, "%s", model);
  win_init(&w->minute, 60, 1000);
  win_init(&w->hour, 60, 60000);
  win_init(&w->day, 24, 3600000);
  return w;
}

void meter_add(meter *m, const char *model, int64_t t, int64_t requests, int64_t tokens)
{
  pthread_mutex_lock(&m->mu);
  mwin *w = find(m, model ? model : "");
  win_add(&w->minute, t, requests, tokens);
  win_add(&w->hour, t, requests, tokens);
  win_add(&w->day, t, requests, tokens);
  pthread_mutex_unlock(&m->mu);
}

/* Adds grouped counts from sql (model, bucket start ms, calls, tokens) to one window kind. */
static int load_into(meter *m, struct store_conn *c, const char *sql, int64_t since, int which)
{
  store_stmt *st = store_prepare(c, sql);
  if(!st) return -1;
  store_bind_int(st, 1, since);
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    const char *model = store_col_text(st, 0);
    int64_t t = store_col_int(st, 1), n = store_col_int(st, 2), tok = store_col_int(st, 3);
    pthread_mutex_lock(&m->mu);
    mwin *w = find(m, model ? model : "");
    win_add(which == 0 ? &w->minute : which == 1 ? &w->hour : &w->day, t, n, tok);
    pthread_mutex_unlock(&m->mu);
  }
  store_reset(st);
  return rc == STORE_DONE ? 0 : -1;
}

int meter_load(meter *m, struct store_conn *c, int64_t now)
{
  /* The last minute by second and the last hour by minute come from rows (index on
   * created_at); the day from the hourly rollups, which align with the day window's slots.
   * TOTAL, not SUM: an overflowing SUM is an error; a REAL beyond int64 reads as INT64_MAX. */
  int rc = load_into(m, c, "SELECT model_name, created_at / 1000 * 1000, COUNT(*),"
                           " TOTAL(input_tokens + output_tokens + thinking_tokens) FROM ledger"
                           " WHERE created_at >= ? AND refused = 0 GROUP BY 1, 2", now - 60000, 0);
  rc |= load_into(m, c, "SELECT model_name, created_at / 60000 * 60000, COUNT(*),"
                        " TOTAL(input_tokens + output_tokens + thinking_tokens) FROM ledger"
                        " WHERE created_at >= ? AND refused = 0 GROUP BY 1, 2", now - 3600000, 1);
  rc |= load_into(m, c, "SELECT model_name, hour * 3600000, SUM(calls - refused),"
                        " TOTAL(input_tokens + output_tokens + thinking_tokens) FROM usage_hourly"
                        " WHERE hour >= ? / 3600000 GROUP BY 1, 2", now - 23 * 3600000LL, 2);
  return rc;
}

static json_t *pair(const win *w, int64_t now)
{
  int64_t r, t;
  win_sum(w, now, &r, &t);
  return json_pack("{s:I,s:I}", "requests", (json_int_t)r, "tokens", (json_int_t)t);
}

json_t *meter_json(meter *m, int64_t now)
{
  json_t *o = json_object();
  pthread_mutex_lock(&m->mu);
  for(size_t i = 0; i < m->n; i++) {
    mwin *w = &m->m[i];
    json_object_set_new(o, w->model, json_pack("{s:o,s:o,s:o}", "minute", pair(&w->minute, now),
                                               "hour", pair(&w->hour, now), "day", pair(&w->day, now)));
  }
  pthread_mutex_unlock(&m->mu);
  return o;
}
