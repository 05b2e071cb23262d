/* What a stage gets besides the config: the run folder, the MPI world, a logger, and the place to
 * declare its outputs for the stamp.  Stage functions have the fixed signature
 *     int stage_NAME(const struct config *cfg, struct run *run);
 * returning 0, or -1 with run->err filled (err.collective = 1 when every rank returns that error). */
#ifndef MIXPHM_RUN_RUN_H
#define MIXPHM_RUN_RUN_H

#include "base/fileio.h"
#include "base/log.h"
#include "mpi/world.h"
#include "run/config.h"
#include "run/stamp.h"

struct run {
    char dir[PATH_MAX_LEN];
    struct world *world;
    struct logger log; /* enabled on world rank 0 */
    struct err err;
    enum stage_id stage;
    int slice, slices;   /* train --slice I/N (slices 0: the whole sweep) */
    int pretrain_only;   /* `mixphm pretrain`: the train stage makes the synthetic backbone and stops */
    /* Set by the stage (the same on every rank) when it returns 0 without having finished:
     * stop_signal after it saved its state on a stop signal (the process exits 75 to be requeued);
     * incomplete when it did its slice but other slices remain.  No stamp is written then. */
    int stop_signal;
    int incomplete;
    /* Filled by the stage (on rank 0 at least): recorded in its stamp. */
    int n_outputs;
    char outputs[STAMP_MAX_ITEMS][STAMP_PATH_MAX];
    int n_provides;
    struct stamp_link provides[STAMP_MAX_ITEMS];
};

typedef int (*stage_fn)(const struct config *cfg, struct run *run);

/* Declares an output (a file or folder, relative to the run folder). */
int run_output(struct run *r, const char *relpath);
/* Declares a named digest that later stages may consume instead of this stage's id. */
int run_provide(struct run *r, const char *name, const char digest[HASH_HEX_LEN]);
/* The path of `rel` inside the run folder; -1 with the reason in r->err. */
int run_path(struct run *r, const char *rel, char *out, size_t n);

#endif
