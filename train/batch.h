/* Batches for training, validation and evaluation, built from prepared.h5 rows and cached features.
 *
 * A global batch is a list of rows (questions, or pretraining pairs); the ranks of a training group
 * each build their contiguous share of it.  Everything that could depend on the split is computed from
 * the whole global batch instead, so that any number of ranks computes exactly the single-rank batch:
 *   - the text is padded to the longest question of the global batch, the answers to the longest
 *     answer (the MixPHM regulariser's token masks and its mean over positions depend on padding);
 *   - the answer each example learns from is drawn from its soft labels with the counter-based RNG,
 *     keyed on (seed, epoch, question row) (docs/data.md, "Answer targets");
 *   - ex0 is the share's first index in the global batch (dropout masks, the loss denominator). */
#ifndef MIXPHM_TRAIN_BATCH_H
#define MIXPHM_TRAIN_BATCH_H

#include <stdint.h>

#include "base/err.h"
#include "data/features.h"
#include "data/prepared.h"
#include "model/vlt5.h"

/* The features of the images a run uses, read once. */
struct image_cache {
    long n;        /* cached images */
    int dim;       /* feature size per region (d_model when projected) */
    int projected; /* the features are the frozen visual embedding's output */
    int regions;
    float *feats;  /* [n, regions, dim] */
    float *boxes;  /* [n, regions, 4] */
    int32_t *slot; /* [n_images of prepared.h5]: cache slot of an image row, or -1 */
};

/* Reads the images of `image_rows` (repeats allowed) with one hyperslab read. */
int image_cache_load(struct image_cache *c, const struct features_file *f, const int32_t *image_rows, long n,
                     long n_images, struct err *e);
void image_cache_free(struct image_cache *c);

/* Buffers for one share, allocated once for the largest share. */
struct batch_buf {
    int cap_B, cap_text, cap_target;
    int32_t *text;   /* [cap_B, cap_text] */
    float *feats;    /* [cap_B, regions, dim] */
    float *boxes;    /* [cap_B, regions, 4] */
    int32_t *labels; /* [cap_B, cap_target] */
    float *weights;  /* [cap_B] */
};

void batch_buf_alloc(struct batch_buf *b, int cap_B, int cap_text, int cap_target, const struct image_cache *c);
void batch_buf_free(struct batch_buf *b);

/* The share [lo, hi) of `size` ranks' rank `rank` in a global batch of Bg items. */
void batch_share(int Bg, int rank, int size, int *lo, int *hi);
/* With train.chunk_examples = chunk > 0 the global batch is cut into chunks of `chunk` examples (the
 * last one shorter) and every rank gets whole chunks, batch_share's split of the chunks; chunk 0 is
 * batch_share itself. */
void chunk_share(int Bg, int chunk, int rank, int size, int *lo, int *hi);
/* The largest share chunk_share gives for global batches of at most `batch` examples. */
int chunk_share_max(int batch, int chunk, int size);
/* The order of n training examples in `epoch`: a counter-based permutation of 0..n-1. */
void epoch_order(uint64_t seed, long epoch, long n, int32_t *order);

/* VQA examples: rows [Bg] are question rows; labels are drawn answers (train) or absent (decode).
 * When `with_labels`, every example's drawn answer and weight go to labels/weights. */
int batch_vqa(struct vlt5_batch *b, struct batch_buf *buf, const struct prepared *p, const struct image_cache *c,
              const int32_t *rows, int Bg, int lo, int hi, int with_labels, uint64_t seed, long epoch, struct err *e);
/* Pretraining pairs: rows [Bg] are pretraining rows; weight 1. */
int batch_pretrain(struct vlt5_batch *b, struct batch_buf *buf, const struct prepared *p, const struct image_cache *c,
                   const int32_t *rows, int Bg, int lo, int hi, struct err *e);

#endif
