/* route — the gateway's route table: which handler answers a request, and who may call it:
 * public routes, admin routes (GEMGATE_ADMIN_TOKEN) and client routes (an access key).  The
 * matching rules are http/route's. */
#ifndef GEMGATE_ROUTE_H
#define GEMGATE_ROUTE_H

#include "http/http.h"
#include "http/route.h"

/* route.who: anyone; the admin (GEMGATE_ADMIN_TOKEN, checked here before the handler); a client
 * with an access key (the handler authenticates, so that it answers in its own error shape). */
enum { ROUTE_PUBLIC, ROUTE_ADMIN, ROUTE_CLIENT };

/* The worker's request handler: route_find, then the admin token check, then the handler;
 * answers 404 / 405 (with Allow) / 401 / 403 itself. */
void route_request(http_req *r);

/* The gateway's stream_body hook (server.h): the routes that take their body as a stream — an
 * upload continuation (call/upload.h). */
bool route_stream_body(const http_req *r);

/* The table's entry for method + path (the Gemini and OpenAI APIs under /v1beta/ and /v1/ are
 * one client entry); NULL with allow as route_match gives it.  Static; for tests and tools. */
const route *route_find(str method, str path, char allow[ROUTE_ALLOW_CAP]);

/* The table itself (*n entries; without the client APIs and /admin/, which route_find adds),
 * for tests and tools: the docs' test checks that every entry is in /openapi.json. */
const route *route_table(size_t *n);

/* The checks that need no body — route, method, admin token, access key — run when a request's
 * head is complete and it announces a body (http.c's admit hook), so that a caller who will be
 * refused never makes the gateway read and hold that body.  false after answering (the
 * connection then closes without reading the body); route_request checks again, cheaply. */
bool route_admit(http_req *r);

#endif
