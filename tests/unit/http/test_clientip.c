/* clientip: X-Forwarded-For believed only from a trusted peer, walked from the right past
 * trusted hops; ports and brackets stripped; a malformed entry stops the walk; the trusted
 * list comes from the request's worker's configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/clientip.h"
#include "http/server.h"

static gateway gw;
static worker wk = { .gw = &gw, .cfg = &gw.cfg };

/* A request from peer with X-Forwarded-For headers (NULL-terminated). */
static http_req *req(const char *peer, ...)
{
  static http_req r;
  memset(&r, 0, sizeof r);
  r.w = &wk;
  snprintf(r.ip, sizeof r.ip, "%s", peer);
  r.hdr[r.nhdr++] = (http_header){ STR("Host"), STR("example") };
  va_list ap;
  va_start(ap, peer);
  for(const char *v; (v = va_arg(ap, const char *)); )
    r.hdr[r.nhdr++] = (http_header){ STR("X-Forwarded-For"), str_c(v) };
  va_end(ap);
  return &r;
}

static const char *ip(const http_req *r)
{
  static char out[64];
  clientip_of(r, out, sizeof out);
  return out;
}

static int setup(void **state)
{
  const char *const trusted[] = { "10.0.0.0/8", "::1", "fd00::/8" };
  char bad[64];
  assert_int_equal(cidr_list_parse(&gw.cfg.trusted_nets, trusted, 3, bad, sizeof bad), 3);
  return 0;
}

static int teardown(void **state)
{
  cidr_list_free(&gw.cfg.trusted_nets);
  return 0;
}

static void test_walk_from_the_right(void **state)
{
  assert_string_equal(ip(req("10.1.2.3", "203.0.113.9, 10.9.9.9", NULL)), "203.0.113.9");
  assert_string_equal(ip(req("10.1.2.3", "198.51.100.7, 203.0.113.9, 10.9.9.9", NULL)), "203.0.113.9");
  /* every hop trusted: the leftmost is the client */
  assert_string_equal(ip(req("10.1.2.3", "10.5.5.5,10.6.6.6", NULL)), "10.5.5.5");
  /* several headers make one list, in order */
  assert_string_equal(ip(req("::1", "198.51.100.7", "10.0.0.9", NULL)), "198.51.100.7");
  assert_string_equal(ip(req("::1", "10.0.0.9", "198.51.100.7", NULL)), "198.51.100.7");
  /* IPv6 hops and peers, a mapped peer, ports and brackets */
  assert_string_equal(ip(req("fd00::5", "2001:db8::1, fd00::6", NULL)), "2001:db8::1");
  assert_string_equal(ip(req("::ffff:10.0.0.1", "[2001:db8::1]:443", NULL)), "2001:db8::1");
  assert_string_equal(ip(req("10.0.0.1", "203.0.113.9:5678", NULL)), "203.0.113.9");
  assert_string_equal(ip(req("10.0.0.1", "  203.0.113.9\t", NULL)), "203.0.113.9");
  /* a trusted peer without the header: the peer */
  assert_string_equal(ip(req("10.0.0.1", NULL)), "10.0.0.1");
}

static void test_untrusted_peer(void **state)
{
  assert_string_equal(ip(req("198.51.100.1", "203.0.113.9", NULL)), "198.51.100.1");
  assert_string_equal(ip(req("11.0.0.1", "10.0.0.1", NULL)), "11.0.0.1");
  assert_string_equal(ip(req("2001:db8::7", "203.0.113.9", NULL)), "2001:db8::7");
  /* no trusted proxies configured: never believed */
  cidr_list saved = gw.cfg.trusted_nets;
  gw.cfg.trusted_nets = (cidr_list){ 0 };
  assert_string_equal(ip(req("10.1.2.3", "203.0.113.9", NULL)), "10.1.2.3");
  gw.cfg.trusted_nets = saved;
}

static void test_malformed_stops_the_walk(void **state)
{
  /* the hop that added the malformed entry is the client */
  assert_string_equal(ip(req("::1", "garbage, 10.0.0.7", NULL)), "10.0.0.7");
  assert_string_equal(ip(req("::1", "203.0.113.9, garbage", NULL)), "::1");
  assert_string_equal(ip(req("10.0.0.1", "203.0.113.9,,10.0.0.2", NULL)), "10.0.0.2");
  assert_string_equal(ip(req("10.0.0.1", "[2001:db8::1", NULL)), "10.0.0.1");
  assert_string_equal(ip(req("10.0.0.1", "unknown", NULL)), "10.0.0.1");
  assert_string_equal(ip(req("10.0.0.1", "", NULL)), "10.0.0.1");
  /* an absurdly long list is not walked at all */
  static char big[3000];
  memset(big, ' ', sizeof big - 16);
  snprintf(big + sizeof big - 16, 16, "203.0.113.9");
  assert_string_equal(ip(req("10.0.0.1", big, NULL)), "10.0.0.1");
}

/* clientip_from: the same walk with the trusted list passed in, no worker needed. */
static void test_from_explicit_list(void **state)
{
  const char *const v[] = { "192.0.2.0/24" };
  cidr_list l = { 0 };
  char bad[64];
  assert_int_equal(cidr_list_parse(&l, v, 1, bad, sizeof bad), 1);
  http_req *r = req("192.0.2.10", "203.0.113.9, 10.0.0.1", NULL);
  r->w = NULL;
  char out[64];
  clientip_from(&l, r, out, sizeof out);
  assert_string_equal(out, "10.0.0.1");                          /* 10/8 is not trusted here */
  cidr_list_free(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_walk_from_the_right),
    cmocka_unit_test(test_untrusted_peer),
    cmocka_unit_test(test_malformed_stops_the_walk),
    cmocka_unit_test(test_from_explicit_list),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
