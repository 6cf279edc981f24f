#include "route.h"

#include <stdio.h>

#include "auth.h"
#include "native.h"
#include "server.h"
#include "status.h"

typedef enum { PUBLIC, ADMIN } access;

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
};

static void client_route(http_req *r)
{
  gateway *gw = r->w->gw;
  principal who = { 0 };
  switch(auth_client(gw, r, &who)) {
  case AUTH_MISSING:
    http_error(r, 401, "UNAUTHENTICATED", "missing access key: send it as x-goog-api-key, ?key= or Authorization: Bearer", NULL);
    return;
  case AUTH_BAD:
    http_error(r, 401, "UNAUTHENTICATED", "access key not valid", NULL);
    return;
  case AUTH_OK:
    break;
  }
  native_forward(r, &who);
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
    if(!str_eq(r->path, str_c(routes[i].path))) continue;
    if(str_eq(r->method, str_c(routes[i].method))) { match = &routes[i]; break; }
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
