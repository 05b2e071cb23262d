/* Running stages in order, skipping the ones whose stamps are up to date.
 *
 * Rank 0 decides (it alone reads the stamps, so every rank acts on one view of the file system) and
 * broadcasts the plan; every rank runs the planned stages; rank 0 writes each stamp after the stage
 * returned on all ranks.  A stage's old stamp is removed before it starts, so an interrupted stage is
 * never taken for a finished one. */
#ifndef MIXPHM_PIPELINE_RUNNER_H
#define MIXPHM_PIPELINE_RUNNER_H

#include "mpi/world.h"
#include "run/config.h"
#include "run/resume.h"
#include "run/run.h"

struct run_options {
    int until;      /* last stage to run, or -1 for the whole pipeline */
    unsigned force; /* bit (1 << stage): rerun even when up to date */
    int only;       /* -1 for `mixphm run`; else the one stage of `mixphm STAGE` */
    int slice, slices; /* train --slice I/N; slices 0 for the whole sweep */
    const char *command; /* the command line, for the run folder's lock ("mixphm run ..."); NULL: "mixphm" */
    int force_unlock;    /* --force-unlock: take the run folder's lock from an owner that cannot be checked */
    int pretrain_only;   /* `mixphm pretrain`: up to the synthetic backbone (the train stage stops there) */
};

/* Which stages to run (bit mask) and why; rank-0 work, no MPI. */
int runner_plan(const struct config *cfg, const struct run_options *o, unsigned *mask,
                char reasons[STAGE_COUNT][512], struct err *e);

/* Writes RUN_DIR/config.yaml (the resolved config) when it differs from what is there; rank-0 work. */
int runner_write_config(const struct config *cfg, const struct logger *log, struct err *e);

/* Takes the run folder's lock (run/lock.h; rank 0), writes the resolved config into run.dir and runs the
 * plan on every rank.  `stages[s]` is the
 * function of stage s (NULL: not available).  Returns 0, or -1 with e filled (e->collective set when
 * every rank returns the same error). */
int runner_execute(const struct config *cfg, const struct run_options *o, const stage_fn stages[STAGE_COUNT],
                   struct world *w, struct err *e);

/* `mixphm eval CONFIG --weights FILE`: when prepare and features are up to date (rank 0 checks), runs
 * `fn` (eval_weights_file) on every rank.  It writes neither config.yaml nor a stamp: the file is no
 * run of the sweep. */
typedef int (*eval_file_fn)(const struct config *cfg, struct run *run, const char *weights);
int runner_eval_file(const struct config *cfg, const char *weights, eval_file_fn fn, struct world *w, struct err *e);

#endif
