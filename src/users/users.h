/* users — users, their access keys and their limits (seeds 000 and 004).
 *
 * The database holds users and keys (a key only as its SHA-256; it is shown once, at creation,
 * and listed by its prefix).  An in-memory cache, loaded at start and updated after each admin
 * change commits, answers the request path: authentication, quota checks and accounting never
 * touch the database.  Counters (requests and tokens in the last minute, today's requests,
 * tokens and cost, this month's cost) live in memory, seeded at start from the ledger and its
 * rollups.  Days and months are UTC.
 *
 * Locking: a rwlock over the maps, a mutex per user for its limits and counters, and an admin
 * mutex serialising changes so the cache always matches the last commit. */
#ifndef GEMGATE_USERS_H
#define GEMGATE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/rc.h"
#include "users/principal.h"

typedef struct users users;
struct store_conn;

#define USERS_MODELS_MAX 1024

typedef struct user_limits {
  int64_t rpm, tpm, rpd;                       /* 0 = unlimited */
  int64_t daily_budget_e4, monthly_budget_e4;  /* USD × 10^4; 0 = unlimited */
  char models[USERS_MODELS_MAX];               /* allowed models, comma separated ("gemini-2.5-*"
                                                  matches by prefix); "" = every model */
} user_limits;

/* What a quota check decided. */
typedef struct quota_verdict {
  int status;                 /* 0 allowed; 429 over a limit; 403 model not allowed / disabled */
  int64_t retry_after_s;      /* for 429: seconds until the limit frees up (≥ 1) */
  int64_t reserved_nanos;     /* allowed: the estimate held against the user's budgets until the
                                 call settles (users_settle) */
  char message[200];          /* for the client, in its API's error shape */
} quota_verdict;

users *users_new(void);
void users_free(users *u);

/* Start-up (main thread, before the loops): load users and keys and seed the counters.  0 / -1. */
int users_load(users *u, struct store_conn *c, int64_t now);

/* ---- the request path: memory only, thread-safe ---- */

/* The access key cred[0..n) → *who (user_id, access_key_id, name, label).  false when unknown,
 * revoked, or its user is disabled. */
bool users_auth(users *u, const char *cred, size_t n, principal *who);

/* May who call model now?  Static keys (user_id 0) have no limits.  An allowed call is counted
 * at once against RPM and requests-per-day (so a burst cannot overshoot); its tokens and cost
 * come later through users_account.  Returns v->status. */
int users_check(users *u, const principal *who, const char *model, int64_t now, quota_verdict *v);

/* users_check for a call estimated to cost at most estimate_nanos (≥ 0).  A user with a daily
 * or monthly budget is checked against spent + the estimates of its calls in flight: spent at
 * or over the budget is a 429 until the period resets; spent + in flight at or over it a 429
 * with Retry-After: 1 (the calls in flight settle soon) — only for a call that may cost something
 * (estimate > 0): a free one cannot overshoot, and must not wait on reservations held for long
 * (a batch's, until a GET sees it finished: call/resbill.h).  An allowed call of a budgeted user
 * holds its estimate (v->reserved_nanos) until users_settle releases it, so concurrent calls
 * cannot overshoot the budget by more than one call's cost. */
int users_check_call(users *u, const principal *who, const char *model, int64_t now, int64_t estimate_nanos,
                     quota_verdict *v);

/* A call ends: release its reservation and account its tokens and cost at time t (the call's
 * start), in one step, so the budget never sees the call counted twice or not at all.  requests:
 * 1 for a call users_check never counted (an answer the gateway gave by itself), so today's
 * requests equal the rows. */
void users_settle(users *u, int64_t user_id, int64_t reserved_nanos, int64_t requests, int64_t tokens,
                  int64_t cost_nanos, int64_t t);

/* Another instance changed users or access keys (the shared state's notice): users and keys
 * new in the database are added, the limits, names, disabled flags and revocations of known
 * ones taken; counters stay.  0, or -1 (what was read so far is kept). */
int users_refresh(users *u, struct store_conn *c, int64_t now);

/* The user's rpm, tpm and rpd (0: unlimited) for the shared windows (shared/rshare.h); true
 * when any is set (0 and unknown users: false, all zero). */
bool users_rates_of(users *u, int64_t user_id, int64_t *rpm, int64_t *tpm, int64_t *rpd);

/* Whether the user has a daily or monthly budget (0 and unknown users: false). */
bool users_budgeted(users *u, int64_t user_id);

/* A finished call's tokens and cost, at time t (users_settle without a reservation). */
void users_account(users *u, int64_t user_id, int64_t tokens, int64_t cost_nanos, int64_t t);

/* The in-memory counters of one user, for reconciliation: today's requests (day: utc_day),
 * tokens, cost, this month's cost (month: its first ms) and the estimates in flight.  false
 * for an unknown user. */
typedef struct users_counters { int64_t day, day_requests, day_tokens, day_cost, month, month_cost, reserved, in_flight; } users_counters;
bool users_counters_of(users *u, int64_t user_id, int64_t now, users_counters *out);
/* The ids of every user (malloc'ed, caller frees), *n of them. */
int64_t *users_ids(users *u, size_t *n);

/* ---- admin changes: on a store pool thread ---- */

/* Each returns GG_OK and sets *out to the JSON answer (a new reference), or GG_NOT_FOUND
 * (unknown user, or key of that user) or GG_DB, with the message for the client in e. */
gg_rc users_create(users *u, struct store_conn *c, const char *name, const user_limits *lim, const char *key_name, json_t **out, gg_err *e);
gg_rc users_add_key(users *u, struct store_conn *c, int64_t user_id, const char *key_name, json_t **out, gg_err *e);
/* Changes the limits present in `have` (bits: USERS_F_*), and the name when name != NULL. */
gg_rc users_update(users *u, struct store_conn *c, int64_t user_id, const char *name, const user_limits *lim, int have, json_t **out, gg_err *e);
gg_rc users_set_disabled(users *u, struct store_conn *c, int64_t user_id, bool disabled, json_t **out, gg_err *e);
gg_rc users_revoke_key(users *u, struct store_conn *c, int64_t user_id, int64_t key_id, json_t **out, gg_err *e);

enum { USERS_F_RPM = 1, USERS_F_TPM = 2, USERS_F_RPD = 4, USERS_F_DAILY = 8, USERS_F_MONTHLY = 16, USERS_F_MODELS = 32 };

/* ---- views (memory only) ---- */

/* One user (404 → NULL) or all users, with limits, keys (prefix only) and current usage. */
json_t *users_json(users *u, int64_t user_id, int64_t now);
json_t *users_list_json(users *u, int64_t now);
/* Whether the user exists; its name into name (cap bytes). */
bool users_exists(users *u, int64_t user_id, char *name, size_t cap);
/* Counts for /admin/stats: users, enabled users, live keys. */
void users_counts(users *u, int64_t *nusers, int64_t *nenabled, int64_t *nkeys);

/* True when model is allowed by the comma separated list (empty list: every model). */
bool users_model_allowed(const char *list, const char *model);

#endif
