/* Logging for batch jobs: one line per event, each with a wall-clock timestamp, so that a Slurm or
 * PBS output file reads as a history.  Progress lines are printed at most once per interval (never
 * with carriage returns) and carry the count, the rate and an ETA.
 *
 * Only the ranks that should speak get an enabled logger (rank 0 of the world, or the leader of a
 * training group); the others get a disabled one and every call is a no-op. */
#ifndef MIXPHM_BASE_LOG_H
#define MIXPHM_BASE_LOG_H

#include <stdio.h>

struct logger {
    FILE *out;
    int enabled;
    char prefix[64]; /* e.g. "g1" for training group 1; empty for none */
};

void log_init(struct logger *log, FILE *out, int enabled, const char *prefix);
void log_msg(const struct logger *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Always printed to stderr, whatever `enabled` says: warnings must not be lost on non-zero ranks. */
void log_warn(const struct logger *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double now_monotonic(void); /* seconds */

struct progress {
    const struct logger *log;
    char what[160];
    long total;       /* number of units (steps, images, questions); <= 0 when unknown */
    double interval;  /* seconds between lines */
    double t_start;
    double t_last;    /* time of the last printed line */
    long done_last;   /* count at the last printed line */
    int printed_final;
};

void progress_start(struct progress *p, const struct logger *log, const char *what, long total,
                    double interval);
/* Reports `done` units finished; prints when the interval has passed or when done == total.
 * `extra` (may be NULL) is appended, e.g. "loss 2.31". */
void progress_update(struct progress *p, long done, const char *extra);
/* The same with an explicit clock, for tests. */
void progress_update_at(struct progress *p, long done, const char *extra, double now);
/* Formats seconds as "1h02m", "4m17s" or "12s". */
void format_duration(double seconds, char *out, size_t n);

#endif
