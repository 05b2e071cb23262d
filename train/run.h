/* One training run, from the stage's call to the last optimizer step:
 *
 *   train_run   a k-shot run of the sweep: its train and dev questions, the backbone, the run's method;
 *               writes RUN/runs/NAME/{last.h5, best.h5, train.json} and its stamp
 *   train_loop  the epochs of any run (also the synthetic backbone's pretraining, train/pretrain.h),
 *               the papers' schedule:
 *     - epochs over the n training examples in a counter-based random order per epoch, global batches
 *       of `batch` (the last one smaller), AdamW with linear warm-up over floor(warmup_ratio * total
 *       steps) and linear decay (docs/training.md);
 *     - dev validation every val_interval epochs and after the last (with the method's inference form);
 *       the best dev score's weights go to best.h5, a tie to the later one; early stopping after
 *       `patience` validations without an improvement of more than min_delta, counted once the dev
 *       scores add up to more than 0;
 *     - a checkpoint every checkpoint_steps steps and on a stop signal (then the loop returns with
 *       *stop_signal set); on entry, the run continues from its checkpoint, bit for bit.
 * Every rank of the group (`comm`) calls them; files are written by the group's rank 0. */
#ifndef MIXPHM_TRAIN_RUN_H
#define MIXPHM_TRAIN_RUN_H

#include <mpi.h>

#include "base/log.h"
#include "model/checkpoint.h"
#include "train/data.h"
#include "train/decode.h"
#include "train/step.h"

/* The dev questions a k-shot run validates on. */
struct dev_set {
    const struct tokenizer *tok;
    const int32_t *rows; /* [n] question rows */
    long n;
    struct batch_buf *buf; /* decoding buffers for `batch` questions */
    int batch, max_new;
};

struct train_job {
    struct trainer *tr;
    const char *name;       /* for the log: "mixphm-k16-s13", "pretrain" */
    const char *checkpoint; /* path of the run's checkpoint file */
    char run_hash[HASH_HEX_LEN];
    uint64_t seed;
    long n_examples, batch, epochs;
    double lr, warmup_ratio;
    long checkpoint_steps;
    long val_interval; /* epochs between validations; 0: after the last only; -1: never */
    long patience;     /* 0: no early stopping */
    double min_delta;
    /* The examples: question rows[n_examples] of a k-shot run, or (rows NULL) n_examples pretraining
     * pairs per epoch, epoch e taking pairs e * n_examples, ... (modulo the corpus); their images in
     * `cache`, this rank's share built in `buf`. */
    const struct prepared *p;
    const struct image_cache *cache;
    struct batch_buf *buf;
    const int32_t *rows;
    const struct dev_set *dev; /* NULL: no validation */
    long stop_after_steps;     /* debug.stop_after_steps (0: off) */
    const char *best_path;     /* where validation keeps the best weights */
    const struct logger *log;  /* enabled on the group's rank 0 */
    double log_interval;
};

/* Runs (or continues) the job; *st holds the final state (train_state_free it).  Returns 0 also when a
 * stop signal ended the loop early (*stop_signal != 0, checkpoint written).  Errors are the same on
 * every rank of the group. */
int train_loop(struct train_job *j, struct train_state *st, int *stop_signal, struct err *e);

/* The trainable tensors (and the step count) as a weights file: best.h5, last.h5. */
int save_trainable(struct model_ctx *mc, const char *path, long step, struct err *e);

int train_run(struct train_data *d, const struct config *run_cfg, const char *name, MPI_Comm comm,
              const struct logger *log, int *stop_signal, struct err *e);

#endif
