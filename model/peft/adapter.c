/* Houlsby, Pfeiffer, Compacter, Compacter++, AdaMix and MixPHM: one bottleneck module (adapter.h) at
 * output hooks, configured per method as the authors' code does (docs/methods.md, "Bottleneck adapters"). */
#include "model/peft/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/routing.h"

/* The settings of each method (the code's defaults are in configs/defaults.yaml). */
static int adapter_config(const struct peft_options *o, struct adapter_config *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    c->alpha = 1.0f, c->e_down = c->e_up = 1;
    switch (o->method) {
    case PEFT_HOULSBY: /* MixPHM's code: Adapter(d, size, 'swish') after self-attention and FFN */
    case PEFT_PFEIFFER: /* ... and Adapter(d, size, 'relu') after the FFN only */
        c->module = "adapter", c->down_name = "adapter_A", c->up_name = "adapter_B";
        c->attn_module = o->method == PEFT_HOULSBY ? "adapter" : NULL;
        c->act = o->method == PEFT_HOULSBY ? ACT_SILU : ACT_RELU;
        c->bottleneck = o->adapter.bottleneck;
        break;
    case PEFT_COMPACTER: /* HyperComplexAdapter: PHM down and up, gelu_new, one global S */
    case PEFT_COMPACTERPP:
        c->module = "phm_adapter", c->down_name = "down_sampler", c->up_name = "up_sampler";
        c->attn_module = o->method == PEFT_COMPACTER ? "self_attn_phm_adapter" : NULL;
        c->phm = 1, c->act = ACT_GELU_TANH;
        c->bottleneck = o->compacter.bottleneck, c->phm_dim = o->compacter.phm_dim, c->rank = o->compacter.rank;
        c->phm_init_std = o->compacter.phm_init_std;
        break;
    case PEFT_ADAMIX: /* ExpertSoup(d, size, 'gelu'): HF "gelu" is the erf form */
        c->module = "ExpertSoup", c->down_name = "MoA_A", c->up_name = "MoA_B", c->mixture = 1;
        c->act = ACT_GELU_ERF, c->bottleneck = o->adamix.bottleneck;
        c->e_down = o->adamix.share_down ? 1 : o->adamix.experts;
        c->e_up = o->adamix.share_up ? 1 : o->adamix.experts;
        break;
    case PEFT_MIXPHM: /* PHMAdapterMoE: PHM experts, gelu_new, Dropout(0.5), ada_alpha */
        c->module = "phm_adapter_moe", c->down_name = "MoA_A", c->up_name = "MoA_B", c->mixture = 1, c->phm = 1;
        c->act = ACT_GELU_TANH, c->bottleneck = o->mixphm.bottleneck;
        c->phm_dim = o->mixphm.phm_dim, c->rank = o->mixphm.rank, c->phm_init_std = o->mixphm.phm_init_std;
        c->e_down = o->mixphm.share_down ? 1 : o->mixphm.experts;
        c->e_up = o->mixphm.share_up ? 1 : o->mixphm.experts;
        c->dropout = o->mixphm.dropout, c->alpha = o->mixphm.alpha;
        c->red_weight = o->mixphm.red_weight, c->mi_weight = o->mixphm.mi_weight;
        c->red_lambda = o->mixphm.red_lambda;
        break;
    default: return err_set(e, "peft.method %s is not an adapter", peft_kind_name(o->method));
    }
    const char *key = o->method == PEFT_ADAMIX    ? "peft.adamix"
                      : o->method == PEFT_MIXPHM ? "peft.mixphm"
                      : c->phm                        ? "peft.compacter"
                                                      : "peft.adapter";
    if (c->bottleneck < 1)
        return err_set(e, "%s.bottleneck: %d, expected at least 1", key, c->bottleneck);
    if (c->e_down < 1 || c->e_up < 1 || c->e_down > PEFT_MAX_EXPERTS || c->e_up > PEFT_MAX_EXPERTS)
        return err_set(e, "%s.experts: expected 1 to %d", key, PEFT_MAX_EXPERTS);
    if (c->phm && (c->phm_dim < 1 || c->rank < 1 || c->bottleneck % c->phm_dim != 0))
        return err_set(e, "%s: bottleneck %d must be a multiple of phm_dim %d (and rank %d at least 1)", key,
                       c->bottleneck, c->phm_dim, c->rank);
    return 0;
}

struct adapter_site *adapter_find(struct adapter *A, const struct vlt5_site *s)
{
    if (s->layer < 0 || s->layer >= VLT5_MAX_LAYERS)
        return NULL;
    return s->sublayer == VLT5_FFN ? A->ffn[s->stack][s->layer]
           : s->sublayer == VLT5_SELF_ATTN ? A->attn[s->stack][s->layer]
                                           : NULL;
}

static void project_setup(const struct adapter *A, struct proj *q, int in, int out, int E)
{
    memset(q, 0, sizeof *q);
    q->phm = A->c.phm, q->in = in, q->out = out, q->E = E, q->hS = A->hS;
    q->pd = (struct phm_dims){.in = in, .out = out, .n = A->c.phm_dim, .r = A->c.rank};
}

static int add_site(struct peft *pf, struct adapter *A, const struct vlt5_site *s, const char *module, struct err *e)
{
    const int d = pf->model->dims.d_model, b = A->c.bottleneck;
    struct adapter_site *st = &A->sites[A->n_sites++];
    st->site = *s;
    char prefix[PARAM_NAME_MAX], name[2 * PARAM_NAME_MAX];
    peft_site_prefix(s, prefix, sizeof prefix);
    project_setup(A, &st->down, d, b, A->c.e_down);
    project_setup(A, &st->up, b, d, A->c.e_up);
    snprintf(name, sizeof name, "%s.%s.%s", prefix, module, A->c.down_name);
    if (proj_register(pf, &st->down, name, A->c.mixture, e))
        return -1;
    snprintf(name, sizeof name, "%s.%s.%s", prefix, module, A->c.up_name);
    if (proj_register(pf, &st->up, name, A->c.mixture, e))
        return -1;
    (s->sublayer == VLT5_FFN ? A->ffn : A->attn)[s->stack][s->layer] = st;
    vlt5_set_output_hook(pf->model, s, &A->hook);
    return 0;
}

static void adapter_forward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                            float *h, int n, int d);
static void adapter_backward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                             float *dh, int n, int d);

static void adapter_destroy(struct peft *pf);

static int adapter_create(struct peft *pf, struct err *e)
{
    struct adapter *A = xcalloc(1, sizeof *A);
    pf->method = A;
    A->pf = pf, A->hS = -1;
    A->hook = (struct vlt5_hook){.ctx = A, .output_forward = adapter_forward, .output_backward = adapter_backward};
    if (adapter_config(&pf->opts, &A->c, e))
        return -1;
    struct vlt5 *m = pf->model;
    const int d = m->dims.d_model;
    if (A->c.phm && d % A->c.phm_dim != 0)
        return err_set(e, "model.d_model %d is not a multiple of the PHM dimension %d", d, A->c.phm_dim);
    if (A->c.phm) { /* one rule for both projections, every expert and every layer */
        const int shape[3] = {A->c.phm_dim, A->c.phm_dim, A->c.phm_dim};
        if ((A->hS = peft_add(pf, e, 3, shape, "phm_rule")) < 0)
            return -1;
    }
    const int L[2] = {m->dims.n_enc_layers, m->dims.n_dec_layers};
    A->sites = xcalloc((size_t)2 * (L[0] + L[1]), sizeof *A->sites);
    for (int stack = 0; stack < 2; stack++)
        for (int l = 0; l < L[stack]; l++) {
            const struct vlt5_site attn = {stack, l, VLT5_SELF_ATTN, -1}, ffn = {stack, l, VLT5_FFN, -1};
            if (A->c.attn_module && add_site(pf, A, &attn, A->c.attn_module, e))
                return -1;
            if (add_site(pf, A, &ffn, A->c.module, e))
                return -1;
        }
    return 0;
}

static float *fbuf(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(float));
}

static void adapter_bind(struct peft *pf)
{
    struct adapter *A = pf->method;
    const struct vlt5 *m = pf->model;
    const int d = m->dims.d_model, b = A->c.bottleneck, Bmax = m->opts.max_batch;
    const int routed = pf->opts.routing != ROUTING_NONE, reg = A->c.red_weight > 0 || A->c.mi_weight > 0;
    int rows_max = 0;
    size_t scratch = 0;
    for (int i = 0; i < A->n_sites; i++) {
        struct adapter_site *st = &A->sites[i];
        const int rows = peft_max_rows(m, st->site.stack == VLT5_ENCODER);
        rows_max = rows > rows_max ? rows : rows_max;
        proj_bind(&st->down), proj_bind(&st->up);
        st->x = fbuf((size_t)rows * d), st->za = fbuf((size_t)rows * b), st->zd = fbuf((size_t)rows * b);
        st->zr = routed ? fbuf((size_t)rows * b) : st->zd;
        st->xv = routed ? fbuf((size_t)Bmax * b) : NULL;
        st->cache_d = fbuf(proj_cache_floats(&st->down, rows));
        st->cache_u = fbuf(proj_cache_floats(&st->up, rows));
        st->cache_v = routed ? fbuf(proj_cache_floats(&st->down, Bmax)) : NULL;
        if (reg && st->site.sublayer == VLT5_FFN) {
            st->ha = fbuf((size_t)rows * d);
            st->dreg_h = fbuf((size_t)rows * d), st->dreg_ha = fbuf((size_t)rows * d);
        }
        const size_t s1 = proj_scratch_floats(&st->down, rows), s2 = proj_scratch_floats(&st->up, rows);
        scratch = s1 > scratch ? s1 : scratch;
        scratch = s2 > scratch ? s2 : scratch;
    }
    A->g = fbuf((size_t)rows_max * d);
    A->dza = fbuf((size_t)rows_max * b), A->dzr = fbuf((size_t)rows_max * b), A->dzd = fbuf((size_t)rows_max * b);
    A->dxv = fbuf((size_t)Bmax * b);
    A->phm_scratch = fbuf(scratch);
    A->ids = xcalloc((size_t)peft_max_T(m), sizeof *A->ids);
    if (reg)
        adapter_reg_bind(A);
}

static void adapter_init(struct peft *pf, uint64_t seed)
{
    struct adapter *A = pf->method;
    if (A->hS >= 0) /* phm_c_init "normal" with phm_init_range */
        peft_fill_normal(pf, A->hS, A->c.phm_init_std, seed);
    for (int i = 0; i < A->n_sites; i++) {
        proj_init(pf, &A->sites[i].down, seed);
        proj_init(pf, &A->sites[i].up, seed);
    }
}

static void adapter_eval_prepare(struct peft *pf)
{
    struct adapter *A = pf->method;
    for (int i = 0; i < A->n_sites; i++) {
        proj_merge(pf, &A->sites[i].down);
        proj_merge(pf, &A->sites[i].up);
    }
}

static void adapter_destroy(struct peft *pf)
{
    struct adapter *A = pf->method;
    if (!A)
        return;
    adapter_sets_free(A); /* the sites hold set 0 again */
    for (int i = 0; i < A->n_sites; i++) {
        struct adapter_site *st = &A->sites[i];
        proj_free(&st->down), proj_free(&st->up);
        if (st->zr != st->zd)
            free(st->zr);
        free(st->x), free(st->zd), free(st->za), free(st->ha), free(st->xv);
        free(st->cache_d), free(st->cache_u), free(st->cache_v), free(st->dreg_h), free(st->dreg_ha);
    }
    adapter_reg_free(A);
    free(A->sites), free(A->g), free(A->dza), free(A->dzr), free(A->dzd), free(A->dxv), free(A->phm_scratch);
    free(A->ids), free(A);
    pf->method = NULL;
}

/* The module's dropout of this pass (off outside training). */
static int module_dropout(const struct adapter *A, const struct vlt5_hook_batch *b, struct dropout *dr)
{
    *dr = (struct dropout){.p = b->train ? A->c.dropout : 0.0f};
    if (b->dropout)
        dr->seed = b->dropout->seed, dr->step = b->dropout->step;
    return dropout_on(dr);
}

static void adapter_forward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                            float *h, int n, int d)
{
    struct adapter *A = self->ctx;
    struct peft *pf = A->pf;
    struct adapter_site *st = adapter_find(A, s);
    const int r = A->c.bottleneck, route = pf->opts.routing;
    st->B = b->B, st->T = b->T, st->trained = b->train, st->reg_ready = 0;
    st->ed = b->train ? peft_expert(pf, s, b, 0, st->down.E) : PROJ_MERGED;
    st->eu = b->train ? peft_expert(pf, s, b, 1, st->up.E) : PROJ_MERGED;
    memcpy(st->x, h, sizeof(float) * (size_t)n * d);
    proj_forward(pf, &st->down, st->ed, st->x, st->zd, n, st->cache_d);
    if (route != ROUTING_NONE) { /* x_v = down(x_R), with the same expert and bias */
        proj_forward(pf, &st->down, st->ed, b->cond, st->xv, b->B, st->cache_v);
        route_forward(route, st->zr, st->zd, st->xv, b->B, b->T, r);
    }
    activation_forward(A->c.act, st->za, st->zr, (size_t)n * r);
    struct dropout dr;
    if (module_dropout(A, b, &dr)) {
        peft_row_ids(pf->model, s->stack == VLT5_ENCODER, b, A->ids);
        dropout_apply(st->za, b->B, b->T, r, &dr, peft_drop_site(s, 0), b->ex0, A->ids);
    }
    float *ha = st->ha ? st->ha : A->g; /* h_a is kept only for the regulariser */
    proj_forward(pf, &st->up, st->eu, st->za, ha, n, st->cache_u);
    for (long i = 0; i < (long)n * d; i++) {
        ha[i] *= A->c.alpha;
        h[i] += ha[i];
    }
}

static void adapter_backward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                             float *dh, int n, int d)
{
    struct adapter *A = self->ctx;
    struct peft *pf = A->pf;
    struct adapter_site *st = adapter_find(A, s);
    const int r = A->c.bottleneck, route = pf->opts.routing;
    if (!st->trained)
        return;
    st->trained = 0;
    /* d(h_a) = d(out) + the regulariser's gradient; through the scale alpha */
    for (long i = 0; i < (long)n * d; i++)
        A->g[i] = A->c.alpha * (dh[i] + (st->reg_ready ? st->dreg_ha[i] : 0.0f));
    proj_backward(pf, &st->up, st->eu, A->g, st->za, A->dza, n, st->cache_u, A->phm_scratch, 0);
    struct dropout dr;
    if (module_dropout(A, b, &dr)) { /* the same mask as forward, applied to the gradient */
        peft_row_ids(pf->model, s->stack == VLT5_ENCODER, b, A->ids);
        dropout_apply(A->dza, b->B, b->T, r, &dr, peft_drop_site(s, 0), b->ex0, A->ids);
    }
    activation_backward(A->c.act, A->dzr, A->dza, st->zr, (size_t)n * r);
    float *dzd = A->dzr;
    if (route != ROUTING_NONE) { /* the visual vector's gradient also reaches the down projection */
        route_backward(route, A->dzd, A->dxv, A->dzr, st->zd, st->xv, b->B, b->T, r);
        proj_backward(pf, &st->down, st->ed, A->dxv, b->cond, NULL, b->B, st->cache_v, A->phm_scratch, 0);
        dzd = A->dzd;
    }
    /* d(in) = d(out) (the identity path) + down's input gradient + the regulariser's gradient */
    proj_backward(pf, &st->down, st->ed, dzd, st->x, dh, n, st->cache_d, A->phm_scratch, 1);
    if (st->reg_ready)
        for (long i = 0; i < (long)n * d; i++)
            dh[i] += st->dreg_h[i];
}

const struct peft_method_ops peft_adapter_ops = {
    .create = adapter_create,
    .bind = adapter_bind,
    .init = adapter_init,
    .eval_prepare = adapter_eval_prepare,
    .destroy = adapter_destroy,
    .reg_sizes = adapter_reg_sizes,
    .reg_local = adapter_reg_local,
    .reg_backward = adapter_reg_backward,
    .reg_pooled_grad = adapter_reg_pooled_grad,
    .reg_keep_size = adapter_reg_keep_size,
    .reg_keep = adapter_reg_keep,
    .reg_kept_mi = adapter_reg_kept_mi,
    .repr_enable = adapter_repr_enable,
    .repr_pool = adapter_repr_pool,
    .sets_alloc = adapter_sets_alloc,
    .set_select = adapter_set_select,
    .set_bytes = adapter_set_bytes,
};
