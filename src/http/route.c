/* route — matching requests against a route table; contract in route.h. */
#include "http/route.h"

#include <stdio.h>
#include <string.h>

static bool path_matches(str want, str path)
{
  bool prefix = want.n && want.p[want.n - 1] == '/';
  return prefix ? path.n > want.n && str_starts(path, want) : str_eq(path, want);
}

/* Appends method to the Allow line being built (no duplicates). */
static void allow_add(char *allow, size_t *n, const char *method)
{
  if(!*n) *n = (size_t)snprintf(allow, ROUTE_ALLOW_CAP, "Allow: %s", method);
  else {
    /* already listed? */
    const char *p = allow + 7;
    size_t len = strlen(method);
    while(p && *p) {
      if(!strncmp(p, method, len) && (p[len] == ',' || p[len] == '\0')) return;
      p = strchr(p, ',');
      if(p) p += 2;
    }
    if(*n < ROUTE_ALLOW_CAP) *n += (size_t)snprintf(allow + *n, ROUTE_ALLOW_CAP - *n, ", %s", method);
  }
}

const route *route_match(const route *table, size_t n, str method, str path, char allow[ROUTE_ALLOW_CAP])
{
  size_t an = 0;
  allow[0] = '\0';
  for(size_t i = 0; i < n; i++) {
    if(!path_matches(str_c(table[i].path), path)) continue;
    if(!strcmp(table[i].method, "*") || str_eq(method, str_c(table[i].method))) return &table[i];
    allow_add(allow, &an, table[i].method);
  }
  if(an) {
    if(an + 3 > ROUTE_ALLOW_CAP) an = ROUTE_ALLOW_CAP - 3;   /* too many methods: cut, but keep the line whole */
    memcpy(allow + an, "\r\n", 3);
  }
  return NULL;
}
