/* server: how many connections fit in the descriptors the process may open (the EMFILE
 * hardening: GEMGATE_MAX_CONNS is lowered to it at start). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>

#include "http/server.h"

static void test_conns_fit(void **state)
{
  /* the usual soft limit: 1024 descriptors, one worker, MAX_CONNS 10000 by default */
  int64_t one = server_conns_fit(1024, 1, 10000);
  assert_int_equal(one, (1024 - SERVER_FD_RESERVE - SERVER_FD_PER_WORKER) / 2);
  assert_true(2 * one + SERVER_FD_RESERVE + SERVER_FD_PER_WORKER <= 1024);   /* client + upstream each */
  /* shared among workers */
  int64_t four = server_conns_fit(1024, 4, 10000);
  assert_true(4 * (2 * four + SERVER_FD_PER_WORKER) + SERVER_FD_RESERVE <= 1024);
  assert_true(four < one);
  /* a limit that holds more than asked changes nothing */
  assert_int_equal(server_conns_fit(1 << 20, 2, 10000), 10000);
  /* a limit too small for anything still leaves one connection */
  assert_int_equal(server_conns_fit(10, 2, 10000), 1);
  assert_int_equal(server_conns_fit(0, 0, 5), 1);
}

/* server_fit_fds raises the soft limit to the hard one and lowers max_conns to fit it. */
static void test_fit_fds(void **state)
{
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rlim_t hard = rl.rlim_max;
  if(hard == RLIM_INFINITY || hard > (1 << 20)) skip();
  rl.rlim_cur = hard > 256 ? 256 : hard;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  config cfg = { .workers = 2, .max_conns = 1 << 30 };
  server_fit_fds(&cfg);
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  assert_int_equal(rl.rlim_cur, hard);
  assert_int_equal(cfg.max_conns, server_conns_fit((int64_t)hard, 2, 1 << 30));
  config small = { .workers = 1, .max_conns = 3 };
  server_fit_fds(&small);
  assert_int_equal(small.max_conns, 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conns_fit),
    cmocka_unit_test(test_fit_fds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
