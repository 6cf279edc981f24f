/* /openapi.json (ui/openapi.json, embedded) against the route table: every route the gateway
 * serves is documented, with its method; and each operation has an id, responses, and its path
 * parameters declared.  A new route without docs fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin/assets.h"
#include "app/route.h"

static json_t *doc(void)
{
  const asset *a = asset_find("openapi.json", 12);
  assert_non_null(a);
  json_error_t e;
  json_t *j = json_loadb((const char *)a->data, a->len, 0, &e);
  if(!j) fail_msg("openapi.json: line %d: %s", e.line, e.text);
  return j;
}

static void test_every_route_documented(void **state)
{
  json_t *d = doc(), *paths = json_object_get(d, "paths");
  assert_string_equal(json_string_value(json_object_get(d, "openapi")), "3.1.0");
  size_t n;
  const route *t = route_table(&n);
  for(size_t i = 0; i < n; i++) {
    const char *path = t[i].path;
    size_t pl = strlen(path);
    char method[16];
    for(size_t k = 0; k <= strlen(t[i].method) && k < sizeof method; k++) method[k] = (char)tolower((unsigned char)t[i].method[k]);
    bool found = false;
    const char *p;
    json_t *ops;
    json_object_foreach(paths, p, ops) {
      bool match = path[pl - 1] == '/' ? !strncmp(p, path, pl) && p[pl] == '{' : !strcmp(p, path);
      if(match && (!strcmp(method, "*") || json_object_get(ops, method))) found = true;
    }
    if(!found) fail_msg("%s %s is served but not in ui/openapi.json", t[i].method, path);
  }
  /* the routes route_find adds to the table */
  assert_non_null(json_object_get(json_object_get(paths, "/admin/"), "get"));
  assert_non_null(json_object_get(json_object_get(paths, "/v1beta/models/{model}:generateContent"), "post"));
  assert_non_null(json_object_get(json_object_get(paths, "/v1/chat/completions"), "post"));
  json_decref(d);
}

static void test_operations_complete(void **state)
{
  json_t *d = doc(), *paths = json_object_get(d, "paths");
  const char *p, *m;
  json_t *ops, *op;
  json_object_foreach(paths, p, ops) {
    assert_int_equal(p[0], '/');
    json_object_foreach(ops, m, op) {
      if(!json_is_string(json_object_get(op, "operationId"))) fail_msg("%s %s: no operationId", m, p);
      if(!json_object_size(json_object_get(op, "responses"))) fail_msg("%s %s: no responses", m, p);
      /* each {name} in the path is a declared, required path parameter */
      for(const char *b = strchr(p, '{'); b; b = strchr(b + 1, '{')) {
        const char *e = strchr(b, '}');
        assert_non_null(e);
        bool declared = false;
        size_t i;
        json_t *prm;
        json_array_foreach(json_object_get(op, "parameters"), i, prm) {
          const char *nm = json_string_value(json_object_get(prm, "name"));
          if(nm && strlen(nm) == (size_t)(e - b - 1) && !strncmp(nm, b + 1, (size_t)(e - b - 1)) &&
             !strcmp(json_string_value(json_object_get(prm, "in")), "path") && json_is_true(json_object_get(prm, "required")))
            declared = true;
        }
        if(!declared) fail_msg("%s %s: path parameter %.*s not declared", m, p, (int)(e - b - 1), b + 1);
      }
    }
  }
  json_decref(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_route_documented), cmocka_unit_test(test_operations_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
