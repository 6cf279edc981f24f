/* status — health, key status and the key pool's admin routes (seeds 002, 003, 004). */
#ifndef GEMGATE_STATUS_H
#define GEMGATE_STATUS_H

#include "http/http.h"

void status_health(http_req *r);      /* GET /health: {"status":"ok","available_keys":N} */
void status_wake(http_req *r);        /* GET /wake */
void status_keys(http_req *r);        /* GET /api/status/keys */
void status_pool_stats(http_req *r);  /* GET /admin/pool/stats */
void status_key_stats(http_req *r);   /* GET /admin/keys/stats */
void status_pool_reset(http_req *r);  /* POST /admin/pool/reset {"model"?} */
void status_stats_reset(http_req *r); /* POST /admin/keys/stats/reset */
void status_reload(http_req *r);      /* POST /admin/keys/reload */
void status_process(http_req *r);     /* GET /status: memory_usage_mb, uptime_seconds, ... */
void status_metrics(http_req *r);     /* GET /metrics: Prometheus text format */

#endif
