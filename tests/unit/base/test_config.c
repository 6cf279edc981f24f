/* config: the settings this hardening added (fetch limits) and the number parsers' edges, which
 * the config fuzzer (tests/fuzz/fuzz_config.c) found casting 1e15 hours past int64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "base/config.h"
#include "base/util.h"

static void test_huge_numbers_refused(void **state)
{
  assert_int_equal(parse_duration_ms("1e15h"), -1);          /* 3.6e21 ms: was an undefined cast */
  assert_int_equal(parse_duration_ms("nan"), -1);            /* strtod's NaN passed both bounds: an undefined cast (fuzz_config) */
  assert_int_equal(parse_duration_ms("NaNs"), -1);
  assert_int_equal(parse_size("nan"), -1);
  assert_int_equal(parse_size("1e15m"), -1);
  assert_int_equal(parse_size("9e18"), -1);
  assert_int_equal(parse_duration_ms("2562047h"), 2562047LL * 3600000);   /* the largest hours that fit */
  assert_int_equal(parse_size("1000000m"), 1000000LL * 1048576);
  config cfg;
  char *argv[] = { "gemgate", "--timeout=1e15h" };
  assert_int_equal(config_load(&cfg, 2, argv), -1);
  config_free(&cfg);
}

static void test_fetch_limits(void **state)
{
  config cfg;
  char *argv[] = { "gemgate" };
  assert_int_equal(config_load(&cfg, 1, argv), 0);
  assert_int_equal(cfg.fetch_max_total, 40 << 20);
  assert_int_equal(cfg.fetch_max_inflight, 256 << 20);
  config_free(&cfg);
  char *set[] = { "gemgate", "--fetch-max-total=3m", "--fetch-max-inflight", "1g" };
  assert_int_equal(config_load(&cfg, 4, set), -1);            /* sizes are k or m */
  config_free(&cfg);
  set[3] = "5m";
  assert_int_equal(config_load(&cfg, 4, set), 0);
  assert_int_equal(cfg.fetch_max_total, 3 << 20);
  assert_int_equal(cfg.fetch_max_inflight, 5 << 20);
  config_free(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_huge_numbers_refused),
    cmocka_unit_test(test_fetch_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
