/* ui — the embedded pages; contract in ui.h. */
#include "admin/ui.h"

#include <string.h>

#include "admin/assets.h"
#include "base/util.h"

#define PAGE_HEADERS \
  "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n" \
  "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n" \
  "Cache-Control: no-cache\r\n"

const asset *asset_find(const char *name, size_t n)
{
  for(size_t i = 0; i < nassets; i++)
    if(strlen(assets[i].name) == n && !memcmp(assets[i].name, name, n)) return &assets[i];
  return NULL;
}

static const char *ctype_of(const char *name)
{
  const char *dot = strrchr(name, '.');
  if(!dot) return "application/octet-stream";
  if(!strcmp(dot, ".html")) return "text/html; charset=utf-8";
  if(!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
  if(!strcmp(dot, ".css")) return "text/css; charset=utf-8";
  if(!strcmp(dot, ".json")) return "application/json; charset=utf-8";
  if(!strcmp(dot, ".svg")) return "image/svg+xml";
  if(!strcmp(dot, ".png")) return "image/png";
  return "application/octet-stream";
}

static void serve(http_req *r, const char *name, size_t n)
{
  const asset *a = asset_find(name, n);
  if(!a) { http_error(r, 404, NULL, "no such file", NULL); return; }
  http_reply(r, 200, ctype_of(a->name), (const char *)a->data, a->len, PAGE_HEADERS);
}

void ui_index(http_req *r)
{
  if(str_eq(r->path, STR("/admin"))) {           /* relative links need the slash */
    http_reply(r, 308, "text/plain", "/admin/\n", 8, "Location: /admin/\r\n");
    return;
  }
  serve(r, "index.html", 10);
}

void ui_asset(http_req *r)
{
  str f = { r->path.p + 10, r->path.n - 10 };     /* after "/admin/ui/" */
  for(size_t i = 0; i < f.n; i++)
    if(f.p[i] == '/' || (f.p[i] == '.' && i == 0)) { http_error(r, 404, NULL, "no such file", NULL); return; }
  serve(r, f.p, f.n);
}

void ui_openapi(http_req *r)
{
  serve(r, "openapi.json", 12);
}

void ui_docs(http_req *r)
{
  serve(r, "docs.html", 9);
}
