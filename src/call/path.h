/* path — what a client API request names, judged before anything is forwarded: whether its
 * path is canonical, which query parameters stay with the gateway, and the model a call that
 * names it in its body (not its path) names.  Pure functions on the request's bytes, no
 * allocation: the upstream must see the very name the gateway checked (allowed_models, the
 * pool's per-model state, the ledger), so a path Google would read differently is refused,
 * never rewritten. */
#ifndef GEMGATE_PATH_H
#define GEMGATE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Why a client path (still percent-encoded, no query) is refused, or NULL when it is
 * canonical.  Refused: an empty segment ("//", a trailing '/'), a "." or ".." segment, a
 * backslash, a malformed escape, and an escape of a character that could change which
 * segment or name the upstream reads: '/', '\', '.', ':', '%' (so every double encoding,
 * "%252f"), letters, digits, '-', '_', '~' and control bytes.  The message is static. */
const char *path_refusal(str path);

/* True when one query pair ("name" or "name=value", still encoded) must not be forwarded:
 * the client's credential (key, $key, access_token) and the system parameters that move
 * Google's billing or change what the gateway reads from the answer (quotaUser, $userProject,
 * fields/$fields, $ct, $.xgafv, $apiVersion).  The name is compared percent-decoded. */
bool path_query_dropped(str pair);

/* Why a query (still encoded, without '?') is refused, or NULL: an alt / $alt other than json,
 * sse or media — alt=proto answers in protobuf, which the gateway cannot meter. */
const char *path_query_refusal(str query);

/* A top-level string member of a JSON object body ("model" of POST …/cachedContents), for
 * routes that name their model in the body.  1: found, copied into out (cap bytes, NUL-
 * terminated); 0: the body is an object without it; -1: refused — not a JSON object, the
 * member is there twice, not a string, has escapes, or does not fit.  Keys are compared
 * unescaped ("mod\u0065l" is "model", as for Google's parser).  Linear, no allocation. */
int path_body_member(const char *body, size_t len, const char *key, char *out, size_t cap);

#endif
