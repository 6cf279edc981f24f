/* prices — admin routes for the price table; contract in prices.h. */
#include "admin/prices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/money.h"
#include "base/utc.h"
#include "http/server.h"
#include "ledger/prices.h"

static json_t *price_json(const price *pr)
{
  char from[32];
  utc_iso(pr->effective_from, from, sizeof from);
  json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s}", "id", (json_int_t)pr->id, "model", pr->model,
                        "model_id", (json_int_t)pr->model_id, "effective_from", from, "source", pr->source);
  for(int k = 0; k < PRICE_NFIELDS; k++)
    json_object_set_new(o, price_fields[k].name, price_fields[k].money ? money_json(pr->v[k], 6)
                                                                       : json_integer(pr->v[k]));
  return o;
}

static const char *policy(int p)
{
  return p == CFG_UNPRICED_REFUSE ? "refuse" : p == CFG_UNPRICED_MAX ? "max" : p == CFG_UNPRICED_ZERO ? "zero"
                                  : "default: refuse for users with a budget, zero for the others";
}

void admin_prices_list(http_req *r)
{
  gateway *gw = r->w->gw;
  int64_t now = now_ms();
  size_t n, na;
  price *v = prices_list(gw->prices, &n);
  price_alias *a = prices_aliases(gw->prices, &na);
  json_t *current = json_array(), *versions = json_array(), *aliases = json_array();
  for(size_t i = 0; i < n; i++) {
    json_array_append_new(versions, price_json(&v[i]));
    /* In force now: the model's last version that has begun, or its first when none has. */
    bool next = i + 1 < n && !strcmp(v[i + 1].model, v[i].model), prev = i > 0 && !strcmp(v[i - 1].model, v[i].model);
    bool begun = v[i].effective_from <= now, next_begun = next && v[i + 1].effective_from <= now;
    if((begun && !next_begun) || (!begun && !prev)) json_array_append_new(current, price_json(&v[i]));
  }
  for(size_t i = 0; i < na; i++)
    json_array_append_new(aliases, json_pack("{s:s,s:s,s:s}", "alias", a[i].alias, "model", a[i].model, "source", a[i].source));
  free(v);
  free(a);
  http_reply_json(r, 200, json_pack("{s:o,s:o,s:o,s:s,s:s,s:s,s:s}", "prices", current, "versions", versions,
    "aliases", aliases, "unit", "USD per 1M tokens; per_image: per image; per_request: per successful call;"
    " storage_per_hour: per 1M tokens per hour; thinking is billed as output",
    "rules", "the exact name; an alias; the name without a trailing @..., -preview, -exp, -latest or -<digits>,"
    " again; \"*\" if priced; else unpriced", "unpriced", policy(gw->cfg.unpriced),
    "source", "Google's Gemini API price list (ai.google.dev/gemini-api/docs/pricing), paid tier, Standard,"
    " as looked up on 2026-12-01 (docs/ledger.md)"), NULL);
}

typedef struct set_job { prices *p; price_update u; } set_job;

static gg_rc set_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  set_job *j = arg;
  price pr;
  gg_rc rc = prices_set(j->p, c, &j->u, now_ms(), &pr, e);
  if(!rc) *out = price_json(&pr);
  return rc;
}

/* One field of the body into u; "" or the message of the 400. */
static void read_field(price_update *u, const char *key, json_t *v, char *msg, size_t cap)
{
  if(!strcmp(key, "alias_of")) {
    const char *s = json_string_value(v);
    if(!s || !*s || strlen(s) >= sizeof u->alias_of) snprintf(msg, cap, "\"alias_of\" must name a model");
    else snprintf(u->alias_of, sizeof u->alias_of, "%s", s);
    return;
  }
  if(!strcmp(key, "effective_from")) {
    int64_t ms = 0;
    bool ok = json_is_string(v) ? utc_parse(json_string_value(v), &ms)
                                : json_is_integer(v) && json_integer_value(v) > 0 &&
                                  json_integer_value(v) < 253402300800 && (ms = json_integer_value(v) * 1000);
    if(!ok) snprintf(msg, cap, "\"effective_from\" must be an ISO 8601 time or epoch seconds");
    u->effective_from = ms;
    return;
  }
  for(int k = 0; k < PRICE_NFIELDS; k++) {
    const price_field *f = &price_fields[k];
    if(strcmp(key, f->name)) continue;
    bool ok = f->money ? money_parse_json(v, 6, f->max, &u->v[k])
                       : json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= f->max &&
                         ((u->v[k] = json_integer_value(v)), true);
    if(!ok) snprintf(msg, cap, f->money ? "\"%s\" must be a non-negative amount in USD with at most 6 decimals"
                                        : "\"%s\" must be a whole number in range", key);
    u->have |= 1u << k;
    return;
  }
  snprintf(msg, cap, "unknown field \"%.60s\"", key);
}

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
  const char *key;
  json_t *v;
  char msg[160] = "";
  json_object_foreach(body, key, v) {
    read_field(u, key, v, msg, sizeof msg);
    if(msg[0]) break;
  }
  json_decref(body);
  if(!msg[0] && !u->have && !u->alias_of[0]) snprintf(msg, sizeof msg, "give at least one price (or \"alias_of\")");
  if(msg[0]) { free(j); http_error(r, 400, NULL, msg, NULL); return; }
  dbcall_json(r, j, free, set_work, 200);
}
