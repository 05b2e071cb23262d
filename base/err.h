/* Error reports that travel up the call stack instead of printing where they happen.
 *
 * A function that can fail on bad input takes a `struct err *` and returns -1 after filling it with
 * what was expected and where (file, key, line, rank...).  The caller either adds context with
 * err_prefix() and returns -1 too, or reports it: the pipeline prints it once and decides between a
 * clean exit (every rank saw the same error) and the MPI abort path (only some ranks did). */
#ifndef MIXPHM_BASE_ERR_H
#define MIXPHM_BASE_ERR_H

#include <stdarg.h>

#define ERR_MSG_MAX 2048

/* Exit status of a process that stopped on a stop signal after saving its state: the job scripts
 * requeue on it (EX_TEMPFAIL in sysexits.h). */
#define EXIT_STOPPED 75

struct err {
    char msg[ERR_MSG_MAX];
    int collective;  /* 1 when every rank is known to report this same error */
    int exit_status; /* the process's exit status for this error; 0 means 1 */
};

/* Sets the message (replacing any previous one); always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int err_vset(struct err *e, const char *fmt, va_list ap);
/* Sets the message followed by ": strerror(errno_value)". */
int err_errno(struct err *e, int errno_value, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends context: "context: previous message". Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
/* An error that every rank reaches identically (the same files, the same decision), so the process can
 * exit cleanly instead of taking the MPI abort path: err_set_all sets the message and the mark;
 * err_mark_all marks the error a call left in e when it failed (rc != 0) and returns rc. */
int err_set_all(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int err_mark_all(struct err *e, int rc);

#endif
