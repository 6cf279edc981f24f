/* series — the ledger over time, for the admin UI's charts: requests, successes, tokens and cost
 * per step, in total and for the top models and users (seed 004's monitoring charts).
 *   hour: the last 60 minutes per minute, from the ledger rows (index on created_at);
 *   day: the last 24 hours per hour, from usage_hourly; month: the last 30 days per day, from
 *   usage_daily.  At most SERIES_TOP models and users each; the rest add up under "other". */
#ifndef GEMGATE_SERIES_H
#define GEMGATE_SERIES_H

#include <jansson.h>
#include <stdint.h>

#include "base/rc.h"
#include "store/store.h"

#define SERIES_TOP 8

typedef enum { SERIES_HOUR, SERIES_DAY, SERIES_MONTH } series_range;

/* {"range","step_seconds","start" (ms of the first step),"steps","total":{"requests":[],
 * "success":[],"tokens":[],"cost":[]},"by_model":{name:{…}},"by_user":{id:{…}}}; cost in USD. */
gg_rc series_get(store_conn *c, series_range range, int64_t now_ms, json_t **out, gg_err *e);

#endif
