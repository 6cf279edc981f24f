/* signin — the web UI's sign-in (http/session.h) and tickets for live logs.
 *
 * POST /admin/session {"token"} signs in: 201 with Set-Cookie (HttpOnly, SameSite=Strict) and
 * {"signed_in", "csrf", "ticket", "ticket_expires_in", "expires_in"}; a wrong token is 401.
 * POST /admin/session without a token, by a caller already admitted (Bearer, or the cookie with
 * X-CSRF-Token), answers a fresh ticket: {"ticket", "ticket_expires_in"}.
 * GET /admin/session → {"signed_in": bool, "csrf"?} for the cookie sent.
 * DELETE /admin/session (cookie + X-CSRF-Token) signs out: the session ends, the cookie is
 * cleared → {"signed_in": false}. */
#ifndef GEMGATE_SIGNIN_H
#define GEMGATE_SIGNIN_H

#include "http/http.h"

void signin_route(http_req *r);      /* /admin/session, every method */

#endif
