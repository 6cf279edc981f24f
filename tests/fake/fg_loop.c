/* fg_loop — epoll transport for plain HTTP/1.1. */
#include "fg_loop.h"

#include "fg_api.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 8192              /* minimum free space offered to recv */
#define BUSY_INBUF_MAX (1u << 20)    /* stop reading a busy connection past this much input */
#define BURST_PIECES 16              /* unpaced pieces sent before yielding to other sockets */
#define DRAIN_MS 2000                /* how long a closing connection waits for the peer's FIN */
#define RST_WAIT_MAX 5000            /* 1 ms polls for the send queue to empty before an RST */

/* Where a connection is in its request/reply cycle. */
enum cstate {
    ST_READ,  /* reading / parsing the next request */
    ST_SLOW,  /* timer: slow<MS> before the response head */
    ST_SEND,  /* output queued in iov */
    ST_GAP,   /* timer: pause before the next stream piece */
    ST_HANG,  /* never answering; discarding input until the peer closes */
    ST_DRAIN, /* answered with Connection: close; discarding input until FIN or timer */
    ST_RSTWAIT, /* reset<N>: waiting for the kernel to deliver what was sent, then RST */
    ST_DEAD,  /* closed; freed at the end of the loop iteration */
};

typedef struct conn {
    int fd;
    enum cstate st;
    uint32_t mask;       /* events currently registered with epoll */
    int want_out;        /* the last send hit EAGAIN */
    fg_buf in;           /* raw input */
    size_t in_off;       /* where the current request starts in `in` (compacted lazily so
                            a deep pipeline costs no memmove per request) */
    size_t hint;         /* parser's estimate of the total size the request must reach */
    fg_parser ps;
    fg_reply r;
    int piece;           /* next stream piece to build */
    int burst;           /* unpaced pieces sent since the last yield */
    int rst_polls;       /* ST_RSTWAIT polls so far */
    struct iovec iov[2]; /* pending output */
    int niov;
    uint64_t deadline;   /* timer, µs on CLOCK_MONOTONIC */
    long hidx;           /* index in the timer heap, -1 when no timer */
    struct conn *prev, *next; /* all live connections (for shutdown) */
    struct conn *next_dead;
} conn;

struct fg_loop {
    int ep, lfd, stopfd;
    int stopping;
    uint64_t now;   /* µs, refreshed after every epoll_wait */
    fg_worker w;
    conn **heap;    /* min-heap of connections with a timer, by deadline */
    size_t hlen, hcap;
    conn *conns;    /* live connections */
    conn *dead;     /* closed this iteration, freed after it */
    fg_req req;     /* scratch: the request being handled */
};

/* Sentinels in epoll_event.data.ptr for the two non-connection descriptors. */
static char LISTENER_TAG, STOP_TAG;

/* Monotonic time in µs. */
static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- timer heap ------------------------------------------------------------------------ */

/* Puts c at heap slot i and records the slot in c. */
static void heap_put(fg_loop *l, size_t i, conn *c)
{
    l->heap[i] = c;
    c->hidx = (long)i;
}

/* Moves the entry at i toward the root while it is earlier than its parent. */
static void heap_up(fg_loop *l, size_t i)
{
    conn *c = l->heap[i];
    while (i > 0 && l->heap[(i - 1) / 2]->deadline > c->deadline) {
        heap_put(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_put(l, i, c);
}

/* Moves the entry at i toward the leaves while a child is earlier. */
static void heap_down(fg_loop *l, size_t i)
{
    conn *c = l->heap[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= l->hlen)
            break;
        if (k + 1 < l->hlen && l->heap[k + 1]->deadline < l->heap[k]->deadline)
            k++;
        if (l->heap[k]->deadline >= c->deadline)
            break;
        heap_put(l, i, l->heap[k]);
        i = k;
    }
    heap_put(l, i, c);
}

/* Cancels c's timer, if any. */
static void timer_clear(fg_loop *l, conn *c)
{
    if (c->hidx < 0)
        return;
    size_t i = (size_t)c->hidx;
    c->hidx = -1;
    conn *last = l->heap[--l->hlen];
    if (i == l->hlen)
        return;
    heap_put(l, i, last);
    heap_down(l, i);
    heap_up(l, (size_t)last->hidx);
}

/* (Re)arms c's timer to fire ms milliseconds from now. */
static void timer_set(fg_loop *l, conn *c, int ms)
{
    timer_clear(l, c);
    if (l->hlen == l->hcap) {
        l->hcap = l->hcap ? l->hcap * 2 : 64;
        l->heap = fg_xrealloc(l->heap, l->hcap * sizeof *l->heap);
    }
    /* +1 µs for ms == 0: a yield must not fire again within the same loop_timers pass. */
    c->deadline = l->now + (uint64_t)ms * 1000u + (ms == 0);
    heap_put(l, l->hlen++, c);
    heap_up(l, l->hlen - 1);
}

/* epoll_wait timeout in ms until the earliest timer (rounded up), or -1. */
static int heap_timeout(fg_loop *l)
{
    if (!l->hlen)
        return -1;
    uint64_t now = now_us();
    if (l->heap[0]->deadline <= now)
        return 0;
    uint64_t ms = (l->heap[0]->deadline - now + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* ---- connection lifecycle --------------------------------------------------------------- */

/* Input bytes not yet consumed by a finished request. */
static size_t conn_pending(const conn *c)
{
    return c->in.len - c->in_off;
}

/* Forgets all buffered input (hang, drain, unparsable request). */
static void conn_discard_input(conn *c)
{
    c->in.len = c->in_off = 0;
}

/* Registers the events c needs now: input unless a busy connection has buffered too much,
 * output while a send is blocked. */
static void conn_update_mask(fg_loop *l, conn *c)
{
    if (c->st == ST_DEAD)
        return;
    uint32_t m = 0;
    if (c->st == ST_READ || c->st == ST_HANG || c->st == ST_DRAIN ||
        conn_pending(c) < BUSY_INBUF_MAX)
        m |= EPOLLIN;
    if (c->st == ST_SEND && c->want_out)
        m |= EPOLLOUT;
    if (m == c->mask)
        return;
    struct epoll_event ev = {.events = m, .data.ptr = c};
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->mask = m;
}

/* Closes c; abort = 1 sends RST instead of FIN (SO_LINGER 0).  Memory is freed later so
 * pointers held by the current iteration stay valid. */
static void conn_close(fg_loop *l, conn *c, int abort_conn)
{
    if (c->st == ST_DEAD)
        return;
    if (abort_conn) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    timer_clear(l, c);
    close(c->fd);
    c->fd = -1;
    c->st = ST_DEAD;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next_dead = l->dead;
    l->dead = c;
}

/* Frees a closed connection's memory. */
static void conn_free(conn *c)
{
    buf_free(&c->in);
    fg_reply_free(&c->r);
    free(c);
}

/* Ends a Connection: close reply: FIN our side, then wait for the peer's so unread input
 * does not turn our close into an RST that could destroy the reply in flight. */
static void conn_finish(fg_loop *l, conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->st = ST_DRAIN;
    conn_discard_input(c);
    timer_set(l, c, DRAIN_MS);
}

/* Resets the connection once the kernel has delivered everything written: an RST throws
 * away unsent data, and reset<N> promises the client N whole chunks first. */
static void conn_reset_when_sent(fg_loop *l, conn *c)
{
    int queued = 0;
    if (ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > 0 && c->rst_polls++ < RST_WAIT_MAX) {
        c->st = ST_RSTWAIT;
        timer_set(l, c, 1);
        return;
    }
    conn_close(l, c, 1);
}

/* Queues the next stream piece as the pending output. */
static void conn_queue_piece(conn *c)
{
    fg_api_piece(&c->r, c->piece++);
    c->iov[0] = (struct iovec){c->r.piece.p, c->r.piece.len};
    c->niov = 1;
    c->st = ST_SEND;
}

/* Starts sending the planned reply (after any slow<MS> wait). */
static void conn_begin(fg_loop *l, conn *c)
{
    fg_reply *r = &c->r;
    if (r->reset_now) {
        conn_close(l, c, 1);
        return;
    }
    c->iov[0] = (struct iovec){r->head.p, r->head.len};
    c->niov = 2;
    c->burst = c->rst_polls = 0;
    if (r->stream == FG_STREAM_NONE) {
        fg_str e = fg_reply_entity(r);
        c->iov[1] = (struct iovec){(void *)e.p, e.n};
    } else if (r->reset_after == 0) {
        c->niov = 1; /* reset0: the head alone, then RST */
        c->piece = 0;
    } else {
        /* Head and first piece in one write: the stream starts as soon as it exists. */
        c->piece = 0;
        fg_api_piece(r, c->piece++);
        c->iov[1] = (struct iovec){r->piece.p, r->piece.len};
    }
    c->st = ST_SEND;
}

/* Applies a fresh reply plan: hang, wait, or begin. */
static void conn_start(fg_loop *l, conn *c)
{
    if (c->r.hang) {
        c->st = ST_HANG;
        conn_discard_input(c);
    } else if (c->r.slow_ms > 0) {
        c->st = ST_SLOW;
        timer_set(l, c, c->r.slow_ms);
    } else {
        conn_begin(l, c);
    }
}

/* Decides what follows a fully written output: next piece, pause, reset, close or the next
 * request. */
static void conn_sent(fg_loop *l, conn *c)
{
    fg_reply *r = &c->r;
    if (r->stream != FG_STREAM_NONE && c->piece < r->pieces) {
        if (r->reset_after >= 0 && c->piece >= r->reset_after) {
            conn_reset_when_sent(l, c);
        } else if (r->interval_ms > 0) {
            c->st = ST_GAP;
            timer_set(l, c, r->interval_ms);
        } else if (++c->burst >= BURST_PIECES) {
            /* Unpaced big streams yield so one fast reader cannot starve the loop. */
            c->burst = 0;
            c->st = ST_GAP;
            timer_set(l, c, 0);
        } else {
            conn_queue_piece(c);
        }
        return;
    }
    if (r->close_after)
        conn_finish(l, c);
    else
        c->st = ST_READ;
}

/* Writes pending output.  Returns 1 when all is written, 0 when the socket is full (EPOLLOUT
 * will resume it), -1 when the connection was closed. */
static int conn_flush(fg_loop *l, conn *c)
{
    while (c->niov > 0) {
        struct msghdr mh = {.msg_iov = c->iov, .msg_iovlen = (size_t)c->niov};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->want_out = 1;
                return 0;
            }
            conn_close(l, c, 0);
            return -1;
        }
        size_t left = (size_t)n;
        while (c->niov > 0 && left >= c->iov[0].iov_len) {
            left -= c->iov[0].iov_len;
            c->iov[0] = c->iov[1];
            c->niov--;
        }
        if (c->niov > 0) {
            c->iov[0].iov_base = (char *)c->iov[0].iov_base + left;
            c->iov[0].iov_len -= left;
        }
    }
    c->want_out = 0;
    return 1;
}

/* Marks the first n pending bytes as used (a finished request) and readies the parser for
 * the next one. */
static void conn_consume(conn *c, size_t n)
{
    c->in_off += n;
    if (c->in_off >= c->in.len)
        conn_discard_input(c);
    memset(&c->ps, 0, sizeof c->ps);
    c->hint = 0;
}

/* Parses the next request from the input and plans its reply.  Returns 1 when a reply was
 * planned, 0 when more input is needed. */
static int conn_next_request(fg_loop *l, conn *c)
{
    if (c->ps.head_len == 0 && c->ps.scan == 0)
        c->in_off += fg_http_leading_crlf(c->in.p + c->in_off, conn_pending(c));
    if (!conn_pending(c)) {
        conn_discard_input(c);
        return 0;
    }
    size_t consumed = 0, hint = 0;
    int pr = fg_http_parse(&c->ps, c->in.p + c->in_off, conn_pending(c), &l->req, &consumed,
                           &hint);
    c->in.len -= c->ps.shrink; /* a streamed body's bytes are gone once hashed */
    if (pr == FG_PARSE_MORE) {
        c->hint = hint;
        if (c->ps.want_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->ps.want_continue = 0;
            /* 25 bytes on an idle socket: a short write is not worth tracking. */
            ssize_t w = send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
            (void)w;
        }
        return 0;
    }
    if (pr < 0) {
        fg_api_parse_error(pr, &c->r);
        conn_consume(c, conn_pending(c));
    } else {
        fg_api_handle(&l->w, &l->req, &c->r);
        conn_consume(c, consumed);
    }
    conn_start(l, c);
    return 1;
}

/* Runs c's state machine until it has to wait for input, output space or a timer. */
static void conn_drive(fg_loop *l, conn *c)
{
    for (;;) {
        switch (c->st) {
        case ST_READ:
            if (!conn_next_request(l, c))
                return;
            break;
        case ST_SEND:
            if (conn_flush(l, c) <= 0)
                return;
            conn_sent(l, c);
            break;
        default:
            return;
        }
    }
}

/* Reads what the socket has.  Returns 0 when the connection was closed (EOF or error). */
static int conn_read(fg_loop *l, conn *c)
{
    for (int round = 0; round < 8; round++) {
        if (c->st == ST_HANG || c->st == ST_DRAIN)
            conn_discard_input(c); /* nobody will parse it */
        else if (c->st != ST_READ && conn_pending(c) >= BUSY_INBUF_MAX)
            return 1; /* conn_update_mask stops EPOLLIN until the reply is done */
        if (c->in_off) {
            /* Parser offsets are relative to the request start, so moving it is safe. */
            buf_consume(&c->in, c->in_off);
            c->in_off = 0;
        }
        size_t want = c->hint > c->in.len ? c->hint - c->in.len : READ_CHUNK;
        if (want < READ_CHUNK)
            want = READ_CHUNK;
        if (c->in.cap - c->in.len < READ_CHUNK)
            buf_reserve(&c->in, want);
        size_t space = c->in.cap - c->in.len;
        ssize_t n = recv(c->fd, c->in.p + c->in.len, space, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            if ((size_t)n < space)
                return 1; /* drained the socket */
            continue;
        }
        if (n == 0) {
            conn_close(l, c, 0);
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
        conn_close(l, c, 0);
        return 0;
    }
    return 1;
}

/* Handles epoll events for one connection. */
static void conn_event(fg_loop *l, conn *c, uint32_t ev)
{
    if (c->st == ST_DEAD)
        return;
    if (ev & EPOLLERR) {
        conn_close(l, c, 0);
        return;
    }
    if ((ev & (EPOLLIN | EPOLLHUP)) && !conn_read(l, c))
        return;
    if (c->st == ST_READ || (c->st == ST_SEND && (ev & EPOLLOUT)))
        conn_drive(l, c);
    conn_update_mask(l, c);
}

/* A connection's timer fired: end a wait or a drain. */
static void conn_timer(fg_loop *l, conn *c)
{
    switch (c->st) {
    case ST_SLOW:
        conn_begin(l, c);
        break;
    case ST_GAP:
        conn_queue_piece(c);
        break;
    case ST_DRAIN:
        conn_close(l, c, 0);
        return;
    case ST_RSTWAIT:
        conn_reset_when_sent(l, c);
        return;
    default:
        return;
    }
    conn_drive(l, c);
    conn_update_mask(l, c);
}

/* Accepts pending connections (bounded per wake-up to stay fair to existing ones). */
static void loop_accept(fg_loop *l)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: try again on the next wake-up */
        }
        int one = 1;
        /* Stream pieces are small and paced: each must leave at once. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = fg_xcalloc(1, sizeof *c);
        c->fd = fd;
        c->hidx = -1;
        c->mask = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = l->conns;
        if (l->conns)
            l->conns->prev = c;
        l->conns = c;
    }
}

/* Fires every timer that is due. */
static void loop_timers(fg_loop *l)
{
    while (l->hlen && l->heap[0]->deadline <= l->now) {
        conn *c = l->heap[0];
        timer_clear(l, c);
        conn_timer(l, c);
    }
}

/* Frees the connections closed in this iteration. */
static void loop_reap(fg_loop *l)
{
    while (l->dead) {
        conn *c = l->dead;
        l->dead = c->next_dead;
        conn_free(c);
    }
}

fg_loop *fg_loop_new(unsigned id, int listen_fd, int stop_fd)
{
    fg_loop *l = fg_xcalloc(1, sizeof *l);
    l->lfd = listen_fd;
    l->stopfd = stop_fd;
    l->w.id = id;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &LISTENER_TAG};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &STOP_TAG};
    if (l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0 ||
        epoll_ctl(l->ep, EPOLL_CTL_ADD, stop_fd, &sev) < 0) {
        int e = errno;
        if (l->ep >= 0)
            close(l->ep);
        free(l);
        errno = e;
        return NULL;
    }
    return l;
}

void *fg_loop_run(void *arg)
{
    fg_loop *l = arg;
    struct epoll_event evs[256];
    while (!l->stopping) {
        int n = epoll_wait(l->ep, evs, 256, heap_timeout(l));
        if (n < 0 && errno != EINTR)
            break;
        l->now = now_us();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &LISTENER_TAG)
                loop_accept(l);
            else if (p == &STOP_TAG)
                l->stopping = 1;
            else
                conn_event(l, p, evs[i].events);
        }
        loop_timers(l);
        loop_reap(l);
    }
    return NULL;
}

void fg_loop_free(fg_loop *l)
{
    if (!l)
        return;
    while (l->conns)
        conn_close(l, l->conns, 0);
    loop_reap(l);
    free(l->heap);
    buf_free(&l->w.key);
    close(l->ep);
    free(l);
}
