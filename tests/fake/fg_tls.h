/* fg_tls — the HTTPS transport: OpenSSL with a blocking thread per connection.  Built for
 * correctness, not speed; it carries out the same fg_api reply plans as fg_loop. */
#ifndef FG_TLS_H
#define FG_TLS_H

typedef struct fg_tls fg_tls;

/* Loads the certificate chain and key.  Returns NULL (after printing why) on failure.
 * stop_fd is an eventfd that becomes readable when the server stops. */
fg_tls *fg_tls_new(const char *cert_file, const char *key_file, int stop_fd);
/* Accepts connections on listen_fd (non-blocking) until stop_fd is readable, one thread per
 * connection.  A pthread entry point taking an fg_tls_acceptor. */
void *fg_tls_accept_run(void *acceptor);
/* Aborts every live connection and waits (bounded) for their threads to finish. */
void fg_tls_stop(fg_tls *t);
/* Frees the context; call after fg_tls_stop and after the acceptors returned. */
void fg_tls_free(fg_tls *t);

typedef struct fg_tls_acceptor {
    fg_tls *tls;
    int listen_fd;
} fg_tls_acceptor;

#endif
