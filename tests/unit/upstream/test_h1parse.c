/* h1parse: response heads and body framing, fed in every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "upstream/h1parse.h"

static void test_head(void **state)
{
  const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length:  12 \r\n"
                  "X-Multi: a\r\n folded\r\nConnection: keep-alive, Close\r\n\r\nbody";
  h1_head h;
  http_header hdr[8];
  size_t n = strlen(r) - 4;
  for(size_t i = 0; i < n; i++) assert_int_equal(h1_parse_head(r, i, &h, hdr, 8), 0);
  assert_int_equal(h1_parse_head(r, n + 4, &h, hdr, 8), (long)n);
  assert_int_equal(h.status, 200);
  assert_int_equal(h.minor, 1);
  assert_int_equal(h.content_length, 12);
  assert_true(h.conn_close);
  assert_false(h1_head_keep_alive(&h));
  assert_int_equal(h.nhdr, 4);
  assert_int_equal(hdr[1].value.n, 2);
  assert_memory_equal(hdr[1].value.p, "12", 2);
  assert_memory_equal(hdr[0].name.p, "Content-Type", 12);
}

static void test_head_errors_and_limits(void **state)
{
  h1_head h;
  http_header hdr[2];
  assert_int_equal(h1_parse_head("HTTP/2 200 OK\r\n\r\n", 17, &h, hdr, 2), -1);
  assert_int_equal(h1_parse_head("HTTP/1.1 2000\r\n\r\n", 17, &h, hdr, 2), -1);
  const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
  assert_int_equal(h1_parse_head(two, strlen(two), &h, hdr, 2), -1);
  const char *same = "HTTP/1.0 204\r\nContent-Length: 1\r\nContent-Length: 1\r\nA: 1\r\nB: 2\r\n\r\n";
  assert_true(h1_parse_head(same, strlen(same), &h, hdr, 2) > 0);
  assert_int_equal(h.nhdr, 2);                       /* capped; framing still read */
  assert_int_equal(h.status, 204);
  assert_false(h1_head_keep_alive(&h));              /* HTTP/1.0 without keep-alive */
  const char *bare = "HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n";
  assert_int_equal(h1_parse_head(bare, strlen(bare), &h, hdr, 2), (long)strlen(bare));
  assert_true(h.chunked);
}

/* What reaches a caller is written into a client's head as it is: a header whose value holds
 * a CTL (NUL, a bare CR, DEL, ...) or whose name is no token refuses the whole head (the caller
 * answers 502), instead of cutting the client's head before its blank line. */
static void test_head_field_values(void **state)
{
  static const struct { const char *m; size_t n; } bad[] = {
#define B(s) { s, sizeof s - 1 }
    B("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX: \r\r\nContent-Length: 0\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX\0: a\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX Y: a\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\n: a\r\n\r\n"),
    B("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"),
    B("HTTP/1.1 200 O\0K\r\n\r\n"),
    B("HTTP/1.1 200 O\rK\r\n\r\n"),
#undef B
  };
  h1_head h;
  http_header hdr[4];
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if(h1_parse_head(bad[i].m, bad[i].n, &h, hdr, 4) != -1) fail_msg("case %zu accepted", i);
  /* a tab, obs-text, an empty value pass, and what is stored is exactly what is allowed */
  static const char ok[] = "HTTP/1.1 200 OK\r\nX: a\tb \xff\r\nE:\r\n\r\n";
  assert_int_equal(h1_parse_head(ok, sizeof ok - 1, &h, hdr, 4), (long)(sizeof ok - 1));
  assert_int_equal(h.nhdr, 2);
  assert_int_equal(hdr[0].value.n, 5);
  assert_memory_equal(hdr[0].value.p, "a\tb \xff", 5);
  assert_int_equal(hdr[1].value.n, 0);
  assert_true(h1_field_ok("X-Goog", 6, "v", 1));
  assert_false(h1_field_ok("", 0, "v", 1));
  assert_false(h1_field_ok("X", 1, "\n", 1));
}

/* Runs the body of message m (after its head) through the framing in pieces of step bytes,
 * the way h1client does: unconsumed bytes stay at the front of a buffer. */
static size_t decode(const h1_head *h, const char *m, size_t n, size_t step, char *out, h1_step *last)
{
  h1_body b;
  h1_body_init(&b, h, false);
  char buf[4096];
  size_t have = 0, fed = 0, outn = 0;
  for(;;) {
    size_t skip, len;
    h1_step s = h1_body_step(&b, buf, have, &skip, &len);
    memmove(buf, buf + skip, have - skip);
    have -= skip;
    if(s == H1_DATA) {
      memcpy(out + outn, buf, len);
      outn += len;
      h1_body_take(&b, len);
      memmove(buf, buf + len, have - len);
      have -= len;
      continue;
    }
    if(s != H1_NEED || fed == n) { *last = s; return outn; }
    size_t k = n - fed < step ? n - fed : step;
    memcpy(buf + have, m + fed, k);
    have += k;
    fed += k;
  }
}

static void test_chunked_every_split(void **state)
{
  const char *m = "5;ext=1\r\nhello\r\n1B \r\n, and some more bytes here!\r\n0\r\nX-Trailer: t\r\n\r\n";
  h1_head h = { .status = 200, .minor = 1, .content_length = -1, .chunked = true };
  for(size_t step = 1; step <= strlen(m); step++) {
    char out[128];
    h1_step last;
    size_t n = decode(&h, m, strlen(m), step, out, &last);
    assert_int_equal(last, H1_END);
    assert_int_equal(n, 32);
    assert_memory_equal(out, "hello, and some more bytes here!", 32);
  }
  h1_step last;
  char out[64];
  decode(&h, "zz\r\n", 4, 4, out, &last);
  assert_int_equal(last, H1_BAD);
  decode(&h, "2\r\nabXY", 7, 7, out, &last);
  assert_int_equal(last, H1_BAD);                    /* data not followed by CRLF */
  decode(&h, "2\r\nab\r\n", 7, 3, out, &last);
  assert_int_equal(last, H1_NEED);                   /* cut before the last chunk */
}

static void test_length_close_none(void **state)
{
  char out[64];
  h1_step last;
  h1_head h = { .status = 200, .minor = 1, .content_length = 4 };
  assert_int_equal(decode(&h, "abcdEXTRA", 9, 3, out, &last), 4);
  assert_int_equal(last, H1_END);
  h1_head c = { .status = 200, .minor = 0, .content_length = -1 };
  assert_int_equal(decode(&c, "until close", 11, 4, out, &last), 11);
  assert_int_equal(last, H1_NEED);                   /* only EOF ends it */
  h1_body b;
  h1_body_init(&b, &c, false);
  assert_true(h1_body_eof(&b));
  h1_head nc = { .status = 304, .minor = 1, .content_length = 10 };
  assert_int_equal(decode(&nc, "", 0, 1, out, &last), 0);
  assert_int_equal(last, H1_END);
  h1_head hd = { .status = 200, .minor = 1, .content_length = 10 };
  h1_body_init(&b, &hd, true);                       /* a HEAD request */
  size_t skip, len;
  assert_int_equal(h1_body_step(&b, "x", 1, &skip, &len), H1_END);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_head),
    cmocka_unit_test(test_head_errors_and_limits),
    cmocka_unit_test(test_head_field_values),
    cmocka_unit_test(test_chunked_every_split),
    cmocka_unit_test(test_length_close_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
