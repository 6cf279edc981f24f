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
#include "call/upload.h"
#include "http/server.h"

int main(int argc, char **argv)
{
  static gateway gw;
  int rc = config_load(&gw.cfg, argc, argv);
  if(rc) return rc > 0 ? 0 : 2;
  log_threshold = (log_level)gw.cfg.log_level;
  srandom((unsigned)time(NULL) ^ (unsigned)getpid());
  server_fit_fds(&gw.cfg);        /* RLIMIT_NOFILE to its hard limit, MAX_CONNS to what fits */
  gw.pool = kp_new(&gw.cfg.pool);
  if(!gw.pool) { log_error("out of memory"); return 1; }
  kp_set_keys(gw.pool, (const char *const *)gw.cfg.keys.v, gw.cfg.keys.n);
  if(persist_open(&gw)) return 1;
  if(!gw.cfg.keys.n) log_warn("no upstream keys: set GEMGATE_KEYS or GEMGATE_KEYS_FILE");
  if(!gw.cfg.access_keys.n) log_warn("no access keys: every client call will get 401 (set GEMGATE_ACCESS_KEYS)");
  if(!gw.cfg.admin_token) log_warn("no admin token: admin routes are disabled (set GEMGATE_ADMIN_TOKEN)");
  gw.started_ms = now_ms();
  gw.uploads = uploads_new(UPLOADS_MAX, gw.cfg.upload_ttl_ms);
  gw.stream_body = route_stream_body;
  rc = server_run(&gw, route_request);
  persist_close(&gw);          /* drains the ledger: a graceful stop loses no row */
  uploads_free(gw.uploads);
  kp_free(gw.pool);
  config_free(&gw.cfg);
  return rc;
}
