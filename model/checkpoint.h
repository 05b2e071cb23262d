/* Training checkpoints: everything a run needs to continue exactly where it stopped.
 *
 *   /params/NAME, /adam_m/NAME, /adam_v/NAME   float32, every trainable tensor of the registry
 *   /adam_step                                 int32, each trainable tensor's AdamW step count
 *   /history/dev_epoch, /history/dev_score     the dev validations so far
 *   /history/loss                              the mean training loss of every epoch so far
 *   root attributes                            format, version, the run's config hash and the loop
 *                                              state (struct train_state)
 *
 * Written to NAME.tmp and renamed, so the previous checkpoint stays until the new one is complete.
 * The random numbers of training are counter-based (keyed on the run's seed and the step), so the
 * loop state plus these tensors is the whole state: a resumed run ends with bit-identical weights. */
#ifndef MIXPHM_MODEL_CHECKPOINT_H
#define MIXPHM_MODEL_CHECKPOINT_H

#include "base/err.h"
#include "base/hash.h"
#include "model/params.h"

#define CHECKPOINT_FORMAT "mixphm-checkpoint"
#define CHECKPOINT_VERSION 2
#define CHECKPOINT_MAX_HISTORY 100000

struct train_state {
    long step;           /* optimizer steps taken */
    long epoch;          /* epochs completed */
    double best_score;   /* best dev score (percent); -1 before the first validation */
    long best_epoch;     /* the epoch of the best weights (best.h5) */
    double es_best;      /* early stopping's best, improved only by more than min_delta */
    long es_bad;         /* validations since es_best improved */
    double dev_total;    /* sum of every dev score so far (early stopping counts once it is > 0) */
    int stopped_early;
    double epoch_loss;   /* sum of the step losses of the current epoch so far */
    double seconds;      /* training time so far, over every resumption */
    long n_dev;
    long *dev_epoch;     /* [n_dev] */
    double *dev_score;   /* [n_dev] */
    long n_loss;
    double *loss;        /* [n_loss] mean training loss per epoch */
};

void train_state_init(struct train_state *s);
void train_state_free(struct train_state *s);
void train_state_add_dev(struct train_state *s, long epoch, double score);
void train_state_add_loss(struct train_state *s, double loss);

/* Writes the trainable tensors, their AdamW moments and the state to `path` (atomically). */
int checkpoint_save(const struct params *p, const char *path, const char run_hash[HASH_HEX_LEN],
                    const struct train_state *s, struct err *e);
/* The settings hash a checkpoint was written for (its run_hash attribute). */
int checkpoint_read_hash(const char *path, char hash[HASH_HEX_LEN], struct err *e);
/* Reads a checkpoint written for the same run: the run hash must match and every trainable tensor must
 * be there with its shape (messages name the file and the tensor).  s is (re)initialised. */
int checkpoint_load(struct params *p, const char *path, const char run_hash[HASH_HEX_LEN], struct train_state *s,
                    struct err *e);

#endif
