/* fg_behav — key token parsing. */
#include "fg_behav.h"

#include <stdio.h>
#include <string.h>

/* Parses token[plen..n) as a non-negative integer that fits an int; -1 otherwise. */
static int tail_int(const char *t, size_t n, size_t plen)
{
    if (n <= plen || n - plen > 9)
        return -1;
    int v = 0;
    for (size_t i = plen; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

/* True when t[0..n) starts with prefix. */
static int has_prefix(const char *t, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(t, prefix, pl) == 0;
}

/* Accepts "rl<seconds>" with seconds like "30" or "0.5"; writes "<seconds>s" to out. */
static int parse_rl_delay(const char *t, size_t n, char *out, size_t outsz)
{
    size_t digits = 0, dots = 0;
    for (size_t i = 2; i < n; i++) {
        if (t[i] >= '0' && t[i] <= '9')
            digits++;
        else if (t[i] == '.' && i > 2 && i + 1 < n)
            dots++;
        else
            return -1;
    }
    if (digits == 0 || dots > 1 || n - 2 + 2 > outsz)
        return -1;
    snprintf(out, outsz, "%.*ss", (int)(n - 2), t + 2);
    return 0;
}

/* Applies one token to *b.  *have_outcome tracks "first outcome wins". */
static void apply_token(const char *t, size_t n, fg_behav *b, int *have_outcome)
{
    int v;
    fg_behav o = *b; /* candidate outcome fields */
    int is_outcome = 1;
    if (n == 2 && memcmp(t, "ok", 2) == 0) {
        o.outcome = FG_OUT_OK;
    } else if (n == 2 && memcmp(t, "rl", 2) == 0) {
        o.outcome = FG_OUT_RL;
        o.retry_delay[0] = '\0';
    } else if (has_prefix(t, n, "rl") &&
               parse_rl_delay(t, n, o.retry_delay, sizeof o.retry_delay) == 0) {
        o.outcome = FG_OUT_RL;
    } else if (n == 7 && memcmp(t, "invalid", 7) == 0) {
        o.outcome = FG_OUT_INVALID;
    } else if (n == 6 && memcmp(t, "forbid", 6) == 0) {
        o.outcome = FG_OUT_FORBID;
    } else if (n == 4 && memcmp(t, "hang", 4) == 0) {
        o.outcome = FG_OUT_HANG;
    } else if (n == 7 && memcmp(t, "expired", 7) == 0) {
        o.outcome = FG_OUT_EXPIRED;
    } else if (n == 7 && memcmp(t, "blocked", 7) == 0) {
        o.outcome = FG_OUT_BLOCKED;
    } else if (n == 8 && memcmp(t, "disabled", 8) == 0) {
        o.outcome = FG_OUT_DISABLED;
    } else if (n == 9 && memcmp(t, "suspended", 9) == 0) {
        o.outcome = FG_OUT_SUSPENDED;
    } else if (n == 6 && memcmp(t, "leaked", 6) == 0) {
        o.outcome = FG_OUT_LEAKED;
    } else if (n == 4 && t[0] == 'e' && (v = tail_int(t, n, 1)) >= 400 && v <= 599) {
        o.outcome = FG_OUT_ECODE;
        o.ecode = v;
    } else {
        is_outcome = 0;
    }
    if (is_outcome) {
        if (!*have_outcome) {
            *b = o;
            *have_outcome = 1;
        }
        return;
    }
    if (has_prefix(t, n, "flaky") && (v = tail_int(t, n, 5)) >= 1 && !b->flaky)
        b->flaky = v;
    else if (has_prefix(t, n, "slow") && (v = tail_int(t, n, 4)) >= 0 && !b->slow_ms)
        b->slow_ms = v;
    else if (has_prefix(t, n, "reset") && (v = tail_int(t, n, 5)) >= 0 && b->reset_after < 0)
        b->reset_after = v;
    else if (has_prefix(t, n, "chunks") && (v = tail_int(t, n, 6)) >= 0 && b->chunks < 0)
        b->chunks = v;
    else if (has_prefix(t, n, "gap") && (v = tail_int(t, n, 3)) >= 0 && b->gap_ms < 0)
        b->gap_ms = v;
    else if (has_prefix(t, n, "rpm") && (v = tail_int(t, n, 3)) >= 0 && b->rpm < 0)
        b->rpm = v;
    else if (has_prefix(t, n, "rpd") && (v = tail_int(t, n, 3)) >= 0 && b->rpd < 0)
        b->rpd = v;
}

void fg_behav_parse(const char *s, size_t n, fg_behav *b)
{
    memset(b, 0, sizeof *b);
    b->outcome = FG_OUT_OK;
    b->reset_after = b->chunks = b->gap_ms = b->rpm = b->rpd = -1;
    int have_outcome = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '-') {
            if (i > start)
                apply_token(s + start, i - start, b, &have_outcome);
            start = i + 1;
        }
    }
}
