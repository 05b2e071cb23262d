/* The optimiser of the MixPHM recipe, exactly as HF transformers.AdamW (correct_bias=True) and
 * get_linear_schedule_with_warmup, plus clip_grad_norm_.
 *
 * One AdamW step t (1-based) on a parameter p with gradient g:
 *     m = b1 m + (1 - b1) g;    v = b2 v + (1 - b2) g^2
 *     step_size = lr * sqrt(1 - b2^t) / (1 - b1^t)
 *     p -= step_size * m / (sqrt(v) + eps)
 *     p -= lr * wd * p                       (decoupled decay, after the Adam update; wd 0 for "no decay")
 * Linear schedule: the learning rate of the optimizer step that follows s scheduler steps (s = 0 for
 * the first update) is base * s / warmup while s < warmup, else
 * base * max(0, (total - s) / (total - warmup)).  So with warm-up the first update uses lr 0.
 * Gradient clipping: norm = sqrt(sum g^2) over all trainable gradients; if norm > max_norm every
 * gradient is multiplied by max_norm / (norm + 1e-6). */
#ifndef MIXPHM_NN_ADAMW_H
#define MIXPHM_NN_ADAMW_H

#include <stddef.h>

/* Doubles, as the Python floats of the reference: each constant is rounded to float32 where torch
 * rounds it (beta1 and 1 - beta1 separately, for instance). */
struct adamw_hparams {
    double beta1, beta2, eps;
};

/* t is the 1-based step count after this update. */
void adamw_update(float *p, const float *g, float *m, float *v, size_t n, double lr, double weight_decay,
                  const struct adamw_hparams *h, long t);

double lr_linear_warmup(double base, long s, long warmup, long total);

/* Sum of squares (in double) of g[n]. */
double sum_squares(const float *g, size_t n);
/* Scale factor clip_grad_norm_ applies for a global norm: max_norm / (norm + 1e-6) or 1. */
float clip_factor(double norm, double max_norm);
void scale_floats(float *g, size_t n, float s);

#endif
