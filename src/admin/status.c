#include "admin/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/keypool.h"
#include "http/server.h"

void status_health(http_req *r)
{
  gateway *gw = r->w->gw;
  size_t n = kp_available(gw->pool, now_ms());
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "available_keys", (json_int_t)n), NULL);
}

void status_wake(http_req *r)
{
  gateway *gw = r->w->gw;
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "awake", "uptime_seconds",
                                    (json_int_t)((now_ms() - gw->started_ms) / 1000)), NULL);
}

void status_keys(http_req *r)
{
  gateway *gw = r->w->gw;
  int64_t now = now_ms();
  json_t *keys = kp_status_keys(gw->pool, now);
  http_reply_json(r, 200, json_pack("{s:o,s:I,s:I}", "keys", keys, "total", (json_int_t)json_array_size(keys),
                                    "available", (json_int_t)kp_available(gw->pool, now)), NULL);
}

void status_pool_stats(http_req *r)
{
  http_reply_json(r, 200, kp_pool_stats(r->w->gw->pool, now_ms()), NULL);
}

void status_key_stats(http_req *r)
{
  http_reply_json(r, 200, kp_key_stats(r->w->gw->pool), NULL);
}

void status_pool_reset(http_req *r)
{
  const char *model = NULL;
  json_t *body = NULL;
  if(r->body_len) {
    if(!(body = http_body_object(r))) return;
    json_t *m = json_object_get(body, "model");
    if(m && !json_is_null(m) && (!json_is_string(m) || !json_string_length(m) || json_string_length(m) > 63)) {
      json_decref(body);
      http_error(r, 400, NULL, "\"model\" must be a model name", NULL);
      return;
    }
    model = json_string_value(m);
  }
  kp_reset_pool(r->w->gw->pool, model);
  http_reply_json(r, 200, json_pack("{s:s,s:s?}", "status", "ok", "model", model), NULL);
  json_decref(body);
}

void status_stats_reset(http_req *r)
{
  kp_reset_stats(r->w->gw->pool);
  http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void status_reload(http_req *r)
{
  gateway *gw = r->w->gw;
  if(server_reload_keys(gw)) { http_error(r, 500, NULL, "could not read the key file", NULL); return; }
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "keys", (json_int_t)server_key_count(gw)), NULL);
}

/* VmRSS and VmHWM of this process, in KiB. */
static void memory_kib(long *rss, long *peak)
{
  *rss = *peak = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if(!f) return;
  char line[256];
  while(fgets(line, sizeof line, f)) {
    if(!strncmp(line, "VmRSS:", 6)) *rss = atol(line + 6);
    else if(!strncmp(line, "VmHWM:", 6)) *peak = atol(line + 6);
  }
  fclose(f);
}

void status_process(http_req *r)
{
  gateway *gw = r->w->gw;
  long rss, peak;
  memory_kib(&rss, &peak);
  http_reply_json(r, 200, json_pack("{s:s,s:f,s:f,s:I,s:i,s:I,s:I,s:I}", "status", "ok",
      "memory_usage_mb", rss / 1024.0, "memory_peak_mb", peak / 1024.0,
      "uptime_seconds", (json_int_t)((now_ms() - gw->started_ms) / 1000), "workers", gw->cfg.workers,
      "connections", (json_int_t)atomic_load(&gw->connections),
      "requests", (json_int_t)atomic_load(&gw->requests),
      "available_keys", (json_int_t)kp_available(gw->pool, now_ms())), NULL);
}

/* Appends one Prometheus sample line. */
static void metric(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void metric(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
  for(;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if(n < 0) return;
    if((size_t)n < *cap - *len) { *len += (size_t)n; return; }
    char *b = realloc(*buf, *cap * 2 + (size_t)n);
    if(!b) return;
    *buf = b;
    *cap = *cap * 2 + (size_t)n;
  }
}

void status_metrics(http_req *r)
{
  gateway *gw = r->w->gw;
  size_t cap = 4096, len = 0;
  char *b = malloc(cap);
  if(!b) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  b[0] = '\0';
  long rss, peak;
  memory_kib(&rss, &peak);
  metric(&b, &len, &cap, "# TYPE gemgate_requests_total counter\ngemgate_requests_total %lld\n", (long long)atomic_load(&gw->requests));
  metric(&b, &len, &cap, "# TYPE gemgate_upstream_attempts_total counter\ngemgate_upstream_attempts_total %lld\n", (long long)atomic_load(&gw->upstream_attempts));
  metric(&b, &len, &cap, "# TYPE gemgate_upstream_errors_total counter\ngemgate_upstream_errors_total %lld\n", (long long)atomic_load(&gw->upstream_errors));
  metric(&b, &len, &cap, "# TYPE gemgate_retries_total counter\ngemgate_retries_total %lld\n", (long long)atomic_load(&gw->retries));
  metric(&b, &len, &cap, "# TYPE gemgate_tokens_total counter\ngemgate_tokens_total{direction=\"in\"} %lld\ngemgate_tokens_total{direction=\"out\"} %lld\n",
         (long long)atomic_load(&gw->tokens_in), (long long)atomic_load(&gw->tokens_out));
  metric(&b, &len, &cap, "# TYPE gemgate_connections gauge\ngemgate_connections %lld\n", (long long)atomic_load(&gw->connections));
  metric(&b, &len, &cap, "# TYPE gemgate_resident_memory_bytes gauge\ngemgate_resident_memory_bytes %ld\n", rss * 1024);
  metric(&b, &len, &cap, "# TYPE gemgate_uptime_seconds gauge\ngemgate_uptime_seconds %lld\n", (long long)((now_ms() - gw->started_ms) / 1000));
  /* per key, by its pool id only: no secret, masked or not, in a metric */
  json_t *keys = kp_status_keys(gw->pool, now_ms());
  metric(&b, &len, &cap, "# TYPE gemgate_key_requests_total counter\n# TYPE gemgate_key_errors_total counter\n# TYPE gemgate_key_available gauge\n");
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    long long id = json_integer_value(json_object_get(k, "id"));
    const char *state = json_string_value(json_object_get(k, "state"));
    metric(&b, &len, &cap, "gemgate_key_requests_total{key=\"%lld\"} %lld\n", id, (long long)json_integer_value(json_object_get(k, "requests")));
    metric(&b, &len, &cap, "gemgate_key_errors_total{key=\"%lld\"} %lld\n", id, (long long)json_integer_value(json_object_get(k, "errors")));
    metric(&b, &len, &cap, "gemgate_key_available{key=\"%lld\",state=\"%s\"} %d\n", id, state ? state : "?",
           json_is_true(json_object_get(k, "available")));
  }
  json_decref(keys);
  http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b, len, NULL);
  free(b);
}
