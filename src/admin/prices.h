/* prices — the admin routes for the price table (ledger/prices.h). */
#ifndef GEMGATE_ADMIN_PRICES_H
#define GEMGATE_ADMIN_PRICES_H

#include "http/http.h"

/* GET /admin/prices → {"prices":[{id, model, input, output, thinking, cached, per_request,
 * updated_at}], "unit"} */
void admin_prices_list(http_req *r);

/* PUT|POST /admin/prices/{model} {"input","output","thinking","cached","per_request"} (USD,
 * decimal strings or numbers; fields left out keep their value) → the model's row. */
void admin_prices_set(http_req *r);

#endif
