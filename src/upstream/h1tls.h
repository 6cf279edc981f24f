/* h1tls — TLS for the upstream client (h1client): one client SSL_CTX shared by every worker
 * (an SSL_CTX is thread-safe once set up, and the CA store it holds is the large part), with
 * peer verification on, the CA bundle from GEMGATE_CA_FILE or the system's default paths,
 * TLS 1.2 or newer, ALPN "http/1.1", and a client session cache whose entries the caller keeps
 * (h1conn stores them per origin). */
#ifndef GEMGATE_H1TLS_H
#define GEMGATE_H1TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* The shared context, created by the first caller (ca_file NULL: the system store).  new_session
 * becomes the context's session callback (SSL_CTX_sess_set_new_cb: return 1 to keep the
 * session).  NULL on failure, with err set.  Each success is paired with h1tls_release. */
SSL_CTX *h1tls_acquire(const char *ca_file, int (*new_session)(SSL *, SSL_SESSION *), char *err, size_t errcap);
void h1tls_release(void);

/* Names the peer for ssl: SNI and a hostname check for names, an IP check for literals. */
bool h1tls_set_peer(SSL *ssl, const char *host);

/* A human-readable reason for a failed SSL call on ssl (ssl_err from SSL_get_error, sys_errno
 * errno right after the call); says "certificate" when verification failed.  Clears the
 * thread's OpenSSL error queue. */
void h1tls_describe(const SSL *ssl, int ssl_err, int sys_errno, char *msg, size_t cap);

#endif
