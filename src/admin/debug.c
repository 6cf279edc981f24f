/* debug — GET /debug/info; contract in debug.h.  The answer is built on a store pool thread,
 * after a round trip to the database that tells its health; everything read there is
 * thread-safe (the pool, the ledger's and the log's counters) or fixed since start (config). */
#include "admin/debug.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/log.h"
#include "base/version.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "pool/keypool.h"
#include "shared/rshare.h"

/* A URL with its password (user:password@) replaced by "****". */
static json_t *url_masked(const char *url)
{
  if(!url) return json_null();
  char out[512];
  snprintf(out, sizeof out, "%s", url);
  char *scheme = strstr(out, "://"), *at = scheme ? strchr(scheme + 3, '@') : NULL;
  char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
  if(colon) {
    char tail[512];
    snprintf(tail, sizeof tail, "%s", at);
    snprintf(colon + 1, sizeof out - (size_t)(colon + 1 - out), "****%s", tail);
  }
  return json_string(out);
}

static json_t *masked_list(const strlist *l, bool urls)
{
  json_t *a = json_array();
  for(size_t i = 0; i < l->n; i++) {
    if(urls) { json_array_append_new(a, url_masked(l->v[i])); continue; }
    char m[32];
    kp_mask(l->v[i], m, sizeof m);
    json_array_append_new(a, json_string(m));
  }
  return a;
}

static const char *set_or_not(const char *s) { return s && *s ? "set" : "not set"; }

static json_t *config_json(const config *c)
{
  static const char *const strategies[] = { "round_robin", "least_used", "health" };
  json_t *limits = json_array();
  for(size_t i = 0; i < c->nlimits; i++)
    json_array_append_new(limits, json_pack("{s:s,s:I,s:I,s:I}", "model", c->limits[i].model, "rpm",
                                            (json_int_t)c->limits[i].rpm, "tpm", (json_int_t)c->limits[i].tpm,
                                            "rpd", (json_int_t)c->limits[i].rpd));
  json_t *o = json_object();
  json_object_set_new(o, "listen", json_string(c->listen));
  json_object_set_new(o, "upstream", json_string(c->upstream));
  json_object_set_new(o, "keys", masked_list(&c->keys, false));
  json_object_set_new(o, "keys_file", c->keys_file ? json_string(c->keys_file) : json_null());
  json_object_set_new(o, "admin_token", json_string(set_or_not(c->admin_token)));
  json_object_set_new(o, "access_keys", json_integer((json_int_t)c->access_keys.n));
  json_object_set_new(o, "encryption_key", json_string(set_or_not(c->encryption_key)));
  json_object_set_new(o, "db", url_masked(c->db));
  json_object_set_new(o, "redis", url_masked(c->redis));
  json_object_set_new(o, "proxies", masked_list(&c->proxies, true));
  json_object_set_new(o, "trusted_proxies", json_integer((json_int_t)c->trusted_proxies.n));
  json_object_set_new(o, "strategy", json_string(strategies[c->pool.strategy % 3]));
  json_object_set_new(o, "max_retries", json_integer(c->max_retries));
  json_object_set_new(o, "max_failures", json_integer(c->pool.max_failures));
  json_object_set_new(o, "cooldown_ms", json_integer(c->pool.cooldown_base_ms));
  json_object_set_new(o, "cooldown_max_ms", json_integer(c->pool.cooldown_max_ms));
  json_object_set_new(o, "recheck_interval_ms", json_integer(c->pool.recheck_interval_ms));
  json_object_set_new(o, "key_limits", limits);
  json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
  json_object_set_new(o, "stream_idle_timeout_ms", json_integer(c->stream_idle_ms));
  json_object_set_new(o, "idle_timeout_ms", json_integer(c->idle_timeout_ms));
  json_object_set_new(o, "drain_timeout_ms", json_integer(c->drain_timeout_ms));
  json_object_set_new(o, "max_body", json_integer(c->max_body));
  json_object_set_new(o, "max_header", json_integer(c->max_header));
  json_object_set_new(o, "max_conns", json_integer(c->max_conns));
  json_object_set_new(o, "log_level", json_string(log_level_name((log_level)c->log_level)));
  json_object_set_new(o, "log_format", json_string(c->log_json ? "json" : "text"));
  json_object_set_new(o, "log_dir", c->log_dir ? json_string(c->log_dir) : json_null());
  json_object_set_new(o, "log_max_size", json_integer(c->log_max_size));
  json_object_set_new(o, "log_max_files", json_integer(c->log_max_files));
  json_object_set_new(o, "log_prompts", json_boolean(c->log_prompts));
  json_object_set_new(o, "fetch_private", json_boolean(c->fetch_private));
  return o;
}

static json_t *pool_json(keypool *kp, int64_t now)
{
  json_t *keys = kp_status_keys(kp, now);
  int64_t n[4] = { 0 };
  static const char *const names[] = { "active", "cooling", "invalid", "disabled" };
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    const char *st = json_string_value(json_object_get(k, "state"));
    for(int s = 0; s < 4; s++) if(st && !strcmp(st, names[s])) n[s]++;
  }
  json_t *o = json_pack("{s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "keys", (json_int_t)json_array_size(keys), "available",
                        (json_int_t)kp_available(kp, now), "by_state", "active", (json_int_t)n[0], "cooling",
                        (json_int_t)n[1], "invalid", (json_int_t)n[2], "disabled", (json_int_t)n[3]);
  json_decref(keys);
  return o;
}

static void status_kib(long *rss, long *peak)
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

static gg_rc info_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  gateway *gw = arg;
  int64_t now = now_ms(), t0 = mono_us();
  int64_t version = -1;
  store_stmt *q = store_prepare(c, "SELECT MAX(version) FROM schema_migrations");
  if(q && store_step(q) == STORE_ROW) version = store_col_int(q, 0);
  if(q) store_reset(q);
  int64_t db_us = mono_us() - t0;
  json_t *db = json_pack("{s:s,s:s,s:b,s:I,s:f}", "backend", "sqlite", "path", store_path(gw->store) ? store_path(gw->store) : "",
                            "ok", version > 0, "schema_version", (json_int_t)version, "round_trip_ms", db_us / 1000.0);
  if(gw->ledger) {
    ledger_stats ls;
    ledger_get_stats(gw->ledger, &ls);
    json_object_set_new(db, "ledger", json_pack("{s:I,s:I,s:I,s:I,s:I}", "recorded", (json_int_t)ls.recorded,
                        "written", (json_int_t)ls.written, "queued", (json_int_t)ls.queued, "dropped",
                        (json_int_t)ls.dropped, "failed_batches", (json_int_t)ls.failed_batches));
  }
  long rss, peak;
  status_kib(&rss, &peak);
  struct mallinfo2 mi = mallinfo2();
  log_stats st;
  log_get_stats(&st);
  json_t *memory = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rss_bytes", (json_int_t)rss * 1024, "peak_rss_bytes",
                             (json_int_t)peak * 1024, "heap_in_use_bytes", (json_int_t)mi.uordblks, "heap_free_bytes",
                             (json_int_t)mi.fordblks, "mmapped_bytes", (json_int_t)mi.hblkhd, "log_ring_bytes",
                             (json_int_t)(st.ring * (sizeof(log_line) + 8)), "connections",
                             (json_int_t)atomic_load(&gw->connections));
  json_t *logs = json_pack("{s:I,s:I,s:I,s:I,s:I}", "lines", (json_int_t)st.lines, "written", (json_int_t)st.written,
                           "dropped", (json_int_t)st.dropped, "write_errors", (json_int_t)st.write_errors,
                           "ring", (json_int_t)st.ring);
  *out = json_pack("{s:s,s:{s:s,s:s,s:s},s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "version", GEMGATE_VERSION, "build",
                   "cc", GEMGATE_BUILD_CC, "cflags", GEMGATE_BUILD_CFLAGS, "date", __DATE__ " " __TIME__,
                   "workers", (json_int_t)gw->cfg.workers, "uptime_seconds", (json_int_t)((now - gw->started_ms) / 1000),
                   "config", config_json(&gw->cfg), "pool", pool_json(gw->pool, now), "store", db,
                   "memory", memory, "logs", logs);
  if(*out && gw->shared) json_object_set_new(*out, "redis", rshare_json(gw->shared));
  return *out ? GG_OK : gg_fail(e, GG_NOMEM, "out of memory");
}

void debug_info(http_req *r)
{
  dbcall_json(r, r->w->gw, NULL, info_work, 200);
}
