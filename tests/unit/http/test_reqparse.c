/* reqparse: request heads (valid, pipelined, split at every byte, hostile) and chunked bodies,
 * as the parser answers today.  Quirks that a hardening pass may change are marked "today". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reqparse.h"

static const rp_limits lim = { 1024, 1000 };   /* max_header, max_body */

static bool str_is(str s, const char *want)
{
  if(!want) return s.p == NULL;
  return s.p && s.n == strlen(want) && !memcmp(s.p, want, s.n);
}

/* ---------- valid heads ---------- */

typedef struct ok_case {
  const char *in;
  const char *method, *target, *path, *query;
  int minor;
  size_t nhdr;
  rp_framing framing;
  int64_t cl;
  bool keep_alive, expect;
} ok_case;

static const ok_case ok_cases[] = {
  { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "/", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  { "POST /v1/m:gen?key=a%2Bb&x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST", "/v1/m:gen?key=a%2Bb&x", "/v1/m:gen", "key=a%2Bb&x", 1, 2, RP_BODY_LENGTH, 5, true, false },
  { "GET /? HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/?", "/", "", 1, 1, RP_BODY_NONE, 0, true, false },
  /* HTTP/1.0 needs no Host */
  { "GET / HTTP/1.0\r\n\r\n", "GET", "/", "/", NULL, 0, 0, RP_BODY_NONE, 0, false, false },
  { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", "/", NULL, 0, 1, RP_BODY_NONE, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: a\r\nconnection: CLOSE\r\n\r\n", "GET", "/", "/", NULL, 1, 2, RP_BODY_NONE, 0, false, false },
  { "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/", "/", NULL, 1, 2, RP_BODY_NONE, 0, true, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", "POST", "/", "/", NULL, 1, 2, RP_BODY_CHUNKED, 0, true, false },
  /* a list whose last coding is chunked, empty elements ignored (RFC 9110 5.6.1) */
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n", "POST", "/", "/", NULL, 1, 2, RP_BODY_CHUNKED, 0, true, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST", "/", "/", NULL, 1, 2, RP_BODY_LENGTH, 0, true, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\nContent-Length: 7\r\n\r\n", "POST", "/", "/", NULL, 1, 3, RP_BODY_LENGTH, 7, true, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", "POST", "/", "/", NULL, 1, 2, RP_BODY_LENGTH, 1000, true, false },
  /* Host values: a name, an address, a port, an IP-literal, empty */
  { "GET / HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n", "GET", "/", "/", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "GET", "/", "/", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  { "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", "/", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  /* Expect: 100-continue only matters when a body is to come, and only from HTTP/1.1 */
  { "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n", "POST", "/", "/", NULL, 1, 3, RP_BODY_LENGTH, 5, true, true },
  { "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/", "/", NULL, 1, 3, RP_BODY_CHUNKED, 0, true, true },
  { "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", "POST", "/", "/", NULL, 1, 3, RP_BODY_LENGTH, 0, true, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", "POST", "/", "/", NULL, 1, 2, RP_BODY_NONE, 0, true, false },
  { "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "POST", "/", "/", NULL, 0, 2, RP_BODY_LENGTH, 5, false, false },
  { "POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 5\r\n\r\n", "POST", "/", "/", NULL, 1, 3, RP_BODY_LENGTH, 5, true, false },
  /* OPTIONS may use any target form; methods are any token (case kept) */
  { "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", "*", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  { "get /x HTTP/1.1\r\nHost: a\r\n\r\n", "get", "/x", "/x", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  { "M-SEARCH~! /x HTTP/1.1\r\nHost: a\r\n\r\n", "M-SEARCH~!", "/x", "/x", NULL, 1, 1, RP_BODY_NONE, 0, true, false },
  /* bytes >= 0x80 pass in the target and in values (obs-text) */
  { "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX: \xff\r\n\r\n", "GET", "/\xc3\xa9", "/\xc3\xa9", NULL, 1, 2, RP_BODY_NONE, 0, true, false },
};

static void check_ok(const ok_case *c, const char *in, size_t n)
{
  rp_head h;
  http_header hdr[8];
  if(rp_head_parse(in, n, &lim, &h, hdr, 8) != RP_DONE) fail_msg("refused (%d): %s", h.status, c->in);
  assert_int_equal(h.len, (size_t)(strstr(c->in, "\r\n\r\n") - c->in) + 4);
  assert_true(str_is(h.method, c->method));
  assert_true(str_is(h.target, c->target));
  assert_true(str_is(h.path, c->path));
  assert_true(str_is(h.query, c->query));
  assert_int_equal(h.minor, c->minor);
  assert_int_equal(h.nhdr, c->nhdr);
  assert_int_equal(h.framing, c->framing);
  assert_int_equal(h.content_length, c->cl);
  assert_int_equal(h.keep_alive, c->keep_alive);
  assert_int_equal(h.expect_continue, c->expect);
  /* everything points into the caller's bytes */
  assert_ptr_equal(h.method.p, in);
  for(size_t i = 0; i < h.nhdr; i++) assert_true(hdr[i].name.p > in && hdr[i].name.p < in + h.len);
}

static void test_valid_heads(void **state)
{
  for(size_t i = 0; i < ARRAY_LEN(ok_cases); i++) {
    check_ok(&ok_cases[i], ok_cases[i].in, strlen(ok_cases[i].in));
  }
}

static void test_header_values(void **state)
{
  const char *in = "GET / HTTP/1.0\r\nA:   spaced  out \t\r\nEmpty:\r\nTab:\tx\ty\r\nB: 1\r\nb: 2\r\n\r\n";
  rp_head h;
  http_header hdr[8];
  assert_int_equal(rp_head_parse(in, strlen(in), &lim, &h, hdr, 8), RP_DONE);
  assert_int_equal(h.nhdr, 5);
  assert_true(str_is(hdr[0].name, "A"));
  assert_true(str_is(hdr[0].value, "spaced  out"));   /* leading and trailing SP/HTAB trimmed */
  assert_true(str_is(hdr[1].name, "Empty"));
  assert_int_equal(hdr[1].value.n, 0);
  assert_true(str_is(hdr[2].value, "x\ty"));           /* an inner tab is fine */
  assert_true(str_is(hdr[3].name, "B"));               /* repeats are kept, in order */
  assert_true(str_is(hdr[4].name, "b"));
  assert_true(str_is(hdr[4].value, "2"));
}

/* Two requests in one read: the first head ends where the second begins. */
static void test_pipelined(void **state)
{
  const char *in = "POST /a HTTP/1.0\r\nContent-Length: 3\r\n\r\nabcGET /b?q=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.0\r\n\r\n";
  size_t n = strlen(in), off = 0;
  rp_head h;
  http_header hdr[8];
  assert_int_equal(rp_head_parse(in, n, &lim, &h, hdr, 8), RP_DONE);
  assert_true(str_is(h.path, "/a"));
  assert_int_equal(h.content_length, 3);
  off = h.len + 3;                                      /* the body follows the head */
  assert_int_equal(rp_head_parse(in + off, n - off, &lim, &h, hdr, 8), RP_DONE);
  assert_true(str_is(h.path, "/b"));
  assert_true(str_is(h.query, "q=1"));
  assert_int_equal(h.nhdr, 1);
  off += h.len;
  assert_int_equal(rp_head_parse(in + off, n - off, &lim, &h, hdr, 8), RP_DONE);
  assert_true(str_is(h.path, "/c"));
  assert_int_equal(h.minor, 0);
  assert_int_equal(off + h.len, n);
}

/* One request arriving in two pieces, cut at every byte: need more until the blank line is
 * in, then the same head whatever the cut. */
static void test_split_at_every_byte(void **state)
{
  const char *in = "POST /v1beta/models/m:generateContent?alt=sse HTTP/1.1\r\nHost: example\r\n"
                   "Content-Length: 2\r\nExpect: 100-continue\r\nX-Goog-Api-Key: k\r\n\r\n{}";
  size_t n = strlen(in), head = (size_t)(strstr(in, "\r\n\r\n") - in) + 4;
  ok_case c = { in, "POST", "/v1beta/models/m:generateContent?alt=sse", "/v1beta/models/m:generateContent",
                "alt=sse", 1, 4, RP_BODY_LENGTH, 2, true, true };
  char *buf = malloc(n);
  for(size_t cut = 0; cut <= n; cut++) {
    memcpy(buf, in, n);
    rp_head h;
    http_header hdr[8];
    if(cut < head) {
      assert_int_equal(rp_head_parse(buf, cut, &lim, &h, hdr, 8), RP_NEED);
    } else {
      check_ok(&c, buf, cut);
    }
  }
  free(buf);
}

/* ---------- hostile heads ---------- */

typedef struct bad_case {
  const char *in;
  int status;
  int minor;             /* what the error answer will say: 1 unless the request line passed */
} bad_case;

static const bad_case bad_cases[] = {
  /* framing: smuggling guards and limits */
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000000000005\r\n\r\n", 400, 1 },   /* >= 24 chars */
  { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413, 1 },
  { "POST / HTTP/1.0\r\nContent-Length: 1001\r\n\r\n", 413, 0 },
  /* Transfer-Encoding (RFC 9112 6.1, 6.3): chunked last and once, else the length is unknown
   * (400); a coding the gateway does not decode before it: 501 */
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", 501, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun ked\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", 400, 1 },
  /* two Transfer-Encoding lines, whatever they say */
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\ntransfer-encoding: chunked\r\n\r\n", 400, 1 },
  /* HTTP/1.0 with Transfer-Encoding: faulty framing (RFC 9112 6.1) */
  { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0 },
  /* Host: required of HTTP/1.1, once, valid (RFC 9112 3.2) */
  { "GET / HTTP/1.1\r\n\r\n", 400, 1 },
  { "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0 },
  { "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.0\r\nHost: a\x7f\r\n\r\n", 400, 0 },
  /* request line */
  { "GET /\r\n\r\n", 400, 1 },
  { "GET / \r\n\r\n", 400, 1 },
  { "GET / HTTP/1.2\r\n\r\n", 400, 1 },
  { "GET / HTTP/2.0\r\n\r\n", 400, 1 },
  { "GET / http/1.1\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1 \r\n\r\n", 400, 1 },
  { "GET / HTTP/1.10\r\n\r\n", 400, 1 },
  { "GET  / HTTP/1.1\r\n\r\n", 400, 1 },
  { " GET / HTTP/1.1\r\n\r\n", 400, 1 },
  { "GET /a b HTTP/1.1\r\n\r\n", 400, 1 },
  { "GET /a\tb HTTP/1.1\r\n\r\n", 400, 1 },
  { "GET /a\x7f HTTP/1.1\r\n\r\n", 400, 1 },
  { "GET http://example/ HTTP/1.1\r\n\r\n", 400, 1 },
  { "GET * HTTP/1.1\r\n\r\n", 400, 1 },
  { "G(T / HTTP/1.1\r\n\r\n", 400, 1 },
  { "G\"T / HTTP/1.1\r\n\r\n", 400, 1 },
  { "G\x80T / HTTP/1.1\r\n\r\n", 400, 1 },
  { "\r\nGET / HTTP/1.1\r\n\r\n", 400, 1 },                    /* no leading blank line allowed */
  { "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, 1 },               /* bare LF ends no line */
  { "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, 1 },               /* nor does a bare CR */
  /* header lines (the request line passed: the answer speaks its version) */
  { "GET / HTTP/1.0\r\nX: a\r\n folded\r\n\r\n", 400, 0 },      /* obs-fold */
  { "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tfolded\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nHo@st: a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nHo(st): a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nH\xc3\xa9: a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nHost\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400, 1 },
  { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", 400, 1 },   /* DEL is a CTL too */
  { "GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n", 400, 1 },  /* bare LF inside a value */
  { "GET / HTTP/1.1\r\nHost: a\r\nX: a\rY: b\r\n\r\n", 400, 1 },  /* bare CR inside a value */
};

static void test_hostile_heads(void **state)
{
  for(size_t i = 0; i < ARRAY_LEN(bad_cases); i++) {
    const bad_case *c = &bad_cases[i];
    rp_head h;
    http_header hdr[8];
    if(rp_head_parse(c->in, strlen(c->in), &lim, &h, hdr, 8) != RP_ERROR || h.status != c->status)
      fail_msg("case %zu: want %d, got %d: %s", i, c->status, h.status, c->in);
    assert_string_equal(h.error, c->status == 413 ? "request body too large" : c->status == 501
                                 ? "unsupported transfer encoding" : "malformed request");
    assert_int_equal(h.minor, c->minor);
  }
}

/* A NUL is no token character: not in a header name (where "Transfer-Encoding\0" used to pass
 * as just another header, leaving the body framed by Content-Length) and not in a method. */
static void test_nul_in_token_refused(void **state)
{
  static const char in[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\0: chunked\r\nContent-Length: 2\r\n\r\n";
  rp_head h;
  http_header hdr[8];
  assert_int_equal(rp_head_parse(in, sizeof in - 1, &lim, &h, hdr, 8), RP_ERROR);
  assert_int_equal(h.status, 400);
  static const char in2[] = "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n";
  assert_int_equal(rp_head_parse(in2, sizeof in2 - 1, &lim, &h, hdr, 8), RP_ERROR);
  assert_int_equal(h.status, 400);
  static const char in3[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
  assert_int_equal(rp_head_parse(in3, sizeof in3 - 1, &lim, &h, hdr, 8), RP_ERROR);
  assert_int_equal(h.status, 400);
}

/* Every Transfer-Encoding line counts, not only the first: a second one, even one that seems
 * to agree, is refused, so no hop behind the gateway can read the framing differently. */
static void test_every_transfer_encoding_counts(void **state)
{
  const char *in = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n";
  rp_head h;
  http_header hdr[8];
  assert_int_equal(rp_head_parse(in, strlen(in), &lim, &h, hdr, 8), RP_ERROR);
  assert_int_equal(h.status, 400);
  /* the error's message for 400 and 501 */
  assert_string_equal(h.error, "malformed request");
  const char *gz = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
  assert_int_equal(rp_head_parse(gz, strlen(gz), &lim, &h, hdr, 8), RP_ERROR);
  assert_int_equal(h.status, 501);
  assert_string_equal(h.error, "unsupported transfer encoding");
}

static void test_head_limits(void **state)
{
  rp_head h;
  http_header hdr[4];
  /* more headers than the caller has room for: 431 */
  const char *many = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
  assert_int_equal(rp_head_parse(many, strlen(many), &lim, &h, hdr, 4), RP_ERROR);
  assert_int_equal(h.status, 431);
  assert_string_equal(h.error, "too many headers");
  const char *four = "GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  assert_int_equal(rp_head_parse(four, strlen(four), &lim, &h, hdr, 4), RP_DONE);

  /* a head longer than max_header: 431, complete or not */
  char big[2048];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n", 1000, 0);
  size_t head = (size_t)n;
  assert_true(head > lim.max_header);
  assert_int_equal(rp_head_parse(big, head, &lim, &h, hdr, 4), RP_ERROR);
  assert_int_equal(h.status, 431);
  assert_string_equal(h.error, "request head too large");
  assert_int_equal(rp_head_parse(big, lim.max_header, &lim, &h, hdr, 4), RP_NEED);       /* not yet */
  assert_int_equal(rp_head_parse(big, lim.max_header + 1, &lim, &h, hdr, 4), RP_ERROR);  /* past it */
  assert_int_equal(h.status, 431);
  /* exactly max_header is fine */
  rp_limits exact = { head, 1000 };
  assert_int_equal(rp_head_parse(big, head, &exact, &h, hdr, 4), RP_DONE);
  assert_int_equal(h.len, head);
  assert_int_equal(rp_head_parse_complete(big, head, &lim, &h, hdr, 4), RP_ERROR);
  assert_int_equal(h.status, 431);
}

/* ---------- chunked bodies ---------- */

/* Feeds in[0..n) the way http.c does, the bytes arriving step at a time: returns RP_DONE with
 * the body and the bytes the framing used, RP_NEED when the input ran out first, or RP_ERROR
 * with the status. */
static rp_step chunked(const char *in, size_t n, size_t step, int64_t max_body, char *body, size_t *blen,
                       size_t *used, int *status)
{
  rp_chunked d;
  rp_chunked_init(&d, max_body);
  size_t pos = 0, have = step < n ? step : n;
  *blen = 0;
  for(;;) {
    size_t avail = have - pos;
    long k;
    if(d.state == RP_CHUNK_DATA) {
      k = (long)rp_chunked_data(&d, avail);
      memcpy(body + *blen, in + pos, (size_t)k);
      *blen += (size_t)k;
    } else {
      const char *err;
      k = rp_chunked_frame(&d, in + pos, avail < RP_CHUNK_WINDOW ? avail : RP_CHUNK_WINDOW, status, &err);
      if(k < 0) {
        assert_string_equal(err, *status == 413 ? "request body too large" : *status == 431 ? "too many trailers"
                                 : "malformed chunked body");
        return RP_ERROR;
      }
    }
    pos += (size_t)k;
    if(d.state == RP_CHUNK_END) { *used = pos; body[*blen] = '\0'; return RP_DONE; }
    if(k == 0) {
      if(have == n) return RP_NEED;
      have = have + step < n ? have + step : n;
    }
  }
}

typedef struct chunk_case {
  const char *in;
  rp_step step;
  const char *body;      /* RP_DONE */
  int status;            /* RP_ERROR */
} chunk_case;

static const chunk_case chunk_cases[] = {
  { "5\r\nhello\r\n0\r\n\r\n", RP_DONE, "hello", 0 },
  { "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", RP_DONE, "abcde", 0 },
  { "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", RP_DONE, "01234567890123456789", 0 },
  { "0\r\n\r\n", RP_DONE, "", 0 },
  { "000\r\n\r\n", RP_DONE, "", 0 },
  { "5;name=value;x\r\nhello\r\n0;last\r\n\r\n", RP_DONE, "hello", 0 },
  { "5 ;ext\r\nhello\r\n0\r\n\r\n", RP_DONE, "hello", 0 },
  { "5\r\nhello\r\n0\r\nX-Trailer: v\r\nAnother: w\r\n\r\n", RP_DONE, "hello", 0 },   /* trailers dropped */
  { "5\r\nhe\r\nl\r\n0\r\n\r\n", RP_DONE, "he\r\nl", 0 },                           /* data is data */
  { "5;a=\"q \\\" v\";b\r\nhello\r\n0\r\n\r\n", RP_DONE, "hello", 0 },             /* quoted ext-val */
  { "5 ; a = b\r\nhello\r\n0\r\n\r\n", RP_DONE, "hello", 0 },                        /* BWS */
  { "5\r\nhello\r\n0\r\nX:\r\nY:\tv w\r\n\r\n", RP_DONE, "hello", 0 },
  { "0000000000000000000005\r\nhello\r\n0\r\n\r\n", RP_DONE, "hello", 0 },           /* zeros are digits */
  /* chunk-size = 1*HEXDIG (RFC 9112 7.1): no 0x, no sign, no blanks before it, nothing but an
   * extension after it (these all passed strtoull once) */
  { "0x5\r\nhello\r\n0\r\n\r\n", RP_ERROR, NULL, 400 },
  { "0x28\r\n", RP_ERROR, NULL, 400 },
  { " 5\r\nhello\r\n0\r\n\r\n", RP_ERROR, NULL, 400 },
  { " 28\r\n", RP_ERROR, NULL, 400 },
  { "+5\r\nhello\r\n0\r\n\r\n", RP_ERROR, NULL, 400 },
  { "+28\r\n", RP_ERROR, NULL, 400 },
  { "-1\r\n", RP_ERROR, NULL, 400 },
  { "5 junk\r\nhello\r\n0\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5 \r\nhello\r\n0\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5\r\nhello\r\n-0\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5;\r\nhello\r\n", RP_ERROR, NULL, 400 },
  { "5;a=\r\nhello\r\n", RP_ERROR, NULL, 400 },
  { "5;a=\"open\r\nhello\r\n", RP_ERROR, NULL, 400 },
  { "5;a b\r\nhello\r\n", RP_ERROR, NULL, 400 },
  { "5;a=b c\r\nhello\r\n", RP_ERROR, NULL, 400 },
  /* trailers are field lines: a CTL, no colon, a bad name or obs-fold is malformed */
  { "5\r\nhello\r\n0\r\n\x01garbage trailer\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5\r\nhello\r\n0\r\nNoColon\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5\r\nhello\r\n0\r\nBad Name: v\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5\r\nhello\r\n0\r\nX: v\r\n folded\r\n\r\n", RP_ERROR, NULL, 400 },
  { "5\r\nhello\r\n0\r\nX: a\x7f\r\n\r\n", RP_ERROR, NULL, 400 },
  /* incomplete */
  { "5\r\nhel", RP_NEED, NULL, 0 },
  { "5\r\nhello\r\n0\r\n", RP_NEED, NULL, 0 },
  { "5", RP_NEED, NULL, 0 },
};

static void test_chunked_table(void **state)
{
  static const size_t steps[] = { 1, 2, 3, 7, 1 << 20 };
  for(size_t i = 0; i < ARRAY_LEN(chunk_cases); i++) {
    const chunk_case *c = &chunk_cases[i];
    for(size_t s = 0; s < ARRAY_LEN(steps); s++) {
      char body[2048];
      size_t blen, used;
      int status = 0;
      size_t n = strlen(c->in);
      rp_step st = chunked(c->in, n, steps[s], 1000, body, &blen, &used, &status);
      if(st != c->step || (st == RP_ERROR && status != c->status))
        fail_msg("case %zu, %zu bytes at a time: want %d/%d, got %d/%d", i, steps[s], c->step, c->status, st, status);
      if(st == RP_DONE) { assert_string_equal(body, c->body); assert_int_equal(used, n); }
    }
  }
}

static void test_chunked_sum_over_max_body(void **state)
{
  char in[4096], body[4096];
  size_t n = 0;
  for(int i = 0; i < 3; i++) {
    n += (size_t)sprintf(in + n, "190\r\n");                   /* 400 bytes */
    memset(in + n, 'x', 400);
    n += 400;
    n += (size_t)sprintf(in + n, "\r\n");
  }
  n += (size_t)sprintf(in + n, "0\r\n\r\n");
  size_t blen, used;
  int status = 0;
  assert_int_equal(chunked(in, n, n, 1000, body, &blen, &used, &status), RP_ERROR);
  assert_int_equal(status, 413);
  assert_int_equal(blen, 800);                                  /* two chunks in, the third refused */
  assert_int_equal(chunked(in, n, n, 1200, body, &blen, &used, &status), RP_DONE);
  assert_int_equal(blen, 1200);
}

/* What follows the last chunk's blank line is not the body's: the next request. */
static void test_chunked_then_pipelined(void **state)
{
  const char *in = "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  char body[64];
  size_t blen, used;
  int status;
  assert_int_equal(chunked(in, strlen(in), 1 << 20, 1000, body, &blen, &used, &status), RP_DONE);
  assert_string_equal(body, "hi");
  assert_string_equal(in + used, "GET / HTTP/1.1\r\n\r\n");
}

/* Size and trailer lines are shorter than 256 bytes (CRLF aside), whichever way they arrive:
 * a 255-byte line passes at once and byte by byte (it once failed byte by byte, when its CR
 * was in and its LF not yet); 256 bytes fail both ways. */
static void test_chunked_line_limit(void **state)
{
  char in[1024], body[64];
  size_t blen, used;
  int status;
  static const size_t steps[] = { 1, 2, 255, 256, 257, 1 << 20 };
  for(size_t s = 0; s < ARRAY_LEN(steps); s++) {
    int n = sprintf(in, "2;%0252d\r\nhi\r\n0\r\n\r\n", 0);                    /* 254 bytes */
    assert_int_equal(chunked(in, (size_t)n, steps[s], 1000, body, &blen, &used, &status), RP_DONE);
    n = sprintf(in, "2;%0253d\r\nhi\r\n0\r\n\r\n", 0);                        /* 255 */
    if(chunked(in, (size_t)n, steps[s], 1000, body, &blen, &used, &status) != RP_DONE)
      fail_msg("255-byte line refused, %zu bytes at a time", steps[s]);
    assert_string_equal(body, "hi");
    n = sprintf(in, "2;%0254d\r\nhi\r\n0\r\n\r\n", 0);                        /* 256 */
    assert_int_equal(chunked(in, (size_t)n, steps[s], 1000, body, &blen, &used, &status), RP_ERROR);
    assert_int_equal(status, 400);
    /* a trailer line likewise */
    n = sprintf(in, "2\r\nhi\r\n0\r\nX: %0250d\r\n\r\n", 0);                  /* 255 */
    assert_int_equal(chunked(in, (size_t)n, steps[s], 1000, body, &blen, &used, &status), RP_DONE);
    n = sprintf(in, "2\r\nhi\r\n0\r\nX: %0300d\r\n\r\n", 0);
    assert_int_equal(chunked(in, (size_t)n, steps[s], 1000, body, &blen, &used, &status), RP_ERROR);
    assert_int_equal(status, 400);
  }
  /* a NUL in a size line or a trailer is malformed (it once ended the line for strtoull, and
   * one at a trailer's start ended the body) */
  static const char nul[] = "2\0zz\r\nhi\r\n0\r\n\r\n";
  assert_int_equal(chunked(nul, sizeof nul - 1, 1 << 20, 1000, body, &blen, &used, &status), RP_ERROR);
  assert_int_equal(status, 400);
  static const char nul2[] = "2\r\nhi\r\n0\r\n\0junk\r\nGET";
  assert_int_equal(chunked(nul2, sizeof nul2 - 1, 1 << 20, 1000, body, &blen, &used, &status), RP_ERROR);
  assert_int_equal(status, 400);
}

/* Trailers cannot go on for ever: past RP_TRAILERS_MAX lines the body is refused (431). */
static void test_chunked_trailer_count(void **state)
{
  char in[4096], body[64];
  size_t blen, used;
  int status = 0;
  for(int lines = RP_TRAILERS_MAX; lines <= RP_TRAILERS_MAX + 1; lines++) {
    size_t n = (size_t)sprintf(in, "2\r\nhi\r\n0\r\n");
    for(int i = 0; i < lines; i++) n += (size_t)sprintf(in + n, "T%d: v\r\n", i);
    n += (size_t)sprintf(in + n, "\r\n");
    rp_step st = chunked(in, n, 1 << 20, 1000, body, &blen, &used, &status);
    if(lines == RP_TRAILERS_MAX) assert_int_equal(st, RP_DONE);
    else { assert_int_equal(st, RP_ERROR); assert_int_equal(status, 431); }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_valid_heads),
    cmocka_unit_test(test_header_values),
    cmocka_unit_test(test_pipelined),
    cmocka_unit_test(test_split_at_every_byte),
    cmocka_unit_test(test_hostile_heads),
    cmocka_unit_test(test_nul_in_token_refused),
    cmocka_unit_test(test_every_transfer_encoding_counts),
    cmocka_unit_test(test_head_limits),
    cmocka_unit_test(test_chunked_table),
    cmocka_unit_test(test_chunked_sum_over_max_body),
    cmocka_unit_test(test_chunked_then_pipelined),
    cmocka_unit_test(test_chunked_line_limit),
    cmocka_unit_test(test_chunked_trailer_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
