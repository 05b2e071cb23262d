/* The epoch loop of one training run (a k-shot run of the sweep, or the synthetic backbone's
 * pretraining), the papers' schedule:
 *   - epochs over the n training examples in a counter-based random order per epoch, global batches of
 *     `batch` (the last one smaller), AdamW with linear warm-up over floor(warmup_ratio * total steps)
 *     and linear decay (mixphm-spec 3.2);
 *   - dev validation every val_interval epochs and after the last (with the method's inference form);
 *     the best dev score's weights go to best.h5, a tie to the later one; early stopping after
 *     `patience` validations without an improvement of more than min_delta, counted once the dev scores
 *     add up to more than 0 (formats.md 6.6);
 *   - a checkpoint every checkpoint_steps steps and on a stop signal (then the loop returns with
 *     *stop_signal set); on entry, the run continues from its checkpoint, bit for bit.
 * Every rank of the group runs the loop; files are written by the group's rank 0. */
#ifndef MIXPHM_TRAIN_LOOP_H
#define MIXPHM_TRAIN_LOOP_H

#include "base/log.h"
#include "model/checkpoint.h"
#include "train/step.h"

struct train_job {
    struct trainer *tr;
    const char *name; /* for the log: "mixphm-k16-s13", "pretrain" */
    const char *checkpoint; /* path of the run's checkpoint file */
    char run_hash[HASH_HEX_LEN];
    uint64_t seed;
    long n_examples, batch, epochs;
    double lr, warmup_ratio;
    long checkpoint_steps;
    long val_interval; /* epochs between validations; 0: after the last only; -1: never */
    long patience;     /* 0: no early stopping */
    double min_delta;
    /* This rank's share [lo, hi) of the global batch of examples idx[0..Bg) (indices into the run's
     * example list) in `epoch`. */
    int (*make_batch)(void *ctx, const int32_t *idx, int Bg, int lo, int hi, long epoch, struct vlt5_batch *b,
                      struct err *e);
    /* The dev score of the current weights (the same on every rank). */
    int (*validate)(void *ctx, double *score, struct err *e);
    /* Writes the current weights (after `step` steps) as the best ones (on the group's rank 0 only). */
    int (*save_best)(void *ctx, long step, struct err *e);
    void *ctx;
    const struct logger *log; /* enabled on the group's rank 0 */
    double log_interval;
};

/* Runs (or continues) the job; *st holds the final state (train_state_free it).  Returns 0 also when a
 * stop signal ended the loop early (*stop_signal != 0, checkpoint written).  Errors are the same on
 * every rank of the group. */
int train_loop(struct train_job *j, struct train_state *st, int *stop_signal, struct err *e);

#endif
