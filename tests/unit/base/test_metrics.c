/* metrics: histogram buckets by their upper bounds, the labelled call table bounded at
 * METRICS_MAX_SERIES label sets (then "other"), the per-model usage table at METRICS_MAX_MODELS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/metrics.h"
#include "base/util.h"

static void test_histogram(void **state)
{
  mhist h = { 0 };
  mhist_observe(&h, 50);          /* 50 µs: the first bucket (≤ 100 µs) */
  mhist_observe(&h, 100);         /* exactly on a bound: that bucket */
  mhist_observe(&h, 2000);        /* 2 ms: ≤ 2.5 ms */
  mhist_observe(&h, 500000000);   /* 500 s: +Inf */
  assert_int_equal(h.bucket[0], 2);
  int i25 = 0;
  while(metrics_bounds[i25] != 0.0025) i25++;
  assert_int_equal(h.bucket[i25], 1);
  assert_int_equal(h.bucket[METRICS_NBUCKETS], 1);
  assert_int_equal(h.count, 4);
  assert_int_equal(h.sum_us, 50 + 100 + 2000 + 500000000LL);
}

static void test_bounded_series(void **state)
{
  char model[32];
  for(int i = 0; i < METRICS_MAX_SERIES + 500; i++) {
    snprintf(model, sizeof model, "m%d", i);
    metrics_call("generate", model, 200, "static");
  }
  metrics_call("generate", "m0", 200, "static");          /* an old series still counts */
  static metrics_series s[METRICS_MAX_SERIES * 2];
  size_t n = metrics_series_get(s, METRICS_MAX_SERIES * 2);
  assert_true(n <= METRICS_MAX_SERIES + 64);
  int64_t other = 0, m0 = 0;
  for(size_t i = 0; i < n; i++) {
    if(!strcmp(s[i].model, "other")) { other = s[i].n; assert_string_equal(s[i].user, "other"); }
    if(!strcmp(s[i].model, "m0")) m0 = s[i].n;
  }
  assert_int_equal(other, 501);                           /* the calls past the cap, and m0's second */
  assert_int_equal(m0, 1);
}

static void test_models(void **state)
{
  char model[32];
  for(int i = 0; i < METRICS_MAX_MODELS + 10; i++) {
    snprintf(model, sizeof model, "model-%d", i);
    metrics_usage(model, 1, 2, 3, 4, 5);
  }
  metrics_usage("model-0", 10, 0, 0, 0, 0);
  metrics_model m[METRICS_MAX_MODELS + 1];
  size_t n = metrics_models_get(m, ARRAY_LEN(m));
  assert_int_equal(n, METRICS_MAX_MODELS + 1);
  assert_string_equal(m[0].model, "model-0");
  assert_int_equal(m[0].in, 11);
  assert_string_equal(m[n - 1].model, "other");
  assert_int_equal(m[n - 1].cost_nanos, 50);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_histogram), cmocka_unit_test(test_bounded_series), cmocka_unit_test(test_models),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
