/* A bottleneck projection with experts, dense or PHM (projection.h). */
#include "model/peft/projection.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/linear.h"

int proj_register(struct peft *pf, struct proj *q, const char *module, int mixture, struct err *e)
{
    if (q->E < 1 || q->E > PEFT_MAX_EXPERTS)
        return err_set(e, "%s: %d experts (1 to %d)", module, q->E, PEFT_MAX_EXPERTS);
    for (int x = 0; x < q->E; x++) {
        char base[2 * PARAM_NAME_MAX];
        if (mixture)
            snprintf(base, sizeof base, "%s.deepspeed_experts.%d", module, x);
        else
            snprintf(base, sizeof base, "%s", module);
        const int bias[1] = {q->out};
        q->hu[x] = -1;
        if (q->phm) {
            const struct phm_dims *p = &q->pd;
            const int T[3] = {p->n, p->in / p->n, p->r}, U[3] = {p->n, p->r, p->out / p->n};
            q->hw[x] = peft_add(pf, e, 3, T, "%s.W_left", base);
            q->hu[x] = q->hw[x] < 0 ? -1 : peft_add(pf, e, 3, U, "%s.W_right", base);
            q->hb[x] = q->hu[x] < 0 ? -1 : peft_add(pf, e, 1, bias, "%s.b", base);
        } else {
            const int W[2] = {q->out, q->in};
            q->hw[x] = peft_add(pf, e, 2, W, "%s.weight", base);
            q->hb[x] = q->hw[x] < 0 ? -1 : peft_add(pf, e, 1, bias, "%s.bias", base);
        }
        if (q->hb[x] < 0)
            return -1;
    }
    return 0;
}

void proj_bind(struct proj *q)
{
    if (q->E <= 1)
        return;
    const size_t w = q->phm ? (size_t)q->pd.in * q->pd.r : (size_t)q->in * q->out;
    q->mw = xcalloc(w, sizeof(float));
    q->mu = q->phm ? xcalloc((size_t)q->pd.r * q->pd.out, sizeof(float)) : NULL;
    q->mb = xcalloc((size_t)q->out, sizeof(float));
}

void proj_free(struct proj *q)
{
    free(q->mw), free(q->mu), free(q->mb);
    q->mw = q->mu = q->mb = NULL;
}

void proj_init(struct peft *pf, struct proj *q, uint64_t seed)
{
    if (q->phm) {
        peft_fill_xavier_slices(pf, q->hw[0], sqrt(2.0), seed);
        peft_fill_xavier_slices(pf, q->hu[0], sqrt(2.0), seed);
        peft_fill_zero(pf, q->hb[0]);
    } else { /* nn.Linear.reset_parameters: kaiming_uniform(a = sqrt 5) = U(+-1/sqrt(in)), bias the same */
        const double bound = 1.0 / sqrt((double)q->in);
        peft_fill_uniform(pf, q->hw[0], bound, seed);
        peft_fill_uniform(pf, q->hb[0], bound, seed);
    }
    for (int x = 1; x < q->E; x++) { /* copy.deepcopy of one initialised expert */
        peft_copy_tensor(pf, q->hw[x], q->hw[0]);
        if (q->phm)
            peft_copy_tensor(pf, q->hu[x], q->hu[0]);
        peft_copy_tensor(pf, q->hb[x], q->hb[0]);
    }
    proj_merge(pf, q);
}

static void average(float *out, const struct params *p, const int *h, int E)
{
    const size_t n = p->t[h[0]].numel;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int x = 0; x < E; x++)
            s += params_data(p, h[x])[i];
        out[i] = (float)(s / E);
    }
}

void proj_merge(struct peft *pf, struct proj *q)
{
    if (q->E <= 1)
        return;
    average(q->mw, pf->params, q->hw, q->E);
    if (q->phm)
        average(q->mu, pf->params, q->hu, q->E);
    average(q->mb, pf->params, q->hb, q->E);
}

size_t proj_cache_floats(const struct proj *q, int N)
{
    return q->phm ? phm_cache_floats(N, &q->pd) : 0;
}

size_t proj_scratch_floats(const struct proj *q, int N)
{
    return q->phm ? phm_scratch_floats(N, &q->pd) : 0;
}

void proj_forward(const struct peft *pf, const struct proj *q, int e, const float *x, float *y, int N, float *cache)
{
    const struct params *p = pf->params;
    const int merged = e == PROJ_MERGED && q->E > 1;
    if (e == PROJ_MERGED)
        e = 0;
    const float *w = merged ? q->mw : params_data(p, q->hw[e]), *b = merged ? q->mb : params_data(p, q->hb[e]);
    if (q->phm)
        phm_linear_forward(y, x, params_data(p, q->hS), w, merged ? q->mu : params_data(p, q->hu[e]), b, N, &q->pd,
                           cache);
    else
        linear_forward(y, x, w, b, N, q->in, q->out, 0);
}

void proj_backward(struct peft *pf, const struct proj *q, int e, const float *dy, const float *x, float *dx, int N,
                   const float *cache, float *scratch, int accumulate_dx)
{
    const struct params *p = pf->params;
    if (q->phm) {
        phm_linear_backward(dx, params_grad(p, q->hS), params_grad(p, q->hw[e]), params_grad(p, q->hu[e]),
                            params_grad(p, q->hb[e]), dy, x, params_data(p, q->hS), params_data(p, q->hw[e]),
                            params_data(p, q->hu[e]), N, &q->pd, cache, scratch, accumulate_dx);
        peft_mark_used(pf, q->hS);
        peft_mark_used(pf, q->hu[e]);
    } else {
        linear_backward(dx, params_grad(p, q->hw[e]), params_grad(p, q->hb[e]), dy, x, params_data(p, q->hw[e]), N,
                        q->in, q->out, accumulate_dx);
    }
    peft_mark_used(pf, q->hw[e]);
    peft_mark_used(pf, q->hb[e]);
}
