/* One interface for every parameter-efficient tuning method (docs/methods.md).
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
 * Regularisers (MixPHM's redundancy and mutual-information terms, docs/methods.md) are computed
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
 * gradients equal those of the whole batch on one process, provided every rank pads its share of the
 * batch to the global batch's text and answer lengths (the training stage does): the encoder's token
 * selection (the first mask.sum() positions of each example, a quirk of the authors' code that keeps
 * text padding and drops the last visual tokens) and the mean over positions of the pooled final
 * outputs depend on the padded length.  Methods without a regulariser report sizes 0 and the steps
 * do nothing.
 *
 * Experts and the optimizer: in training MixPHM and AdaMix run one expert per layer, so the other
 * experts get no gradient.  PyTorch leaves their .grad None, and HF AdamW then skips them entirely (no
 * moment decay, no weight decay, and their own step count, which drives the bias correction, does
 * not advance).  peft->used[h] says which tensors got a gradient since peft_used_clear(); a trainer
 * that reproduces the authors' optimizer updates only those and keeps a step count per tensor.
 *
 * AdaMix's consistency loss (peft.consistency; docs/methods.md): L = w * 0.5 [KL(q^||p) + KL(p^||q)]
 * between the answer distributions p, q of two training passes with different random routing (and
 * dropout), ^ meaning detached, each KL averaged over the decoder rows of the global batch (all
 * global_batch * Ld rows, answer padding included, as the code's batchmean).  With the backbone's
 * single activation store a training step runs three passes:
 *     A: vlt5_forward(seed)                         keep a copy LA of m->logits
 *     B: vlt5_forward(peft_pass_seed(seed, 1))      keep a copy LB of m->logits;
 *        peft_consistency(m, LB, LA, w, 0)          m->logits = gradient of w 0.5 KL(p^||q)
 *        vlt5_backward
 *     A again: vlt5_forward(seed)                   the same experts and dropout as the first A
 *        vlt5_loss; peft_consistency(m, LA, LB, w, 1)   adds the gradient of w 0.5 KL(q^||p)
 *        regularisers; vlt5_backward; optimizer
 * The VQA loss and the regularisers come from pass A only, as in the code. */
#ifndef MIXPHM_MODEL_PEFT_PEFT_H
#define MIXPHM_MODEL_PEFT_PEFT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/params.h"
#include "model/peft/methods.h"
#include "model/vlt5.h"

struct peft_lora_options {
    int r;         /* rank (8) */
    float alpha;   /* the update is scaled by alpha / r (loralib's default alpha 1, as in MixPHM's code) */
    float dropout; /* on the input of A (and on x_R with routing) */
};
struct peft_adapter_options { /* Houlsby and Pfeiffer */
    int bottleneck;           /* 64 */
};
struct peft_compacter_options {
    int bottleneck, phm_dim, rank; /* 64, 4, 1 */
    float phm_init_std;            /* S ~ N(0, std^2): 0.01 */
};
struct peft_adamix_options {
    int bottleneck, experts; /* 64, 4 */
    int share_up, share_down; /* one up (down) projection for all experts: AdaMix's default shares up */
};
struct peft_mixphm_options {
    int bottleneck, phm_dim, rank, experts; /* 64, 4, 8, 4 */
    int share_down, share_up;               /* MixPHM shares the down projection only */
    float dropout;                          /* inside the module, after GELU: 0.5 */
    float alpha;                            /* output scale (ada_alpha): 1 */
    float phm_init_std;                     /* 0.01 */
    float red_weight, mi_weight, red_lambda; /* MixPHM's regulariser: 0.2, 0.04, 3.9e-3 */
};
/* How MixPHM and AdaMix pick their experts in training. */
enum peft_expert_rule {
    PEFT_EXPERTS_RANDOM, /* uniform, a pure function of (seed, step, stack, layer, projection) */
    PEFT_EXPERTS_FIXED   /* tests: expert (expert_offset + layer + 2 stack + projection) mod E, with
                            projection 0 for the down and 1 for the up projection */
};

struct peft_options {
    int method;  /* enum peft_method */
    int routing; /* enum peft_routing */
    struct peft_lora_options lora;
    struct peft_adapter_options adapter;
    struct peft_compacter_options compacter;
    struct peft_adamix_options adamix;
    struct peft_mixphm_options mixphm;
    float consistency; /* weight of AdaMix's consistency loss (peft_consistency); 0: off */
    int expert_rule;   /* enum peft_expert_rule */
    int expert_offset; /* PEFT_EXPERTS_FIXED only; may be changed between passes */
    /* MixPHM's redundancy products (U^T R and its backward) as one product over a site's rows of the
     * batch (1) or one per example (0): the same sums in another order.  One product is faster (larger
     * products); per example keeps the bits of earlier releases.  train/config_model.c sets 1 in bf16. */
    int reg_one_product;
};

struct peft {
    struct peft_options opts;
    struct vlt5 *model;
    struct params *params;
    void *method;        /* the method's own state; NULL for full fine-tuning and BitFit */
    unsigned char *used; /* [params->n]: 1 when the tensor got a gradient since peft_used_clear */
};

const char *peft_kind_name(int method);
/* Whether `method` trains the backbone's own tensors (full) or its biases (BitFit): these are options
 * of vlt5_register, so they are set in struct vlt5_options before it. */
void peft_backbone_options(const struct peft_options *o, struct vlt5_options *vo);
/* After vlt5_register, before params_alloc. */
int peft_create(struct peft **out, const struct peft_options *o, struct vlt5 *m, struct params *p, struct err *e);
/* After params_alloc and vlt5_bind. */
void peft_bind(struct peft *pf);
/* Initial values of the method's trainable tensors (counter-based, from `seed`; experts start as
 * copies of one initialisation). */
void peft_init(struct peft *pf, uint64_t seed);
/* Before an evaluation pass, after the last update or after loading trained tensors: whatever the
 * method uses at inference (the merged experts, computed from the current tensors). */
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
/* The mutual-information term's part of step 3 without the forward: a caller that computes a batch in
 * pieces (train.chunk_examples) keeps each piece's inputs of that term after its forward, and gets the
 * piece's loss part and pooled gradients once the statistics of the whole batch are known.  The loss
 * part and dpooled_all equal peft_reg_backward's *loss_partial and dpooled_all for that piece, bit for
 * bit; the gradients into the activations are not computed (peft_reg_backward after the piece's next
 * forward does that).  Sizes are 0 and the calls do nothing without the term. */
size_t peft_reg_keep_size(const struct peft *pf, int B); /* floats for a piece of at most B examples */
void peft_reg_keep(const struct peft *pf, const struct vlt5 *m, float *kept); /* after vlt5_forward */
double peft_reg_kept_mi(struct peft *pf, const float *kept, const float *stats_sum, const float *pooled_all,
                        long global_batch, uint64_t ex0, float *dpooled_all);

/* ---- activation sets ------------------------------------------------------------------------- */

/* The method's side of vlt5_sets_alloc, for a caller that keeps several training forwards before
 * their backwards: n sets of the hooks' own activations, set 0 the method's own buffers and 1 .. n-1
 * of up to B examples; peft_set_select(i) goes with vlt5_set_select(m, i).  Returns -1 (and keeps
 * nothing) when the method cannot: only the adapter methods, the ones with a regulariser, keep sets.
 * The regulariser's gradients are one buffer for all sets: a set's peft_reg_backward must come
 * right before its vlt5_backward. */
int peft_sets_alloc(struct peft *pf, int n, int B);
void peft_set_select(struct peft *pf, int i);
size_t peft_set_bytes(const struct peft *pf, int B); /* one set of B examples; 0 when it cannot */

/* ---- representations for the redundancy analysis (the analyze stage, docs/analysis.md) --------- */

/* Whether the method has an adapter after the FFN of every block, whose output h_a and input h (the
 * frozen FFN output) the analysis compares: Houlsby, Pfeiffer, Compacter(++), AdaMix, MixPHM.  Full
 * fine-tuning, BitFit and LoRA (deltas inside the attention's q and v) have none. */
int peft_has_ffn_adapter(int method);
/* After peft_bind: every later forward keeps h_a of each FFN adapter (buffers allocated here, once).
 * -1 with a message when the method has no FFN adapter. */
int peft_repr_enable(struct peft *pf, struct err *e);
/* After a forward (after peft_repr_enable): for each of the B examples, the mean of h and of h_a at the
 * FFN adapter of (stack, layer) over the regulariser's tokens (in the encoder the
 * first (text + regions) positions, in the decoder every position).  h, ha [B, d_model]. */
void peft_repr_pool(const struct peft *pf, const struct vlt5 *m, int stack, int layer, float *h, float *ha);
/* The regulariser's g: the mean over every position (padding included) of the stack's final output
 * of the last forward, g[b * ld + j] for the B examples. */
void peft_final_pool(const struct vlt5 *m, int stack, float *g, long ld);

/* ---- expert usage and the consistency loss ---------------------------------------------------- */

void peft_used_clear(struct peft *pf);
/* The dropout and routing seed of consistency pass `pass` (0: the batch's seed itself). */
uint64_t peft_pass_seed(uint64_t seed, int pass);
/* After vlt5_forward of one pass: own_logits is a copy of this pass's logits, other_logits the other
 * pass's [B * Ld, vocab].  Adds (after_loss = 1: m->logits already holds vlt5_loss's gradient) or
 * writes (after_loss = 0: no answer loss in this pass; m->logits then holds a gradient that
 * vlt5_backward uses) the gradient of weight * 0.5 * KL(softmax(other) || softmax(own)) averaged over
 * global_batch * Ld rows; returns that half of the loss (this rank's part: sum it over the group). */
double peft_consistency(struct vlt5 *m, const float *own_logits, const float *other_logits, double weight,
                        int after_loss);

#endif
