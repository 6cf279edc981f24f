/* recheck — the background re-test of invalid and disabled keys: a cheap authenticated call
 * (list one model) per due key; a key that answers 200 comes back into the pool. */
#ifndef GEMGATE_RECHECK_H
#define GEMGATE_RECHECK_H

struct worker;

/* Start probes for the keys that are due.  Called once a second on one worker. */
void recheck_tick(struct worker *w);

#endif
