/* ws (the pure parts) and session: RFC 6455's accept key, frame headers of every length form,
 * masking, UTF-8 checks; sign-in sessions, CSRF tokens, one-use tickets, cookie parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/session.h"
#include "http/ws.h"

static void test_accept_key(void **state)
{
  char out[29];
  ws_accept_key(STR("dGhlIHNhbXBsZSBub25jZQ=="), out);   /* RFC 6455 §1.3 */
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_headers(void **state)
{
  ws_frame f;
  const uint8_t small[] = { 0x81, 0x85, 1, 2, 3, 4 };
  assert_int_equal(ws_parse_header(small, 1, &f), 0);
  assert_int_equal(ws_parse_header(small, 5, &f), 0);    /* the mask is not all there */
  assert_int_equal(ws_parse_header(small, 6, &f), 6);
  assert_true(f.fin);
  assert_int_equal(f.opcode, 1);
  assert_true(f.masked);
  assert_int_equal(f.len, 5);
  assert_memory_equal(f.mask, small + 2, 4);
  const uint8_t mid[] = { 0x01, 0x7e, 0x01, 0x00 };     /* not fin, 256 bytes, unmasked */
  assert_int_equal(ws_parse_header(mid, 4, &f), 4);
  assert_false(f.fin);
  assert_false(f.masked);
  assert_int_equal(f.len, 256);
  const uint8_t big[] = { 0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0 };
  assert_int_equal(ws_parse_header(big, 10, &f), 10);
  assert_int_equal(f.len, 1ULL << 32);
  const uint8_t huge[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 };
  assert_int_equal(ws_parse_header(huge, 10, &f), -1);
  const uint8_t rsv[] = { 0xf1, 0x80, 0, 0, 0, 0 };
  assert_int_equal(ws_parse_header(rsv, 6, &f), 6);
  assert_int_equal(f.rsv, 7);
  /* the server's own headers parse back to what was meant */
  uint64_t lens[] = { 0, 125, 126, 65535, 65536, 1u << 20 };
  for(size_t i = 0; i < ARRAY_LEN(lens); i++) {
    uint8_t h[10];
    size_t n = ws_frame_header(h, 1, true, lens[i]);
    assert_int_equal(ws_parse_header(h, n, &f), (int)n);
    assert_int_equal(f.len, lens[i]);
    assert_false(f.masked);
  }
}

static void test_mask_and_utf8(void **state)
{
  uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  uint8_t p[] = { 0x7f, 0x9f, 0x4d, 0x51, 0x58 };        /* RFC 6455 §5.7: "Hello" */
  ws_unmask(p, 2, mask, 0);
  ws_unmask(p + 2, 3, mask, 2);                         /* in two pieces, by offset */
  assert_memory_equal(p, "Hello", 5);
  assert_true(ws_utf8_valid((const uint8_t *)"héllo €𝄞", strlen("héllo €𝄞")));
  const uint8_t overlong[] = { 0xc0, 0xaf }, surrogate[] = { 0xed, 0xa0, 0x80 }, cut[] = { 0xe2, 0x82 },
                past[] = { 0xf4, 0x90, 0x80, 0x80 }, lone[] = { 0x80 };
  assert_false(ws_utf8_valid(overlong, 2));
  assert_false(ws_utf8_valid(surrogate, 3));
  assert_false(ws_utf8_valid(cut, 2));
  assert_false(ws_utf8_valid(past, 4));
  assert_false(ws_utf8_valid(lone, 1));
}

static void test_sessions(void **state)
{
  char id[SESSION_ID_CAP], csrf[SESSION_ID_CAP], got[SESSION_ID_CAP];
  int64_t t = 1700000000000LL;
  assert_true(session_create(t, id, csrf));
  assert_int_equal(strlen(id), 43);
  assert_string_not_equal(id, csrf);
  assert_true(session_valid(str_c(id), t + 1000, got));
  assert_string_equal(got, csrf);
  assert_false(session_valid(str_c(id), t + SESSION_TTL_MS, NULL));   /* expired */
  char other[SESSION_ID_CAP];
  memcpy(other, id, sizeof other);
  other[5] = other[5] == 'A' ? 'B' : 'A';
  assert_false(session_valid(str_c(other), t, NULL));
  session_end(str_c(id));
  assert_false(session_valid(str_c(id), t + 1000, NULL));
  char tk[SESSION_ID_CAP];
  assert_true(session_ticket(t, tk));
  assert_false(session_ticket_use(str_c(tk), t + TICKET_TTL_MS));      /* too late */
  assert_true(session_ticket(t, tk));
  assert_true(session_ticket_use(str_c(tk), t + 10));
  assert_false(session_ticket_use(str_c(tk), t + 20));                 /* once */
  /* a full table: the oldest session makes room */
  char first[SESSION_ID_CAP];
  assert_true(session_create(t, first, csrf));
  for(int i = 0; i < SESSION_MAX; i++) assert_true(session_create(t + 1 + i, id, csrf));
  assert_false(session_valid(str_c(first), t + 1000, NULL));
  assert_true(session_valid(str_c(id), t + 1000, NULL));
}

static void test_cookie(void **state)
{
  str v = session_cookie(STR("a=1; gemgate_session=abc; b=2"), STR("gemgate_session"));
  assert_int_equal(v.n, 3);
  assert_memory_equal(v.p, "abc", 3);
  assert_null(session_cookie(STR("xgemgate_session=abc"), STR("gemgate_session")).p);
  v = session_cookie(STR("gemgate_session="), STR("gemgate_session"));
  assert_non_null(v.p);
  assert_int_equal(v.n, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_accept_key), cmocka_unit_test(test_headers), cmocka_unit_test(test_mask_and_utf8),
    cmocka_unit_test(test_sessions), cmocka_unit_test(test_cookie),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
