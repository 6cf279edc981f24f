#include "app/route.h"

#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "admin/keys.h"
#include "admin/maint.h"
#include "call/native.h"
#include "call/openai_route.h"
#include "admin/settings.h"
#include "http/server.h"
#include "admin/prices.h"
#include "admin/testroute.h"
#include "stats/stats.h"
#include "admin/status.h"
#include "stats/usagerows.h"
#include "admin/useradmin.h"

/* CLIENT: an access key (static or per-user); the handler authenticates with auth_require. */
typedef enum { PUBLIC, ADMIN, CLIENT } access;

/* method "*": any method, the handler sorts them out.  A path ending in '/' is a prefix: ids
 * follow, and the handler parses them. */
typedef struct route {
  const char *method, *path;
  access who;
  void (*fn)(http_req *r);
} route;

static const route routes[] = {
  { "GET",  "/health",                  PUBLIC, status_health },
  { "GET",  "/wake",                    PUBLIC, status_wake },
  { "GET",  "/api/status/keys",         ADMIN,  status_keys },
  { "GET",  "/admin/pool/stats",        ADMIN,  status_pool_stats },
  { "GET",  "/admin/keys/stats",        ADMIN,  status_key_stats },
  { "POST", "/admin/pool/reset",        ADMIN,  status_pool_reset },
  { "POST", "/admin/keys/stats/reset",  ADMIN,  status_stats_reset },
  { "POST", "/admin/keys/reload",       ADMIN,  status_reload },
  { "GET",  "/status",                  ADMIN,  status_process },
  { "GET",  "/metrics",                 ADMIN,  status_metrics },
  { "GET",  "/admin/config/thinking",   ADMIN,  admin_settings_thinking },
  { "POST", "/admin/config/thinking",   ADMIN,  admin_settings_thinking },
  { "GET",  "/admin/config/inject-prompt", ADMIN, admin_settings_inject },
  { "POST", "/admin/config/inject-prompt", ADMIN, admin_settings_inject },
  { "POST", "/admin/config/user-key",   ADMIN,  useradmin_create },
  { "GET",  "/admin/users",             ADMIN,  useradmin_list },
  { "*",    "/admin/users/",            ADMIN,  useradmin_item },
  { "POST", "/admin/config/gemini-key", ADMIN,  admin_keys_add },
  { "GET",  "/admin/config/gemini-keys", ADMIN, admin_keys_list },
  { "*",    "/admin/config/gemini-keys/", ADMIN, admin_keys_item },
  { "GET",  "/admin/prices",            ADMIN,  admin_prices_list },
  { "PUT",  "/admin/prices/",           ADMIN,  admin_prices_set },
  { "POST", "/admin/prices/",           ADMIN,  admin_prices_set },
  { "GET",  "/admin/stats",             ADMIN,  stats_admin },
  { "GET",  "/admin/usage",             ADMIN,  usagerows_list },
  { "GET",  "/admin/usage/export",      ADMIN,  usagerows_export_admin },
  { "POST", "/admin/maintenance/cleanup", ADMIN, admin_maint_cleanup },
  { "POST", "/admin/maintenance/backup", ADMIN, admin_maint_backup },
  { "POST", "/admin/test/ledger",       ADMIN,  admin_test_ledger },
  { "GET",  "/api/gemini/usage-stats",  CLIENT, stats_usage },
  { "GET",  "/api/usage/export",        CLIENT, usagerows_export_mine },
};

/* Client routes: authenticate, then the OpenAI API or native passthrough, each answering in
 * its own error shape. */
static void client_route(http_req *r)
{
  gateway *gw = r->w->gw;
  principal who = { 0 };
  bool openai = openai_wants(r);
  auth_result a = auth_client(gw, r, &who);
  if(a != AUTH_OK) {
    const char *msg = a == AUTH_MISSING ? "missing access key: send it as x-goog-api-key, ?key= or Authorization: Bearer"
                                        : "access key not valid";
    if(openai) openai_error(r, 401, "invalid_api_key", msg, NULL);
    else http_error(r, 401, "UNAUTHENTICATED", msg, NULL);
    return;
  }
  if(openai) openai_handle(r, &who);
  else native_forward(r, &who);
}

void route_request(http_req *r)
{
  if(str_starts(r->path, STR("/v1beta/")) || str_starts(r->path, STR("/v1/"))) {
    client_route(r);
    return;
  }
  const route *match = NULL;
  char allow[64] = "";
  for(size_t i = 0; i < ARRAY_LEN(routes); i++) {
    str p = str_c(routes[i].path);
    bool prefix = p.n && p.p[p.n - 1] == '/';
    if(prefix ? !(str_starts(r->path, p) && r->path.n > p.n) : !str_eq(r->path, p)) continue;
    if(!strcmp(routes[i].method, "*") || str_eq(r->method, str_c(routes[i].method))) { match = &routes[i]; break; }
    snprintf(allow, sizeof allow, "Allow: %s\r\n", routes[i].method);
  }
  if(!match) {
    if(allow[0]) http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", allow);
    else http_error(r, 404, NULL, "no such route", NULL);
    return;
  }
  if(match->who == ADMIN && !auth_admin(r->w->gw, r)) {
    bool sent = http_header_get(r, STR("Authorization")).p != NULL;
    http_error(r, sent ? 403 : 401, NULL, r->w->gw->cfg.admin_token
               ? (sent ? "admin token not valid" : "admin token required: Authorization: Bearer <token>")
               : "admin API disabled: set GEMGATE_ADMIN_TOKEN", NULL);
    return;
  }
  match->fn(r);
}
