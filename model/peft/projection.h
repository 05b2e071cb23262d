/* One projection of a bottleneck adapter (not an API): a dense linear (nn.Linear: W [out, in] and a
 * bias) or a PHM linear (nn/phm_linear.h: T, U and b, with the method's shared S), with E experts that
 * start as copies of one initialisation.  Forward and backward run one expert (training) or the
 * merged one (inference: the average of each factor, W, b or T, U, b separately, over the experts, as
 * the authors' expert_soup() with uniform weights; for PHM that is not the average of the products). */
#ifndef MIXPHM_MODEL_PEFT_PROJECTION_H
#define MIXPHM_MODEL_PEFT_PROJECTION_H

#include "model/peft/peft_internal.h"
#include "nn/phm_linear.h"

#define PROJ_MERGED (-1)

struct proj {
    int phm;      /* 0: dense, 1: PHM */
    int in, out;  /* dimensions */
    int E;        /* experts */
    struct phm_dims pd;
    int hS;       /* PHM: the shared rule S [n, n, n] */
    int hw[PEFT_MAX_EXPERTS]; /* dense W [out, in], PHM T [n, in/n, r] ("W_left") */
    int hu[PEFT_MAX_EXPERTS]; /* PHM U [n, r, out/n] ("W_right"); -1 for dense */
    int hb[PEFT_MAX_EXPERTS]; /* bias [out] */
    float *mw, *mu, *mb;      /* the merged expert (E > 1) */
};

/* Registers the tensors: "<module>.weight"/".bias" (dense) or "<module>.W_left"/".W_right"/".b" (PHM),
 * with ".deepspeed_experts.<e>" after the module name when `mixture` (the authors' mixture modules
 * name their experts so even when there is one). */
int proj_register(struct peft *pf, struct proj *q, const char *module, int mixture, struct err *e);
void proj_bind(struct proj *q);
/* Expert 0 initialised (dense: U(+-1/sqrt(in)) for W and b, nn.Linear's default; PHM: glorot-uniform
 * with gain sqrt 2 per slice for T and U, b = 0), the other experts copies of it. */
void proj_init(struct peft *pf, struct proj *q, uint64_t seed);
void proj_merge(struct peft *pf, struct proj *q);
void proj_free(struct proj *q);

/* Forward cache floats for N rows (PHM's P and R; 0 for dense) and backward scratch. */
size_t proj_cache_floats(const struct proj *q, int N);
size_t proj_scratch_floats(const struct proj *q, int N);
/* y[N, out] = x W^T + b with expert `e` (PROJ_MERGED: the merged one). */
void proj_forward(const struct peft *pf, const struct proj *q, int e, const float *x, float *y, int N, float *cache);
/* The gradients of expert e (and of S) accumulate; dx[N, in] (+)= (NULL: none).  Marks the tensors
 * used.  Training only (e >= 0). */
void proj_backward(struct peft *pf, const struct proj *q, int e, const float *dy, const float *x, float *dx, int N,
                   const float *cache, float *scratch, int accumulate_dx);

#endif
