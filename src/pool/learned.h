/* learned — the limits the pool learned from Google's QuotaFailure answers, kept in the store
 * (table learned_limits: one row per (key hash, model), never the secret) so a restart does
 * not forget them.
 *
 * Writes go through the store's pool (store_submit) from the event loop that saw the 429:
 * they are rare (only when a quotaValue differs from what was known), and the loop never
 * touches the database.  Loading runs once at start, on the start-up thread. */
#ifndef GEMGATE_LEARNED_H
#define GEMGATE_LEARNED_H

#include "pool/keypool.h"
#include "store/store.h"

struct event_base;

/* Queue an upsert of row (copied) on s's pool, from the loop of base.  When the queue is full
 * the row is dropped with a warning: the next such 429 teaches it again only if its value
 * changes, so it is also logged. */
void learned_save(store *s, struct event_base *base, const kp_learned *row);

/* Start-up: apply every stored row to kp (kp_learn_load) and delete the rows of keys no longer
 * in the pool (the table holds rows only for pairs the pool tracks).  Returns the number
 * applied, or -1 on a database error. */
int learned_load(keypool *kp, store_conn *c);

#endif
