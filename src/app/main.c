/* gemgate — a Gemini API gateway.  main: configuration, the key pool, then the server. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "pool/keypool.h"
#include "base/log.h"
#include "app/persist.h"
#include "app/route.h"
#include "app/sharing.h"
#include "call/upload.h"
#include "http/server.h"

int main(int argc, char **argv)
{
  static gateway gw;
  int rc = config_load(&gw.cfg, argc, argv);
  if(rc) return rc > 0 ? 0 : 2;
  log_threshold = (log_level)gw.cfg.log_level;
  char err[256];
  log_opts lo = { gw.cfg.log_dir, gw.cfg.log_json, gw.cfg.log_max_size, gw.cfg.log_max_files, 0 };
  if(log_start(&lo, err, sizeof err)) { fprintf(stderr, "gemgate: %s\n", err); return 2; }
  srandom((unsigned)time(NULL) ^ (unsigned)getpid());
  server_fit_fds(&gw.cfg);        /* RLIMIT_NOFILE to its hard limit, MAX_CONNS to what fits */
  gw.pool = kp_new(&gw.cfg.pool);
  if(!gw.pool) { log_error("out of memory"); log_stop(); return 1; }
  kp_set_keys(gw.pool, (const char *const *)gw.cfg.keys.v, gw.cfg.keys.n);
  if(persist_open(&gw)) { log_stop(); return 1; }
  if(sharing_start(&gw)) { persist_close(&gw); log_stop(); return 1; }
  if(!gw.cfg.keys.n) log_warn("no upstream keys: set GEMGATE_KEYS or GEMGATE_KEYS_FILE");
  if(!gw.cfg.access_keys.n) log_warn("no access keys: every client call will get 401 (set GEMGATE_ACCESS_KEYS)");
  if(!gw.cfg.admin_token) log_warn("no admin token: admin routes are disabled (set GEMGATE_ADMIN_TOKEN)");
  static const char *const strategies[] = { "round_robin", "least_used", "health" };
  log_info("config: %d workers, strategy %s, %d retries, timeout %lld ms, log %s %s to %s",
           gw.cfg.workers, strategies[gw.cfg.pool.strategy % 3], gw.cfg.max_retries, (long long)gw.cfg.timeout_ms,
           log_level_name((log_level)gw.cfg.log_level), gw.cfg.log_json ? "json" : "text",
           gw.cfg.log_dir ? gw.cfg.log_dir : "stdout");
  gw.started_ms = now_ms();
  gw.uploads = uploads_new(UPLOADS_MAX, gw.cfg.upload_ttl_ms);
  gw.stream_body = route_stream_body;
  gw.admit = route_admit;
  rc = server_run(&gw, route_request);
  sharing_stop(&gw);
  persist_close(&gw);          /* drains the ledger: a graceful stop loses no row */
  uploads_free(gw.uploads);
  kp_free(gw.pool);
  log_stop();                  /* after the last line: every one is written */
  config_free(&gw.cfg);
  return rc;
}
