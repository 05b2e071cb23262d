/* One interface for every parameter-efficient tuning method (DESIGN.md section 3).
 *
 * Life cycle, around the backbone's (model/vlt5.h):
 *     vlt5_register(&m, &p, &dims, &vopts, &e);     full / BitFit are backbone options (vopts)
 *     peft_create(&pf, &popts, &m, &p, &e);          the method registers its tensors (owner
 *                                                    PARAM_PEFT, trainable) and attaches its hooks
 *     params_alloc(&p); vlt5_bind(&m); peft_bind(pf);
 *     vlt5_load(&m, backbone, &e); peft_init(pf, seed);
 *   training step (seed, step in the batch):
 *     vlt5_forward -> vlt5_loss -> [regularisers, below] -> vlt5_backward -> optimizer
 *   evaluation (dev scores, test predictions, analysis):
 *     peft_eval_prepare(pf) after the last update, then vlt5_forward / vlt5_generate with train = 0
 *     (MixPHM and AdaMix then use their merged expert).
 * The trainable parameters of every method live in the registry, so checkpoints and the gradient
 * allreduce see one contiguous buffer whatever the method.
 *
 * Randomness inside a method (MixPHM's and AdaMix's expert draw per layer and step, their dropout)
 * comes from the counter-based RNG keyed on the hook batch's (seed, step) and the site: every rank of
 * a training group draws the same experts, so a run gives the same result on any number of ranks.
 *
 * Regularisers (MixPHM's redundancy and mutual-information terms, mixphm-spec section 2) are computed
 * over the whole global batch of a training group, which may be split over ranks.  They are therefore
 * split into local sums and two reductions that the caller performs:
 *     1. peft_reg_local(pf, &m, stats, pooled)        after vlt5_loss: stats[] are sums over this
 *                                                     rank's examples (per layer the d x d cross-
 *                                                     correlation and the token counts); pooled[] this
 *                                                     rank's mean-pooled final outputs, one row per
 *                                                     example and per stack
 *     2. caller: stats summed over the group (allreduce); pooled rows gathered in global example order
 *     3. peft_reg_backward(...)                       the loss value and the gradients with respect to
 *                                                     this rank's h and h_a (kept for the hooks'
 *                                                     backward), and this rank's part of the gradient
 *                                                     with respect to every example's pooled vector
 *     4. caller: dpooled summed over the group (allreduce)
 *     5. peft_reg_pooled_grad(pf, &m, dpooled, ex0)   adds the rows of this rank's examples into
 *                                                     vlt5_final_grad(); then vlt5_backward
 * peft_reg_step() does all five on one process.  With one rank, or one group of any size, the loss and
 * gradients equal those of the whole batch on one process. */
#ifndef MIXPHM_MODEL_PEFT_PEFT_H
#define MIXPHM_MODEL_PEFT_PEFT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/params.h"
#include "model/vlt5.h"

/* The same order as the config's peft.method and peft.routing values. */
enum peft_kind {
    PEFT_KIND_FULL,
    PEFT_KIND_BITFIT,
    PEFT_KIND_LORA,
    PEFT_KIND_HOULSBY,
    PEFT_KIND_PFEIFFER,
    PEFT_KIND_COMPACTER,
    PEFT_KIND_COMPACTERPP,
    PEFT_KIND_ADAMIX,
    PEFT_KIND_MIXPHM,
    PEFT_KIND_COUNT
};
enum peft_route { PEFT_ROUTE_NONE, PEFT_ROUTE_MUL, PEFT_ROUTE_ADD, PEFT_ROUTE_PROJ, PEFT_ROUTE_EXPAND };

struct peft_options {
    int method;  /* enum peft_kind */
    int routing; /* enum peft_route */
    /* Each method's hyperparameters follow (filled from the config by pipeline/config_peft.c). */
};

struct peft {
    struct peft_options opts;
    struct vlt5 *model;
    struct params *params;
    void *method; /* the method's own state; NULL for full fine-tuning and BitFit */
};

const char *peft_kind_name(int method);
/* Whether `method` trains the backbone's own tensors (full) or its biases (BitFit): these are options
 * of vlt5_register, so they are set in struct vlt5_options before it. */
void peft_backbone_options(const struct peft_options *o, struct vlt5_options *vo);
/* After vlt5_register, before params_alloc. */
int peft_create(struct peft **out, const struct peft_options *o, struct vlt5 *m, struct params *p, struct err *e);
/* After params_alloc and vlt5_bind. */
void peft_bind(struct peft *pf);
/* Initial values of the method's trainable tensors (counter-based, from `seed`). */
void peft_init(struct peft *pf, uint64_t seed);
/* Before an evaluation pass: whatever the method uses at inference (merged experts). */
void peft_eval_prepare(struct peft *pf);
void peft_free(struct peft *pf);

/* ---- regularisers --------------------------------------------------------------------------- */

/* Floats of the summed statistics and of one example's pooled row; both 0 when the method has no
 * regulariser (or its weights are 0). */
void peft_reg_sizes(const struct peft *pf, size_t *stats_len, size_t *pooled_width);
/* stats [stats_len] (overwritten), pooled [B_local, pooled_width] (overwritten). */
void peft_reg_local(struct peft *pf, const struct vlt5 *m, float *stats, float *pooled);
/* stats_sum: stats summed over the group; pooled_all [global_batch, pooled_width]; dpooled_all
 * [global_batch, pooled_width] receives this rank's part of the gradient.  Returns the part of the
 * loss that every rank computes identically; *loss_partial is this rank's share of the rest (the
 * caller sums it over the group for the loss value; gradients need no such sum). */
double peft_reg_backward(struct peft *pf, const struct vlt5 *m, const float *stats_sum, const float *pooled_all,
                         long global_batch, uint64_t ex0, float *dpooled_all, double *loss_partial);
/* dpooled_sum [global_batch, pooled_width]: the gradient summed over the group. */
void peft_reg_pooled_grad(struct peft *pf, struct vlt5 *m, const float *dpooled_sum, uint64_t ex0);
/* All of the above on one process (the batch is the whole global batch); returns the loss. */
double peft_reg_step(struct peft *pf, struct vlt5 *m);

#endif
