/* sse — an incremental Server-Sent Events reader; contract in sse.h. */
#include "base/sse.h"

#include <string.h>

enum { L_FIELD, L_VALUE_START, L_VALUE, L_SKIP };

void sse_init(sse_reader *r, size_t cap)
{
  memset(r, 0, sizeof *r);
  r->cap = cap;
}

void sse_free(sse_reader *r)
{
  dbuf_free(&r->data);
}

static int add_data(sse_reader *r, const char *p, size_t n)
{
  if(r->data.n + n > r->cap) return SSE_TOO_BIG;
  return dbuf_add(&r->data, p, n) ? SSE_NOMEM : SSE_OK;
}

/* A data line begins: several in one event are joined by \n (the SSE rule). */
static int data_line(sse_reader *r)
{
  int rc = r->in_event ? add_data(r, "\n", 1) : SSE_OK;
  r->in_event = true;
  return rc;
}

/* A line ended: a blank one dispatches the event; "data" alone is an empty data line. */
static int line_end(sse_reader *r, sse_event_fn fn, void *ctx)
{
  int rc = SSE_OK;
  if(r->line == L_FIELD && r->flen == 0) {
    if(r->in_event) {
      r->any = true;
      rc = fn(ctx, r->data.p ? r->data.p : "", r->data.n);
    }
    r->in_event = false;
    r->data.n = 0;
  } else if(r->line == L_FIELD && r->flen == 4 && !memcmp(r->field, "data", 4)) rc = data_line(r);
  r->line = L_FIELD;
  r->flen = 0;
  return rc;
}

/* A byte of a line's field name; ':' ends it. */
static int field_byte(sse_reader *r, char ch)
{
  if(ch != ':') {
    if(r->flen < sizeof r->field) r->field[r->flen++] = ch;
    else r->line = L_SKIP;                  /* longer than any field we read */
    return SSE_OK;
  }
  if(r->flen == 4 && !memcmp(r->field, "data", 4)) {
    r->line = L_VALUE_START;
    return data_line(r);
  }
  r->line = L_SKIP;                         /* comments, event:, id:, retry: */
  return SSE_OK;
}

int sse_feed(sse_reader *r, const char *p, size_t n, sse_event_fn fn, void *ctx)
{
  const char *end = p + n;
  int rc;
  while(p < end) {
    char ch = *p;
    if(r->cr && ch == '\n') { r->cr = false; p++; continue; }
    r->cr = false;
    if(ch == '\r' || ch == '\n') {
      r->cr = ch == '\r';
      p++;
      if((rc = line_end(r, fn, ctx))) return rc;
      continue;
    }
    if(r->line == L_FIELD) {
      if((rc = field_byte(r, *p++))) return rc;
      continue;
    }
    if(r->line == L_VALUE_START) {
      r->line = L_VALUE;
      if(ch == ' ') { p++; continue; }
    }
    /* The rest of the line in one go: up to the next line end. */
    const char *q = p;
    while(q < end && *q != '\r' && *q != '\n') q++;
    if(r->line == L_VALUE && (rc = add_data(r, p, (size_t)(q - p)))) return rc;
    p = q;
  }
  return SSE_OK;
}

int sse_end(sse_reader *r, sse_event_fn fn, void *ctx)
{
  int rc;
  if((r->line != L_FIELD || r->flen) && (rc = line_end(r, fn, ctx))) return rc;
  if(r->in_event && (rc = line_end(r, fn, ctx))) return rc;
  return SSE_OK;
}
