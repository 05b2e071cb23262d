/* Softmax cross-entropy over the vocabulary, one row per target token.
 *
 * Forward:  loss_n = logsumexp(z_n) - z_n[t_n] for rows with a target t_n >= 0; rows with t_n < 0
 *           (the ignore index -100) have no loss.
 * Backward: dz_n = w_n * (softmax(z_n) - onehot(t_n)), written over the logits (the vocabulary-sized
 *           buffer is the biggest activation of the LM head; it is not needed after this).
 * The row weights w_n carry the loss reduction (for VQA: score / (tokens of the example * global
 * batch)), so the kernel knows nothing about how rows are grouped. */
#ifndef MIXPHM_NN_XENT_H
#define MIXPHM_NN_XENT_H

#include <stdint.h>

#define XENT_IGNORE (-100)

/* z [N, V]; target [N]; row_loss [N] (0 for ignored rows); lse [N] kept for backward. */
void xent_forward(float *row_loss, float *lse, const float *z, const int32_t *target, int N, int V);
/* z [N, V] -> dz in place; row_weight [N]. */
void xent_backward(float *z, const float *lse, const int32_t *target, const float *row_weight, int N, int V);

#endif
