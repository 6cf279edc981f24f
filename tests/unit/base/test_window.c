/* window and utc: sliding sums, waits until a limit frees up, UTC calendar and ISO parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/utc.h"
#include "base/window.h"

static void test_window(void **state)
{
  win w;
  win_init(&w, 60, 1000);
  int64_t t = 1700000000000LL, r, k;
  win_add(&w, t, 1, 10);
  win_add(&w, t + 30000, 1, 5);
  win_sum(&w, t + 59999, &r, &k);
  assert_int_equal(r, 2);
  assert_int_equal(k, 15);
  win_sum(&w, t + 60000, &r, &k);                         /* the first second has left */
  assert_int_equal(r, 1);
  assert_int_equal(win_wait(&w, t + 31000, 3, 1), 0);
  win_add(&w, t + 31000, 1, 0);
  assert_int_equal(win_wait(&w, t + 31000, 3, 1), 29000); /* until the first slot expires */
  assert_int_equal(win_wait(&w, t + 31000, 1, 1), 60000); /* all three must go: the last at t+91 s */
  win_add(&w, t - 120000, 5, 5);                          /* too old: ignored */
  win_sum(&w, t + 31000, &r, NULL);
  assert_int_equal(r, 3);
  win_sum(&w, t + 10 * 60000, &r, &k);
  assert_int_equal(r + k, 0);
  win day;
  win_init(&day, 24, 3600000);
  win_add(&day, t, 1, 1);
  win_add(&day, t + 23 * 3600000LL, 1, 1);
  win_sum(&day, t + 23 * 3600000LL, &r, NULL);
  assert_int_equal(r, 2);
}

static void test_utc(void **state)
{
  int64_t t = 1737628200000LL;                            /* 2025-01-23T10:30:00Z */
  char buf[32];
  utc_iso(t, buf, sizeof buf);
  assert_string_equal(buf, "2025-01-23T10:30:00Z");
  assert_int_equal(utc_day(t), 20111);
  assert_int_equal(utc_month_start(t), 1735689600000LL);  /* 2025-01-01 */
  assert_int_equal(utc_next_month(t), 1738368000000LL);   /* 2025-02-01 */
  assert_int_equal(utc_next_month(1764547200000LL), 1767225600000LL);   /* December → January */
  int64_t v;
  assert_true(utc_parse("2025-01-23T10:30:00Z", &v));
  assert_int_equal(v, t);
  assert_true(utc_parse("2025-01-23T12:30:00.123+02:00", &v));
  assert_int_equal(v, t);
  assert_true(utc_parse("2025-01-23", &v));
  assert_int_equal(v, 1737590400000LL);
  assert_true(utc_parse("1737628200", &v));
  assert_int_equal(v, t);
  assert_false(utc_parse("2025-02-30", &v));
  assert_false(utc_parse("1999-12-31", &v));
  assert_false(utc_parse("123", &v));
  assert_false(utc_parse("2025-01-23T10:30:00Z'; DROP TABLE ledger", &v));
  assert_false(utc_parse("99999999999999", &v));
  assert_false(utc_parse("", &v));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_window),
    cmocka_unit_test(test_utc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
