/* The PEFT hook interface of the VL-T5 backbone.
 *
 * A method (model/peft/) attaches hooks at sites of the backbone; a site with no hook costs nothing.
 * Every hook has a forward and a backward; the backbone calls each backward exactly once, in reverse
 * order, for each forward call made while training.
 *
 *   linear hooks   at every linear of every block: q, k, v, o of the encoder self-attention, the
 *                  decoder self-attention and the decoder cross-attention, wi and wo of every FFN.
 *                  Forward adds a delta to the frozen product: y[n, out] += delta(x[n, in])
 *                  (LoRA on q and v).  Backward receives x and dy and must ADD its input gradient to
 *                  dx (dx is NULL when the backbone needs none) and accumulate its own parameter
 *                  gradients.
 *   output hooks   at the output of every sub-layer (self-attention, cross-attention, FFN), before
 *                  T5's dropout and residual add: h <- h + adapter(h), in place.  MixPHM's data flow
 *                  f = FFN(LN(x)); out = f + h_a(f); x' = x + Dropout(out) is an output hook on the FFN
 *                  sub-layer; Houlsby adds one on the self-attention sub-layer too.  Backward turns
 *                  the gradient with respect to the hook's output into the gradient with respect to
 *                  its input, in place.
 *
 * The hook batch gives each call what a method may condition on: the per-example visual summary
 * x_R = mean over regions of the visual embedding ([B, d_model], for routing functions), the padding
 * mask, and the dropout coordinates (seed, step, global example index) so a method's own dropout can
 * draw masks that do not depend on the rank split (nn/dropout.h; use sites >= VLT5_SITE_USER).
 *
 * Regularisers on adapter representations keep what they need (h, h_a) in their own buffers during
 * output_forward; after the forward the caller computes the regulariser, stores its gradients with
 * respect to h and h_a in the module (added in output_backward), and adds its gradient with respect to
 * the final encoder/decoder hidden states into vlt5_final_grad() before vlt5_backward().
 *
 * Decoding calls the same hooks with train = 0: the encoder with whole sequences, then per generated
 * token the decoder with one row per example (T = 1, pos0 = the position); the cross-attention k and v
 * hooks run once per batch on the encoder output. */
#ifndef MIXPHM_MODEL_VLT5_HOOKS_H
#define MIXPHM_MODEL_VLT5_HOOKS_H

#include <stdint.h>

#include "nn/dropout.h"

enum vlt5_stack { VLT5_ENCODER = 0, VLT5_DECODER = 1 };
enum vlt5_sublayer { VLT5_SELF_ATTN = 0, VLT5_CROSS_ATTN = 1, VLT5_FFN = 2 };
/* Attention sub-layers have Q, K, V, O; FFN sub-layers WI, WO. */
enum vlt5_linear { VLT5_Q = 0, VLT5_K = 1, VLT5_V = 2, VLT5_O = 3, VLT5_WI = 4, VLT5_WO = 5 };
#define VLT5_N_SUBLAYERS 3
#define VLT5_N_LINEARS 6
/* Dropout sites below this are the backbone's. */
#define VLT5_SITE_USER (1u << 24)

struct vlt5_site {
    int stack;    /* enum vlt5_stack */
    int layer;    /* block index in the stack */
    int sublayer; /* enum vlt5_sublayer */
    int linear;   /* enum vlt5_linear for a linear hook, -1 for an output hook */
};

struct vlt5_hook_batch {
    int train;                  /* 1: training pass (dropout on, backward follows), 0: evaluation/decoding */
    int B;                      /* local examples; the rows of a call are example-major */
    int T;                      /* rows per example in this call (1 in a decoding step) */
    int pos0;                   /* position of row 0 of each example (the step when decoding, else 0) */
    const unsigned char *valid; /* [B, T]: encoder 1 for text and regions, 0 for text padding; decoder 1
                                   where the position predicts an answer token; NULL: all */
    const float *cond;          /* [B, d_model]: x_R, the mean visual embedding of each example */
    uint64_t ex0;               /* global index of local example 0 */
    long global_batch;          /* examples in the global batch */
    const struct dropout *dropout; /* this pass's seed and step (p is the backbone's rate) */
};

struct vlt5_hook {
    void *ctx; /* the method's state */
    /* y[n, out] += delta(x[n, in]); NULL: no linear delta. */
    void (*linear_forward)(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                           const float *x, float *y, int n, int in, int out);
    /* dx[n, in] += J^T dy (dx may be NULL); own gradients +=. */
    void (*linear_backward)(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                            const float *x, const float *dy, float *dx, int n, int in, int out);
    /* h[n, d] <- h + adapter(h); NULL: no output hook. */
    void (*output_forward)(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                           float *h, int n, int d);
    /* dh[n, d]: d(output) in, d(input) out. */
    void (*output_backward)(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                            float *dh, int n, int d);
};

#endif
