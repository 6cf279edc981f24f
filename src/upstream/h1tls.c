/* h1tls — the shared client SSL_CTX and TLS error texts; contract in h1tls.h. */
#include "upstream/h1tls.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "upstream/h1dns.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *shared;
static int refs;

static SSL_CTX *create(const char *ca_file, int (*new_session)(SSL *, SSL_SESSION *), char *err, size_t errcap)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if(!ctx) { snprintf(err, errcap, "upstream TLS: cannot create a context"); return NULL; }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
  if(ok != 1) {
    snprintf(err, errcap, "upstream TLS: cannot load the CA certificates%s%s", ca_file ? " from " : "", ca_file ? ca_file : "");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
  }
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
  /* Partial writes let a large request go out as the socket takes it; a peer's EOF without
   * close_notify reads as a plain end (framing still catches truncated bodies); read-ahead
   * pulls whole socket buffers instead of one record header and body at a time. */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, new_session);
  return ctx;
}

SSL_CTX *h1tls_acquire(const char *ca_file, int (*new_session)(SSL *, SSL_SESSION *), char *err, size_t errcap)
{
  pthread_mutex_lock(&lock);
  if(!shared) shared = create(ca_file, new_session, err, errcap);
  SSL_CTX *ctx = shared;
  if(ctx) refs++;
  pthread_mutex_unlock(&lock);
  return ctx;
}

void h1tls_release(void)
{
  pthread_mutex_lock(&lock);
  if(refs > 0 && --refs == 0) { SSL_CTX_free(shared); shared = NULL; }
  pthread_mutex_unlock(&lock);
}

bool h1tls_set_peer(SSL *ssl, const char *host)
{
  X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
  h1_addrs lit;
  if(h1dns_numeric(host, &lit)) return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1;   /* no SNI for IPs (RFC 6066) */
  X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, host) == 1 && X509_VERIFY_PARAM_set1_host(vp, host, 0) == 1;
}

void h1tls_describe(const SSL *ssl, int ssl_err, int sys_errno, char *msg, size_t cap)
{
  long v = SSL_get_verify_result(ssl);
  unsigned long e = ERR_peek_last_error();
  if(v != X509_V_OK) {
    snprintf(msg, cap, "upstream TLS certificate verification failed: %s", X509_verify_cert_error_string(v));
  } else if(e) {
    char b[200];
    ERR_error_string_n(e, b, sizeof b);
    snprintf(msg, cap, "upstream TLS (SSL) error: %s", b);
  } else if(ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
    snprintf(msg, cap, "upstream TLS (SSL) handshake failed: %s", sys_errno ? strerror(sys_errno) : "connection closed by the peer");
  } else {
    snprintf(msg, cap, "upstream TLS (SSL) error %d", ssl_err);
  }
  ERR_clear_error();
}
