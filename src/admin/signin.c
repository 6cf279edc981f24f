/* signin — the web UI's sessions; contract in signin.h. */
#include "admin/signin.h"

#include <stdio.h>
#include <string.h>

#include "http/adminguard.h"
#include "http/auth.h"
#include "http/server.h"
#include "http/session.h"

static str cookie_of(const http_req *r)
{
  return session_cookie(http_header_get(r, STR("Cookie")), STR(SESSION_COOKIE));
}

static void sign_in(http_req *r, const char *token)
{
  const char *tok = r->w->gw->cfg.admin_token;
  if(!auth_admin_allowed(r)) return;
  if(!admin_token_eq(tok, token, strlen(token))) {
    auth_admin_failed(r);
    http_error(r, 401, "UNAUTHENTICATED", "admin token not valid", NULL);
    return;
  }
  char id[SESSION_ID_CAP], csrf[SESSION_ID_CAP], ticket[SESSION_ID_CAP];
  int64_t now = now_ms();
  if(!session_create(now, id, csrf) || !session_ticket(now, ticket)) { http_error_rc(r, GG_INTERNAL, NULL); return; }
  char hdr[256];
  snprintf(hdr, sizeof hdr, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld\r\n"
           "Cache-Control: no-store\r\n", SESSION_COOKIE, id, SESSION_TTL_MS / 1000);
  http_reply_json(r, 201, json_pack("{s:b,s:s,s:s,s:I,s:I}", "signed_in", 1, "csrf", csrf, "ticket", ticket,
                                    "ticket_expires_in", (json_int_t)(TICKET_TTL_MS / 1000),
                                    "expires_in", (json_int_t)(SESSION_TTL_MS / 1000)), hdr);
}

void signin_route(http_req *r)
{
  gateway *gw = r->w->gw;
  if(!gw->cfg.admin_token) { http_error(r, 403, NULL, "admin API disabled: set GEMGATE_ADMIN_TOKEN", NULL); return; }
  char csrf[SESSION_ID_CAP];
  str id = cookie_of(r);
  bool cookie = id.p && session_valid(id, now_ms(), csrf);
  if(str_eq(r->method, STR("GET"))) {
    json_t *o = json_pack("{s:b}", "signed_in", cookie);
    if(cookie) json_object_set_new(o, "csrf", json_string(csrf));
    http_reply_json(r, 200, o, "Cache-Control: no-store\r\n");
    return;
  }
  if(str_eq(r->method, STR("DELETE"))) {
    if(cookie && !auth_admin_session(gw, r)) { http_error(r, 403, NULL, "X-CSRF-Token required", NULL); return; }
    if(cookie) session_end(id);
    http_reply_json(r, 200, json_pack("{s:b}", "signed_in", 0),
                    "Set-Cookie: " SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n");
    return;
  }
  if(!str_eq(r->method, STR("POST"))) {
    http_error(r, 405, "INVALID_ARGUMENT", "method not allowed on this route", "Allow: GET, POST, DELETE\r\n");
    return;
  }
  json_t *b = http_body_object(r);
  if(!b) return;
  json_t *t = json_object_get(b, "token");
  if(t && !json_is_string(t)) { json_decref(b); http_error(r, 400, NULL, "\"token\" must be a string", NULL); return; }
  if(t) { sign_in(r, json_string_value(t)); json_decref(b); return; }
  json_decref(b);
  if(!auth_admin(gw, r)) {
    http_error(r, 401, "UNAUTHENTICATED", "sign in with {\"token\": <admin token>}, or send the token as "
               "Authorization: Bearer", NULL);
    return;
  }
  char ticket[SESSION_ID_CAP];
  if(!session_ticket(now_ms(), ticket)) { http_error_rc(r, GG_INTERNAL, NULL); return; }
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "ticket", ticket, "ticket_expires_in",
                                    (json_int_t)(TICKET_TTL_MS / 1000)), "Cache-Control: no-store\r\n");
}
