/* fg_tls — HTTPS with OpenSSL, one blocking thread per connection. */
#include "fg_tls.h"

#include "fg_api.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* One live TLS connection, on the fg_tls registry so fg_tls_stop can abort it. */
typedef struct tconn {
    fg_tls *t;
    int fd;
    SSL *ssl;
    fg_worker w;
    fg_buf in;
    fg_parser ps;
    fg_reply r;
    fg_req req;
    struct tconn *prev, *next;
} tconn;

struct fg_tls {
    SSL_CTX *ctx;
    int stopfd;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* signalled when a connection thread ends */
    tconn *live;
    int nlive;
    int stopping;
    unsigned next_id;    /* worker ids for responseIds */
};

fg_tls *fg_tls_new(const char *cert_file, const char *key_file, int stop_fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "fakegemini: cannot load TLS cert/key: ");
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    fg_tls *t = fg_xcalloc(1, sizeof *t);
    t->ctx = ctx;
    t->stopfd = stop_fd;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    return t;
}

/* Sleeps ms milliseconds; returns 0 early when the server is stopping. */
static int tls_sleep(tconn *c, int ms)
{
    struct pollfd p = {.fd = c->t->stopfd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

/* Writes all of p[0..n); returns 0 on failure. */
static int tls_write(tconn *c, const void *p, size_t n)
{
    if (n == 0)
        return 1;
    size_t done = 0;
    return SSL_write_ex(c->ssl, p, n, &done) == 1 && done == n;
}

/* Writes a and b as one TLS write, so a head and its first piece arrive together. */
static int tls_write2(tconn *c, fg_str a, fg_str b)
{
    fg_buf *j = &c->r.tmp;
    j->len = 0;
    buf_add(j, a.p, a.n);
    buf_add(j, b.p, b.n);
    return tls_write(c, j->p, j->len);
}

/* Arms an RST for the coming close (no close_notify), after waiting (bounded) for the
 * kernel to deliver what was written: an RST throws away unsent data. */
static void tls_rst(tconn *c)
{
    int queued = 0;
    for (int i = 0; i < 5000 && ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > 0; i++)
        if (!tls_sleep(c, 1))
            break;
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Reads more input into c->in; returns 0 on EOF or error. */
static int tls_read_more(tconn *c, size_t hint)
{
    size_t want = hint > c->in.len ? hint - c->in.len : 8192;
    buf_reserve(&c->in, want < 8192 ? 8192 : want);
    size_t got = 0;
    if (SSL_read_ex(c->ssl, c->in.p + c->in.len, c->in.cap - c->in.len, &got) != 1)
        return 0;
    c->in.len += got;
    return 1;
}

/* Sends a stream.  Returns 1 when complete, 0 when the connection must end (error, reset,
 * stop); *reset reports that it ended with an RST. */
static int tls_send_stream(tconn *c, int *reset)
{
    fg_reply *r = &c->r;
    fg_str head = {r->head.p, r->head.len};
    if (r->reset_after == 0) {
        tls_write(c, head.p, head.n);
        *reset = 1;
        return 0;
    }
    fg_api_piece(r, 0);
    if (!tls_write2(c, head, (fg_str){r->piece.p, r->piece.len}))
        return 0;
    for (int i = 1; i < r->pieces; i++) {
        if (r->reset_after >= 0 && i >= r->reset_after) {
            *reset = 1;
            return 0;
        }
        if (r->interval_ms > 0 && !tls_sleep(c, r->interval_ms))
            return 0;
        fg_api_piece(r, i);
        if (!tls_write(c, r->piece.p, r->piece.len))
            return 0;
    }
    return 1;
}

/* Carries out the reply plan in c->r.  Returns 1 to keep serving the connection, 0 to end
 * it; *reset asks for an RST instead of a clean close. */
static int tls_execute(tconn *c, int *reset)
{
    fg_reply *r = &c->r;
    if (r->hang) {
        while (tls_read_more(c, 0))
            c->in.len = 0; /* keep reading, never answer, until the peer goes */
        return 0;
    }
    if (r->slow_ms > 0 && !tls_sleep(c, r->slow_ms))
        return 0;
    if (r->reset_now) {
        *reset = 1;
        return 0;
    }
    if (r->stream != FG_STREAM_NONE) {
        if (!tls_send_stream(c, reset))
            return 0;
    } else if (!tls_write2(c, (fg_str){r->head.p, r->head.len}, fg_reply_entity(r))) {
        return 0;
    }
    return !r->close_after;
}

/* Parses and answers requests until the connection ends. */
static void tls_serve(tconn *c)
{
    int reset = 0;
    for (;;) {
        if (c->ps.head_len == 0 && c->ps.scan == 0)
            buf_consume(&c->in, fg_http_leading_crlf(c->in.p, c->in.len));
        size_t consumed = 0, hint = 0;
        int pr = c->in.len ? fg_http_parse(&c->ps, c->in.p, c->in.len, &c->req, &consumed, &hint)
                           : FG_PARSE_MORE;
        if (c->in.len)
            c->in.len -= c->ps.shrink; /* a streamed body's bytes are gone once hashed */
        if (pr == FG_PARSE_MORE) {
            if (c->ps.want_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->ps.want_continue = 0;
                if (!tls_write(c, cont, sizeof cont - 1))
                    break;
            }
            if (!tls_read_more(c, hint))
                break;
            continue;
        }
        if (pr < 0) {
            fg_api_parse_error(pr, &c->r);
            consumed = c->in.len;
        } else {
            fg_api_handle(&c->w, &c->req, &c->r);
        }
        buf_consume(&c->in, consumed);
        memset(&c->ps, 0, sizeof c->ps);
        if (!tls_execute(c, &reset))
            break;
    }
    if (reset)
        tls_rst(c);
    else if (!c->r.hang)
        SSL_shutdown(c->ssl); /* close_notify; the peer's reply is not awaited */
}

/* Releases everything c holds, then removes it from the registry and wakes fg_tls_stop.
 * All OpenSSL work (including its per-thread state) ends before the registry says "gone":
 * once nlive reaches 0 the main thread may run OPENSSL_cleanup and exit. */
static void tconn_end(tconn *c)
{
    fg_tls *t = c->t;
    SSL_free(c->ssl);
    ERR_clear_error();
    OPENSSL_thread_stop();
    buf_free(&c->in);
    buf_free(&c->w.key);
    fg_reply_free(&c->r);
    pthread_mutex_lock(&t->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        t->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->nlive--;
    close(c->fd); /* under the lock: fg_tls_stop must never shut down a recycled fd */
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    free(c);
}

/* Connection thread: handshake, serve, clean up. */
static void *tconn_run(void *arg)
{
    tconn *c = arg;
    c->ssl = SSL_new(c->t->ctx);
    if (c->ssl && SSL_set_fd(c->ssl, c->fd) == 1 && SSL_accept(c->ssl) == 1)
        tls_serve(c);
    tconn_end(c);
    return NULL;
}

/* Registers a new connection and starts its thread; closes fd if that is not possible. */
static void tls_spawn(fg_tls *t, int fd)
{
    tconn *c = fg_xcalloc(1, sizeof *c);
    c->t = t;
    c->fd = fd;
    pthread_mutex_lock(&t->mu);
    if (t->stopping) {
        pthread_mutex_unlock(&t->mu);
        close(fd);
        free(c);
        return;
    }
    c->w.id = ++t->next_id;
    c->w.tls = 1;
    c->next = t->live;
    if (t->live)
        t->live->prev = c;
    t->live = c;
    t->nlive++;
    pthread_mutex_unlock(&t->mu);

    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    pthread_t th;
    int rc = pthread_create(&th, &at, tconn_run, c);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        c->ssl = NULL;
        tconn_end(c);
    }
}

void *fg_tls_accept_run(void *arg)
{
    fg_tls_acceptor *a = arg;
    fg_tls *t = a->tls;
    struct pollfd p[2] = {{.fd = a->listen_fd, .events = POLLIN},
                          {.fd = t->stopfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC); /* blocking socket */
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        tls_spawn(t, fd);
    }
    return NULL;
}

void fg_tls_stop(fg_tls *t)
{
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    /* Wakes threads blocked in SSL_read/SSL_write; sleeps watch stop_fd themselves. */
    for (tconn *c = t->live; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    while (t->nlive > 0)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&t->mu);
}

void fg_tls_free(fg_tls *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    int busy = t->nlive > 0;
    pthread_mutex_unlock(&t->mu);
    /* A thread that outlived fg_tls_stop's wait still uses ctx and t: leak them instead. */
    if (busy)
        return;
    SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
