/* money — amounts as scaled integers, never floats: e4 = 10^-4 USD (the ledger's decimal(12,4)),
 * micros = 10^-6 USD (prices), nanos = 10^-9 USD (exact costs).  JSON carries them as decimal
 * strings ("0.0123"), and accepts strings or numbers on input. */
#ifndef GEMGATE_MONEY_H
#define GEMGATE_MONEY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#define MONEY_MAX_E4 999999999999LL    /* decimal(12,4): 99999999.9999 */

/* Parse a non-negative decimal ("1.25", "3", ".5") with at most `scale` decimals into a count
 * of 10^-scale units, at most max.  false on anything else. */
bool money_parse_str(const char *s, int scale, int64_t max, int64_t *out);

/* The same from a JSON string, integer or real (a real is first printed with `scale`
 * decimals, so 0.1 is 0.1).  false for other types, negatives and out-of-range values. */
bool money_parse_json(const json_t *v, int scale, int64_t max, int64_t *out);

/* v (10^-scale units) as a decimal string with `scale` decimals into out. */
void money_format(int64_t v, int scale, char *out, size_t cap);

/* A JSON string for v; new reference. */
json_t *money_json(int64_t v, int scale);

/* Round a count of 10^-from units to 10^-to units (to < from), half up. */
int64_t money_round(int64_t v, int from, int to);

#endif
