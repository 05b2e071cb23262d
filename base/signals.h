/* Stop requests from the batch system.  Slurm sends SIGUSR1 (with --signal) or SIGTERM before a time
 * limit or a preemption; training must finish its step, checkpoint and exit.  Instead of a handler that
 * sets a global flag, the signals are blocked at start-up and polled at step boundaries with
 * sigpending(): no global state, and a signal can never interrupt a write half way. */
#ifndef MIXPHM_BASE_SIGNALS_H
#define MIXPHM_BASE_SIGNALS_H

/* Blocks SIGTERM, SIGUSR1 and SIGUSR2 in the calling thread and in threads it starts later (call it
 * before MPI_Init, whose progress threads inherit the mask).  Returns 0, or -1 on failure. */
int signals_block_stop(void);
/* If a stop signal is pending, consumes it and returns its number; else 0.  Never blocks. */
int signals_take_stop(void);
/* "SIGTERM", "SIGUSR1", ... */
const char *signals_name(int sig);

#endif
