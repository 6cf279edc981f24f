/* metrics — counters and histograms; contract in metrics.h. */
#include "base/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

const double metrics_bounds[METRICS_NBUCKETS] = {
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 120,
};

metrics_t metrics;

void mhist_observe(mhist *h, int64_t us)
{
  if(us < 0) us = 0;
  double s = (double)us / 1e6;
  int i = 0;
  while(i < METRICS_NBUCKETS && s > metrics_bounds[i]) i++;
  atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}

/* ---- labelled tables: open addressing on fixed arrays ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static metrics_series series[METRICS_MAX_SERIES * 2];     /* half full at most */
static size_t nseries;
static metrics_model models[METRICS_MAX_MODELS + 1];      /* the last: "other" */
static size_t nmodels;

static void cpy(char *dst, size_t cap, const char *s)
{
  snprintf(dst, cap, "%s", s && *s ? s : "");
}

/* Appends s to k[*n..cap) (cut at the end), as snprintf would but without its cost: this runs
 * on every call. */
static void kput(char *k, size_t cap, size_t *n, const char *s)
{
  size_t l = strlen(s);
  if(l > cap - 1 - *n) l = cap - 1 - *n;
  memcpy(k + *n, s, l);
  *n += l;
}

void metrics_call(const char *route, const char *model, int status, const char *user)
{
  char k[160], st[16];
  size_t n = 0;
  pthread_mutex_lock(&mu);
  if(nseries >= METRICS_MAX_SERIES) { model = "other"; user = "other"; }
  char *d = st + sizeof st;                 /* the status in decimal, as "%d" wrote it */
  unsigned u = status < 0 ? 0u - (unsigned)status : (unsigned)status;
  *--d = '\0';
  do *--d = (char)('0' + u % 10); while(u /= 10);
  if(status < 0) *--d = '-';
  kput(k, sizeof k, &n, route);
  kput(k, sizeof k, &n, "|");
  kput(k, sizeof k, &n, model ? model : "");
  kput(k, sizeof k, &n, "|");
  kput(k, sizeof k, &n, d);
  kput(k, sizeof k, &n, "|");
  kput(k, sizeof k, &n, user);
  size_t cap = ARRAY_LEN(series), i = hash64(k, n) % cap;
  for(;; i = (i + 1) % cap) {
    metrics_series *e = &series[i];
    if(!e->route[0]) {
      if(nseries >= METRICS_MAX_SERIES + 64) break;        /* the "other" rows too: stop */
      cpy(e->route, sizeof e->route, route);
      cpy(e->model, sizeof e->model, model);
      cpy(e->user, sizeof e->user, user);
      e->status = status;
      nseries++;
    } else if(e->status != status || strcmp(e->route, route) || strcmp(e->model, model ? model : "") ||
              strcmp(e->user, user)) {
      continue;
    }
    e->n++;
    break;
  }
  pthread_mutex_unlock(&mu);
}

void metrics_usage(const char *model, int64_t in, int64_t out, int64_t thinking, int64_t cached, int64_t cost_nanos)
{
  if(!model || !*model) model = "-";
  pthread_mutex_lock(&mu);
  metrics_model *m = NULL;
  for(size_t i = 0; i < nmodels && !m; i++)
    if(!strcmp(models[i].model, model)) m = &models[i];
  if(!m && nmodels < METRICS_MAX_MODELS) { m = &models[nmodels++]; cpy(m->model, sizeof m->model, model); }
  if(!m) { m = &models[METRICS_MAX_MODELS]; cpy(m->model, sizeof m->model, "other"); }
  m->in += in;
  m->out += out;
  m->thinking += thinking;
  m->cached += cached;
  m->cost_nanos += cost_nanos;
  pthread_mutex_unlock(&mu);
}

size_t metrics_series_get(metrics_series *out, size_t cap)
{
  size_t n = 0;
  pthread_mutex_lock(&mu);
  for(size_t i = 0; i < ARRAY_LEN(series) && n < cap; i++)
    if(series[i].route[0]) out[n++] = series[i];
  pthread_mutex_unlock(&mu);
  return n;
}

size_t metrics_models_get(metrics_model *out, size_t cap)
{
  size_t n = 0;
  pthread_mutex_lock(&mu);
  for(size_t i = 0; i <= METRICS_MAX_MODELS && n < cap; i++)
    if(models[i].model[0]) out[n++] = models[i];
  pthread_mutex_unlock(&mu);
  return n;
}
