/* fakegemini — a fake Gemini (Generative Language API) upstream for gemgate's tests and
 * benchmarks.  Contract: docs/fake-upstream.md.  This file: options, listeners, threads,
 * signals.  See fg_api.c for behaviour (fg_gen.c for generation bodies), fg_loop.c / fg_tls.c
 * for the transports. */
#include "fg_api.h"
#include "fg_loop.h"
#include "fg_state.h"
#include "fg_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_THREADS 64

typedef struct options {
    const char *listen;
    int threads;
    const char *tls_cert, *tls_key;
    const char *port_file;
} options;

/* Prints usage to f. */
static void usage(FILE *f)
{
    fputs("usage: fakegemini [--listen 127.0.0.1:PORT] [--threads N] [--chunks N]\n"
          "                  [--interval-ms MS] [--tls-cert FILE --tls-key FILE]\n"
          "                  [--port-file FILE]\n",
          f);
}

/* Parses a non-negative int option value; exits with usage on garbage. */
static int opt_int(const char *name, const char *v, int min, int max)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < min || x > max) {
        fprintf(stderr, "fakegemini: bad value for %s: %s\n", name, v);
        exit(2);
    }
    return (int)x;
}

/* Exits with status 2 after printing msg (and usage, when asked). */
static void die_usage(const char *msg, const char *what, int show_usage)
{
    fprintf(stderr, "fakegemini: %s%s\n", msg, what);
    if (show_usage)
        usage(stderr);
    exit(2);
}

/* Stores one option's value; name must be one of the known options. */
static void apply_option(options *o, const char *name, const char *v)
{
    if (!strcmp(name, "--listen"))
        o->listen = v;
    else if (!strcmp(name, "--threads"))
        o->threads = opt_int(name, v, 1, MAX_THREADS);
    else if (!strcmp(name, "--chunks"))
        fg_conf.chunks = opt_int(name, v, 0, 10000000);
    else if (!strcmp(name, "--interval-ms"))
        fg_conf.interval_ms = opt_int(name, v, 0, 3600000);
    else if (!strcmp(name, "--tls-cert"))
        o->tls_cert = v;
    else if (!strcmp(name, "--tls-key"))
        o->tls_key = v;
    else
        o->port_file = v;
}

/* True when name is an option fakegemini takes (all of them take a value). */
static int known_option(const char *name)
{
    static const char *const known[] = {"--listen",   "--threads", "--chunks",   "--interval-ms",
                                        "--tls-cert", "--tls-key", "--port-file"};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (!strcmp(name, known[k]))
            return 1;
    return 0;
}

/* Fills *o from argv ("--name value" or "--name=value"); exits on error. */
static void parse_args(int argc, char **argv, options *o)
{
    *o = (options){"127.0.0.1:0", 1, NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name)
            die_usage("unknown option ", a, 1);
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (!known_option(name))
            die_usage("unknown option ", name, 1);
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v)
            die_usage("missing value for ", name, 0);
        apply_option(o, name, v);
    }
    if (!o->tls_cert != !o->tls_key)
        die_usage("--tls-cert and --tls-key go together", "", 0);
}

/* Parses "HOST:PORT" ("[v6]:PORT" too; "localhost" means 127.0.0.1) into *ss. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    char host[128];
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    if (!strcmp(host, "localhost") || hl == 0)
        strcpy(host, "127.0.0.1");
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else {
        return -1;
    }
    return 0;
}

/* The port field (network order) inside an IPv4 or IPv6 address. */
static uint16_t *port_of(struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return &((struct sockaddr_in *)ss)->sin_port;
    return &((struct sockaddr_in6 *)ss)->sin6_port;
}

/* Opens a non-blocking listener on *ss (SO_REUSEPORT when shared by several threads); if its
 * port is 0, stores the port the kernel chose back into *ss so further listeners share it.
 * Returns the fd or -1. */
static int open_listener(struct sockaddr_storage *ss, socklen_t len, int shared)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Only when needed: otherwise a second fake on a busy fixed port must fail, not share. */
    if (shared)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)ss, len) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (*port_of(ss) == 0) {
        /* The bound address is *ss with the chosen port filled in. */
        socklen_t gl = sizeof *ss;
        if (getsockname(fd, (struct sockaddr *)ss, &gl) < 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Announces the address on stdout and, if asked, writes the port to a file atomically (a
 * reader polling for the file never sees it half written). */
static int announce(const options *o, struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN];
    uint16_t *port = port_of(ss);
    const void *addr = ss->ss_family == AF_INET
                           ? (const void *)&((struct sockaddr_in *)ss)->sin_addr
                           : (const void *)&((struct sockaddr_in6 *)ss)->sin6_addr;
    inet_ntop(ss->ss_family, addr, host, sizeof host);
    if (ss->ss_family == AF_INET6)
        printf("listening [%s]:%u\n", host, ntohs(*port));
    else
        printf("listening %s:%u\n", host, ntohs(*port));
    fflush(stdout);
    if (!o->port_file)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", o->port_file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", ntohs(*port)) < 0 || fclose(f) != 0 ||
        rename(tmp, o->port_file) != 0) {
        perror("fakegemini: port file");
        return -1;
    }
    return 0;
}

/* Waits for SIGINT or SIGTERM (blocked in every thread, so only this sigwait sees them). */
static void wait_for_signal(const sigset_t *set)
{
    int sig;
    while (sigwait(set, &sig) != 0)
        ;
}

/* Everything main starts and must stop. */
typedef struct server {
    int nthreads;
    int stopfd;                      /* eventfd: readable once the server is stopping */
    int lfds[MAX_THREADS];           /* one listener per thread */
    fg_tls *tls;                     /* NULL in plain-HTTP mode */
    fg_loop *loops[MAX_THREADS];     /* plain HTTP: one epoll loop per thread */
    fg_tls_acceptor acc[MAX_THREADS];
    pthread_t th[MAX_THREADS];
} server;

/* Opens the listeners and starts one loop (or TLS acceptor) thread per listener.  Returns 0,
 * or -1 after printing why (the process then exits; nothing is unwound). */
static int server_start(server *sv, const options *o, struct sockaddr_storage *ss,
                        socklen_t slen)
{
    sv->nthreads = o->threads;
    sv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (int i = 0; i < sv->nthreads; i++) {
        if ((sv->lfds[i] = open_listener(ss, slen, sv->nthreads > 1)) < 0) {
            fprintf(stderr, "fakegemini: listen %s: %s\n", o->listen, strerror(errno));
            return -1;
        }
    }
    if (o->tls_cert && !(sv->tls = fg_tls_new(o->tls_cert, o->tls_key, sv->stopfd)))
        return -1;
    for (int i = 0; i < sv->nthreads; i++) {
        int rc;
        if (sv->tls) {
            sv->acc[i] = (fg_tls_acceptor){sv->tls, sv->lfds[i]};
            rc = pthread_create(&sv->th[i], NULL, fg_tls_accept_run, &sv->acc[i]);
        } else {
            if (!(sv->loops[i] = fg_loop_new((unsigned)i, sv->lfds[i], sv->stopfd))) {
                perror("fakegemini: epoll");
                return -1;
            }
            rc = pthread_create(&sv->th[i], NULL, fg_loop_run, sv->loops[i]);
        }
        if (rc != 0) {
            fprintf(stderr, "fakegemini: pthread_create: %s\n", strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* Wakes every thread through stopfd, waits for them, and frees what they used. */
static void server_stop(server *sv)
{
    uint64_t one = 1;
    if (write(sv->stopfd, &one, sizeof one) < 0)
        perror("fakegemini: stop");
    for (int i = 0; i < sv->nthreads; i++)
        pthread_join(sv->th[i], NULL);
    if (sv->tls) {
        fg_tls_stop(sv->tls);
        fg_tls_free(sv->tls);
    }
    for (int i = 0; i < sv->nthreads; i++) {
        fg_loop_free(sv->loops[i]);
        close(sv->lfds[i]);
    }
    close(sv->stopfd);
}

int main(int argc, char **argv)
{
    options o;
    parse_args(argc, argv, &o);
    struct sockaddr_storage ss;
    socklen_t slen;
    if (parse_listen(o.listen, &ss, &slen) < 0)
        die_usage("bad --listen ", o.listen, 0);

    /* Writes to closed sockets must fail with EPIPE, not kill the fake. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread started below */

    fg_state_init();
    fg_api_init();
    server sv = {0};
    if (server_start(&sv, &o, &ss, slen) < 0 || announce(&o, &ss) < 0)
        return 1;
    wait_for_signal(&sigs);
    server_stop(&sv);
    fg_api_free();
    fg_state_free();
    return 0;
}
