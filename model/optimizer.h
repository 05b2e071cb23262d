/* The optimizer step over the parameter registry: HF AdamW with its no-decay rule, and
 * clip_grad_norm_ over every trainable gradient (nn/adamw.h has the formulas).
 *
 * A training step after the gradients are complete (and allreduced):
 *     double norm = params_clip_grad(p, clip_norm);
 *     params_adamw_step(p, lr_linear_warmup(lr, s, warmup, total), weight_decay, &hparams, s + 1);
 * Every rank holds the same gradients, so every rank makes the same update. */
#ifndef MIXPHM_MODEL_OPTIMIZER_H
#define MIXPHM_MODEL_OPTIMIZER_H

#include "model/params.h"
#include "nn/adamw.h"

/* HF's rule: no weight decay for names containing "bias" or "LayerNorm.weight" (T5's norms are named
 * layer_norm.weight and therefore do get decay, as in MixPHM's code). */
int param_no_decay(const char *name);
/* sqrt(sum of squared trainable gradients). */
double params_grad_norm(const struct params *p);
/* Scales the gradients when their norm exceeds max_norm; returns the norm before clipping. */
double params_clip_grad(struct params *p, double max_norm);
/* One AdamW update of the trainable tensors that got a gradient: updated[n] (by handle) says which, NULL
 * means all.  As HF AdamW skips a parameter whose .grad is None (MixPHM's and AdaMix's experts not
 * drawn in a step), a skipped tensor keeps its moments and weights (no decay either) and its own step
 * count p->adam_step[i], which drives its bias correction, does not advance. */
void params_adamw_step(struct params *p, double lr, double weight_decay, const struct adamw_hparams *h,
                       const unsigned char *updated);

#endif
