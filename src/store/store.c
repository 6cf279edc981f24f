/* store — connections with a statement cache, and the pool of database threads that serves the
 * event loops.  Contract in store.h. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/log.h"
#include "base/util.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"

#define STMT_CACHE 64

struct store_stmt {
  store_conn *c;
  void *h;                    /* the backend's statement */
  uint64_t hash;
  char *sql;
  uint64_t used;              /* LRU clock */
  bool bulk;                  /* from store_prepare_bulk */
  bool own;                   /* bulk, with the backend's own bulk ops (be->bulk) */
};

struct store_conn {
  const store_backend *be;
  store *s;
  void *h;
  bool lost;                  /* as last seen (health) */
  store_stmt cache[STMT_CACHE];
  uint64_t clock;
  store_stmt *queued;         /* the own-bulk statement holding rows not yet sent, or NULL */
};

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DELIVERED, JOB_CANCELLED } job_state;

struct store_job {
  store *s;
  store_work work;
  store_done done;
  store_drop drop;
  void *arg;
  struct event *ev;           /* on the submitting loop; NULL once cancelled */
  job_state state;
  store_job *next;
};

struct store {
  const store_backend *be;
  char *target;               /* what the backend opens */
  char *path;                 /* the file, for backups */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job *head, *tail;
  size_t njobs;
  bool closing;
  pthread_t *threads;
  store_conn **conns;         /* one per pool thread, opened by store_open */
  int nthreads;
  bool down;                  /* a connection found the server gone; none has got through since */
  int64_t down_since;
};

/* ---- the database's health (a network database) ---- */

/* Loss and recovery are said once each, for the whole store, however many connections see it. */
static void set_down(store *s, bool down, const char *why)
{
  pthread_mutex_lock(&s->mu);
  bool change = s->down != down;
  int64_t now = now_ms(), since = s->down_since;
  s->down = down;
  if(change && down) {
    s->down_since = now;
    pthread_cond_broadcast(&s->cv);              /* the pool threads start probing */
  }
  pthread_mutex_unlock(&s->mu);
  if(!change) return;
  if(down) {
    size_t n = why ? strcspn(why, "\n") : 0;
    log_error("store: lost the connection to the database (%.*s): calls are still served, ledger rows wait in "
              "memory, admin routes answer 503 until it is back", (int)n, n ? why : "unreachable");
  } else {
    log_warn("store: the database is reachable again after %.1f s", (double)(now - since) / 1000.0);
  }
}

/* After a failure, an exec or a job on c: did its connection go, or come back? */
static void health(store_conn *c)
{
  if(!c->be->lost) return;
  bool lost = c->be->lost(c->h);
  if(lost == c->lost) return;
  c->lost = lost;
  set_down(c->s, lost, c->be->errmsg(c->h));
}

bool store_parallel_writes(const store *s) { return s->be == &store_pg; }

bool store_conn_lost(store_conn *c) { return c->be->lost && c->be->lost(c->h); }

bool store_is_down(store *s)
{
  pthread_mutex_lock(&s->mu);
  bool down = s->down;
  pthread_mutex_unlock(&s->mu);
  return down;
}

/* ---- connections and statements ---- */

store_conn *store_connect(store *s, char *err, size_t errcap)
{
  store_conn *c = calloc(1, sizeof *c);
  if(!c) { snprintf(err, errcap, "out of memory"); return NULL; }
  c->be = s->be;
  c->s = s;
  c->h = s->be->open(s->target, err, errcap);
  if(!c->h) { free(c); return NULL; }
  return c;
}

static void finalize(store_stmt *st)
{
  if(st->c->queued == st) st->c->queued = NULL;
  if(st->own) st->c->be->bulk->finalize(st->h); else st->c->be->finalize(st->h);
}

/* The rows an own-bulk statement holds, sent before anything else runs on c: 0 or -1. */
static int send_queued(store_conn *c)
{
  store_stmt *q = c->queued;
  if(!q) return 0;
  c->queued = NULL;
  return c->be->bulk->flush(q->h);
}

void store_disconnect(store_conn *c)
{
  if(!c) return;
  for(int i = 0; i < STMT_CACHE; i++)
    if(c->cache[i].h) { finalize(&c->cache[i]); free(c->cache[i].sql); }
  c->be->close(c->h);
  free(c);
}

/* The cache key: the length and a sample of the text (a hit is confirmed with strcmp), so the
 * lookup costs the same for long statements as for short ones. */
static uint64_t sql_key(const char *sql)
{
  size_t n = strlen(sql), k = n < 48 ? n : 48;
  uint64_t h = hash64(sql, k) ^ (uint64_t)n * 0x9e3779b97f4a7c15ULL;
  return n > 48 ? h ^ hash64(sql + n - 48, 48) * 31 : h;
}

static store_stmt *prepare_cached(store_conn *c, const char *sql, bool bulk)
{
  uint64_t h = sql_key(sql);
  store_stmt *victim = &c->cache[0];
  for(int i = 0; i < STMT_CACHE; i++) {
    store_stmt *st = &c->cache[i];
    if(st->h && st->hash == h && st->bulk == bulk && !strcmp(st->sql, sql)) { st->used = ++c->clock; return st; }
    if(!st->h) victim = st;
    else if(victim->h && st->used < victim->used) victim = st;
  }
  if(send_queued(c)) return NULL;            /* an eviction must not lose rows */
  void *ph = bulk ? c->be->prepare_bulk(c->h, sql) : c->be->prepare(c->h, sql);
  if(!ph) { log_error("store: cannot prepare: %s", c->be->errmsg(c->h)); return NULL; }
  char *copy = strdup(sql);
  if(!copy) { if(bulk && c->be->bulk) c->be->bulk->finalize(ph); else c->be->finalize(ph); return NULL; }
  if(victim->h) { finalize(victim); free(victim->sql); }
  *victim = (store_stmt){ c, ph, h, copy, ++c->clock, bulk, bulk && c->be->bulk };
  return victim;
}

store_stmt *store_prepare(store_conn *c, const char *sql) { return prepare_cached(c, sql, false); }

store_stmt *store_prepare_bulk(store_conn *c, const char *sql)
{
  return prepare_cached(c, sql, c->be->prepare_bulk != NULL);
}

int store_flush(store_conn *c)
{
  int rc = send_queued(c) || (c->be->flush ? c->be->flush(c->h) : 0) ? -1 : 0;
  if(rc) health(c);
  return rc;
}

void store_bind_int(store_stmt *st, int idx, int64_t v)
{
  if(st->own) st->c->be->bulk->bind_int(st->h, idx, v); else st->c->be->bind_int(st->h, idx, v);
}
void store_bind_text(store_stmt *st, int idx, const char *s)
{
  if(st->own) st->c->be->bulk->bind_text(st->h, idx, s); else st->c->be->bind_text(st->h, idx, s);
}
void store_bind_null(store_stmt *st, int idx)
{
  if(st->own) st->c->be->bulk->bind_null(st->h, idx); else st->c->be->bind_null(st->h, idx);
}
store_rc store_step(store_stmt *st)
{
  store_conn *c = st->c;
  store_rc rc;
  if(st->own) {
    if(c->queued != st && send_queued(c)) return STORE_ERROR;
    c->queued = st;
    rc = c->be->bulk->step(st->h);
  } else {
    rc = send_queued(c) ? STORE_ERROR : c->be->step(st->h);
  }
  if(rc == STORE_ERROR || c->lost) health(c);     /* a loss, or the first success after one */
  return rc;
}
int64_t store_col_int(store_stmt *st, int i) { return st->c->be->col_int(st->h, i); }
const char *store_col_text(store_stmt *st, int i) { return st->c->be->col_text(st->h, i); }
bool store_col_null(store_stmt *st, int i) { return st->c->be->col_null(st->h, i); }
void store_reset(store_stmt *st)
{
  if(st && st->own) st->c->be->bulk->reset(st->h);
  else if(st) st->c->be->reset(st->h);
}

int64_t store_do(store_conn *c, const char *sql, const char *fmt, ...)
{
  store_stmt *st = store_prepare(c, sql);
  if(!st) return -1;
  va_list ap;
  va_start(ap, fmt);
  for(int i = 0; fmt && fmt[i]; i++) {
    if(fmt[i] == 'i') store_bind_int(st, i + 1, va_arg(ap, int64_t));
    else store_bind_text(st, i + 1, va_arg(ap, const char *));
  }
  va_end(ap);
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {}
  store_reset(st);
  if(rc != STORE_DONE) return rc == STORE_CONSTRAINT ? -2 : -1;
  return c->be->changes(c->h);
}

/* Every exec is a point where a lost connection may have come back (the ledger writer's begin). */
static int exec_noted(store_conn *c, const char *sql)
{
  if(c->queued && !strcmp(sql, "ROLLBACK")) {
    c->be->bulk->drop(c->queued->h);
    c->queued = NULL;
  }
  if(send_queued(c)) { health(c); return -1; }
  int rc = c->be->exec(c->h, sql);
  health(c);
  return rc;
}

int store_exec(store_conn *c, const char *sql) { return exec_noted(c, sql); }
int store_begin(store_conn *c) { return exec_noted(c, c->be->begin_sql); }
int store_commit(store_conn *c) { return exec_noted(c, "COMMIT"); }
void store_rollback(store_conn *c) { exec_noted(c, "ROLLBACK"); }
const char *store_error(store_conn *c) { return c->be->errmsg(c->h); }

bool store_transient(store_conn *c)
{
  return store_conn_lost(c) || (c->be->transient && c->be->transient(c->h));
}

void store_lock_wait(store_conn *c, int ms)
{
  if(c->be->lock_wait) c->be->lock_wait(c->h, ms);
}

void store_cache_limit(store_conn *c, int kib)
{
  if(c->be->cache_limit) c->be->cache_limit(c->h, kib);
}

int store_backup(store_conn *c, const char *path, char *err, size_t errcap)
{
  if(!c->be->backup) { snprintf(err, errcap, "backups are not supported by the %s store", c->be->name); return -1; }
  return c->be->backup(c->h, path, err, errcap);
}

/* ---- the pool ---- */

/* On the submitting loop: the job's result is in; run done and free the job. */
static void job_deliver(evutil_socket_t fd, short what, void *arg)
{
  store_job *j = arg;
  event_free(j->ev);
  store_done done = j->done;
  void *a = j->arg;
  free(j);
  done(a);
}

/* Runs one job and hands it back to its loop (or drops it, if cancelled meanwhile). */
static void job_run(store *s, store_conn *c, store_job *j)
{
  j->work(c, j->arg);
  health(c);
  pthread_mutex_lock(&s->mu);
  if(j->state == JOB_CANCELLED || s->closing) {   /* closing: the loop may be gone */
    pthread_mutex_unlock(&s->mu);
    j->drop(j->arg);
    free(j);
    return;
  }
  j->state = JOB_DELIVERED;
  event_active(j->ev, EV_READ, 0);
  pthread_mutex_unlock(&s->mu);
}

typedef struct pool_arg { store *s; store_conn *c; } pool_arg;

static void *pool_main(void *arg)
{
  store *s = ((pool_arg *)arg)->s;
  store_conn *c = ((pool_arg *)arg)->c;
  free(arg);
  pthread_mutex_lock(&s->mu);
  for(;;) {
    while(!s->head && !s->closing) {
      if(!s->down || !c->be->ping) { pthread_cond_wait(&s->cv, &s->mu); continue; }
      /* Down: no job is accepted meanwhile, so the pool threads ask the server once a second. */
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      t.tv_sec += 1;
      if(pthread_cond_timedwait(&s->cv, &s->mu, &t) != ETIMEDOUT || !s->down || s->closing) continue;
      pthread_mutex_unlock(&s->mu);
      bool up = c->be->ping(c->h) == 0;
      health(c);
      if(up) set_down(s, false, NULL);
      pthread_mutex_lock(&s->mu);
    }
    if(!s->head) break;
    store_job *j = s->head;
    s->head = j->next;
    if(!s->head) s->tail = NULL;
    s->njobs--;
    if(j->state == JOB_CANCELLED) {
      pthread_mutex_unlock(&s->mu);
      j->drop(j->arg);
      free(j);
      pthread_mutex_lock(&s->mu);
      continue;
    }
    j->state = JOB_RUNNING;
    pthread_mutex_unlock(&s->mu);
    job_run(s, c, j);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

store_job *store_submit(store *s, struct event_base *base, store_work work, store_done done,
                        store_drop drop, void *arg)
{
  store_job *j = calloc(1, sizeof *j);
  if(!j) return NULL;
  *j = (store_job){ s, work, done, drop, arg, NULL, JOB_QUEUED, NULL };
  j->ev = event_new(base, -1, 0, job_deliver, j);
  if(!j->ev) { free(j); return NULL; }
  pthread_mutex_lock(&s->mu);
  if(s->closing || s->down || s->njobs >= STORE_MAX_JOBS) {
    pthread_mutex_unlock(&s->mu);
    event_free(j->ev);
    free(j);
    return NULL;
  }
  if(s->tail) s->tail->next = j; else s->head = j;
  s->tail = j;
  s->njobs++;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return j;
}

void store_cancel(store_job *j)
{
  store *s = j->s;
  pthread_mutex_lock(&s->mu);
  event_free(j->ev);                  /* also takes it off the loop's active queue */
  j->ev = NULL;
  if(j->state == JOB_DELIVERED) {     /* finished and waiting for the loop: ours to drop */
    pthread_mutex_unlock(&s->mu);
    j->drop(j->arg);
    free(j);
    return;
  }
  j->state = JOB_CANCELLED;           /* the pool drops it when it gets to it */
  pthread_mutex_unlock(&s->mu);
}

/* "sqlite:path", "file:path" or a bare path → the SQLite file. */
static const char *sqlite_target(const char *url)
{
  if(!strncmp(url, "sqlite://", 9)) return url + 9;
  if(!strncmp(url, "sqlite:", 7)) return url + 7;
  return url;
}

static bool is_pg(const char *url)
{
  return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

void store_url_redact(const char *url, char *out, size_t cap)
{
  const char *at = is_pg(url) ? strchr(url, '@') : NULL, *colon = NULL;
  if(at) {
    const char *user = strstr(url, "://") + 3;
    colon = memchr(user, ':', (size_t)(at - user));
  }
  char tmp[1024];
  if(colon) snprintf(tmp, sizeof tmp, "%.*s:***%s", (int)(colon - url), url, at);
  else snprintf(tmp, sizeof tmp, "%s", url);
  /* A password in the parameters (?password=...) goes too. */
  char *pw = is_pg(url) ? strstr(tmp, "password=") : NULL;
  if(pw) snprintf(out, cap, "%.*s***%s", (int)(pw + 9 - tmp), tmp, pw + 9 + strcspn(pw + 9, "&"));
  else snprintf(out, cap, "%s", tmp);
}

store *store_open(const char *url, int threads, char *err, size_t errcap)
{
  if(!url || !*url) { snprintf(err, errcap, "GEMGATE_DB is empty"); return NULL; }
  store *s = calloc(1, sizeof *s);
  if(!s) { snprintf(err, errcap, "out of memory"); return NULL; }
  s->be = is_pg(url) ? &store_pg : &store_sqlite;
  s->target = strdup(is_pg(url) ? url : sqlite_target(url));
  s->path = strdup(is_pg(url) ? "" : s->target);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  store_conn *c = store_connect(s, err, errcap);
  if(!c || s->be->migrate(c->h, err, errcap)) {
    store_disconnect(c);
    free(s->target); free(s->path); free(s);
    return NULL;
  }
  store_disconnect(c);
  /* The pool's connections are opened here, so a database that cannot be reached fails the
   * start rather than every later query. */
  s->nthreads = threads > 0 ? threads : 1;
  s->threads = calloc((size_t)s->nthreads, sizeof *s->threads);
  s->conns = calloc((size_t)s->nthreads, sizeof *s->conns);
  for(int i = 0; i < s->nthreads; i++)
    if(!(s->conns[i] = store_connect(s, err, errcap))) {
      for(int k = 0; k < i; k++) store_disconnect(s->conns[k]);
      free(s->conns); free(s->threads); free(s->target); free(s->path); free(s);
      return NULL;
    }
  for(int i = 0; i < s->nthreads; i++) {
    pool_arg *pa = malloc(sizeof *pa);
    *pa = (pool_arg){ s, s->conns[i] };
    pthread_create(&s->threads[i], NULL, pool_main, pa);
  }
  return s;
}

const char *store_path(const store *s) { return s->path; }

void store_close(store *s)
{
  if(!s) return;
  pthread_mutex_lock(&s->mu);
  s->closing = true;
  /* The loops are gone (and their bases freed): whatever is still queued can only be dropped,
   * and its event is left alone rather than freed against a dead base. */
  for(store_job *j = s->head; j; j = j->next) { j->ev = NULL; j->state = JOB_CANCELLED; }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  for(int i = 0; i < s->nthreads; i++) {
    pthread_join(s->threads[i], NULL);
    store_disconnect(s->conns[i]);
  }
  free(s->conns);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->threads);
  free(s->target);
  free(s->path);
  free(s);
}
