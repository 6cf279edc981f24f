/* rshare — the state several gemgate instances share through Redis (issue 11, GEMGATE_REDIS).
 *
 * One thread of its own runs an event loop with two hiredis async connections: one for
 * commands, one subscribed to the instances' channel.  What it shares:
 *  - the key pool's marks (kp_mark: per key × model cooldowns with their reason, invalid,
 *    disabled, suspect, cleared): each local mark is written to one Redis hash and published in
 *    one Lua script (atomic); every other instance applies it to its own pool from the message,
 *    so choosing a key stays local and costs no round trip;
 *  - notices that settings or the key list changed (rshare_publish): the other instances run
 *    the on_change callback, which reloads them from the shared database.
 * Hand-off: other threads only queue (a bounded list under a mutex, then event_active), so a
 * worker loop never waits on Redis.
 *
 * Redis down (refused, closed, or a PING unanswered for 2 s): the gateway keeps its local state,
 * logs one line, rshare_up says false; reconnection is retried with a bounded backoff (200 ms
 * doubling to 5 s).  Back up: resubscribe, read the marks others left (applied), push every
 * live local mark, publish a change notice and run on_change locally (whatever changed while
 * apart is picked up from the database), and log one line. */
#ifndef GEMGATE_RSHARE_H
#define GEMGATE_RSHARE_H

#include <stdbool.h>
#include <jansson.h>

#include "pool/keypool.h"

typedef struct rshare rshare;
struct event_base;

typedef enum { RSHARE_SETTINGS, RSHARE_KEYS, RSHARE_USERS } rshare_topic;

/* Runs on rshare's own thread (its loop is rshare_base) when another instance published t, or
 * once per topic after a reconnection.  Must not block that loop (hand work to the store). */
typedef void (*rshare_change_fn)(void *ctx, rshare_topic t);

/* Starts sharing kp's marks through the Redis at url (redis://[:password@]host[:port][/db]);
 * the pool's observer is set.  Connecting goes on in the background: a Redis that is not there
 * yet is not an error.  NULL with a message in err for a bad URL or no memory. */
rshare *rshare_start(const char *url, keypool *kp, rshare_change_fn on_change, void *ctx,
                     char *err, size_t errcap);

/* Stops the thread, closes the connections, takes the pool's observer away.  NULL is fine. */
void rshare_stop(rshare *r);

/* From any thread: connected and subscribed now (false for NULL). */
bool rshare_up(rshare *r);

/* From any thread: tell the other instances that t changed (dropped while Redis is down: the
 * reconnection's reload covers it). */
void rshare_publish(rshare *r, rshare_topic t);

/* ---- per-user RPM/TPM/RPD windows, shared ----
 *
 * One Lua script checks and counts a user's three windows in one round trip: verdict 0
 * admitted (and counted), 1 over RPM, 2 over RPD, 3 over TPM (retry_ms: when to try again), -1
 * no answer (Redis went away meanwhile: the caller decides locally).  fn runs once on base's
 * loop (the caller's worker), unless rshare_wait_cancel came first (on that loop). */
typedef struct rshare_wait rshare_wait;
typedef void (*rshare_verdict_fn)(void *arg, int verdict, int64_t retry_ms);

/* From a worker loop: NULL when Redis is down (or no memory): decide locally, nothing pending. */
rshare_wait *rshare_user_check(rshare *r, struct event_base *base, int64_t user_id, int64_t rpm, int64_t tpm,
                               int64_t rpd, int64_t now, rshare_verdict_fn fn, void *arg);
void rshare_wait_cancel(rshare_wait *w);

/* A finished call's tokens into the user's TPM window (fire and forget; nothing when down). */
void rshare_user_tokens(rshare *r, int64_t user_id, int64_t tokens, int64_t now);

/* ---- resource owners ----
 * Each resource this instance records (owners_put/owners_remove: a file, a cache … and its key
 * and user) is published; the others record it in memory (PostgreSQL, shared, is its durable
 * home, written by the instance that created it), so a call naming it through any instance goes
 * to the key that owns it.  Call once, before serving. */
struct owners;
void rshare_share_owners(rshare *r, struct owners *o);

/* rshare's loop, for store_submit from on_change. */
struct event_base *rshare_base(rshare *r);

/* {"state":"up"|"down","url"(no password),"instance","marks_sent","marks_received",
 * "notices_received","reconnects","dropped"} (a new reference). */
json_t *rshare_json(rshare *r);

#endif
