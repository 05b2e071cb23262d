/* The analyze stage (not an API; docs/analysis.md): for every trained run of the sweep whose method has
 * an adapter after the FFN, the mean-pooled h_a, h and g of the first N test examples, collected by a
 * data-parallel forward pass (analyze_collect.c), compared per layer with the redundancy engine
 * (mpi/redundancy_stats.h, analyze.c) and reported (analyze_report.c):
 *   analysis/redundancy.h5      every statistic of every (run, stack, layer, pair)
 *   analysis/redundancy.md      a table per run: layer x statistic, both pairs
 *   analysis/redundancy_{rsa,cka_linear,cka_rbf}.{png,svg}   each statistic across layers, one line per
 *                               (method, k), the mean over seeds (gnuplot; skipped with a warning
 *                               without it)
 *   analysis/representations.h5 the collected representations themselves (analyze.save_representations) */
#ifndef MIXPHM_STAGES_ANALYZE_H
#define MIXPHM_STAGES_ANALYZE_H

#include <hdf5.h>

#include "mpi/redundancy_stats.h"
#include "run/run.h"
#include "run/sweep.h"
#include "train/data.h"

#define ANALYZE_PAIRS 2 /* 0: (h_a, h) "redundancy", 1: (h_a, g) "relevance" */

extern const char *const analyze_stack_names[2]; /* "encoder", "decoder" */
extern const char *const analyze_pair_names[ANALYZE_PAIRS]; /* "ha_h", "ha_g" */

/* One analysed run. */
struct analyze_result {
    char name[SWEEP_NAME_MAX]; /* "mixphm-k16-s13" */
    char method[128];          /* "mixphm", "pfeiffer+add", "mixphm regularizer=false" (sweep_run_label) */
    long k, seed;
    int layers[2];             /* per stack */
    struct redundancy_stats *stats; /* [2][layers_max][ANALYZE_PAIRS], stats_at() */
    int layers_max;
};

static inline struct redundancy_stats *analyze_stats_at(const struct analyze_result *r, int stack, int layer, int pair)
{
    return &r->stats[((long)stack * r->layers_max + layer) * ANALYZE_PAIRS + pair];
}

/* This rank's rows of the first N test examples and their representations, sized once for the stage.
 * reps holds, per stack, 1 + 2 L slots of [n_local, d]: g, then h and h_a of each layer. */
struct analyze_block {
    struct test_block blk;     /* this rank's rows blk.lo .. blk.lo + blk.n - 1 of the first blk.N */
    int batch;                 /* examples per forward */
    int d, layers[2];
    float *reps;               /* [2][1 + 2 L][n_local, d] */
};

static inline float *analyze_slot(const struct analyze_block *b, int stack, int slot)
{
    const long per_stack = 1 + 2L * b->layers[0];
    return b->reps + ((long)stack * per_stack + slot) * b->blk.n * b->d;
}
static inline float *analyze_g(const struct analyze_block *b, int stack) { return analyze_slot(b, stack, 0); }
static inline float *analyze_h(const struct analyze_block *b, int stack, int l) { return analyze_slot(b, stack, 1 + 2 * l); }
static inline float *analyze_ha(const struct analyze_block *b, int stack, int l) { return analyze_slot(b, stack, 2 + 2 * l); }

/* analyze_collect.c */
int analyze_block_load(struct analyze_block *b, struct train_data *d, MPI_Comm comm, long N, int batch, int d_model,
                       int layers, struct err *e);
void analyze_block_free(struct analyze_block *b);
/* Runs the forward pass of run `name` (weights RUN/runs/NAME/{best,last}.h5) over this rank's rows and
 * fills b->reps. */
int analyze_collect(struct analyze_block *b, struct train_data *d, const struct config *run_cfg, const char *name,
                    MPI_Comm comm, struct err *e);
/* analysis/representations.h5 (collective): one group per run, written as it is collected. */
int analyze_save_representations(hid_t file, const struct analyze_block *b, const char *name, MPI_Comm comm,
                                 struct err *e);

/* analyze_report.c (rank 0): the outputs from the results of every analysed run. */
int analyze_write_h5(const char *path, const struct analyze_result *r, int n_runs, long N, int block,
                     const char *weights, struct err *e);
int analyze_write_markdown(const char *path, const struct analyze_result *r, int n_runs, long N,
                           const char *weights, const char *plots_note, struct err *e);
/* The plots; -1 with a message when gnuplot is missing or fails (the stage goes on without them). */
int analyze_plot(const char *dir, const struct analyze_result *r, int n_runs, long N, struct err *e);

#endif
