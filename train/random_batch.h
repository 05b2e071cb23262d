/* Random inputs in the shapes of a VQA batch, for the benchmarks and the cost estimate: questions and
 * answers of a few lengths (so there is padding), region features and boxes.  The contents depend on
 * the global example index only, so any split of the global batch over ranks sees the same batch. */
#ifndef MIXPHM_TRAIN_RANDOM_BATCH_H
#define MIXPHM_TRAIN_RANDOM_BATCH_H

#include <stdint.h>

#include "model/vlt5.h"

struct random_share {
    int32_t *text, *labels; /* [B, Lt], [B, Ld] */
    float *feats, *boxes;   /* [B, R, feat_dim], [B, R, 4] */
    float *weights;         /* [B] */
};

/* This rank's examples [lo, hi) of the global batch; ids below `vocab`. */
void random_share_fill(struct random_share *s, int lo, int hi, int Lt, int Ld, int R, int feat_dim, int vocab);
void random_share_free(struct random_share *s);
/* The share as a training batch of global size Bg (seed 1, step 1). */
struct vlt5_batch random_share_batch(const struct random_share *s, int lo, int hi, int Bg, int Lt, int Ld);

#endif
