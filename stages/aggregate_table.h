/* The results of a sweep, grouped for the reports: one row per (method, routing) and one column per
 * training size k, each cell the mean and the standard deviation of the test accuracy over the seeds
 * (computed as the papers' code does: a float32 tensor's mean and unbiased std). */
#ifndef MIXPHM_STAGES_AGGREGATE_TABLE_H
#define MIXPHM_STAGES_AGGREGATE_TABLE_H

#include <stdio.h>

#include "base/err.h"
#include "run/config.h"

#define AGG_MAX_SEEDS 64
#define AGG_LABEL_MAX 128
/* The labels of the reference rows. */
#define AGG_ZERO_SHOT "zero-shot (no training)"
#define AGG_PRIOR "answer-type prior"

struct agg_cell {
    int n;                        /* seeds with a result */
    double acc[AGG_MAX_SEEDS];    /* accuracy per seed, in sweep order */
    long seed[AGG_MAX_SEEDS];
    double lr[AGG_MAX_SEEDS];     /* the learning rate chosen on dev (eval.select_lr), else 0 */
    double empty[AGG_MAX_SEEDS];  /* result.json's empty_answers_percent (-1: not recorded) */
    double top[AGG_MAX_SEEDS];    /* result.json's top_answer_percent (-1: not recorded) */
    char top_answer[AGG_MAX_SEEDS][24];
    double mean, std;             /* std is NaN for one seed */
};

struct agg_row {
    char method[AGG_LABEL_MAX];   /* "mixphm", "lora+add", "mixphm regularizer=false" (sweep_run_label) */
    long trainable;               /* trainable parameters */
    double percent;               /* of the backbone */
    int reference;                /* a reference row (zero-shot, baselines), not a method of the sweep */
    struct agg_cell *cells;       /* [n_k] */
};

struct agg_table {
    char dataset[32];
    char metric[64];              /* "vlt5", "official", "gqa exact match" */
    char weights[16];             /* "best" or "last" */
    int n_k;
    long *k;                      /* [n_k] ascending */
    int n_rows;
    struct agg_row *rows;         /* in sweep order of first appearance */
    int lr_selected;              /* the rows stand for the best-dev learning rate of train.lr's list */
};

void agg_init(struct agg_table *t, const long *k, int n_k);
/* Adds one run's result. */
int agg_add(struct agg_table *t, const char *method, long k, long seed, double accuracy, long trainable,
            double percent, struct err *e);
/* A run whose answers collapsed: this share of empty answers or more, or one answer for more than
 * AGG_COLLAPSED_TOP percent of the test questions. */
#define AGG_COLLAPSED_EMPTY 5.0
#define AGG_COLLAPSED_TOP 60.0
/* Computes means and standard deviations. */
void agg_finish(struct agg_table *t);
void agg_free(struct agg_table *t);

/* Reads the result.json of every run of the sweep (RUN/runs/NAME/result.json) into t (agg_free it),
 * then the reference rows: RUN/runs/zero-shot/result.json (eval.zero_shot) and RUN/baselines.json
 * (eval.baselines). */
int agg_collect(const struct config *cfg, const char *run_dir, struct agg_table *t, struct err *e);

/* report/results.csv: one line per (method, k) with the per-seed values. */
void agg_write_csv(const struct agg_table *t, FILE *f);
/* report/results.md: the paper's layout (methods by rows, k by columns, "mean ± std"). */
void agg_write_markdown(const struct agg_table *t, FILE *f, const char *extra);
/* report/results.tex: the same table for LaTeX (booktabs), the best mean of each column in bold, the
 * reference rows after a rule (aggregate_latex.c). */
void agg_write_latex(const struct agg_table *t, FILE *f);
/* The same table as plain text for the log. */
void agg_write_text(const struct agg_table *t, FILE *f);

#endif
