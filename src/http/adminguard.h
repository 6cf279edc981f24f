/* adminguard — the admin token against guessing.
 *
 * Comparing: the sent token and the configured one are each run through HMAC-SHA256 under a key
 * drawn at start, and the two digests compared in constant time — so neither the content nor the
 * length of the token leaks through timing.
 * Guarding: a client address (the peer, or the client behind GEMGATE_TRUSTED_PROXIES) that has
 * failed ADMIN_GUARD_FAILS times within a minute is refused (429) until that minute is over,
 * without the token being looked at; each refusal window is logged once.  The table is fixed in
 * size (ADMIN_GUARD_SLOTS addresses, the oldest forgotten first), so a flood of addresses costs
 * no memory.  Thread-safe. */
#ifndef GEMGATE_ADMINGUARD_H
#define GEMGATE_ADMINGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_GUARD_FAILS 10
#define ADMIN_GUARD_WINDOW_MS 60000
#define ADMIN_GUARD_SLOTS 4096

/* True when sent (n bytes) is the configured token (NUL-terminated; NULL: never). */
bool admin_token_eq(const char *configured, const char *sent, size_t n);

/* Seconds the address must wait before its next try (0: it may try now). */
int64_t admin_guard_wait(const char *ip, int64_t now_ms);

/* A failed try from ip: counted; the one that reaches the limit is logged. */
void admin_guard_fail(const char *ip, int64_t now_ms);

/* Forget every address (tests). */
void admin_guard_reset(void);

#endif
