/* adminguard: the admin token compared whole (any length, no prefix match), ten failures a minute
 * per address then a wait until the minute is over, other addresses untouched, and a flood of
 * addresses bounded by the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/adminguard.h"

static void test_token_eq(void **state)
{
  assert_true(admin_token_eq("s3cret", "s3cret", 6));
  assert_false(admin_token_eq("s3cret", "s3cre", 5));          /* a prefix is not the token */
  assert_false(admin_token_eq("s3cret", "s3cretX", 7));
  assert_false(admin_token_eq("s3cret", "S3cret", 6));
  assert_false(admin_token_eq("s3cret", "", 0));
  assert_false(admin_token_eq(NULL, "x", 1));                  /* none configured: never */
  assert_true(admin_token_eq("a\0b", "a", 1));                  /* the configured one is a C string */
}

static void test_guard(void **state)
{
  admin_guard_reset();
  int64_t t = 1700000000000LL;
  for(int i = 0; i < ADMIN_GUARD_FAILS - 1; i++) admin_guard_fail("203.0.113.1", t + i);
  assert_int_equal(admin_guard_wait("203.0.113.1", t + 100), 0);   /* nine: still allowed */
  admin_guard_fail("203.0.113.1", t + 200);
  assert_int_equal(admin_guard_wait("203.0.113.1", t + 200), 60);  /* ten: the rest of the minute */
  assert_int_equal(admin_guard_wait("203.0.113.1", t + 30000), 30);
  assert_int_equal(admin_guard_wait("203.0.113.2", t + 300), 0);   /* another address */
  assert_int_equal(admin_guard_wait("203.0.113.1", t + ADMIN_GUARD_WINDOW_MS), 0);   /* over */
  admin_guard_fail("203.0.113.1", t + ADMIN_GUARD_WINDOW_MS);      /* a new window starts at one */
  assert_int_equal(admin_guard_wait("203.0.113.1", t + ADMIN_GUARD_WINDOW_MS + 1), 0);
}

static void test_flood_is_bounded(void **state)
{
  admin_guard_reset();
  int64_t t = 1700000000000LL;
  char ip[64];
  for(int i = 0; i < 100000; i++) {              /* far more addresses than the fixed table holds */
    snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
    admin_guard_fail(ip, t + i / 1000);
  }
  /* One failure each never adds up across addresses: none of them, old or new, is held. */
  for(int i = 0; i < 100000; i += 997) {
    snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
    assert_int_equal(admin_guard_wait(ip, t + 100), 0);
  }
  /* And a guesser among them is still caught. */
  for(int i = 0; i < ADMIN_GUARD_FAILS; i++) admin_guard_fail("192.0.2.1", t + 100);
  assert_true(admin_guard_wait("192.0.2.1", t + 100) > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_token_eq),
    cmocka_unit_test(test_guard),
    cmocka_unit_test(test_flood_is_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
