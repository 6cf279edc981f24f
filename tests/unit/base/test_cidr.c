/* cidr: IPv4 and IPv6 blocks, single addresses, prefixes that end inside a byte, IPv4-mapped
 * addresses, and malformed entries (reported by their text, the list left as it was). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "base/cidr.h"

static cidr_list list(const char *const *v, size_t n)
{
  cidr_list l = { 0 };
  char bad[64];
  assert_int_equal(cidr_list_parse(&l, v, n, bad, sizeof bad), (int)n);
  assert_string_equal(bad, "");
  return l;
}

static void test_ipv4(void **state)
{
  const char *const v[] = { "10.0.0.0/8", "192.168.1.7", "172.16.0.0/12", "100.64.0.0/10" };
  cidr_list l = list(v, 4);
  assert_int_equal(l.n, 4);
  assert_true(cidr_list_has(&l, "10.0.0.0"));
  assert_true(cidr_list_has(&l, "10.255.255.255"));
  assert_false(cidr_list_has(&l, "11.0.0.0"));
  assert_false(cidr_list_has(&l, "9.255.255.255"));
  assert_true(cidr_list_has(&l, "192.168.1.7"));               /* a bare address is a /32 */
  assert_false(cidr_list_has(&l, "192.168.1.8"));
  assert_true(cidr_list_has(&l, "172.16.0.1"));                /* /12 ends inside the second byte */
  assert_true(cidr_list_has(&l, "172.31.255.255"));
  assert_false(cidr_list_has(&l, "172.32.0.0"));
  assert_false(cidr_list_has(&l, "172.15.255.255"));
  assert_true(cidr_list_has(&l, "100.127.0.1"));
  assert_false(cidr_list_has(&l, "100.128.0.1"));
  assert_true(cidr_list_has(&l, "::ffff:10.1.2.3"));           /* IPv4-mapped counts as IPv4 */
  assert_false(cidr_list_has(&l, "::ffff:11.1.2.3"));
  assert_false(cidr_list_has(&l, "::a01:203"));                /* IPv4-compatible does not */
  assert_false(cidr_list_has(&l, "not an address"));
  assert_false(cidr_list_has(&l, ""));
  assert_false(cidr_list_has(&l, "10.0.0.1:80"));
  cidr_list_free(&l);
  assert_int_equal(l.n, 0);
  assert_null(l.v);
}

static void test_ipv6(void **state)
{
  const char *const v[] = { "::1", "fd00::/8", "2001:db8:abcd::/47" };
  cidr_list l = list(v, 3);
  assert_true(cidr_list_has(&l, "::1"));
  assert_true(cidr_list_has(&l, "0:0:0:0:0:0:0:1"));
  assert_false(cidr_list_has(&l, "::2"));
  assert_true(cidr_list_has(&l, "fd12:3456::1"));
  assert_false(cidr_list_has(&l, "fe80::1"));
  assert_true(cidr_list_has(&l, "2001:db8:abcd::1"));
  assert_true(cidr_list_has(&l, "2001:db8:abcd:1ff::1"));        /* /47: the last bit of abcd:0000 is free */
  assert_true(cidr_list_has(&l, "2001:db8:abcd:ffff::1"));
  assert_false(cidr_list_has(&l, "2001:db8:abce::1"));           /* bit 47 set: outside */
  assert_false(cidr_list_has(&l, "127.0.0.1"));                  /* no family crossing */
  cidr_list_free(&l);
}

static void test_whole_families(void **state)
{
  const char *const v4[] = { "0.0.0.0/0" };
  cidr_list l = list(v4, 1);
  assert_true(cidr_list_has(&l, "203.0.113.9"));
  assert_true(cidr_list_has(&l, "::ffff:203.0.113.9"));
  assert_false(cidr_list_has(&l, "2001:db8::1"));
  cidr_list_free(&l);
  const char *const v6[] = { "::/0" };
  l = list(v6, 1);
  assert_true(cidr_list_has(&l, "2001:db8::1"));
  assert_false(cidr_list_has(&l, "203.0.113.9"));
  cidr_list_free(&l);
  /* an IPv4-mapped block never matches: addresses are compared as IPv4 (today) */
  const char *const mapped[] = { "::ffff:10.0.0.0/104" };
  l = list(mapped, 1);
  assert_false(cidr_list_has(&l, "::ffff:10.0.0.1"));
  assert_false(cidr_list_has(&l, "10.0.0.1"));
  cidr_list_free(&l);
  /* the empty list holds nothing */
  l = list(NULL, 0);
  assert_false(cidr_list_has(&l, "127.0.0.1"));
  cidr_list_free(&l);
}

static void test_malformed(void **state)
{
  static const char *const bad_entries[] = {
    "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/8/8", "10.0.0", "10.0.0.256",
    "hello", "/8", "", "10.0.0.0 /8", "[::1]", "::1/", "1.2.3.4:80",
  };
  const char *const good[] = { "127.0.0.1" };
  cidr_list l = list(good, 1);
  for(size_t i = 0; i < sizeof bad_entries / sizeof *bad_entries; i++) {
    const char *const v[] = { "10.0.0.0/8", bad_entries[i] };
    char bad[64] = "x";
    if(cidr_list_parse(&l, v, 2, bad, sizeof bad) != -1) fail_msg("accepted: \"%s\"", bad_entries[i]);
    assert_string_equal(bad, bad_entries[i]);
    assert_int_equal(l.n, 1);                                    /* the list is unchanged */
    assert_true(cidr_list_has(&l, "127.0.0.1"));
  }
  /* the bad entry's text is cut to the buffer */
  const char *const longv[] = { "this-is-not-an-address-at-all" };
  char small[8];
  assert_int_equal(cidr_list_parse(&l, longv, 1, small, sizeof small), -1);
  assert_string_equal(small, "this-is");
  /* lenient today (strtol): a sign or a blank before the bits; "/-1" means no prefix at all */
  const char *const lax[] = { "10.0.0.0/+8", "11.0.0.0/ 8", "12.0.0.1/-1" };
  char bad[64];
  assert_int_equal(cidr_list_parse(&l, lax, 3, bad, sizeof bad), 3);
  assert_true(cidr_list_has(&l, "10.9.9.9"));
  assert_true(cidr_list_has(&l, "11.9.9.9"));
  assert_true(cidr_list_has(&l, "12.0.0.1"));
  assert_false(cidr_list_has(&l, "12.0.0.2"));
  cidr_list_free(&l);
}

static void test_parse_ip(void **state)
{
  uint8_t a[16];
  assert_int_equal(cidr_parse_ip("192.0.2.1", a), AF_INET);
  assert_memory_equal(a, "\xc0\x00\x02\x01", 4);
  assert_int_equal(cidr_parse_ip("::ffff:192.0.2.1", a), AF_INET);
  assert_memory_equal(a, "\xc0\x00\x02\x01", 4);
  assert_int_equal(cidr_parse_ip("2001:db8::1", a), AF_INET6);
  assert_int_equal(a[0], 0x20);
  assert_int_equal(a[15], 1);
  assert_int_equal(cidr_parse_ip("2001:db8::1%eth0", a), 0);
  assert_int_equal(cidr_parse_ip(" 192.0.2.1", a), 0);
  assert_int_equal(cidr_parse_ip("192.0.2.1/32", a), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ipv4),
    cmocka_unit_test(test_ipv6),
    cmocka_unit_test(test_whole_families),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_parse_ip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
