/* admin/series — GET /admin/stats/series?range=hour|day|month (stats/series.h), for the web
 * UI's dashboard charts. */
#ifndef GEMGATE_ADMIN_SERIES_H
#define GEMGATE_ADMIN_SERIES_H

#include "http/http.h"

void series_route(http_req *r);

#endif
