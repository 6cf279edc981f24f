/* rc — the domain's result type; contract in rc.h. */
#include "base/rc.h"

#include <stdarg.h>
#include <stdio.h>

const char *gg_rc_name(gg_rc rc)
{
  static const char *const names[] = {
    "OK", "NOMEM", "BAD_INPUT", "NOT_FOUND", "CONFLICT", "FORBIDDEN", "LIMITED", "DB", "BUSY",
    "UNAVAILABLE", "INTERNAL",
  };
  return (unsigned)rc < sizeof names / sizeof names[0] ? names[rc] : "INTERNAL";
}

gg_rc gg_fail(gg_err *e, gg_rc rc, const char *fmt, ...)
{
  if(e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return rc;
}
