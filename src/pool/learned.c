/* learned — learned limits in the store; contract in learned.h. */
#include "pool/learned.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define UPSERT "INSERT INTO learned_limits (key_hash, model, rpm, tpm, rpd, updated_at) VALUES (?, ?, ?, ?, ?, ?)" \
               " ON CONFLICT (key_hash, model) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm," \
               " rpd = excluded.rpd, updated_at = excluded.updated_at"

static void save_work(store_conn *c, void *arg)
{
  kp_learned *r = arg;
  if(store_do(c, UPSERT, "ttiiii", r->key_hash, r->model, r->rpm, r->tpm, r->rpd, r->updated_at) < 0)
    log_warn("learned limits: cannot store the limit of model %s: %s", r->model, store_error(c));
}

static void save_free(void *arg) { free(arg); }

void learned_save(store *s, struct event_base *base, const kp_learned *row)
{
  kp_learned *r = malloc(sizeof *r);
  if(r) *r = *row;
  if(!r || !store_submit(s, base, save_work, save_free, save_free, r)) {
    log_warn("learned limits: the store is busy; the limit learned for model %s is kept in memory only", row->model);
    free(r);
  }
}

int learned_load(keypool *kp, store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT key_hash, model, rpm, tpm, rpd, updated_at FROM learned_limits");
  if(!st) return -1;
  int applied = 0;
  size_t nstale = 0, capstale = 0;
  char (*stale)[65] = NULL;                    /* hashes of keys no longer in the pool */
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    kp_learned r = { .rpm = store_col_int(st, 2), .tpm = store_col_int(st, 3), .rpd = store_col_int(st, 4),
                     .updated_at = store_col_int(st, 5) };
    const char *h = store_col_text(st, 0), *m = store_col_text(st, 1);
    if(!h || !m || strlen(h) != 64) continue;
    memcpy(r.key_hash, h, 65);
    snprintf(r.model, sizeof r.model, "%s", m);
    if(kp_learn_load(kp, &r)) { applied++; continue; }
    if(nstale == capstale) {
      size_t cap = capstale ? capstale * 2 : 16;
      char (*nv)[65] = realloc(stale, cap * sizeof *nv);
      if(!nv) continue;
      stale = nv;
      capstale = cap;
    }
    memcpy(stale[nstale++], h, 65);
  }
  store_reset(st);
  /* A key that is in the pool but whose model row was not applied (the table is full) keeps
   * its row; rows of keys not in the pool go. */
  for(size_t i = 0; rc == STORE_DONE && i < nstale; i++)
    if(!kp_has_key_hash(kp, stale[i])) store_do(c, "DELETE FROM learned_limits WHERE key_hash = ?", "t", stale[i]);
  free(stale);
  return rc == STORE_DONE ? applied : -1;
}
