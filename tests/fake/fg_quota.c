/* fg_quota — fixed windows per key × model: a minute from the first call in it, and a day from
 * the first call of the day (Google resets at midnight Pacific; a test run never sees that, so
 * the fake's day simply lasts 24 hours or until /_fake/reset). */
#include "fg_quota.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct counter {
    char *name; /* key + '\n' + model */
    size_t n;
    double min_start, day_start;
    int min_count, day_count;
    struct counter *next;
} counter;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static counter *all; /* few keys carry quotas: a list is enough */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The counter for key × model, created empty; called with mu held. */
static counter *find(fg_str key, fg_str model)
{
    size_t n = key.n + 1 + model.n;
    for (counter *c = all; c; c = c->next)
        if (c->n == n && memcmp(c->name, key.p, key.n) == 0 && c->name[key.n] == '\n' &&
            memcmp(c->name + key.n + 1, model.p, model.n) == 0)
            return c;
    counter *c = fg_xcalloc(1, sizeof *c);
    c->name = fg_xmalloc(n);
    memcpy(c->name, key.p, key.n);
    c->name[key.n] = '\n';
    memcpy(c->name + key.n + 1, model.p, model.n);
    c->n = n;
    c->next = all;
    all = c;
    return c;
}

int fg_quota_take(fg_str key, fg_str model, int rpm, int rpd, double *retry_s)
{
    double t = now_s();
    pthread_mutex_lock(&mu);
    counter *c = find(key, model);
    if (c->min_count == 0 || t - c->min_start >= 60) {
        c->min_start = t;
        c->min_count = 0;
    }
    if (c->day_count == 0 || t - c->day_start >= 86400) {
        c->day_start = t;
        c->day_count = 0;
    }
    int over = rpd >= 0 && c->day_count >= rpd ? 2 : rpm >= 0 && c->min_count >= rpm ? 1 : 0;
    if (!over) {
        c->min_count++;
        c->day_count++;
    }
    double left = 60 - (t - c->min_start);
    *retry_s = left < 1 ? 1 : left;
    pthread_mutex_unlock(&mu);
    return over;
}

void fg_quota_reset(void)
{
    pthread_mutex_lock(&mu);
    while (all) {
        counter *c = all;
        all = c->next;
        free(c->name);
        free(c);
    }
    pthread_mutex_unlock(&mu);
}
