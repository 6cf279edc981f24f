#include "http/auth.h"

#include "http/adminguard.h"
#include "http/clientip.h"

#include <stdio.h>
#include <string.h>

#include "http/session.h"
#include "users/users.h"

static int hexval(char c)
{
  if(c >= '0' && c <= '9') return c - '0';
  if(c >= 'a' && c <= 'f') return c - 'a' + 10;
  if(c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Copies s into buf, decoding %XX when decode is set.  -1 if it does not fit. */
static int copy_cred(str s, bool decode, char *buf, size_t cap)
{
  size_t n = 0;
  for(size_t i = 0; i < s.n; i++) {
    char ch = s.p[i];
    if(decode && ch == '%' && i + 2 < s.n && hexval(s.p[i + 1]) >= 0 && hexval(s.p[i + 2]) >= 0) {
      ch = (char)(hexval(s.p[i + 1]) * 16 + hexval(s.p[i + 2]));
      i += 2;
    } else if(decode && ch == '+') ch = ' ';
    if(n + 1 >= cap) return -1;
    buf[n++] = ch;
  }
  buf[n] = '\0';
  return (int)n;
}

int auth_credential(const http_req *r, char *buf, size_t cap)
{
  str v = http_header_get(r, STR("x-goog-api-key"));
  if(v.p && v.n) return copy_cred(v, false, buf, cap);
  v = http_query_get(r, STR("key"));
  if(v.p && v.n) return copy_cred(v, true, buf, cap);
  v = http_header_get(r, STR("Authorization"));
  if(v.p && v.n > 7 && str_ieq((str){ v.p, 7 }, STR("Bearer "))) {
    str t = { v.p + 7, v.n - 7 };
    while(t.n && *t.p == ' ') { t.p++; t.n--; }
    if(t.n) return copy_cred(t, false, buf, cap);
  }
  v = http_header_get(r, STR("x-api-key"));        /* Anthropic's SDKs and Claude Code */
  if(v.p && v.n) return copy_cred(v, false, buf, cap);
  return -1;
}

auth_result auth_client(gateway *gw, const http_req *r, principal *out)
{
  char cred[512];
  int n = auth_credential(r, cred, sizeof cred);
  if(n < 0) return AUTH_MISSING;
  const strlist *keys = &gw->cfg.access_keys;
  int found = 0;
  for(size_t i = 0; i < keys->n; i++)   /* no early exit: the time does not tell which matched */
    if(secret_eq(cred, (size_t)n, keys->v[i], strlen(keys->v[i])) && !found) found = (int)i + 1;
  if(found) {
    out->static_key = found;
    out->user_id = 0;
    out->access_key_id = 0;
    /* "static", "static#<n>": no snprintf on every request of a static key */
    memcpy(out->name, "static", 7);
    char d[12], *p = d + sizeof d;
    *--p = '\0';
    for(int v = found; v; v /= 10) *--p = (char)('0' + v % 10);
    size_t dl = (size_t)(d + sizeof d - 1 - p);
    memcpy(out->label, "static#", 7);
    memcpy(out->label + 7, p, dl + 1);
    return AUTH_OK;
  }
  return gw->users && users_auth(gw->users, cred, (size_t)n, out) ? AUTH_OK : AUTH_BAD;
}

bool auth_require(gateway *gw, http_req *r, principal *out)
{
  auth_result a = auth_client(gw, r, out);
  if(a == AUTH_OK) return true;
  http_error(r, 401, "UNAUTHENTICATED", a == AUTH_MISSING ? "missing access key: send it as x-goog-api-key, ?key= or "
             "Authorization: Bearer" : "access key not valid", NULL);
  return false;
}

bool auth_admin(gateway *gw, const http_req *r)
{
  const char *tok = gw->cfg.admin_token;
  if(!tok) return false;
  str v = http_header_get(r, STR("Authorization"));
  if(!v.p || v.n <= 7 || !str_ieq((str){ v.p, 7 }, STR("Bearer "))) return auth_admin_session(gw, r);
  return admin_token_eq(tok, v.p + 7, v.n - 7);
}

bool auth_admin_session(gateway *gw, const http_req *r)
{
  if(!gw->cfg.admin_token) return false;
  str id = session_cookie(http_header_get(r, STR("Cookie")), STR(SESSION_COOKIE));
  char csrf[SESSION_ID_CAP];
  if(!id.p || !session_valid(id, now_ms(), csrf)) return false;
  if(str_eq(r->method, STR("GET")) || str_eq(r->method, STR("HEAD"))) return true;
  str sent = http_header_get(r, STR("X-CSRF-Token"));
  return sent.p && secret_eq(sent.p, sent.n, csrf, strlen(csrf));
}

bool auth_admin_allowed(http_req *r)
{
  char ip[64];
  clientip_of(r, ip, sizeof ip);
  int64_t wait = admin_guard_wait(ip, now_ms());
  if(!wait) return true;
  char extra[48];
  snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)wait);
  http_error(r, 429, NULL, "too many failed admin logins from this address: try again later", extra);
  return false;
}

void auth_admin_failed(const http_req *r)
{
  char ip[64];
  clientip_of(r, ip, sizeof ip);
  admin_guard_fail(ip, now_ms());
}
