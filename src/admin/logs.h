/* logs — the log routes (seed 003): the newest lines of the log ring, and new lines live over a
 * WebSocket or as text/event-stream.  Filters, the same on all three: stream=app|transaction|
 * debug, level=error|warn|info|debug (that level and more severe), request_id=<id>.  Lines are
 * the JSON objects of the JSON log format, each with its "seq" (position in the ring). */
#ifndef GEMGATE_ADMIN_LOGS_H
#define GEMGATE_ADMIN_LOGS_H

#include "http/http.h"

#define LOGS_MAX_N 10000
#define LOGS_WS_MAX_PENDING (256 * 1024)   /* a live client's unsent bytes before it is dropped */
#define LOGS_TICK_MS 100                   /* how often a live client is sent new lines */

/* GET /api/status/logs?n=&stream=&level=&request_id= (admin) → {"lines":[…] (oldest first, the
 * newest n that match, n 1..10000, default 100), "count", "next_seq", "dropped", "ring"}. */
void logs_route_list(http_req *r);

/* GET /api/status/logs/ws?stream=&level=&request_id=&n=&ticket= — the WebSocket.  Auth: the
 * admin token as Authorization: Bearer, or as one of the offered Sec-WebSocket-Protocol values
 * (offer "gemgate" too: it is the one selected), or a ticket from POST /admin/session.  n: lines
 * of backlog first (default 0).  Each line is one text message; a client message
 * {"stream","level","request_id","paused"} changes the filters (answered {"type":"filter",…});
 * lines lost to a full ring are announced as {"type":"lost","count"}. */
void logs_route_ws(http_req *r);

/* GET /api/status/logs/stream — the same as text/event-stream ("id: <seq>", "data: <line>");
 * Last-Event-ID resumes after that line.  Auth: Bearer, a web UI session, or ?ticket=. */
void logs_route_sse(http_req *r);

#endif
