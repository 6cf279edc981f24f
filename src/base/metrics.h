/* metrics — the process's counters and histograms for /metrics (Prometheus), kept where they
 * happen without a lock on the hot path: atomics for plain counters and histogram buckets, and
 * one table of labelled call counters (route × model × status × user) under a short mutex, with
 * a fixed number of slots (no allocation after start; past METRICS_MAX_SERIES label sets a call
 * is counted under model="other", user="other", so the label sets stay bounded).
 *
 * The rendering lives in admin/status.c; this module only holds and reads the numbers. */
#ifndef GEMGATE_METRICS_H
#define GEMGATE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_NBUCKETS 17
#define METRICS_MAX_SERIES 1024
#define METRICS_MAX_MODELS 64

/* Bucket upper bounds in seconds: 100 µs … 120 s, then +Inf (the gateway's own time is µs). */
extern const double metrics_bounds[METRICS_NBUCKETS];

typedef struct mhist {
  _Atomic uint64_t bucket[METRICS_NBUCKETS + 1];   /* not cumulative; the last is +Inf */
  _Atomic uint64_t count;
  _Atomic uint64_t sum_us;
} mhist;

void mhist_observe(mhist *h, int64_t us);

typedef struct metrics_t {
  mhist upstream;         /* one upstream attempt, start to end */
  mhist ttfb;             /* request complete → first byte to the client */
  mhist added;            /* a call's time not spent waiting on the upstream */
  mhist ledger_commit;    /* one ledger batch's transaction */
  _Atomic int64_t calls_open, streams_open;
  _Atomic int64_t cooldowns, quota_refusals;
} metrics_t;

extern metrics_t metrics;

/* One finished call.  route: the endpoint kind (a constant from call/endpoint); user: "static"
 * or the user id; model may be "". */
void metrics_call(const char *route, const char *model, int status, const char *user);

/* Tokens and cost of one call, by model. */
void metrics_usage(const char *model, int64_t in, int64_t out, int64_t thinking, int64_t cached, int64_t cost_nanos);

typedef struct metrics_series {
  char route[16], model[64], user[24];
  int status;
  int64_t n;
} metrics_series;

typedef struct metrics_model {
  char model[64];
  int64_t in, out, thinking, cached, cost_nanos;
} metrics_model;

/* Copies of the tables (up to cap entries); the number copied. */
size_t metrics_series_get(metrics_series *out, size_t cap);
size_t metrics_models_get(metrics_model *out, size_t cap);

#endif
