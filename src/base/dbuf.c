/* dbuf — a growable byte buffer; contract in dbuf.h. */
#include "base/dbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dbuf_add(dbuf *b, const void *p, size_t n)
{
  if(n == 0) return 0;
  if(b->n + n < b->n) return -1;
  if(b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while(cap < b->n + n) {
      if(cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    char *q = realloc(b->p, cap);
    if(!q) return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
  return 0;
}

int dbuf_str(dbuf *b, const char *s)
{
  return dbuf_add(b, s, strlen(s));
}

void dbuf_free(dbuf *b)
{
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
