/* One optimizer step of a training group (the ranks that train one run together, data parallel).
 *
 * Every rank holds its share of the global batch (possibly none).  The step:
 *   1. forward and the answer loss of the share, divided by the GLOBAL batch size; with AdaMix's
 *      consistency loss (peft.consistency > 0) first a second pass with other experts and dropout,
 *      whose logits and those of the first are each other's detached targets (model/peft/peft.h);
 *   2. the method's regularisers over the whole global batch: the local statistics summed over the
 *      group, the pooled final outputs gathered in global example order, the pooled gradients summed
 *      (model/peft/peft.h);
 *   3. backward through the frozen backbone;
 *   4. the gradient buffer summed over the group in buckets (mpi/grad_allreduce.h), every bucket every
 *      step, in buffer order;
 *   5. a non-finite loss or gradient stops the run with the step number;
 *   6. global-norm clipping and the same AdamW update on every rank, of the tensors that got a
 *      gradient (the experts drawn in this step; the same on every rank of the group).
 * The summed gradients equal the single-rank gradients of the whole batch up to the order of the
 * floating-point sums, so a run gives the same result on 1, 2 or 4 ranks within rounding; with
 * trainer_fixed_order (train.chunk_examples) the same bits on any number of ranks. */
#ifndef MIXPHM_TRAIN_STEP_H
#define MIXPHM_TRAIN_STEP_H

#include <mpi.h>

#include "mpi/tree_sum.h"
#include "nn/adamw.h"
#include "train/model.h"

struct trainer {
    struct model_ctx *mc;
    MPI_Comm comm;
    int rank, size;
    size_t bucket_floats;
    struct adamw_hparams hp;
    double weight_decay, clip_norm;
    /* regulariser exchange (empty when the method has none) */
    size_t stats_len, pooled_w;
    float *stats;        /* [stats_len] */
    float *pooled_local; /* [max share, pooled_w] */
    float *pooled_all;   /* [max global batch, pooled_w] */
    float *dpooled;      /* [max global batch, pooled_w] */
    int *counts, *displs; /* [size] for the gather */
    /* consistency loss (NULL when peft.consistency is 0) */
    float *logits_a, *logits_b; /* [max_batch * max_target, vocab]: the two passes' logits */
    long nan_step;       /* debug.nan_gradient_step: a NaN gradient at this step; 0: none */
    /* fixed-order sums (train.chunk_examples > 0; trainer_fixed_order) */
    int chunk;                   /* examples per chunk; 0: one share per rank, sums by MPI_Allreduce */
    struct tree_sum grad_tree, stats_tree, dpooled_tree;
    double *chunk_loss;          /* [max chunks] */
    float *dpooled_scratch;      /* [max global batch, pooled_w] */
    size_t kept_floats;          /* peft_reg_keep_size of a chunk; 0 without the MI term */
    float *kept;                 /* [max chunks of a share, kept_floats] */
    int sets;                    /* > 0: the activation sets kept for a share's chunks (vlt5_sets_alloc) */
};

int trainer_init(struct trainer *t, struct model_ctx *mc, MPI_Comm comm, int max_global_batch, double bucket_mb,
                 double weight_decay, double adam_eps, double clip_norm);
void trainer_free(struct trainer *t);
/* train.chunk_examples: with chunk > 0 every global batch is computed in chunks of `chunk` examples,
 * each on its own, and every sum over examples that crosses chunks (the gradients, the regularisers'
 * statistics and pooled gradients, the loss) is a fixed tree over the chunks (mpi/tree_sum.h): the
 * step's result no longer depends on how many ranks share the batch.  A rank then holds whole chunks
 * (trainer_share).  The regularisers need every chunk's statistics before any chunk's backward, so a
 * rank with several chunks keeps each chunk's activations from its forward to its backward (keep_sets,
 * train.chunk_keep_activations: an activation set per chunk, vlt5_sets_alloc) or, without keep_sets
 * or where the method cannot keep them (the consistency loss), runs each forward again (the MI term's
 * inputs are kept from the first).  Both give the same bits. */
int trainer_fixed_order(struct trainer *t, int chunk, int max_global_batch, int keep_sets, long long room_per_rank,
                        struct err *e);
/* The bytes trainer_fixed_order allocates on each rank; room_per_rank (-1: unknown, not checked) is
 * what a rank may still allocate: beyond it trainer_fixed_order refuses with the figures rather than
 * leave the kernel to kill the job later (Linux overcommits). */
size_t trainer_fixed_order_bytes(const struct trainer *t, int chunk, int max_global_batch, int keep_sets);
/* This rank's share [lo, hi) of a global batch of Bg examples. */
void trainer_share(const struct trainer *t, int Bg, int *lo, int *hi);

/* One step on the share `b` of a global batch of b->global_batch examples (b->B may be 0).  lr is this
 * step's learning rate, step_no the 1-based optimizer step.  *loss is the batch's loss (the same on
 * every rank), *grad_norm the gradient norm before clipping.  Errors are every rank's: a forward error
 * on some ranks (tested in tests/mpi/test_trainer_errors.c) is agreed before the next collective. */
int trainer_step(struct trainer *t, const struct vlt5_batch *b, double lr, long step_no, double *loss,
                 double *grad_norm, struct err *e);

#endif
