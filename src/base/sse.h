/* sse — reading a Server-Sent Events stream as it arrives: the data of each event, nothing else.
 *
 * A byte state machine over lines (ended by \r\n, \n or \r, so events split on \r\n\r\n, \n\n or
 * \r\r, and a \r\n cut between two pieces is still one line end).  It keeps only the data of the
 * event being read, so memory is bounded by one event (the cap given to sse_init); several data
 * lines of one event are joined by \n; comments, event:, id: and retry: lines are skipped.  The
 * translators of streamed Gemini answers (anthropic/, openai/responses, chat sessions) feed it
 * the upstream bytes in pieces of any size. */
#ifndef GEMGATE_SSE_H
#define GEMGATE_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/dbuf.h"

enum { SSE_OK = 0, SSE_TOO_BIG = -1, SSE_NOMEM = -2 };

/* Called with each complete event's data (not NUL-terminated).  0 goes on; anything else stops
 * the feed, which returns it. */
typedef int (*sse_event_fn)(void *ctx, const char *data, size_t n);

typedef struct sse_reader {
  size_t cap;                   /* largest event data kept */
  int line;
  char field[8];
  size_t flen;
  bool cr;                      /* the last byte was \r: a following \n ends nothing */
  bool in_event;                /* a data line of the current event was seen */
  bool any;                     /* an event was dispatched */
  dbuf data;
} sse_reader;

/* A reader holding at most cap bytes of one event's data. */
void sse_init(sse_reader *r, size_t cap);
/* Read n more bytes, calling fn for each event they complete.  SSE_OK, SSE_TOO_BIG (an event
 * over the cap), SSE_NOMEM, or what fn returned to stop. */
int sse_feed(sse_reader *r, const char *p, size_t n, sse_event_fn fn, void *ctx);
/* The stream ended: an event still unterminated is dispatched as if its blank line came. */
int sse_end(sse_reader *r, sse_event_fn fn, void *ctx);
void sse_free(sse_reader *r);

#endif
