/* prices — admin routes for the price table; contract in prices.h. */
#include "admin/prices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/money.h"
#include "http/server.h"
#include "ledger/prices.h"

static json_t *price_json(const price *pr)
{
  return json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:I}", "id", (json_int_t)pr->id, "model", pr->model,
                   "input", money_json(pr->input, 6), "output", money_json(pr->output, 6),
                   "thinking", money_json(pr->thinking, 6), "cached", money_json(pr->cached, 6),
                   "per_request", money_json(pr->request, 6), "updated_at", (json_int_t)pr->updated_at);
}

void admin_prices_list(http_req *r)
{
  size_t n;
  price *v = prices_list(r->w->gw->prices, &n);
  json_t *arr = json_array();
  for(size_t i = 0; i < n; i++) json_array_append_new(arr, price_json(&v[i]));
  free(v);
  http_reply_json(r, 200, json_pack("{s:o,s:s}", "prices", arr, "unit",
                                    "USD per 1M tokens; per_request: USD per call"), NULL);
}

typedef struct set_job { prices *p; price_update u; } set_job;

static gg_rc set_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  set_job *j = arg;
  price pr;
  gg_rc rc = prices_set(j->p, c, &j->u, &pr, e);
  if(!rc) *out = price_json(&pr);
  return rc;
}

static const char *const FIELDS[] = { "input", "output", "thinking", "cached", "per_request" };

void admin_prices_set(http_req *r)
{
  str name = { r->path.p + 14, r->path.n - 14 };      /* after "/admin/prices/" */
  if(!prices_model_valid(name.p, name.n)) { http_error(r, 400, NULL, "the model name in the path is not valid", NULL); return; }
  json_t *body = http_body_object(r);
  if(!body) return;
  set_job *j = calloc(1, sizeof *j);
  if(!j) { json_decref(body); http_error_rc(r, GG_NOMEM, NULL); return; }
  j->p = r->w->gw->prices;
  price_update *u = &j->u;
  memcpy(u->model, name.p, name.n);
  int64_t *field[] = { &u->input, &u->output, &u->thinking, &u->cached, &u->request };
  const char *key;
  json_t *v;
  char msg[160] = "";
  json_object_foreach(body, key, v) {
    int k = -1;
    for(int i = 0; i < 5; i++) if(!strcmp(key, FIELDS[i])) k = i;
    if(k < 0) { snprintf(msg, sizeof msg, "unknown field \"%.60s\"", key); break; }
    if(!money_parse_json(v, 6, PRICES_MAX_MICROS, field[k])) {
      snprintf(msg, sizeof msg, "\"%s\" must be a non-negative amount in USD with at most 6 decimals", key);
      break;
    }
    u->have |= 1u << k;
  }
  json_decref(body);
  if(!msg[0] && !u->have) snprintf(msg, sizeof msg, "give at least one of input, output, thinking, cached, per_request");
  if(msg[0]) { free(j); http_error(r, 400, NULL, msg, NULL); return; }
  dbcall_json(r, j, free, set_work, 200);
}
