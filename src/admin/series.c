/* admin/series — the charts' data; contract in series.h. */
#include "admin/series.h"

#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "store/query.h"
#include "stats/series.h"

typedef struct job { series_range range; int64_t now; } job;

static gg_rc work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  job *j = arg;
  return series_get(c, j->range, j->now, out, e);
}

void series_route(http_req *r)
{
  char v[16];
  bool has;
  gg_err e = { 0 };
  if(query_str(r->query, "range", v, sizeof v, &has, &e)) { http_error_rc(r, GG_BAD_INPUT, e.msg); return; }
  series_range range = SERIES_HOUR;
  if(has && !strcmp(v, "day")) range = SERIES_DAY;
  else if(has && !strcmp(v, "month")) range = SERIES_MONTH;
  else if(has && strcmp(v, "hour")) { http_error_rc(r, GG_BAD_INPUT, "range must be hour, day or month"); return; }
  job *j = malloc(sizeof *j);
  if(!j) { http_error_rc(r, GG_NOMEM, NULL); return; }
  j->range = range;
  j->now = now_ms();
  dbcall_json(r, j, free, work, 200);
}
