/* fg_state — the process-wide state behind /_fake/...: request counters, per-key modes and the
 * last API request.  Every function is thread-safe (one mutex; the fast path holds it for a
 * couple of hash look-ups and a memcpy). */
#ifndef FG_STATE_H
#define FG_STATE_H

#include "fg_behav.h"
#include "fg_http.h"

/* Prepares the state; call once before any thread starts. */
void fg_state_init(void);
/* Frees everything; call after every thread stopped. */
void fg_state_free(void);

/* Counts one API request (total, by path, by key when key.n > 0) and keeps a copy of it as
 * the last request.  When key.n > 0, sets *b to the key's behaviour (its /_fake/mode override
 * if any) and *key_count to how many requests this key has made, this one included. */
void fg_state_record(const fg_req *req, fg_str key, fg_behav *b, long *key_count);

/* The bodies of the control routes, as malloc'ed NUL-terminated JSON.  *status gets the HTTP
 * status to answer with. */
char *fg_state_stats_json(void);
char *fg_state_last_json(void);
char *fg_state_mode(fg_str body, int *status);
char *fg_state_reset(void);

#endif
