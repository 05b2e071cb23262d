/* What the eval stage's files share (stages/eval.c: the sweep's runs; stages/eval_reference.c: the
 * zero-shot answers, the baselines, a weights file from elsewhere): answering the test split with one
 * set of weights, and the result.json every evaluated model gets. */
#ifndef MIXPHM_STAGES_EVAL_RUN_H
#define MIXPHM_STAGES_EVAL_RUN_H

#include <jansson.h>

#include "base/log.h"
#include "mpi/world.h"
#include "stages/eval_baselines.h"
#include "train/data.h"
#include "train/model.h"

struct run_eval {
    json_t *test;      /* {"best": report, "last": report}, or {"test": report} */
    double overall[2]; /* of best and last (or of the one set in [0]) */
    struct answer_shares shares[2];
    double seconds;
};

/* Answers of the whole test split with the weights set `which` (0 best, 1 last: dir/NAME.h5; -1: the
 * weights the model has), on every rank; rank 0 scores them and writes them to dir/PREDICTIONS; the
 * report goes into ev->test under the name of the set (or "test").  Errors are the same on every rank. */
int evaluate_weights(struct train_data *d, struct model_ctx *mc, struct test_block *b, const char *dir, int which,
                     const char *predictions, const struct world *w, struct run_eval *ev, struct err *e);

/* The keys every result.json starts with: run, dataset, method, routing, k, seed (NULL: left out), the
 * metric, the weights, the accuracy and answer shares of set `slot` of ev, the test size and reports. */
json_t *result_head(const struct config *cfg, const char *run, json_t *method, json_t *routing, json_t *k, json_t *seed,
                    const char *weights, const struct run_eval *ev, int slot, long n_test);
/* trainable_params, backbone_params and trainable_percent. */
void result_params(json_t *o, long trainable, long backbone);
/* Writes o (taken) as DIR/result.json. */
int result_write(json_t *o, const char *dir, struct err *e);

/* eval_reference.c (every rank; rank 0 writes): RUN/runs/zero-shot and RUN/baselines.json. */
int evaluate_zero_shot(struct train_data *d, struct test_block *b, const struct world *w, const struct logger *log,
                       struct err *e);
int write_baselines(const struct train_data *d, const char *path, struct err *e);

#endif
