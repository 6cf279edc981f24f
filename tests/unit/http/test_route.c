/* route: the generic matcher — exact paths and '/'-prefixes, methods and "*", 405 with every
 * allowed method in Allow, 404 for the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/route.h"

static void h_health(http_req *r) { (void)r; }
static void h_get(http_req *r) { (void)r; }
static void h_set(http_req *r) { (void)r; }
static void h_users(http_req *r) { (void)r; }
static void h_price_put(http_req *r) { (void)r; }
static void h_price_post(http_req *r) { (void)r; }
static void h_usage(http_req *r) { (void)r; }
static void h_export(http_req *r) { (void)r; }
static void h_del(http_req *r) { (void)r; }

static const route table[] = {
  { "GET",    "/health",          0, h_health },
  { "GET",    "/config/thinking", 1, h_get },
  { "POST",   "/config/thinking", 1, h_set },
  { "*",      "/users/",          1, h_users },
  { "PUT",    "/prices/",         1, h_price_put },
  { "POST",   "/prices/",         1, h_price_post },
  { "POST",   "/prices/",         1, h_del },            /* shadowed: the first match wins */
  { "GET",    "/usage",           1, h_usage },
  { "GET",    "/usage/export",    1, h_export },
};

static void test_table(void **state)
{
  static const struct { const char *method, *path; http_handler want; const char *allow; } cases[] = {
    { "GET",    "/health",              h_health, "" },
    { "POST",   "/health",              NULL, "Allow: GET\r\n" },          /* 405 lists the method */
    { "get",    "/health",              NULL, "Allow: GET\r\n" },          /* methods are case-sensitive */
    { "GET",    "/healthz",             NULL, "" },                        /* exact means exact */
    { "GET",    "/health/",             NULL, "" },
    { "GET",    "/heal",                NULL, "" },
    { "GET",    "",                     NULL, "" },
    { "GET",    "/config/thinking",     h_get, "" },
    { "POST",   "/config/thinking",     h_set, "" },
    { "DELETE", "/config/thinking",     NULL, "Allow: GET, POST\r\n" },    /* every allowed method */
    { "DELETE", "/users/7",             h_users, "" },                     /* "*": any method */
    { "PATCH",  "/users/7/keys/2",      h_users, "" },                     /* a prefix takes the rest */
    { "GET",    "/users/",              NULL, "" },                        /* a prefix needs something after '/' */
    { "GET",    "/users",               NULL, "" },
    { "GET",    "/usersx",              NULL, "" },
    { "PUT",    "/prices/gemini-2.5-pro", h_price_put, "" },
    { "POST",   "/prices/gemini-2.5-pro", h_price_post, "" },
    { "GET",    "/prices/gemini-2.5-pro", NULL, "Allow: PUT, POST\r\n" },  /* no duplicate POST */
    { "GET",    "/prices/",             NULL, "" },
    { "GET",    "/usage",               h_usage, "" },
    { "GET",    "/usage/export",        h_export, "" },
    { "POST",   "/usage/export",        NULL, "Allow: GET\r\n" },
    { "GET",    "/usage/exports",       NULL, "" },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char allow[ROUTE_ALLOW_CAP];
    memset(allow, 'z', sizeof allow);
    const route *m = route_match(table, ARRAY_LEN(table), str_c(cases[i].method), str_c(cases[i].path), allow);
    if((m ? m->fn : NULL) != cases[i].want) fail_msg("%s %s: wrong handler", cases[i].method, cases[i].path);
    if(!m && strcmp(allow, cases[i].allow)) fail_msg("%s %s: allow \"%s\"", cases[i].method, cases[i].path, allow);
  }
}

static void test_empty_table(void **state)
{
  char allow[ROUTE_ALLOW_CAP] = "junk";
  assert_null(route_match(table, 0, STR("GET"), STR("/health"), allow));
  assert_string_equal(allow, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_empty_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
