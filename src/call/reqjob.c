/* reqjob — store jobs bound to a client request; contract in reqjob.h. */
#include "call/reqjob.h"

#include <stdlib.h>

#include "http/server.h"

struct reqjob {
  http_req *r;                /* NULL once the client left */
  void *arg;
  void (*free_arg)(void *);
  store_job *job;
  store_work work;
  reqjob_reply reply;
  bool orphan;                /* the client left while a job ran: free at the drop */
};

static void job_free(reqjob *j)
{
  if(j->free_arg) j->free_arg(j->arg);
  free(j);
}

static void on_abort(http_req *r)
{
  reqjob *j = r->ctx;
  j->r = NULL;
  if(j->job) {
    store_job *sj = j->job;
    j->job = NULL;
    j->orphan = true;
    store_cancel(sj);
    return;
  }
  job_free(j);
}

static void job_work(store_conn *c, void *arg)
{
  reqjob *j = arg;
  j->work(c, j->arg);
}

static void job_drop(void *arg)
{
  reqjob *j = arg;
  if(j->orphan) job_free(j);
}

static void job_done(void *arg)
{
  reqjob *j = arg;
  j->job = NULL;
  j->reply(j, j->r, j->arg);
}

reqjob *reqjob_new(http_req *r, void *arg, void (*free_arg)(void *))
{
  reqjob *j = calloc(1, sizeof *j);
  if(!j) return NULL;
  j->r = r;
  j->arg = arg;
  j->free_arg = free_arg;
  r->ctx = j;
  r->on_abort = on_abort;
  r->on_drain = NULL;          /* a previous owner's drain handler must not see j */
  return j;
}

bool reqjob_run(reqjob *j, store_work work, reqjob_reply reply)
{
  http_req *r = j->r;
  if(!r->w->gw->store) return false;
  j->work = work;
  j->reply = reply;
  j->job = store_submit(r->w->gw->store, r->w->base, job_work, job_done, job_drop, j);
  return j->job != NULL;
}

void reqjob_end(reqjob *j)
{
  /* r is not touched: once answered, its connection may serve the next request already. */
  job_free(j);
}

void *reqjob_detach(reqjob *j)
{
  void *arg = j->arg;
  if(j->r) { j->r->ctx = NULL; j->r->on_abort = NULL; }
  free(j);
  return arg;
}
