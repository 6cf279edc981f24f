/* route — matching a request line against a route table: the generic part of routing (the
 * table itself, which knows every handler, is app/route).
 *
 * An entry matches a path exactly, or, when its path ends in '/', every path that starts with it
 * and has something after the slash (ids follow; the handler parses them).  Its method is one
 * method ("GET") or "*" (any: the handler sorts them out).  The first entry matching both path and
 * method wins; a path that matches only with other methods is a 405, and nothing at all a 404. */
#ifndef GEMGATE_HTTP_ROUTE_H
#define GEMGATE_HTTP_ROUTE_H

#include <stddef.h>

#include "base/util.h"
#include "http/http.h"

typedef struct route {
  const char *method, *path;
  int who;              /* who may call it: the table's own kinds; the matcher ignores it */
  http_handler fn;
} route;

/* Room for "Allow: GET, POST, PUT, PATCH, DELETE\r\n" and then some. */
#define ROUTE_ALLOW_CAP 96

/* The entry of table[0..n) that answers method + path, or NULL.  On NULL, allow holds the 405's
 * header line ("Allow: GET, POST\r\n": the methods of every entry whose path matched, in table
 * order) or "" for a 404. */
const route *route_match(const route *table, size_t n, str method, str path, char allow[ROUTE_ALLOW_CAP]);

#endif
