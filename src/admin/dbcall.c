/* dbcall — database jobs bound to HTTP requests; contract in dbcall.h. */
#include "admin/dbcall.h"

#include <stdlib.h>

#include "http/server.h"

struct dbcall {
  http_req *r;                /* NULL once the client left */
  void *arg;
  void (*free_arg)(void *);
  store_job *job;             /* the job in flight, if any */
  store_work work;            /* read by the pool thread while the job runs */
  dbcall_reply reply;
  bool orphan;                /* the client left while a job ran: free d when it is dropped */
};

static void dbcall_free(dbcall *d)
{
  if(d->free_arg) d->free_arg(d->arg);
  free(d);
}

/* The client left.  With a job in flight the pool still uses d->arg: free at the drop. */
static void on_abort(http_req *r)
{
  dbcall *d = r->ctx;
  d->r = NULL;
  if(d->job) {
    store_job *j = d->job;
    d->job = NULL;
    d->orphan = true;
    store_cancel(j);
    return;
  }
  dbcall_free(d);
}

static void job_work(store_conn *c, void *arg)
{
  dbcall *d = arg;
  d->work(c, d->arg);
}

static void job_drop(void *arg)
{
  dbcall *d = arg;
  if(d->orphan) dbcall_free(d);
}

static void job_done(void *arg)
{
  dbcall *d = arg;
  d->job = NULL;
  d->reply(d, d->r, d->arg);
}

dbcall *dbcall_new(http_req *r, void *arg, void (*free_arg)(void *))
{
  dbcall *d = calloc(1, sizeof *d);
  if(!d) {
    if(free_arg) free_arg(arg);
    http_error(r, 500, NULL, "out of memory", NULL);
    return NULL;
  }
  d->r = r;
  d->arg = arg;
  d->free_arg = free_arg;
  r->ctx = d;
  r->on_abort = on_abort;
  return d;
}

bool dbcall_run(dbcall *d, store_work work, dbcall_reply reply)
{
  http_req *r = d->r;
  d->work = work;
  d->reply = reply;
  d->job = store_submit(r->w->gw->store, r->w->base, job_work, job_done, job_drop, d);
  if(d->job) return true;
  r->on_abort = NULL;
  if(r->started) http_abort(r);
  else http_error(r, 503, NULL, store_is_down(r->w->gw->store) ? "the database is unreachable: try again"
                                                                : "the database is busy: try again", "Retry-After: 1\r\n");
  dbcall_free(d);
  return false;
}

void dbcall_end(dbcall *d)
{
  /* The request is not touched: once answered, its connection may already serve the next
   * request, or be gone. */
  dbcall_free(d);
}

http_req *dbcall_req(dbcall *d) { return d->r; }

bool dbcall_start(http_req *r, void *arg, void (*free_arg)(void *), store_work work, dbcall_reply reply)
{
  dbcall *d = dbcall_new(r, arg, free_arg);
  return d && dbcall_run(d, work, reply);
}

/* ---- JSON jobs ---- */

typedef struct json_job {
  void *arg;
  void (*free_arg)(void *);
  dbcall_json_fn work;
  int ok_status;
  gg_rc rc;
  json_t *out;
  gg_err err;
} json_job;

static void json_job_free(void *p)
{
  json_job *j = p;
  if(j->free_arg) j->free_arg(j->arg);
  json_decref(j->out);
  free(j);
}

static void json_job_work(store_conn *c, void *arg)
{
  json_job *j = arg;
  j->rc = j->work(c, j->arg, &j->out, &j->err);
  if(j->rc == GG_OK && !j->out) j->rc = GG_NOMEM;
  if(j->rc == GG_DB && store_conn_lost(c)) j->rc = gg_fail(&j->err, GG_BUSY, "the database is unreachable: try again");
}

static void json_job_reply(dbcall *d, http_req *r, void *arg)
{
  json_job *j = arg;
  if(j->rc == GG_OK) {
    http_reply_json(r, j->ok_status, j->out, NULL);
    j->out = NULL;
  } else {
    http_error_rc(r, j->rc, j->err.msg);
  }
  dbcall_end(d);
}

void dbcall_json(http_req *r, void *arg, void (*free_arg)(void *), dbcall_json_fn work, int ok_status)
{
  json_job *j = calloc(1, sizeof *j);
  if(!j) {
    if(free_arg) free_arg(arg);
    http_error_rc(r, GG_NOMEM, NULL);
    return;
  }
  j->arg = arg;
  j->free_arg = free_arg;
  j->work = work;
  j->ok_status = ok_status;
  dbcall_start(r, j, json_job_free, json_job_work, json_job_reply);
}
