/* `mixphm estimate CONFIG`: the cost of a sweep before it runs.
 *
 * A short calibration on this machine (or a saved one) measures, with the config's model size,
 * precision and methods on random weights and inputs of the dataset's lengths, the seconds of one
 * training step per method and the questions per second of greedy decoding, on one rank with one BLAS
 * thread, as a rank of a job runs.  The estimate multiplies them by the sweep's work: runs x steps (every epoch
 * of the schedule: early stopping only shortens it), the dev validations, and the evaluation of the
 * best and the last weights (and the zero-shot answers) on the whole test split, and prints the
 * core-hours of each stage and how many nodes of jobs.tasks_per_node cores a job array needs for a
 * wall-clock target.  The calibration is written to CALIBRATION.json for reuse (--calibration). */
#ifndef MIXPHM_PIPELINE_ESTIMATE_H
#define MIXPHM_PIPELINE_ESTIMATE_H

#include <stdio.h>

#include "base/err.h"
#include "run/config.h"

struct estimate_options {
    const char *calibration; /* a saved calibration to use, or NULL to measure (and save next to run.dir) */
    double hours;            /* wall-clock target for the node count; 0: 24 */
    int repeats;             /* timed training steps per method (after one warm-up) */
};

/* Prints the estimate for `cfg` to out (MPI must be initialised; one process measures). */
int estimate_command(const struct config *cfg, const struct estimate_options *o, FILE *out, struct err *e);

#endif
