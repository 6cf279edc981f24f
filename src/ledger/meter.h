/* meter — seed 004's usage_stats: requests and tokens per model over the last minute (60 × 1 s),
 * hour (60 × 1 min) and day (24 × 1 h: the current hour plus the 23 before), in memory so the
 * admin statistics never scan rows.  Fed by ledger_record with the calls that reached the
 * upstream (quota refusals are not counted); seeded at start from the ledger (last
 * hour) and the hourly rollups (the day).  Thread-safe (one mutex, short sections).  At most
 * METER_MAX_MODELS models are tracked; further names are counted under "(other)". */
#ifndef GEMGATE_METER_H
#define GEMGATE_METER_H

#include <stdint.h>
#include <jansson.h>

#define METER_MAX_MODELS 256

typedef struct meter meter;
struct store_conn;

meter *meter_new(void);
void meter_free(meter *m);

/* Count one call of model ("" = no model) at time t with tokens. */
void meter_add(meter *m, const char *model, int64_t t, int64_t requests, int64_t tokens);

/* Seed from the database (start-up, before the loops run). */
int meter_load(meter *m, struct store_conn *c, int64_t now);

/* {"<model>":{"minute":{"requests","tokens"},"hour":{...},"day":{...}}} — new reference. */
json_t *meter_json(meter *m, int64_t now);

#endif
