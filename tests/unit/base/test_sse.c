/* sse: events come out whole whatever the pieces, line ends of every kind, bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/sse.h"

typedef struct got { char all[512]; int n; int stop_at; } got;

static int collect(void *ctx, const char *data, size_t n)
{
  got *g = ctx;
  size_t l = strlen(g->all);
  snprintf(g->all + l, sizeof g->all - l, "[%.*s]", (int)n, data);
  return ++g->n == g->stop_at ? 7 : 0;
}

static void run(const char *in, size_t step, const char *want)
{
  sse_reader r;
  sse_init(&r, 64);
  got g = { .stop_at = -1 };
  size_t n = strlen(in);
  for(size_t i = 0; i < n; i += step) assert_int_equal(sse_feed(&r, in + i, i + step > n ? n - i : step, collect, &g), SSE_OK);
  assert_int_equal(sse_end(&r, collect, &g), SSE_OK);
  if(strcmp(g.all, want)) fail_msg("step %zu: got %s want %s", step, g.all, want);
  sse_free(&r);
}

static void test_events(void **state)
{
  const char *in = ": comment\r\nevent: x\r\ndata: a\r\n\r\ndata:b\n\ndata: c1\rdata: c2\r\r"
                   "id: 5\ndata\n\ndata: last";
  for(size_t step = 1; step <= strlen(in); step++) run(in, step, "[a][b][c1\nc2][][last]");
}

static void test_cap_and_stop(void **state)
{
  sse_reader r;
  sse_init(&r, 4);
  got g = { .stop_at = 2 };
  assert_int_equal(sse_feed(&r, "data: 1234\n\n", 12, collect, &g), SSE_OK);
  assert_int_equal(sse_feed(&r, "data: 12345\n\n", 13, collect, &g), SSE_TOO_BIG);
  sse_free(&r);
  sse_init(&r, 64);
  assert_int_equal(sse_feed(&r, "data: a\n\ndata: b\n\ndata: c\n\n", 27, collect, &g), 7);   /* the callback's stop */
  sse_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_events), cmocka_unit_test(test_cap_and_stop) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
