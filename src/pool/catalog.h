/* catalog — the models the upstream lists (GET /v1beta/models, paged), so the key pool gives
 * state only to real models (keypool.h: per-model state is bounded).  One listing at a time,
 * with a key the pool hands out, when the pool says one is due (kp_catalog_begin): never for a
 * pool that sees only a few model names. */
#ifndef GEMGATE_CATALOG_H
#define GEMGATE_CATALOG_H

#include "base/config.h"
#include "pool/keypool.h"
#include "upstream/upstream.h"

#define CATALOG_PAGES 10            /* pages of 1000 models at most */
#define CATALOG_BODY_MAX (4 << 20)  /* bytes of one page's answer */

/* Start a listing when one is due, on up (a worker's upstream client: it ends on its loop)
 * with cfg's upstream URL, timeout and the key's proxy.  Called with recheck_tick. */
void catalog_tick(keypool *pool, upstream *up, const config *cfg);

/* The model names in one page of a models.list answer (body, len): each "models/x" name as
 * "x", appended to *names (malloc'ed strings; *n of them, growing *cap) up to max names in
 * all; *next: the nextPageToken, malloc'ed, or NULL.  -1 when the body is not such an answer. */
int catalog_parse(const char *body, size_t len, char ***names, size_t *n, size_t *cap, size_t max, char **next);

#endif
