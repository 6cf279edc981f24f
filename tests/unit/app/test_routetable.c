/* The gateway's route table (app/route): which handler answers what, and that the release
 * table has no test-only route.  (The admin token check and the handlers themselves are
 * covered end to end by tests/integration.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "admin/stats.h"
#include "admin/status.h"
#include "admin/usage.h"
#include "admin/useradmin.h"
#include "app/route.h"

static const route *find(const char *method, const char *path, char *allow)
{
  return route_find(str_c(method), str_c(path), allow);
}

static void test_handlers(void **state)
{
  static const struct { const char *method, *path; http_handler fn; int who; } cases[] = {
    { "GET",    "/health",                 status_health,           ROUTE_PUBLIC },
    { "GET",    "/api/status/keys",        status_keys,             ROUTE_ADMIN },
    { "GET",    "/status",                 status_process,          ROUTE_ADMIN },
    { "GET",    "/metrics",                status_metrics,          ROUTE_ADMIN },
    { "GET",    "/admin/stats",            stats_route_admin,       ROUTE_ADMIN },
    { "GET",    "/admin/usage",            usage_route_list,        ROUTE_ADMIN },
    { "GET",    "/admin/usage/export",     usage_route_export,      ROUTE_ADMIN },
    { "GET",    "/admin/users",            useradmin_list,          ROUTE_ADMIN },
    { "DELETE", "/admin/users/3",          useradmin_item,          ROUTE_ADMIN },
    { "GET",    "/admin/users/3/usage-stats", useradmin_item,       ROUTE_ADMIN },
    { "GET",    "/api/gemini/usage-stats", stats_route_usage,       ROUTE_CLIENT },
    { "GET",    "/api/usage/export",       usage_route_export_mine, ROUTE_CLIENT },
  };
  for(size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char allow[ROUTE_ALLOW_CAP];
    const route *m = find(cases[i].method, cases[i].path, allow);
    if(!m || m->fn != cases[i].fn) fail_msg("%s %s: wrong handler", cases[i].method, cases[i].path);
    if(m->who != cases[i].who) fail_msg("%s %s: who %d", cases[i].method, cases[i].path, m->who);
  }
}

/* Every Gemini and OpenAI API path, whatever the method, is the one client route. */
static void test_client_api(void **state)
{
  static const char *const paths[][2] = {
    { "POST", "/v1beta/models/gemini-2.5-flash:generateContent" },
    { "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent" },
    { "GET",  "/v1beta/models" },
    { "POST", "/v1/chat/completions" },
    { "GET",  "/v1/models" },
    { "DELETE", "/v1/files/abc" },
  };
  char allow[ROUTE_ALLOW_CAP];
  const route *api = find("POST", "/v1beta/models/x:generateContent", allow);
  assert_non_null(api);
  assert_int_equal(api->who, ROUTE_CLIENT);
  assert_non_null(api->fn);
  for(size_t i = 0; i < ARRAY_LEN(paths); i++) {
    const route *m = find(paths[i][0], paths[i][1], allow);
    if(m != api) fail_msg("%s %s: not the client route", paths[i][0], paths[i][1]);
  }
  assert_null(find("GET", "/v1beta", allow));       /* not under the prefix: the table's 404 */
  assert_string_equal(allow, "");
  assert_null(find("GET", "/v2/models", allow));
}

static void test_misses(void **state)
{
  char allow[ROUTE_ALLOW_CAP];
  assert_null(find("GET", "/nope", allow));
  assert_string_equal(allow, "");
  assert_null(find("POST", "/health", allow));
  assert_string_equal(allow, "Allow: GET\r\n");
  assert_null(find("DELETE", "/admin/config/thinking", allow));
  assert_string_equal(allow, "Allow: GET, POST\r\n");
  assert_null(find("GET", "/admin/prices/gemini-2.5-pro", allow));
  assert_string_equal(allow, "Allow: PUT, POST\r\n");
}

/* The unit tests link the release objects: POST /admin/test/ledger must be a plain 404 there
 * (it exists only in build/gemgate-test, compiled with GEMGATE_TEST_ROUTES). */
static void test_no_test_route_in_release(void **state)
{
  char allow[ROUTE_ALLOW_CAP];
  assert_null(find("POST", "/admin/test/ledger", allow));
  assert_string_equal(allow, "");
  assert_null(find("GET", "/admin/test/ledger", allow));
  assert_string_equal(allow, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_handlers),
    cmocka_unit_test(test_client_api),
    cmocka_unit_test(test_misses),
    cmocka_unit_test(test_no_test_route_in_release),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
