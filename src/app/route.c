/* route — the route table; contract in route.h. */
#include "app/route.h"

#include "admin/keys.h"
#include "admin/maint.h"
#include "admin/prices.h"
#include "admin/settings.h"
#include "admin/stats.h"
#include "admin/status.h"
#include "admin/testroute.h"
#include "admin/usage.h"
#include "admin/useradmin.h"
#include "call/anthropic_route.h"
#include "call/chat_sessions.h"
#include "call/native.h"
#include "call/openai_route.h"
#include "call/responses_route.h"
#include "http/auth.h"
#include "http/server.h"

enum { PUBLIC = ROUTE_PUBLIC, ADMIN = ROUTE_ADMIN, CLIENT = ROUTE_CLIENT };   /* short, for the table */

/* The rules (exact path, or a '/'-terminated prefix; "*" for any method) are in http/route.h. */
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
  { "GET",  "/admin/stats",             ADMIN,  stats_route_admin },
  { "GET",  "/admin/usage",             ADMIN,  usage_route_list },
  { "GET",  "/admin/usage/export",      ADMIN,  usage_route_export },
  { "POST", "/admin/maintenance/cleanup", ADMIN, admin_maint_cleanup },
  { "POST", "/admin/maintenance/backup", ADMIN, admin_maint_backup },
#ifdef GEMGATE_TEST_ROUTES     /* the test binary only (make's gemgate-test): never in a release */
  { "POST", "/admin/test/ledger",       ADMIN,  admin_test_ledger },
#endif
  { "GET",  "/api/gemini/usage-stats",  CLIENT, stats_route_usage },
  { "GET",  "/api/usage/export",        CLIENT, usage_route_export_mine },
  { "POST", "/api/chat/sessions",       CLIENT, chat_sessions_create },
  { "GET",  "/api/chat/sessions",       CLIENT, chat_sessions_list },
  { "*",    "/api/chat/sessions/",      CLIENT, chat_sessions_item },
};

/* Client routes: authenticate, then the OpenAI API or native passthrough, each answering in
 * its own error shape. */
static void client_route(http_req *r)
{
  gateway *gw = r->w->gw;
  principal who = { 0 };
  bool anthropic = anthropic_wants(r);
  bool openai = !anthropic && openai_wants(r);
  auth_result a = auth_client(gw, r, &who);
  if(a != AUTH_OK) {
    const char *msg = a == AUTH_MISSING ? "missing access key: send it as x-goog-api-key, ?key= or Authorization: Bearer"
                                        : "access key not valid";
    if(anthropic) anthropic_error(r, 401, a == AUTH_MISSING ? "missing access key: send it as x-api-key or "
                                  "Authorization: Bearer" : msg, NULL);
    else if(openai) openai_error(r, 401, "invalid_api_key", msg, NULL);
    else http_error(r, 401, "UNAUTHENTICATED", msg, NULL);
    return;
  }
  if(anthropic) anthropic_handle(r, &who);
  else if(openai && responses_wants(r)) responses_handle(r, &who);
  else if(openai) openai_handle(r, &who);
  else native_forward(r, &who);
}

/* /v1beta/… and /v1/…: the APIs themselves, before the table (the hot path: one compare). */
static const route client_api = { "*", "/v1/", CLIENT, client_route };

static bool is_client_api(str path)
{
  return str_starts(path, STR("/v1beta/")) || str_starts(path, STR("/v1/"));
}

const route *route_find(str method, str path, char allow[ROUTE_ALLOW_CAP])
{
  if(is_client_api(path)) { allow[0] = '\0'; return &client_api; }
  return route_match(routes, ARRAY_LEN(routes), method, path, allow);
}

void route_request(http_req *r)
{
  if(is_client_api(r->path)) {
    client_route(r);
    return;
  }
  char allow[ROUTE_ALLOW_CAP];
  const route *match = route_match(routes, ARRAY_LEN(routes), r->method, r->path, allow);
  if(!match) {
    if(allow[0]) http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", allow);
    else http_error(r, 404, NULL, "no such route", NULL);
    return;
  }
  if(match->who == ROUTE_ADMIN && !auth_admin(r->w->gw, r)) {
    bool sent = http_header_get(r, STR("Authorization")).p != NULL;
    http_error(r, sent ? 403 : 401, NULL, r->w->gw->cfg.admin_token
               ? (sent ? "admin token not valid" : "admin token required: Authorization: Bearer <token>")
               : "admin API disabled: set GEMGATE_ADMIN_TOKEN", NULL);
    return;
  }
  match->fn(r);
}
