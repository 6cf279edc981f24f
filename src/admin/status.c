#include "admin/status.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/version.h"
#include "ledger/ledger.h"
#include "pool/keypool.h"
#include "http/server.h"
#include "shared/rshare.h"

void status_health(http_req *r)
{
  gateway *gw = r->w->gw;
  size_t n = kp_available(gw->pool, now_ms());
  json_t *o = json_pack("{s:s,s:I}", "status", "ok", "available_keys", (json_int_t)n);
  if(o && gw->shared) json_object_set_new(o, "redis", json_string(rshare_up(gw->shared) ? "up" : "down"));
  http_reply_json(r, 200, o, NULL);
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

/* ---------- /metrics: Prometheus text format 0.0.4 ---------- */

typedef struct pbuf { char *p; size_t n, cap; bool oom; } pbuf;

static void pf(pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf(pbuf *b, const char *fmt, ...)
{
  for(int tries = 0; !b->oom && tries < 2; tries++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if(n < 0) return;
    if((size_t)n < b->cap - b->n) { b->n += (size_t)n; return; }
    size_t cap = b->cap * 2 + (size_t)n;
    char *p = realloc(b->p, cap);
    if(!p) { b->oom = true; return; }
    b->p = p;
    b->cap = cap;
  }
}

/* A label value with \, " and newlines escaped (model names come from clients). */
static const char *lv(const char *s, char *out, size_t cap)
{
  size_t n = 0;
  for(; *s && n + 3 < cap; s++) {
    if(*s == '\\' || *s == '"') { out[n++] = '\\'; out[n++] = *s; }
    else if(*s == '\n') { out[n++] = '\\'; out[n++] = 'n'; }
    else out[n++] = *s;
  }
  out[n] = '\0';
  return out;
}

static void family(pbuf *b, const char *name, const char *type, const char *help)
{
  pf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(pbuf *b, const char *name, const char *type, const char *help, long long v)
{
  family(b, name, type, help);
  pf(b, "%s %lld\n", name, v);
}

static void histogram(pbuf *b, const char *name, const char *help, mhist *h)
{
  family(b, name, "histogram", help);
  uint64_t cum = 0;
  for(int i = 0; i <= METRICS_NBUCKETS; i++) {
    cum += atomic_load(&h->bucket[i]);
    if(i < METRICS_NBUCKETS) pf(b, "%s_bucket{le=\"%g\"} %llu\n", name, metrics_bounds[i], (unsigned long long)cum);
    else pf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
  }
  pf(b, "%s_sum %.6f\n%s_count %llu\n", name, (double)atomic_load(&h->sum_us) / 1e6, name, (unsigned long long)cum);
}

/* /proc/self: memory, descriptors, CPU time, start time. */
static void process_metrics(pbuf *b)
{
  long rss, peak;
  memory_kib(&rss, &peak);
  scalar(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", (long long)rss * 1024);
  long long vsz = 0, utime = 0, stime = 0, start = 0;
  FILE *f = fopen("/proc/self/stat", "r");
  if(f) {
    char line[1024];
    if(fgets(line, sizeof line, f)) {
      char *p = strrchr(line, ')');          /* fields after the command name */
      if(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %*d %*d %*d %*d %*d %*d %lld %lld",
                     &utime, &stime, &start, &vsz) != 4)
        utime = stime = start = vsz = 0;
    }
    fclose(f);
  }
  long tck = sysconf(_SC_CLK_TCK);
  double boot = 0;
  if((f = fopen("/proc/stat", "r"))) {
    char line[256];
    while(fgets(line, sizeof line, f))
      if(!strncmp(line, "btime ", 6)) boot = atof(line + 6);
    fclose(f);
  }
  scalar(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsz);
  family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  pf(b, "process_cpu_seconds_total %.2f\n", tck > 0 ? (double)(utime + stime) / (double)tck : 0.0);
  family(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  pf(b, "process_start_time_seconds %.2f\n", tck > 0 ? boot + (double)start / (double)tck : 0.0);
  long long fds = 0;
  DIR *d = opendir("/proc/self/fd");
  for(struct dirent *e; d && (e = readdir(d)); ) if(e->d_name[0] != '.') fds++;
  if(d) { closedir(d); fds--; }              /* the directory's own descriptor */
  scalar(b, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
  struct rlimit rl;
  scalar(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
         getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (long long)rl.rlim_cur);
}

/* Keys per model and state: active, cooling (for that model), invalid, disabled. */
static void key_states(pbuf *b, gateway *gw, int64_t now)
{
  json_t *keys = kp_status_keys(gw->pool, now), *models = kp_pool_stats(gw->pool, now);
  family(b, "gemgate_keys", "gauge", "Upstream keys per model and state (active, cooling, invalid, disabled).");
  const char *model;
  json_t *unused;
  char e[160];
  json_object_foreach(models, model, unused) {
    long long n[4] = { 0 };
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
      const char *st = json_string_value(json_object_get(k, "state"));
      if(st && !strcmp(st, "invalid")) n[2]++;
      else if(st && !strcmp(st, "disabled")) n[3]++;
      else if(json_object_get(json_object_get(k, "cooldowns"), model)) n[1]++;
      else n[0]++;
    }
    static const char *const names[] = { "active", "cooling", "invalid", "disabled" };
    for(int s = 0; s < 4; s++) pf(b, "gemgate_keys{model=\"%s\",state=\"%s\"} %lld\n", lv(model, e, sizeof e), names[s], n[s]);
  }
  json_decref(models);
  /* per key, by its pool id only: no secret, masked or not, in a metric */
  family(b, "gemgate_key_requests_total", "counter", "Upstream attempts per key (by pool id).");
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k)
    pf(b, "gemgate_key_requests_total{key=\"%lld\"} %lld\n", (long long)json_integer_value(json_object_get(k, "id")),
       (long long)json_integer_value(json_object_get(k, "requests")));
  family(b, "gemgate_key_errors_total", "counter", "Failed upstream attempts per key (by pool id).");
  json_array_foreach(keys, i, k)
    pf(b, "gemgate_key_errors_total{key=\"%lld\"} %lld\n", (long long)json_integer_value(json_object_get(k, "id")),
       (long long)json_integer_value(json_object_get(k, "errors")));
  family(b, "gemgate_key_available", "gauge", "1 when the key can serve some model now, by pool id and state.");
  json_array_foreach(keys, i, k) {
    const char *state = json_string_value(json_object_get(k, "state"));
    pf(b, "gemgate_key_available{key=\"%lld\",state=\"%s\"} %d\n", (long long)json_integer_value(json_object_get(k, "id")),
       state ? state : "unknown", json_is_true(json_object_get(k, "available")));
  }
  json_decref(keys);
}

static void call_metrics(pbuf *b)
{
  static metrics_series sv[METRICS_MAX_SERIES + 64];   /* big: not on a worker's stack */
  static metrics_model mv[METRICS_MAX_MODELS + 1];
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  size_t n = metrics_series_get(sv, ARRAY_LEN(sv));
  char m[160], u[64];
  family(b, "gemgate_requests_total", "counter", "Client calls by route (endpoint kind), model, HTTP status and user.");
  for(size_t i = 0; i < n; i++)
    pf(b, "gemgate_requests_total{route=\"%s\",model=\"%s\",status=\"%d\",user=\"%s\"} %lld\n", sv[i].route,
       lv(sv[i].model, m, sizeof m), sv[i].status, lv(sv[i].user, u, sizeof u), (long long)sv[i].n);
  n = metrics_models_get(mv, ARRAY_LEN(mv));
  family(b, "gemgate_tokens_total", "counter", "Tokens by model and type (input, output, thinking, cached).");
  for(size_t i = 0; i < n; i++) {
    lv(mv[i].model, m, sizeof m);
    pf(b, "gemgate_tokens_total{model=\"%s\",type=\"input\"} %lld\n", m, (long long)mv[i].in);
    pf(b, "gemgate_tokens_total{model=\"%s\",type=\"output\"} %lld\n", m, (long long)mv[i].out);
    pf(b, "gemgate_tokens_total{model=\"%s\",type=\"thinking\"} %lld\n", m, (long long)mv[i].thinking);
    pf(b, "gemgate_tokens_total{model=\"%s\",type=\"cached\"} %lld\n", m, (long long)mv[i].cached);
  }
  family(b, "gemgate_cost_usd_total", "counter", "Cost of the calls in US dollars by model, from the price table.");
  for(size_t i = 0; i < n; i++)
    pf(b, "gemgate_cost_usd_total{model=\"%s\"} %.9f\n", lv(mv[i].model, m, sizeof m), (double)mv[i].cost_nanos / 1e9);
  pthread_mutex_unlock(&mu);
}

void status_metrics(http_req *r)
{
  gateway *gw = r->w->gw;
  pbuf b = { malloc(16384), 0, 16384, false };
  if(!b.p) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  int64_t now = now_ms();
  family(&b, "gemgate_build_info", "gauge", "Always 1; the version in a label.");
  pf(&b, "gemgate_build_info{version=\"%s\"} 1\n", GEMGATE_VERSION);
  scalar(&b, "gemgate_uptime_seconds", "gauge", "Seconds since the gateway started.", (long long)((now - gw->started_ms) / 1000));
  call_metrics(&b);
  scalar(&b, "gemgate_upstream_attempts_total", "counter", "Upstream attempts, retries included.", (long long)atomic_load(&gw->upstream_attempts));
  scalar(&b, "gemgate_upstream_errors_total", "counter", "Upstream attempts that failed (429, 5xx, key rejected, network).", (long long)atomic_load(&gw->upstream_errors));
  scalar(&b, "gemgate_retries_total", "counter", "Attempts retried on another key.", (long long)atomic_load(&gw->retries));
  scalar(&b, "gemgate_cooldowns_total", "counter", "429 answers that cooled a key down for a model.", (long long)atomic_load(&metrics.cooldowns));
  scalar(&b, "gemgate_quota_refusals_total", "counter", "Calls refused by a user's quota, rate limit or budget.", (long long)atomic_load(&metrics.quota_refusals));
  histogram(&b, "gemgate_upstream_duration_seconds", "One upstream attempt, start to end.", &metrics.upstream);
  histogram(&b, "gemgate_time_to_first_byte_seconds", "From the complete request to the first byte of the answer sent.", &metrics.ttfb);
  histogram(&b, "gemgate_added_latency_seconds", "Time of a call not spent in upstream attempts: the gateway's own.", &metrics.added);
  key_states(&b, gw, now);
  if(gw->ledger) {
    ledger_stats ls;
    ledger_get_stats(gw->ledger, &ls);
    scalar(&b, "gemgate_ledger_queue_rows", "gauge", "Ledger rows waiting for the database.", (long long)ls.queued);
    scalar(&b, "gemgate_ledger_rows_written_total", "counter", "Ledger rows committed.", (long long)ls.written);
    scalar(&b, "gemgate_ledger_rows_dropped_total", "counter", "Ledger rows dropped because the queue was full.", (long long)ls.dropped);
    scalar(&b, "gemgate_ledger_batches_failed_total", "counter", "Ledger batches whose commit failed (retried).", (long long)ls.failed_batches);
    scalar(&b, "gemgate_ledger_rows_rejected_total", "counter", "Ledger rows the database refused, kept in ledger_rejects.", (long long)ls.rejected);
  }
  histogram(&b, "gemgate_ledger_commit_duration_seconds", "One ledger batch's transaction.", &metrics.ledger_commit);
  log_stats st;
  log_get_stats(&st);
  family(&b, "gemgate_log_lines_total", "counter", "Log lines by level.");
  for(int i = 0; i < 4; i++) pf(&b, "gemgate_log_lines_total{level=\"%s\"} %lld\n", log_level_name((log_level)i), (long long)st.by_level[i]);
  scalar(&b, "gemgate_log_lines_dropped_total", "counter", "Log lines dropped because the ring was full.", (long long)st.dropped);
  scalar(&b, "gemgate_log_write_errors_total", "counter", "Failed writes of log files.", (long long)st.write_errors);
  scalar(&b, "gemgate_log_queue_lines", "gauge", "Log lines waiting for the logger thread.", (long long)st.pending);
  scalar(&b, "gemgate_open_connections", "gauge", "Open client connections.", (long long)atomic_load(&gw->connections));
  scalar(&b, "gemgate_open_calls", "gauge", "Client calls in flight.", (long long)atomic_load(&metrics.calls_open));
  scalar(&b, "gemgate_open_streams", "gauge", "Streaming client calls in flight.", (long long)atomic_load(&metrics.streams_open));
  process_metrics(&b);
  if(b.oom) { free(b.p); http_error(r, 500, NULL, "out of memory", NULL); return; }
  http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n, NULL);
  free(b.p);
}
