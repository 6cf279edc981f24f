/* testroute — routes for the integration tests only, compiled in test builds
 * (-DGEMGATE_TEST_ROUTES) and answering only when GEMGATE_TEST_HOOKS=1 is in the environment. */
#ifndef GEMGATE_TESTROUTE_H
#define GEMGATE_TESTROUTE_H

#ifdef GEMGATE_TEST_ROUTES
#include "http/http.h"

/* POST /admin/test/ledger {"rows":[{user_id, access_key_id, model, gen_type, endpoint, success,
 * http_status, error, in_tokens, out_tokens, thinking_tokens, cached_tokens, prompt, ip,
 * upstream_key, stream, refused, created_ms}…], "flush": true} — records ledger rows directly
 * (for tests of the statistics before any upstream is involved); with "flush", answers once
 * they are written.  → {"recorded": N, "flushed": bool}.  404 unless GEMGATE_TEST_HOOKS=1. */
void admin_test_ledger(http_req *r);

/* POST /admin/test/log {"n", "level"?} — logs n application lines of ~200 bytes at once (for
 * the live-log tests: a flood without a flood of calls).  → {"logged": n}. */
void admin_test_log(http_req *r);
#endif

#endif
