/* prices and money: integer bills of every kind of usage, rounding, the shipped table and its
 * name rules, versions that never rewrite history, aliases, admins' edits kept, decimal parsing
 * and formatting. */
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
#include "tempdb.h"

/* A version with every field set (micro-USD per 1M tokens): 2.5 Pro's shape. */
static price pro(void)
{
  price p = { .id = 41, .model_id = 40, .model = "gemini-2.5-pro" };
  int64_t v[PRICE_NFIELDS] = { [PRICE_INPUT] = 1250000, [PRICE_INPUT_LONG] = 2500000, [PRICE_OUTPUT] = 10000000,
    [PRICE_OUTPUT_LONG] = 15000000, [PRICE_CACHED] = 125000, [PRICE_CACHED_LONG] = 250000,
    [PRICE_AUDIO_INPUT] = 3000000, [PRICE_AUDIO_CACHED] = 300000, [PRICE_IMAGE_OUTPUT] = 30000000,
    [PRICE_PER_IMAGE] = 40000, [PRICE_PER_REQUEST] = 1000, [PRICE_STORAGE] = 4500000,
    [PRICE_LONG_CONTEXT] = 200000, [PRICE_BATCH_PERCENT] = 50, [PRICE_MAX_OUTPUT] = 65536 };
  memcpy(p.v, v, sizeof v);
  return p;
}

static int64_t cost(const price *p, bill_facts f)
{
  bill b;
  price_compute(p, &f, &b);
  return b.cost_nanos;
}

static void test_compute(void **state)
{
  price p = pro();
  bill b;
  bill_facts f = { .in = 1000, .out = 500, .thinking = 200 };
  price_compute(&p, &f, &b);                                 /* 0.00125 + 0.005 + 0.002 (thinking as output) */
  assert_int_equal(b.cost_nanos, 8250000);
  assert_int_equal(b.bill_e4, 83);                           /* 0.00825 → 0.0083, half up */
  assert_int_equal(b.model_id, 40);
  assert_int_equal(b.price_version, 41);
  assert_false(b.unpriced);
  /* cached: counted in in, billed at the cache rate, not twice */
  assert_int_equal(cost(&p, (bill_facts){ .in = 1000, .cached = 800 }), 200 * 1250 + 800 * 125);
  /* above 200k prompt tokens, input, cached and output all bill at the long rates */
  assert_int_equal(cost(&p, (bill_facts){ .in = 200000, .out = 1000 }), 200000 * 1250 + 1000 * 10000);
  assert_int_equal(cost(&p, (bill_facts){ .in = 200001, .out = 1000, .cached = 1 }),
                   200000 * 2500 + 1 * 250 + 1000 * 15000);
  /* audio input at its own rate, cached audio at the audio cache rate */
  assert_int_equal(cost(&p, (bill_facts){ .in = 1000, .audio_in = 400, .cached = 300, .audio_cached = 100 }),
                   /* text fresh 400, audio fresh 300, text cached 200, audio cached 100 */
                   400 * 1250 + 300 * 3000 + 200 * 125 + 100 * 300);
  /* image output tokens at the image rate; tool-use prompt tokens as input */
  assert_int_equal(cost(&p, (bill_facts){ .out = 1300, .image_out = 1290, .tool = 10 }), 10 * 10000 + 1290 * 30000 + 10 * 1250);
  /* per image delivered; per request only when it succeeded */
  assert_int_equal(cost(&p, (bill_facts){ .images = 2 }), 2 * 40000000);
  assert_int_equal(cost(&p, (bill_facts){ .images = 2, .success = true }), 2 * 40000000 + 1000000);
  /* a cache of 1M tokens kept 2 h: 2 × $4.50 */
  assert_int_equal(cost(&p, (bill_facts){ .storage_tokens = 1000000, .storage_seconds = 7200 }), 9000000000LL);
  /* batch: half */
  assert_int_equal(cost(&p, (bill_facts){ .in = 1000, .out = 500, .batch = true }), (1250000 + 5000000) / 2);
  /* one token: $0.00000125, 0.0000 as a bill */
  price_compute(&p, &(bill_facts){ .in = 1 }, &b);
  assert_int_equal(b.cost_nanos, 1250);
  assert_int_equal(b.bill_e4, 0);
  /* absurd and inconsistent counts: clamped, no overflow */
  price_compute(&p, &(bill_facts){ .in = INT64_MAX, .out = INT64_MAX, .thinking = INT64_MAX, .cached = INT64_MAX,
                                   .audio_in = INT64_MAX, .image_out = INT64_MAX, .images = INT64_MAX,
                                   .storage_tokens = INT64_MAX, .storage_seconds = INT64_MAX }, &b);
  assert_int_equal(b.bill_e4, MONEY_MAX_E4);
  assert_int_equal(b.cost_nanos, INT64_MAX);
  assert_int_equal(cost(&p, (bill_facts){ .in = -5, .out = -5, .thinking = -5, .cached = -5, .images = -1 }), 0);
  assert_int_equal(cost(&p, (bill_facts){ .in = 10, .cached = 50, .audio_in = 70 }), 10 * 125);   /* cached ≤ in */
}

static prices *loaded(tempdb *t, int64_t now)
{
  tempdb_open(t, "prices", 1);
  prices *p = prices_new();
  assert_int_equal(prices_load(p, t->c, now), 0);
  return p;
}

static int64_t bill_of(prices *p, const char *model, int64_t t, bill_facts f, bool at_max, bill *out)
{
  bill b;
  prices_bill(p, model, t, &f, at_max, &b);
  if(out) *out = b;
  return b.cost_nanos;
}

#define NOW INT64_C(1800000000000)      /* after the shipped list's date */
#define M1 ((bill_facts){ .in = 1000000 })
#define K100 ((bill_facts){ .in = 100000 })

/* The shipped table and the name rules: exact, alias, version suffixes, "*", else unpriced. */
static void test_table(void **state)
{
  tempdb t;
  prices *p = loaded(&t, NOW);
  bill b;
  assert_int_equal(bill_of(p, "gemini-2.5-flash", NOW, M1, false, &b), 300000000);        /* $0.30 */
  assert_true(b.price_version > 0);
  assert_int_equal(b.model_id, b.price_version);               /* the model's first version */
  assert_int_equal(bill_of(p, "gemini-2.5-flash-lite", NOW, M1, false, NULL), 100000000);   /* not flash's */
  assert_int_equal(bill_of(p, "gemini-2.5-flash-lite-preview-06-17", NOW, M1, false, NULL), 100000000);
  assert_int_equal(bill_of(p, "gemini-2.5-flash-preview-09-2025", NOW, M1, false, NULL), 300000000);
  assert_int_equal(bill_of(p, "models/gemini-2.5-pro", NOW, (bill_facts){ .out = 1000000 }, false, NULL), 10000000000LL);
  assert_int_equal(bill_of(p, "gemini-pro-latest", NOW, K100, false, NULL), 125000000);     /* alias */
  assert_int_equal(bill_of(p, "gemini-pro-latest", NOW, M1, false, NULL), 2500000000LL);   /* > 200k: long rate */
  assert_int_equal(bill_of(p, "gemini-flash-latest", NOW, M1, false, NULL), 300000000);
  assert_int_equal(bill_of(p, "gemini-2.0-flash-001", NOW, M1, false, NULL), 100000000);    /* -001 */
  assert_int_equal(bill_of(p, "imagen-4.0-generate-preview-06-06", NOW, (bill_facts){ .images = 1 }, false, NULL), 40000000);
  assert_int_equal(bill_of(p, "gemini-3-pro-preview", NOW, (bill_facts){ .in = 300000, .out = 1000 }, false, NULL),
                   300000LL * 4000 + 1000 * 18000);               /* long context: both rates */
  /* not versions of a priced model: unpriced, billed zero — or at the table's top */
  static const char *const none[] = { "gemini-2.5-flashy", "gemini-2.5-flash-native-audio-preview-09-2025",
                                      "gemini-2.5-flash-preview-tts", "gemini-exp-1206", "veo-3.0-generate-001", "" };
  for(size_t i = 0; i < sizeof none / sizeof *none; i++) {
    assert_int_equal(bill_of(p, none[i], NOW, M1, false, &b), 0);
    assert_true(b.unpriced);
    assert_int_equal(b.price_version, 0);
  }
  assert_int_equal(bill_of(p, "gemini-exp-1206", NOW, M1, true, &b), 4000000000LL);        /* the top input: $4.00 */
  assert_true(b.unpriced);
  assert_int_equal(prices_estimate(p, "gemini-exp-1206", NOW, 10, -1, 0, false), -1);
  assert_true(prices_estimate(p, "gemini-exp-1206", NOW, 10, -1, 0, true) > 0);            /* at the top */
  assert_int_equal(prices_estimate(p, "gemini-2.5-flash", NOW, 1000, -1, 0, false), 1000 * 300 + 65536LL * 2500);
  assert_int_equal(prices_estimate(p, "gemini-2.5-flash", NOW, 1000, 100, 0, false), 1000 * 300 + 100 * 2500);
  assert_int_equal(prices_estimate(p, "gemini-2.5-flash", NOW, 1000, 999999, 0, false), 1000 * 300 + 65536LL * 2500);
  assert_int_equal(prices_estimate(p, "imagen-4.0-generate-001", NOW, 10, -1, 4, false), 4 * 40000000);
  /* a batch: every request's output at most, the whole at batch_percent (50) */
  assert_int_equal(prices_estimate_batch(p, "gemini-2.5-flash", NOW, 1000, -1, 3, false), (1000 * 300 + 3 * 65536LL * 2500) / 2);
  assert_int_equal(prices_estimate_batch(p, "gemini-2.5-flash", NOW, 1000, 100, 2, false), (1000 * 300 + 2 * 100 * 2500) / 2);
  assert_int_equal(prices_estimate_batch(p, "gemini-2.5-flash", NOW, 0, 100, 0, false), 100 * 2500 / 2);   /* at least one */
  assert_int_equal(prices_estimate_batch(p, "gemini-exp-1206", NOW, 10, -1, 2, false), -1);
  /* An admin's version and "*" survive the shipped list being inserted again at the next start. */
  price pr;
  gg_err e = { "" };
  price_update u = { .model = "gemini-2.5-flash", .v = { [PRICE_INPUT] = 1 }, .have = 1u << PRICE_INPUT };
  assert_int_equal(prices_set(p, t.c, &u, NOW, &pr, &e), GG_OK);
  price_update star = { .model = "*", .v = { [PRICE_INPUT] = 7000000 }, .have = 1u << PRICE_INPUT };
  assert_int_equal(prices_set(p, t.c, &star, NOW, &pr, &e), GG_OK);
  prices *q = prices_new();
  assert_int_equal(prices_load(q, t.c, NOW + 1), 0);
  assert_int_equal(bill_of(q, "gemini-2.5-flash", NOW + 1, M1, false, NULL), 1000);
  assert_int_equal(bill_of(q, "anything-else", NOW + 1, M1, false, &b), 7000000000LL);     /* "*" prices the rest */
  assert_false(b.unpriced);
  prices_free(q);
  prices_free(p);
  assert_int_equal(tempdb_close(&t), 0);
}

/* Versions: a change is a new version from now (or later), the calls before keep their price,
 * fields left out are carried, a new model derives them, the past cannot be changed; aliases. */
static void test_versions(void **state)
{
  tempdb t;
  prices *p = loaded(&t, NOW);
  price pr;
  gg_err e = { "" };
  size_t n0;
  free(prices_list(p, &n0));
  assert_true(n0 >= 17);
  int64_t later = NOW + 3600000;
  price_update u = { .model = "gemini-2.5-flash", .v = { [PRICE_OUTPUT] = 3000000 }, .have = 1u << PRICE_OUTPUT,
                     .effective_from = later };
  assert_int_equal(prices_set(p, t.c, &u, NOW, &pr, &e), GG_OK);
  assert_int_equal(pr.v[PRICE_OUTPUT], 3000000);
  assert_int_equal(pr.v[PRICE_INPUT], 300000);                 /* carried: $0.30 */
  assert_int_equal(pr.v[PRICE_AUDIO_INPUT], 1000000);
  assert_string_equal(pr.source, "admin");
  bill b0, b1;
  bill_of(p, "gemini-2.5-flash", later - 1, (bill_facts){ .out = 1000000 }, false, &b0);
  bill_of(p, "gemini-2.5-flash", later, (bill_facts){ .out = 1000000 }, false, &b1);
  assert_int_equal(b0.cost_nanos, 2500000000LL);               /* before: the shipped price */
  assert_int_equal(b1.cost_nanos, 3000000000LL);
  assert_true(b1.price_version != b0.price_version);
  assert_int_equal(b1.model_id, b0.model_id);                  /* the same model */
  size_t n;
  free(prices_list(p, &n));
  assert_int_equal(n, n0 + 1);

  u.effective_from = NOW - 60000;                              /* history is not rewritten */
  assert_int_equal(prices_set(p, t.c, &u, NOW, &pr, &e), GG_BAD_INPUT);
  assert_non_null(strstr(e.msg, "past"));

  price_update nu = { .model = "my-model@v2", .v = { [PRICE_INPUT] = 2000000, [PRICE_OUTPUT] = 8000000 },
                      .have = 1u << PRICE_INPUT | 1u << PRICE_OUTPUT };
  assert_int_equal(prices_set(p, t.c, &nu, NOW, &pr, &e), GG_OK);
  assert_int_equal(pr.v[PRICE_CACHED], 2000000);               /* derived: the input price */
  assert_int_equal(pr.v[PRICE_OUTPUT_LONG], 8000000);
  assert_int_equal(pr.v[PRICE_BATCH_PERCENT], 50);
  assert_int_equal(pr.v[PRICE_PER_IMAGE], 0);

  price_update al = { .model = "my-alias", .alias_of = "gemini-2.5-pro" };
  assert_int_equal(prices_set(p, t.c, &al, NOW, &pr, &e), GG_OK);
  assert_int_equal(bill_of(p, "my-alias", NOW, K100, false, NULL), 125000000);
  price_update bad_al[] = { { .model = "x1", .alias_of = "no-such-model" }, { .model = "gemini-2.5-pro", .alias_of = "gemini-2.5-flash" },
                            { .model = "x2", .alias_of = "x2" } };
  for(size_t i = 0; i < 3; i++) assert_int_equal(prices_set(p, t.c, &bad_al[i], NOW, &pr, &e), GG_BAD_INPUT);
  size_t na;
  price_alias *a = prices_aliases(p, &na);
  bool listed = false;
  for(size_t i = 0; i < na; i++) listed |= !strcmp(a[i].alias, "my-alias") && !strcmp(a[i].source, "admin");
  assert_true(listed);
  free(a);

  price_update bad = { .model = "no spaces", .v = { 1 }, .have = 1 };
  assert_int_equal(prices_set(p, t.c, &bad, NOW, &pr, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "the model name in the path is not valid");
  price_update none = { .model = "gemini-2.5-pro" };
  assert_int_equal(prices_set(p, t.c, &none, NOW, &pr, &e), GG_BAD_INPUT);
  price_update big = { .model = "gemini-2.5-pro", .v = { PRICES_MAX_MICROS + 1 }, .have = 1 };
  assert_int_equal(prices_set(p, t.c, &big, NOW, &pr, &e), GG_BAD_INPUT);
  price_update pct = { .model = "gemini-2.5-pro", .v = { [PRICE_BATCH_PERCENT] = 101 }, .have = 1u << PRICE_BATCH_PERCENT };
  assert_int_equal(prices_set(p, t.c, &pct, NOW, &pr, &e), GG_BAD_INPUT);
  assert_int_equal(bill_of(p, "gemini-2.5-pro", NOW, K100, false, NULL), 125000000);         /* unchanged */
  assert_true(prices_model_valid("*", 1));
  assert_false(prices_model_valid("", 0));

  /* Stored: a restart prices the same, version for version. */
  prices *q = prices_new();
  assert_int_equal(prices_load(q, t.c, NOW + 2), 0);
  assert_int_equal(bill_of(q, "gemini-2.5-flash", later, (bill_facts){ .in = 1000000, .out = 1000000 }, false, NULL), 3300000000LL);
  assert_int_equal(bill_of(q, "my-alias", NOW, K100, false, NULL), 125000000);
  prices_free(q);
  prices_free(p);
  assert_int_equal(tempdb_close(&t), 0);
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
    cmocka_unit_test(test_versions),
    cmocka_unit_test(test_money),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
