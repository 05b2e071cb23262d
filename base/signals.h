/* Stop requests from the batch system.  Slurm sends SIGUSR1 (with --signal) or SIGTERM before a time
 * limit or a preemption; training must finish its step, checkpoint and exit 75.
 *
 * The signals are caught by a handler that only records which one arrived; stages poll the record at
 * safe points.  (Blocking the signals and polling sigpending() would need every thread to block them,
 * but OpenBLAS starts its thread pool in a load-time constructor, before main can block anything, and
 * a process-directed signal may then be delivered to one of those threads.)  The record is a single
 * `volatile sig_atomic_t` inside signals.c: the one piece of global mutable state in mixphm, because a
 * signal handler has no other place to put what it saw. */
#ifndef MIXPHM_BASE_SIGNALS_H
#define MIXPHM_BASE_SIGNALS_H

/* Installs the handler for SIGTERM, SIGUSR1 and SIGUSR2 (with SA_RESTART, so interrupted system calls
 * resume).  Returns 0, or -1 on failure. */
int signals_catch_stop(void);
/* The stop signal received since the last call (its number), or 0; clears it. */
int signals_take_stop(void);
/* "SIGTERM", "SIGUSR1", ... */
const char *signals_name(int sig);

#endif
