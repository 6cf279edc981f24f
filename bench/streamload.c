/* streamload — the benchmark's streaming client (loopback only).
 *
 * Opens streams (one HTTP/1.1 POST per connection), decodes the response (chunked, Content-Length
 * or close-delimited) and timestamps every stream event as it completes: an SSE event ("\n\n",
 * CRs ignored) or a JSON-array element (a top-level object closing).  Two modes:
 *
 *   latency: --streams N --concurrency C   N streams, at most C at a time; prints JSON with the
 *            time from request written to first event (ttfb_us) and the gaps between
 *            consecutive events of a stream (gap_us), per stream and pooled.
 *            --first-only closes each stream at its first event (many time-to-first-chunk
 *            samples quickly); --stagger-us spaces stream starts so their events interleave.
 *   hold:    --hold-ms MS --rss-pid PID     opens N streams at once (in batches), waits until
 *            every one has delivered an event, then samples VmRSS of PID every 50 ms for MS,
 *            prints the peak and how many streams were in flight, and closes everything.
 *
 * Build: cc -O2 -o streamload streamload.c   (bench/run.sh does it) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum form { SSE, ARRAY };
enum phase { CONNECTING, WRITING, HEAD, BODY, DONE };
enum te { TE_LENGTH, TE_CHUNKED, TE_CLOSE };
enum ck { CK_SIZE, CK_EXT, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_TRAILER, CK_END };

typedef struct conn {
  int fd, id;
  enum phase phase;
  size_t wr_off;
  int64_t t_sent;
  char head[16384];
  size_t head_n;
  int status;
  enum te te;
  int64_t remaining;          /* TE_LENGTH: body bytes left; TE_CHUNKED: bytes left in chunk */
  enum ck ck;
  int trailer_nl;             /* CK_TRAILER: consecutive newlines seen */
  /* event scanner */
  int nl;                     /* SSE: previous significant byte was '\n' */
  int depth, in_str, esc;     /* ARRAY */
  int64_t *ev;                /* event completion times (ns) */
  size_t nev, cap;
  int complete;               /* the response ended properly */
} conn;

static struct {
  const char *host, *path, *body, *out;
  char *hdrs;
  int port, streams, concurrency, hold_ms, rss_pid, batch, timeout_ms, stagger_us, first_only;
  enum form form;
} o = { "127.0.0.1", NULL, "", NULL, NULL, 0, 1, 1, 0, 0, 200, 60000, 0, 0, SSE };

static char *req;
static size_t req_len;
static int ep;
static struct sockaddr_in addr;

/* results */
static int started, finished, ok, errors, status_counts[600], connect_errors, incomplete;
static int64_t *ttfb, *gaps;
static size_t nttfb, ngaps, cap_gaps;
static size_t ev_min = (size_t)-1, ev_max;

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *m)
{
  fprintf(stderr, "streamload: %s\n", m);
  exit(2);
}

static void add_event(conn *c, int64_t t)
{
  if(c->nev == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 128;
    c->ev = realloc(c->ev, c->cap * sizeof *c->ev);
    if(!c->ev) die("out of memory");
  }
  c->ev[c->nev++] = t;
  if(o.first_only) { c->complete = 1; c->phase = DONE; }
}

/* Scans decoded body bytes for event boundaries. */
static void scan(conn *c, const char *p, size_t n, int64_t t)
{
  for(size_t i = 0; i < n && c->phase != DONE; i++) {
    char ch = p[i];
    if(o.form == SSE) {
      if(ch == '\n') {
        if(c->nl) { add_event(c, t); c->nl = 0; }
        else c->nl = 1;
      } else if(ch != '\r') c->nl = 0;
    } else {
      if(c->in_str) {
        if(c->esc) c->esc = 0;
        else if(ch == '\\') c->esc = 1;
        else if(ch == '"') c->in_str = 0;
      } else if(ch == '"') c->in_str = 1;
      else if(ch == '{' || ch == '[') c->depth++;
      else if(ch == '}' || ch == ']') {
        if(ch == '}' && c->depth == 2) add_event(c, t);
        c->depth--;
      }
    }
  }
}

/* Feeds raw body bytes through the transfer decoding. */
static void body(conn *c, const char *p, size_t n, int64_t t)
{
  if(c->te == TE_CLOSE) { scan(c, p, n, t); return; }
  if(c->te == TE_LENGTH) {
    size_t take = n < (size_t)c->remaining ? n : (size_t)c->remaining;
    scan(c, p, take, t);
    c->remaining -= (int64_t)take;
    if(c->remaining == 0) { c->complete = 1; c->phase = DONE; }
    return;
  }
  size_t i = 0;
  while(i < n && c->phase != DONE) {
    char ch = p[i];
    switch(c->ck) {
    case CK_SIZE:
      if((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')) {
        int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
        c->remaining = c->remaining * 16 + d;
      } else if(ch == '\n') {
        c->ck = c->remaining ? CK_DATA : CK_TRAILER;
        c->trailer_nl = 1;
      } else c->ck = CK_EXT;
      i++;
      break;
    case CK_EXT:
      if(ch == '\n') { c->ck = c->remaining ? CK_DATA : CK_TRAILER; c->trailer_nl = 1; }
      i++;
      break;
    case CK_DATA: {
      size_t avail = n - i, take = avail < (size_t)c->remaining ? avail : (size_t)c->remaining;
      scan(c, p + i, take, t);
      c->remaining -= (int64_t)take;
      i += take;
      if(c->remaining == 0) c->ck = CK_DATA_CR;
      break;
    }
    case CK_DATA_CR:
    case CK_DATA_LF:
      if(ch == '\n') { c->ck = CK_SIZE; c->remaining = 0; }
      i++;
      break;
    case CK_TRAILER:
      /* after "0\r\n": either "\r\n" (end) or trailer lines */
      if(ch == '\n') {
        if(c->trailer_nl) { c->complete = 1; c->phase = DONE; }
        c->trailer_nl = 1;
      } else if(ch != '\r') c->trailer_nl = 0;
      i++;
      break;
    case CK_END:
      i++;
      break;
    }
  }
}

/* Parses the response head once complete; returns the offset of the body, 0 if incomplete. */
static size_t parse_head(conn *c)
{
  char *e = memmem(c->head, c->head_n, "\r\n\r\n", 4);
  if(!e) return 0;
  size_t hl = (size_t)(e - c->head) + 4;
  c->status = 0;
  if(c->head_n >= 12 && !memcmp(c->head, "HTTP/1.", 7)) c->status = atoi(c->head + 9);
  c->te = TE_CLOSE;
  for(char *l = memchr(c->head, '\n', hl); l && l < e; l = memchr(l + 1, '\n', (size_t)(e - l))) {
    char *s = l + 1;
    if(!strncasecmp(s, "transfer-encoding:", 18)) {
      char *v = s + 18;
      char *eol = memchr(v, '\r', (size_t)(e - v + 2));
      if(eol && memmem(v, (size_t)(eol - v), "chunked", 7)) c->te = TE_CHUNKED;
    } else if(!strncasecmp(s, "content-length:", 15) && c->te != TE_CHUNKED) {
      c->te = TE_LENGTH;
      c->remaining = atoll(s + 15);
    }
  }
  if(c->te == TE_CHUNKED) { c->remaining = 0; c->ck = CK_SIZE; }
  return hl;
}

static int nconn_open;

static void finish(conn *c)
{
  if(c->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); c->fd = -1; nconn_open--; }
  finished++;
  if(c->status > 0 && c->status < 600) status_counts[c->status]++;
  if(c->status == 200 && c->complete && c->nev > 0) {
    ok++;
    ttfb[nttfb++] = c->ev[0] - c->t_sent;
    for(size_t i = 1; i < c->nev; i++) {
      if(ngaps == cap_gaps) {
        cap_gaps = cap_gaps ? cap_gaps * 2 : 4096;
        gaps = realloc(gaps, cap_gaps * sizeof *gaps);
        if(!gaps) die("out of memory");
      }
      gaps[ngaps++] = c->ev[i] - c->ev[i - 1];
    }
    if(c->nev < ev_min) ev_min = c->nev;
    if(c->nev > ev_max) ev_max = c->nev;
  } else {
    errors++;
    if(c->status == 200) incomplete++;
  }
  free(c->ev);
  c->ev = NULL;
  c->phase = DONE;
}

static void start(conn *c, int id)
{
  memset(c, 0, sizeof *c);
  c->id = id;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(c->fd < 0) die("socket() failed: raise ulimit -n");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  nconn_open++;
  started++;
  c->phase = CONNECTING;
  int r = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
  if(r < 0 && errno != EINPROGRESS) { connect_errors++; finish(c); return; }
  struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void on_event(conn *c, uint32_t evs)
{
  int64_t t = now_ns();
  if(c->phase == CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if(err) { connect_errors++; finish(c); return; }
    c->phase = WRITING;
  }
  if(c->phase == WRITING && (evs & EPOLLOUT)) {
    /* the clock starts before write(): on a shared core the server may run (and answer) before
     * write() returns to us */
    if(c->wr_off == 0) c->t_sent = now_ns();
    ssize_t w = write(c->fd, req + c->wr_off, req_len - c->wr_off);
    if(w < 0 && errno != EAGAIN) { finish(c); return; }
    if(w > 0) c->wr_off += (size_t)w;
    if(c->wr_off == req_len) {
      c->phase = HEAD;
      struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    }
    return;
  }
  if(!(evs & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  char buf[65536];
  for(;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if(n < 0) {
      if(errno == EAGAIN) return;
      finish(c);
      return;
    }
    if(n == 0) {
      if(c->phase == BODY && c->te == TE_CLOSE) c->complete = 1;
      finish(c);
      return;
    }
    const char *p = buf;
    size_t len = (size_t)n;
    if(c->phase == HEAD) {
      size_t room = sizeof c->head - c->head_n;
      size_t take = len < room ? len : room;
      memcpy(c->head + c->head_n, p, take);
      size_t before = c->head_n;
      c->head_n += take;
      size_t hl = parse_head(c);
      if(!hl) {
        if(c->head_n == sizeof c->head) { finish(c); return; }
        continue;
      }
      c->phase = BODY;
      size_t used = hl - before;
      p += used;
      len -= used;
      if(c->te == TE_LENGTH && c->remaining == 0) { c->complete = 1; c->phase = DONE; }
    }
    if(c->phase == BODY && len) body(c, p, len, t);
    if(c->phase == DONE) { finish(c); return; }
  }
}

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
  if(!n) return -1;
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return (double)v[i] / 1000.0;
}

static long rss_kib(int pid)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if(!f) return -1;
  long v = -1;
  while(fgets(line, sizeof line, f))
    if(!strncmp(line, "VmRSS:", 6)) { v = atol(line + 6); break; }
  fclose(f);
  return v;
}

static void print_array(FILE *f, const char *name, int64_t *v, size_t n)
{
  fprintf(f, "\"%s\":[", name);
  for(size_t i = 0; i < n; i++) fprintf(f, "%s%.1f", i ? "," : "", (double)v[i] / 1000.0);
  fprintf(f, "]");
}

static void usage(void)
{
  fputs("usage: streamload --port P --path PATH [--host 127.0.0.1] [-H 'name: value']... [--body JSON]\n"
        "                  [--form sse|array] [--streams N] [--concurrency C] [--timeout-ms MS]\n"
        "                  [--stagger-us US] [--first-only]\n"
        "                  [--hold-ms MS --rss-pid PID [--batch B]] [--out FILE]\n", stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  size_t hcap = 1, hlen = 0;
  o.hdrs = calloc(1, 1);
  for(int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if(!strcmp(a, "--first-only")) { o.first_only = 1; continue; }
    if(i + 1 >= argc) usage();
    const char *v = argv[++i];
    if(!strcmp(a, "--host")) o.host = v;
    else if(!strcmp(a, "--port")) o.port = atoi(v);
    else if(!strcmp(a, "--path")) o.path = v;
    else if(!strcmp(a, "--body")) o.body = v;
    else if(!strcmp(a, "--out")) o.out = v;
    else if(!strcmp(a, "--streams")) o.streams = atoi(v);
    else if(!strcmp(a, "--concurrency")) o.concurrency = atoi(v);
    else if(!strcmp(a, "--hold-ms")) o.hold_ms = atoi(v);
    else if(!strcmp(a, "--rss-pid")) o.rss_pid = atoi(v);
    else if(!strcmp(a, "--batch")) o.batch = atoi(v);
    else if(!strcmp(a, "--timeout-ms")) o.timeout_ms = atoi(v);
    else if(!strcmp(a, "--stagger-us")) o.stagger_us = atoi(v);
    else if(!strcmp(a, "--form")) {
      if(!strcmp(v, "sse")) o.form = SSE;
      else if(!strcmp(v, "array")) o.form = ARRAY;
      else usage();
    } else if(!strcmp(a, "-H")) {
      size_t l = strlen(v);
      hcap = hlen + l + 3;
      o.hdrs = realloc(o.hdrs, hcap);
      memcpy(o.hdrs + hlen, v, l);
      memcpy(o.hdrs + hlen + l, "\r\n", 3);
      hlen += l + 2;
    } else usage();
  }
  if(!o.port || !o.path || o.streams < 1 || o.concurrency < 1) usage();
  if(inet_pton(AF_INET, o.host, &addr.sin_addr) != 1 || (ntohl(addr.sin_addr.s_addr) >> 24) != 127)
    die("only loopback (127.0.0.0/8) targets are allowed");
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)o.port);

  struct rlimit rl;
  if(!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  size_t blen = strlen(o.body);
  req_len = (size_t)snprintf(NULL, 0, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n%s\r\n%s", o.path, o.host, o.port, blen, o.hdrs, o.body);
  req = malloc(req_len + 1);
  snprintf(req, req_len + 1, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
           "Content-Length: %zu\r\n%s\r\n%s", o.path, o.host, o.port, blen, o.hdrs, o.body);

  ep = epoll_create1(EPOLL_CLOEXEC);
  conn *conns = calloc((size_t)o.streams, sizeof *conns);
  ttfb = calloc((size_t)o.streams, sizeof *ttfb);
  if(!conns || !ttfb) die("out of memory");
  int hold = o.hold_ms > 0;
  int limit = hold ? o.streams : o.concurrency;
  int64_t t0 = now_ns(), deadline = t0 + (int64_t)o.timeout_ms * 1000000;
  int64_t batch_t = 0;
  long rss_max = -1, rss_first = -1;
  int inflight_at_peak = 0, holding = 0, inflight_min = o.streams;
  int64_t hold_end = 0, next_sample = 0;
  struct epoll_event evs[512];

  while(finished < o.streams) {
    int64_t t = now_ns();
    /* open more streams: latency mode keeps `limit` busy; hold mode opens in timed batches */
    if(!hold) {
      static int64_t last_start;
      while(started < o.streams && started - finished < limit &&
            (!o.stagger_us || t - last_start >= (int64_t)o.stagger_us * 1000)) {
        start(&conns[started], started);
        last_start = t;
      }
    } else if(started < o.streams && t >= batch_t) {
      for(int k = 0; k < o.batch && started < o.streams; k++) start(&conns[started], started);
      batch_t = t + 20000000; /* 20 ms between batches keeps the targets' accept queues short */
    }
    if(hold) {
      int in_flight = 0;
      for(int k = 0; k < started; k++)
        if(conns[k].phase != DONE && conns[k].nev > 0) in_flight++;
      if(!holding && started == o.streams && in_flight + finished >= o.streams) {
        holding = 1;
        hold_end = t + (int64_t)o.hold_ms * 1000000;
        next_sample = t;
      }
      if(holding && t >= next_sample) {
        long r = o.rss_pid ? rss_kib(o.rss_pid) : -1;
        if(rss_first < 0) rss_first = r;
        if(r > rss_max) { rss_max = r; inflight_at_peak = in_flight; }
        if(in_flight < inflight_min) inflight_min = in_flight;
        next_sample = t + 50000000;
      }
      if(holding && t >= hold_end) break;
    }
    if(t > deadline) break;
    int wait_ms = hold ? 10 : 100;
    if(!hold && o.stagger_us && started < o.streams) wait_ms = 1;
    int n = epoll_wait(ep, evs, 512, wait_ms);
    for(int k = 0; k < n; k++) on_event(evs[k].data.ptr, evs[k].events);
  }
  int64_t elapsed = now_ns() - t0;
  int timed_out = 0;
  for(int k = 0; k < started; k++) {
    conn *c = &conns[k];
    if(c->phase == DONE) continue;
    if(hold && c->status == 200 && c->nev > 0) c->complete = 1; /* held to the end: fine */
    else timed_out++;
    finish(c);
  }

  qsort(ttfb, nttfb, sizeof *ttfb, cmp64);
  int64_t *sorted_gaps = malloc((ngaps ? ngaps : 1) * sizeof *gaps);
  memcpy(sorted_gaps, gaps, ngaps * sizeof *gaps);
  qsort(sorted_gaps, ngaps, sizeof *gaps, cmp64);
  FILE *f = o.out ? fopen(o.out, "w") : stdout;
  if(!f) die("cannot open --out");
  fprintf(f, "{\"mode\":\"%s\",\"streams\":%d,\"ok\":%d,\"errors\":%d,\"connect_errors\":%d,"
          "\"incomplete\":%d,\"timed_out\":%d,\"elapsed_ms\":%.1f,\"events_min\":%zu,\"events_max\":%zu,\"status\":{",
          hold ? "hold" : "latency", o.streams, ok, errors, connect_errors, incomplete, timed_out,
          (double)elapsed / 1e6, ev_min == (size_t)-1 ? 0 : ev_min, ev_max);
  int first = 1;
  for(int s = 0; s < 600; s++)
    if(status_counts[s]) { fprintf(f, "%s\"%d\":%d", first ? "" : ",", s, status_counts[s]); first = 0; }
  fprintf(f, "},");
  if(hold)
    fprintf(f, "\"held\":%s,\"inflight_at_peak\":%d,\"inflight_min\":%d,\"rss_first_kib\":%ld,\"rss_max_kib\":%ld,",
            holding ? "true" : "false", inflight_at_peak, holding ? inflight_min : 0, rss_first, rss_max);
  fprintf(f, "\"ttfb_p50_us\":%.1f,\"ttfb_p99_us\":%.1f,\"gap_p50_us\":%.1f,\"gap_p99_us\":%.1f,",
          pct(ttfb, nttfb, 50), pct(ttfb, nttfb, 99), pct(sorted_gaps, ngaps, 50), pct(sorted_gaps, ngaps, 99));
  print_array(f, "ttfb_us", ttfb, nttfb);
  fputc(',', f);
  print_array(f, "gap_us", sorted_gaps, ngaps);
  fputs("}\n", f);
  if(f != stdout) fclose(f);
  return 0;
}
