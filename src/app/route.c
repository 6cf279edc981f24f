/* route — the route table; contract in route.h. */
#include "app/route.h"

#include "admin/debug.h"
#include "admin/keys.h"
#include "admin/logs.h"
#include "admin/maint.h"
#include "admin/poolcfg.h"
#include "admin/prices.h"
#include "admin/resources.h"
#include "admin/series.h"
#include "admin/reconcile.h"
#include "admin/settings.h"
#include "admin/signin.h"
#include "admin/stats.h"
#include "admin/status.h"
#include "admin/testroute.h"
#include "admin/ui.h"
#include "admin/usage.h"
#include "admin/useradmin.h"
#include "call/anthropic_route.h"
#include "call/chat_sessions.h"
#include "call/native.h"
#include "call/openai_route.h"
#include "call/upload.h"
#include "call/responses_route.h"
#include "http/auth.h"
#include "http/server.h"

enum { PUBLIC = ROUTE_PUBLIC, ADMIN = ROUTE_ADMIN, CLIENT = ROUTE_CLIENT };   /* short, for the table */

/* The rules (exact path, or a '/'-terminated prefix; "*" for any method) are in http/route.h. */
static const route routes[] = {
  { "GET",  "/health",                  PUBLIC, status_health },
  { "GET",  "/wake",                    PUBLIC, status_wake },
  { "GET",  "/api/status/keys",         ADMIN,  status_keys },
  { "GET",  "/api/status/logs",         ADMIN,  logs_route_list },
  { "GET",  "/api/status/logs/ws",      PUBLIC, logs_route_ws },       /* authenticates itself: */
  { "GET",  "/api/status/logs/stream",  PUBLIC, logs_route_sse },      /* token, ticket, session */
  { "*",    "/admin/session",           PUBLIC, signin_route },        /* signs in: checks the token */
  { "GET",  "/admin/pool/stats",        ADMIN,  status_pool_stats },
  { "GET",  "/admin/keys/stats",        ADMIN,  status_key_stats },
  { "POST", "/admin/pool/reset",        ADMIN,  status_pool_reset },
  { "POST", "/admin/keys/stats/reset",  ADMIN,  status_stats_reset },
  { "POST", "/admin/keys/reload",       ADMIN,  status_reload },
  { "GET",  "/status",                  ADMIN,  status_process },
  { "GET",  "/metrics",                 ADMIN,  status_metrics },
  { "GET",  "/debug/info",              ADMIN,  debug_info },
  { "GET",  "/admin/config/thinking",   ADMIN,  admin_settings_thinking },
  { "POST", "/admin/config/thinking",   ADMIN,  admin_settings_thinking },
  { "GET",  "/admin/config/inject-prompt", ADMIN, admin_settings_inject },
  { "POST", "/admin/config/inject-prompt", ADMIN, admin_settings_inject },
  { "GET",  "/admin/config/pool",       ADMIN,  poolcfg_route },
  { "POST", "/admin/config/pool",       ADMIN,  poolcfg_route },
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
  { "GET",  "/admin/stats/series",      ADMIN,  series_route },
  { "GET",  "/admin/usage",             ADMIN,  usage_route_list },
  { "GET",  "/admin/usage/export",      ADMIN,  usage_route_export },
  { "GET",  "/admin/usage/reconcile",   ADMIN,  admin_usage_reconcile },
  { "POST", "/admin/maintenance/cleanup", ADMIN, admin_maint_cleanup },
  { "POST", "/admin/maintenance/backup", ADMIN, admin_maint_backup },
  { "GET",  "/admin/resources",         ADMIN,  admin_resources_list },
#ifdef GEMGATE_TEST_ROUTES     /* the test binary only (make's gemgate-test): never in a release */
  { "POST", "/admin/test/ledger",       ADMIN,  admin_test_ledger },
  { "POST", "/admin/test/log",          ADMIN,  admin_test_log },
#endif
  { "POST", "/upload/",                 CLIENT, upload_route },   /* resumable uploads (upload.h) */
  { "PUT",  "/upload/",                 CLIENT, upload_route },
  { "GET",  "/openapi.json",             PUBLIC, ui_openapi },
  { "GET",  "/docs",                    PUBLIC, ui_docs },
  { "GET",  "/admin",                   PUBLIC, ui_index },            /* the web UI (and /admin/, below) */
  { "GET",  "/admin/ui/",               PUBLIC, ui_asset },
  { "GET",  "/api/gemini/usage-stats",  CLIENT, stats_route_usage },
  { "GET",  "/api/usage/export",        CLIENT, usage_route_export_mine },
  { "POST", "/api/chat/sessions",       CLIENT, chat_sessions_create },
  { "GET",  "/api/chat/sessions",       CLIENT, chat_sessions_list },
  { "*",    "/api/chat/sessions/",      CLIENT, chat_sessions_item },
};

/* A client API call's caller into *who, or false after answering 401 in the caller's dialect. */
static bool client_auth(http_req *r, principal *who)
{
  auth_result a = auth_client(r->w->gw, r, who);
  if(a == AUTH_OK) return true;
  const char *msg = a == AUTH_MISSING ? "missing access key: send it as x-goog-api-key, ?key= or Authorization: Bearer"
                                      : "access key not valid";
  if(anthropic_wants(r))
    anthropic_error(r, 401, a == AUTH_MISSING ? "missing access key: send it as x-api-key or Authorization: Bearer"
                                              : msg, NULL);
  else if(openai_wants(r)) openai_error(r, 401, "invalid_api_key", msg, NULL);
  else http_error(r, 401, "UNAUTHENTICATED", msg, NULL);
  return false;
}

/* Client routes: authenticate, then the OpenAI API or native passthrough, each answering in
 * its own error shape. */
static void client_route(http_req *r)
{
  principal who = { 0 };
  if(!client_auth(r, &who)) return;
  bool anthropic = anthropic_wants(r);
  bool openai = !anthropic && openai_wants(r);
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

/* The web UI's page is "/admin/" exactly: as a table entry the slash would make it a prefix of
 * every admin route, turning their 404s into pages. */
static const route ui_root = { "GET", "/admin/", PUBLIC, ui_index };

const route *route_find(str method, str path, char allow[ROUTE_ALLOW_CAP])
{
  if(is_client_api(path)) { allow[0] = '\0'; return &client_api; }
  if(str_eq(path, STR("/admin/")) && str_eq(method, STR("GET"))) { allow[0] = '\0'; return &ui_root; }
  return route_match(routes, ARRAY_LEN(routes), method, path, allow);
}

const route *route_table(size_t *n)
{
  *n = ARRAY_LEN(routes);
  return routes;
}

/* No route: 405 with Allow when the path has one for another method, else 404. */
static void not_routed(http_req *r, const char *allow)
{
  if(allow[0]) http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", allow);
  else http_error(r, 404, NULL, "no such route", NULL);
}

/* The admin check with its guard (http/adminguard.h): false after answering 429, 401 or 403. */
static bool admin_auth(http_req *r)
{
  gateway *gw = r->w->gw;
  if(gw->cfg.admin_token && !auth_admin_allowed(r)) return false;
  if(auth_admin(gw, r)) return true;
  bool sent = http_header_get(r, STR("Authorization")).p != NULL;
  if(sent && gw->cfg.admin_token) auth_admin_failed(r);
  http_error(r, sent ? 403 : 401, NULL, gw->cfg.admin_token
             ? (sent ? "admin token not valid" : "admin token required: Authorization: Bearer <token>")
             : "admin API disabled: set GEMGATE_ADMIN_TOKEN", NULL);
  return false;
}

void route_request(http_req *r)
{
  if(is_client_api(r->path)) {
    client_route(r);
    return;
  }
  char allow[ROUTE_ALLOW_CAP];
  const route *match = route_find(r->method, r->path, allow);
  if(!match) {
    not_routed(r, allow);
    return;
  }
  if(match->who == ROUTE_ADMIN && !admin_auth(r)) return;
  match->fn(r);
}

bool route_admit(http_req *r)
{
  if(is_client_api(r->path)) {
    principal who;
    return client_auth(r, &who);
  }
  char allow[ROUTE_ALLOW_CAP];
  const route *match = route_find(r->method, r->path, allow);
  if(!match) {
    not_routed(r, allow);
    return false;
  }
  return match->who != ROUTE_ADMIN || admin_auth(r);
}

bool route_stream_body(const http_req *r)
{
  return upload_streams(r);
}
