/* route — which handler answers a request, and who may call it: public routes, admin routes
 * (GEMGATE_ADMIN_TOKEN), and client routes (an access key). */
#ifndef GEMGATE_ROUTE_H
#define GEMGATE_ROUTE_H

#include "http/http.h"

/* The worker's request handler. */
void route_request(http_req *r);

#endif
