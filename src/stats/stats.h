/* stats — usage statistics read from the rollups, never by scanning rows (except the 10 newest
 * rows of seed 000's recent_usage, an index seek).  Periods are UTC calendar days: today; week
 * = the last 7 days including today; month = the last 30; all.  Runs on a store connection (a
 * pool thread); the routes that answer with it are in admin/stats. */
#ifndef GEMGATE_STATS_H
#define GEMGATE_STATS_H

#include <stdint.h>
#include <jansson.h>

#include "base/rc.h"
#include "store/query.h"
#include "store/store.h"
#include "users/users.h"

/* One user's usage.  type / model: "" for all. */
typedef struct stats_user_filter {
  int64_t user_id;         /* 0: the static keys' shared "static" user */
  int64_t now;             /* ms since the epoch: which days the period covers */
  period per;
  char type[32], model[64];
} stats_user_filter;

/* Seed 000's usage-stats answer: {"status":"success","data":{period, total_count, success_count,
 * failed_count, success_rate, by_type, recent_usage}}.  GG_OK with *out (a new reference), or
 * GG_DB with e->msg. */
gg_rc stats_user(store_conn *c, const stats_user_filter *f, json_t **out, gg_err *e);

/* The whole gateway's usage over a period; top: how many entries each breakdown shows. */
typedef struct stats_totals_filter {
  int64_t now, top;
  period per;
} stats_totals_filter;

/* From the rollups: {totals, by_model, by_user, by_key, by_type, truncated, period, from}, each
 * breakdown the top N by requests, with success rate, tokens and cost; by_user entries are named
 * from u (read under its lock).  GG_OK with *out (a new reference), or GG_DB / GG_NOMEM. */
gg_rc stats_totals(store_conn *c, users *u, const stats_totals_filter *f, json_t **out, gg_err *e);

#endif
