/* ui — the embedded web pages (admin/assets.h): the admin web UI at /admin/, its scripts and
 * styles under /admin/ui/, the OpenAPI 3.1 document at /openapi.json and the human API docs
 * rendered from it at /docs.  Public (the UI signs in through /admin/session; nothing secret is
 * in the files).  Pages carry a strict Content-Security-Policy: same-origin only, no inline
 * script, no framing. */
#ifndef GEMGATE_UI_H
#define GEMGATE_UI_H

#include "http/http.h"

void ui_index(http_req *r);      /* GET /admin and /admin/ → index.html */
void ui_asset(http_req *r);      /* GET /admin/ui/{file} */
void ui_openapi(http_req *r);    /* GET /openapi.json */
void ui_docs(http_req *r);       /* GET /docs → docs.html */

#endif
