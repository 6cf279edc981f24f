#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "pool/keystore.h"
#include "base/log.h"
#include "pool/recheck.h"
#include "upstream/upstream.h"

static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;

int server_reload_keys(gateway *gw)
{
  pthread_mutex_lock(&keys_lock);
  size_t n = 0;
  int rc = config_read_keys(&gw->cfg);
  if(rc == 0) {
    /* The pool's list: GEMGATE_KEYS / GEMGATE_KEYS_FILE ∪ the enabled keys stored through the
     * admin API (kp_set_keys ignores duplicates). */
    strlist all = { calloc(gw->cfg.keys.n + 1, sizeof(char *)), 0 };
    for(size_t i = 0; all.v && i < gw->cfg.keys.n; i++) all.v[all.n++] = strdup(gw->cfg.keys.v[i]);
    if(gw->keystore) keystore_secrets(gw->keystore, &all);
    n = kp_set_keys(gw->pool, (const char *const *)all.v, all.n);
    strlist_free(&all);
  }
  pthread_mutex_unlock(&keys_lock);
  if(rc) log_error("reload: cannot read %s; keeping the current keys", gw->cfg.keys_file);
  else log_info("reload: %zu upstream keys", n);
  return rc;
}

size_t server_key_count(gateway *gw)
{
  pthread_mutex_lock(&keys_lock);
  size_t n = gw->cfg.keys.n;
  pthread_mutex_unlock(&keys_lock);
  return n;
}

/* A listening socket on host:port with SO_REUSEPORT, so each worker can have its own. */
static int listen_on(const char *spec, int port_override)
{
  char host[256];
  const char *colon = strrchr(spec, ':');
  size_t hl = (size_t)(colon - spec);
  if(hl >= sizeof host) return -1;
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *h = host;
  if(h[0] == '[' && hl > 1 && h[hl - 1] == ']') { h[hl - 1] = '\0'; h++; }
  char port[16];
  if(port_override >= 0) snprintf(port, sizeof port, "%d", port_override);
  else snprintf(port, sizeof port, "%s", colon + 1);
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
  struct addrinfo *ai;
  if(getaddrinfo(*h ? h : NULL, port, &hints, &ai)) return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if(fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if(bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) { close(fd); fd = -1; }
  }
  freeaddrinfo(ai);
  return fd;
}

static int bound_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if(getsockname(fd, (struct sockaddr *)&ss, &len)) return -1;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
  worker *w = arg;
  char ip[64] = "?";
  if(sa->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
  else if(sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  http_accept(w, fd, ip);
}

int64_t server_conns_fit(int64_t nofile, int workers, int64_t want)
{
  if(workers < 1) workers = 1;
  int64_t spare = nofile - SERVER_FD_RESERVE - (int64_t)workers * SERVER_FD_PER_WORKER;
  int64_t fit = spare / 2 / workers;
  if(fit < 1) fit = 1;
  return want < fit ? want : fit;
}

void server_fit_fds(config *cfg)
{
  struct rlimit rl;
  if(getrlimit(RLIMIT_NOFILE, &rl)) return;
  if(rl.rlim_cur < rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if(setrlimit(RLIMIT_NOFILE, &rl)) { log_warn("cannot raise RLIMIT_NOFILE: %s", strerror(errno)); rl.rlim_cur = was; }
    else log_info("RLIMIT_NOFILE raised from %llu to the hard limit %llu", (unsigned long long)was,
                  (unsigned long long)rl.rlim_max);
  }
  int64_t nofile = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT64_MAX / 4 ? INT64_MAX / 4 : (int64_t)rl.rlim_cur;
  int64_t fit = server_conns_fit(nofile, cfg->workers, cfg->max_conns);
  if(fit < cfg->max_conns) {
    log_warn("GEMGATE_MAX_CONNS lowered from %lld to %lld per worker: %lld descriptors (RLIMIT_NOFILE) hold "
             "that many for %d workers, a client and an upstream socket each", (long long)cfg->max_conns,
             (long long)fit, (long long)nofile, cfg->workers);
    cfg->max_conns = fit;
  }
}

/* The listener rested long enough: accept again. */
static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
  worker *w = arg;
  if(w->listener && !w->draining) evconnlistener_enable(w->listener);
}

/* accept failed for a reason other than "try again".  Out of descriptors (or kernel memory):
 * rest the listener for SERVER_ACCEPT_PAUSE_MS, so the loop does not spin on a backlog it
 * cannot take; the clients wait in the backlog meanwhile.  One log line a second at most. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
  worker *w = arg;
  int err = EVUTIL_SOCKET_ERROR();
  bool out = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
  w->accept_failed++;
  if(out) {
    evconnlistener_disable(l);
    struct timeval tv = { 0, SERVER_ACCEPT_PAUSE_MS * 1000 };
    evtimer_add(w->accept_pause, &tv);
  }
  int64_t now = mono_us() / 1000;
  if(now - w->accept_logged_ms < 1000) return;
  log_warn("worker %d: accept failed %lld times since the last report: %s (%zu connections open)%s", w->id,
           w->accept_failed, strerror(err), w->nconns, out ? "; not accepting for 500 ms at a time" : "");
  w->accept_logged_ms = now;
  w->accept_failed = 0;
}

/* Once a second: the pool's periodic work, and the end of a drain. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  worker *w = arg;
  if(w->draining) {
    if(w->nconns == 0 && up_active(w->up) == 0) event_base_loopexit(w->base, NULL);
    return;
  }
  kp_rotation_check(w->gw->pool, now_ms());
  if(w->id == 0) recheck_tick(w->gw->pool, w->up, &w->gw->cfg);
  /* After a burst of connections has gone, give the freed buffers back to the system: glibc
   * keeps them otherwise, and RSS would stay at the burst's peak. */
  if(w->peak_conns >= 256 && w->nconns < w->peak_conns / 4) {
    malloc_trim(0);
    w->peak_conns = w->nconns;
  }
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
  worker *w = arg;
  log_warn("worker %d: drain timeout with %zu connections open; closing them", w->id, w->nconns);
  event_base_loopbreak(w->base);
}

/* Sent from the main thread: stop accepting and finish what is in flight. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
  worker *w = arg;
  w->draining = true;
  if(w->listener) { evconnlistener_free(w->listener); w->listener = NULL; }
  http_drain(w);
  int64_t ms = w->cfg->drain_timeout_ms;
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(w->drain_timer, &tv);
  struct timeval fast = { 0, 50000 };
  event_del(w->tick);
  event_free(w->tick);
  w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
  event_add(w->tick, &fast);
}

static void *worker_main(void *arg)
{
  worker *w = arg;
  pthread_setname_np(pthread_self(), "gg-worker");   /* the bench splits CPU time by thread name */
  event_base_dispatch(w->base);
  return NULL;
}

int server_run(gateway *gw, http_handler handler)
{
  const config *cfg = &gw->cfg;
  evthread_use_pthreads();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);   /* workers inherit the mask; main waits below */

  int n = cfg->workers;
  worker *ws = calloc((size_t)n, sizeof *ws);
  struct event **stop = calloc((size_t)n, sizeof *stop);
  int port = -1;
  for(int i = 0; i < n; i++) {
    worker *w = &ws[i];
    w->id = i;
    w->gw = gw;
    w->cfg = cfg;
    w->handler = handler;
    w->base = event_base_new();
    int fd = listen_on(cfg->listen, port);
    if(fd < 0) { log_error("cannot listen on %s: %s", cfg->listen, strerror(errno)); return 1; }
    if(port < 0) port = bound_port(fd);
    w->listener = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, 0, fd);   /* 0: keep our listen(4096) */
    evconnlistener_set_error_cb(w->listener, on_accept_error);
    w->accept_pause = evtimer_new(w->base, on_accept_resume, w);
    w->accept_logged_ms = -1000;
    w->up = up_new(w->base, cfg);
    w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
    struct timeval sec = { 1, 0 };
    event_add(w->tick, &sec);
    w->drain_timer = evtimer_new(w->base, on_drain_deadline, w);
    stop[i] = event_new(w->base, -1, 0, on_stop, w);
  }
  for(int i = 0; i < n; i++) pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
  char host[256];
  snprintf(host, sizeof host, "%.*s", (int)(strrchr(cfg->listen, ':') - cfg->listen), cfg->listen);
  log_info("gemgate listening on %s:%d (%d workers, %zu upstream keys, upstream %s)", host, port, n,
           server_key_count(gw), cfg->upstream);

  for(;;) {
    int sig;
    sigwait(&sigs, &sig);
    if(sig == SIGHUP) { server_reload_keys(gw); continue; }
    if(sig == SIGUSR1) { log_reopen(); log_info("signal %d: log files reopened", sig); continue; }
    log_info("signal %d: draining (up to %lld ms)", sig, (long long)cfg->drain_timeout_ms);
    break;
  }
  for(int i = 0; i < n; i++) event_active(stop[i], EV_TIMEOUT, 0);
  for(int i = 0; i < n; i++) pthread_join(ws[i].thread, NULL);
  for(int i = 0; i < n; i++) {
    worker *w = &ws[i];
    http_close_all(w);
    up_free(w->up);
    event_free(stop[i]);
    event_free(w->tick);
    event_free(w->drain_timer);
    event_free(w->accept_pause);
    event_base_free(w->base);
  }
  free(stop);
  free(ws);
  curl_global_cleanup();
  log_info("stopped");
  return 0;
}
