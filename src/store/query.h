/* query — turning a statistics route's user input into SQL safely, without HTTP.
 *
 * Reading: parameters come from a raw query string ("period=week&model=gemini-2.5-flash", the
 * part after '?', still percent-encoded); each reader percent-decodes and checks its value and
 * refuses an unusable one with GG_BAD_INPUT and a message for a 400.
 *
 * Building: a query_where collects " AND <fixed text with ?>" conditions and their values; the
 * values are only ever bound as parameters (query_bind), never spliced into the SQL text, so
 * nothing a caller sends can change what the statement does. */
#ifndef GEMGATE_QUERY_H
#define GEMGATE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/util.h"
#include "store/store.h"

typedef enum { PERIOD_TODAY, PERIOD_WEEK, PERIOD_MONTH, PERIOD_ALL } period;

/* Parameter name of qs, percent-decoded ('+' is a space) into out (cap bytes).  GG_OK with
 * *present saying whether it was given; GG_BAD_INPUT when too long, badly encoded or holding a
 * NUL. */
gg_rc query_str(str qs, const char *name, char *out, size_t cap, bool *present, gg_err *e);

/* period=today|week|month|all (def when absent); GG_BAD_INPUT on anything else. */
gg_rc query_period(str qs, period def, period *out, gg_err *e);
const char *period_name(period p);   /* "today", "week", ... (static) */
/* The first UTC day (utc_day) a period covers at now: today; the 7 / 30 days ending today;
 * all → INT64_MIN. */
int64_t period_first_day(period p, int64_t now);

/* A whole number in [lo, hi]; *out = def when absent.  GG_BAD_INPUT otherwise. */
gg_rc query_int(str qs, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out, gg_err *e);

/* A label (model, generation type, masked key): letters, digits and . _ - : @ … (the masking
 * ellipsis), up to cap-1 bytes.  "all" (or absent) → "" (no filter).  GG_BAD_INPUT otherwise. */
gg_rc query_label(str qs, const char *name, char *out, size_t cap, gg_err *e);

/* A time: ISO 8601 or seconds since the epoch (utc_parse), as ms.  *present says whether it was
 * given.  GG_BAD_INPUT when given and not a time. */
gg_rc query_time(str qs, const char *name, int64_t *out, bool *present, gg_err *e);

/* ---- WHERE clauses with bound values ---- */

#define QUERY_MAX_ARGS 16

typedef struct query_arg { const char *text; int64_t i; } query_arg;   /* text NULL: the integer */

typedef struct query_where {
  char sql[512];                    /* " WHERE 1 = 1 AND ..." */
  size_t n;
  query_arg arg[QUERY_MAX_ARGS];    /* in the order of the ?s */
  int nargs;
  bool full;                        /* sql or arg overflowed: do not run it */
} query_where;

void query_where_init(query_where *w);
/* Appends fixed SQL text (a literal of the caller's, never input) holding n ?s; the n values
 * follow with query_arg_int / query_arg_text. */
void query_and(query_where *w, const char *sql);
void query_arg_int(query_where *w, int64_t v);
void query_arg_text(query_where *w, const char *v);           /* borrowed until query_bind */
/* The common case: one condition, one value. */
void query_and_int(query_where *w, const char *sql, int64_t v);
void query_and_text(query_where *w, const char *sql, const char *v);

/* Binds w's values to st from parameter index first (1-based); returns the next free index. */
int query_bind(const query_where *w, store_stmt *st, int first);

#endif
