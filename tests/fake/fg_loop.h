/* fg_loop — the plain-HTTP transport: one non-blocking epoll loop per thread, each with its
 * own SO_REUSEPORT listener.  Carries out fg_api reply plans with timers for pacing and
 * EPOLLOUT for backpressure. */
#ifndef FG_LOOP_H
#define FG_LOOP_H

typedef struct fg_loop fg_loop;

/* Creates a loop serving listen_fd (non-blocking) until stop_fd (an eventfd) is readable.
 * id tells threads apart in responseIds.  Returns NULL on failure (errno set). */
fg_loop *fg_loop_new(unsigned id, int listen_fd, int stop_fd);
/* Runs the loop; a pthread entry point taking the fg_loop.  Returns NULL when stopped. */
void *fg_loop_run(void *loop);
/* Closes every connection and frees the loop (not the listener or stop_fd). */
void fg_loop_free(fg_loop *l);

#endif
