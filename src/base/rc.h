/* rc — the one result type of the domain (pool, users, ledger, stats, store users).
 *
 * A domain function that can fail returns a gg_rc: GG_OK, or what kind of failure it was.  The
 * domain never speaks HTTP; the route layer maps a gg_rc to a status and a message once per
 * dialect (http_error_rc for Google's shape, the OpenAI route's for OpenAI's).  A function that
 * has more to say than the kind writes a message into a caller-owned gg_err. */
#ifndef GEMGATE_RC_H
#define GEMGATE_RC_H

#include <stddef.h>

typedef enum gg_rc {
  GG_OK = 0,
  GG_NOMEM,          /* out of memory */
  GG_BAD_INPUT,      /* the caller's input is not valid: nothing changed */
  GG_NOT_FOUND,      /* no such thing */
  GG_CONFLICT,       /* it exists already, or its state does not allow the change */
  GG_FORBIDDEN,      /* not allowed for this caller (model not allowed, user disabled) */
  GG_LIMITED,        /* over a quota or a budget */
  GG_DB,             /* the database failed */
  GG_BUSY,           /* a bounded queue is full: try again soon */
  GG_UNAVAILABLE,    /* a needed part is off or not configured */
  GG_INTERNAL        /* a bug or an impossible state */
} gg_rc;

/* A message to go with a failure, for the caller (never a secret). */
typedef struct gg_err { char msg[200]; } gg_err;

/* "OK", "NOMEM", "BAD_INPUT", ... (static). */
const char *gg_rc_name(gg_rc rc);

/* Sets e->msg (printf-style; e may be NULL) and returns rc, so that `return gg_fail(...)` reads. */
gg_rc gg_fail(gg_err *e, gg_rc rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
