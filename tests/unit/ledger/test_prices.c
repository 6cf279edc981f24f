/* prices and money: integer bills, rounding, longest-name pricing, defaults kept from edits,
 * decimal parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/money.h"
#include "ledger/prices.h"
#include "store/store.h"

static void test_compute(void **state)
{
  price p = { .id = 4, .input = 1250000, .output = 10000000, .thinking = 10000000, .cached = 125000 };   /* 2.5 pro */
  bill b;
  price_compute(&p, 1000, 500, 200, 0, 0, &b);                 /* 0.00125 + 0.005 + 0.002 = 0.00825 */
  assert_int_equal(b.cost_nanos, 8250000);
  assert_int_equal(b.bill_e4, 83);                          /* 0.00825 → 0.0083, half up */
  assert_int_equal(b.model_id, 4);
  price_compute(&p, 1000, 0, 0, 800, 0, &b);                   /* 200 × 1.25 + 800 × 0.125 per 1M */
  assert_int_equal(b.cost_nanos, 350000);
  price_compute(&p, 1, 0, 0, 0, 0, &b);                        /* one token: $0.00000125, 0.0000 as a bill */
  assert_int_equal(b.cost_nanos, 1250);
  assert_int_equal(b.bill_e4, 0);
  price_compute(&p, INT64_MAX, INT64_MAX, INT64_MAX, 0, 0, &b);   /* no overflow: capped */
  assert_int_equal(b.bill_e4, MONEY_MAX_E4);
  price_compute(&p, -5, -5, -5, -5, 0, &b);
  assert_int_equal(b.cost_nanos, 0);
  price img = { .id = 9, .request = 40000 };                /* $0.04 a call */
  price_compute(&img, 0, 0, 0, 0, 1, &b);
  assert_int_equal(b.bill_e4, 400);
  assert_int_equal(b.cost_nanos, 40000000);
}

static void test_table(void **state)
{
  char dir[] = "/tmp/gg-prices-XXXXXX", path[64], err[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  store *s = store_open(path, 1, err, sizeof err);
  store_conn *c = store_connect(s, err, sizeof err);
  prices *p = prices_new();
  assert_int_equal(prices_load(p, c, 1), 0);
  bill b;
  prices_bill(p, "gemini-2.5-flash", 1000000, 0, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 300000000);                          /* $0.30 */
  prices_bill(p, "gemini-2.5-flash-lite", 1000000, 0, 0, 0, 0, &b);     /* not flash's price */
  assert_int_equal(b.cost_nanos, 100000000);
  prices_bill(p, "gemini-2.5-flash-lite-preview-06-17", 1000000, 0, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 100000000);
  prices_bill(p, "models/gemini-2.5-pro", 0, 1000000, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 10000000000LL);
  prices_bill(p, "gemini-2.5-flashy", 1000000, 0, 0, 0, 0, &b);         /* not a dash: not a version of flash */
  assert_int_equal(b.cost_nanos, 0);
  assert_int_equal(b.model_id, 0);
  prices_bill(p, "imagen-4.0-generate-001", 0, 0, 0, 0, 1, &b);
  assert_int_equal(b.bill_e4, 400);
  /* An admin's edit survives the defaults being inserted again at the next start. */
  store_do(c, "UPDATE prices SET input_micros = 1 WHERE model = 'gemini-2.5-flash'", NULL);
  store_do(c, "INSERT INTO prices (model, input_micros, updated_at) VALUES ('*', 7000000, 1)", NULL);
  prices *q = prices_new();
  assert_int_equal(prices_load(q, c, 2), 0);
  prices_bill(q, "gemini-2.5-flash", 1000000, 0, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 1000);
  prices_bill(q, "anything-else", 1000000, 0, 0, 0, 0, &b);              /* "*" prices the rest */
  assert_int_equal(b.cost_nanos, 7000000000LL);
  prices_free(q);
  prices_free(p);
  store_disconnect(c);
  store_close(s);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* prices_set: a partial edit keeps the other fields, billing follows at once, a new model starts
 * at 0, and bad input changes nothing. */
static void test_set(void **state)
{
  char dir[] = "/tmp/gg-prices-XXXXXX", path[64], err[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  store *s = store_open(path, 1, err, sizeof err);
  store_conn *c = store_connect(s, err, sizeof err);
  prices *p = prices_new();
  assert_int_equal(prices_load(p, c, 1), 0);
  size_t n0;
  free(prices_list(p, &n0));
  assert_true(n0 >= 12);                                               /* the defaults */

  price_update u = { .model = "gemini-2.5-flash", .output = 3000000, .have = PRICE_F_OUTPUT };
  price pr;
  gg_err e = { "" };
  assert_int_equal(prices_set(p, c, &u, &pr, &e), GG_OK);
  assert_string_equal(pr.model, "gemini-2.5-flash");
  assert_int_equal(pr.output, 3000000);
  assert_int_equal(pr.input, 300000);                                  /* kept: $0.30 */
  assert_int_equal(pr.cached, 30000);
  bill b;
  prices_bill(p, "gemini-2.5-flash", 0, 1000000, 0, 0, 0, &b);            /* billed at the new price */
  assert_int_equal(b.cost_nanos, 3000000000LL);

  price_update nu = { .model = "my-model@v2", .request = 50000, .have = PRICE_F_REQUEST };
  assert_int_equal(prices_set(p, c, &nu, &pr, &e), GG_OK);
  assert_int_equal(pr.request, 50000);
  assert_int_equal(pr.input, 0);
  assert_int_equal(pr.output, 0);
  size_t n;
  price *v = prices_list(p, &n);
  assert_int_equal(n, n0 + 1);
  bool listed = false;
  for(size_t i = 0; i < n; i++) listed |= !strcmp(v[i].model, "my-model@v2") && v[i].request == 50000;
  assert_true(listed);
  free(v);

  price_update bad = { .model = "no spaces", .input = 1, .have = PRICE_F_INPUT };
  assert_int_equal(prices_set(p, c, &bad, &pr, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "the model name in the path is not valid");
  price_update none = { .model = "gemini-2.5-pro" };
  assert_int_equal(prices_set(p, c, &none, &pr, &e), GG_BAD_INPUT);
  price_update big = { .model = "gemini-2.5-pro", .input = PRICES_MAX_MICROS + 1, .have = PRICE_F_INPUT };
  assert_int_equal(prices_set(p, c, &big, &pr, &e), GG_BAD_INPUT);
  prices_bill(p, "gemini-2.5-pro", 1000000, 0, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 1250000000);                          /* unchanged */
  assert_true(prices_model_valid("*", 1));
  assert_false(prices_model_valid("", 0));

  /* Stored: a restart prices the same. */
  prices *q = prices_new();
  assert_int_equal(prices_load(q, c, 2), 0);
  prices_bill(q, "gemini-2.5-flash", 1000000, 1000000, 0, 0, 0, &b);
  assert_int_equal(b.cost_nanos, 3300000000LL);
  prices_free(q);
  prices_free(p);
  store_disconnect(c);
  store_close(s);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_money(void **state)
{
  int64_t v;
  assert_true(money_parse_str("1.25", 6, 1000000000, &v));
  assert_int_equal(v, 1250000);
  assert_true(money_parse_str(".5", 4, MONEY_MAX_E4, &v));
  assert_int_equal(v, 5000);
  assert_true(money_parse_str("3", 4, MONEY_MAX_E4, &v));
  assert_int_equal(v, 30000);
  assert_true(money_parse_str("0.10000000", 4, MONEY_MAX_E4, &v));    /* trailing zeros */
  assert_int_equal(v, 1000);
  assert_false(money_parse_str("0.00001", 4, MONEY_MAX_E4, &v));      /* too precise */
  assert_false(money_parse_str("-1", 4, MONEY_MAX_E4, &v));
  assert_false(money_parse_str("1e3", 4, MONEY_MAX_E4, &v));
  assert_false(money_parse_str("", 4, MONEY_MAX_E4, &v));
  assert_false(money_parse_str(".", 4, MONEY_MAX_E4, &v));
  assert_false(money_parse_str("100000000", 4, MONEY_MAX_E4, &v));    /* > decimal(12,4) */
  assert_true(money_parse_str("99999999.9999", 4, MONEY_MAX_E4, &v));
  assert_false(money_parse_str("99999999999999999999999", 4, MONEY_MAX_E4, &v));
  json_t *j = json_real(0.1);
  assert_true(money_parse_json(j, 4, MONEY_MAX_E4, &v));
  assert_int_equal(v, 1000);
  json_decref(j);
  j = json_true();
  assert_false(money_parse_json(j, 4, MONEY_MAX_E4, &v));
  j = json_integer(-3);
  assert_false(money_parse_json(j, 4, MONEY_MAX_E4, &v));
  json_decref(j);
  char buf[32];
  money_format(16, 4, buf, sizeof buf);
  assert_string_equal(buf, "0.0016");
  money_format(-1234567, 6, buf, sizeof buf);
  assert_string_equal(buf, "-1.234567");
  money_format(MONEY_MAX_E4, 4, buf, sizeof buf);
  assert_string_equal(buf, "99999999.9999");
  assert_int_equal(money_round(1550000, 9, 6), 1550);
  assert_int_equal(money_round(1500, 9, 6), 2);
  assert_int_equal(money_round(1499, 9, 6), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_compute),
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_set),
    cmocka_unit_test(test_money),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
