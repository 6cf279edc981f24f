/* prices — the admin routes for the price table (ledger/prices.h). */
#ifndef GEMGATE_ADMIN_PRICES_H
#define GEMGATE_ADMIN_PRICES_H

#include "http/http.h"

/* GET /admin/prices → {"prices": [the version in force now, per model: {id (the price_version
 * rows store), model, model_id, effective_from, source, and every price_fields entry}],
 * "versions": [every version], "aliases": [{alias, model, source}], "rules", "unpriced",
 * "unit", "source"} */
void admin_prices_list(http_req *r);

/* PUT|POST /admin/prices/{model} {any price_fields name (USD as decimal strings or numbers; counts
 * as integers), "effective_from"?} → a new version (fields left out keep the value in force
 * then); or {"alias_of": model} → the name becomes an alias.  200 with the version. */
void admin_prices_set(http_req *r);

#endif
