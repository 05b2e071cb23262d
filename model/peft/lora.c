/* LoRA (Hu et al.; loralib as MixPHM's code uses it, docs/methods.md) on q and v of every attention
 * (encoder self, decoder self, decoder cross), as linear hooks:
 *
 *     y = W0 x + s B A Dropout(x),            s = alpha / r,  A [r, in] ~ kaiming_uniform(a = sqrt 5),  B [out, r] = 0
 *
 * and with a routing function (the "beforeB" form, docs/methods.md) the routed path replaces the plain
 * one: y = W0 x + s B route(A Dropout(x), A Dropout(x_R)), the dropout drawn separately for x_R.
 * Tensors are named as loralib's: "<attention>.q.lora_A", "<attention>.q.lora_B". */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/peft/peft_internal.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/routing.h"

#define COND_ROW 0xffffff /* dropout row id of x_R (text and region ids are smaller) */

struct lora_site {
    struct vlt5_site site;
    int hA, hB;
    int trained;
    float *xa;  /* [rows, r] A Dropout(x) */
    float *g;   /* [rows, r] routed (routing only) */
    float *xv;  /* [max_batch, r] A Dropout(x_R) (routing only) */
    float *cv;  /* [max_batch, d] Dropout(x_R) (routing with dropout only) */
};

struct lora {
    struct vlt5_hook hook;
    struct peft *pf;
    int r;
    float scale;
    int n_sites;
    struct lora_site *sites;
    struct lora_site *at[2][VLT5_MAX_LAYERS][2][2]; /* [stack][layer][self, cross][q, v] */
    float *xd, *tmp;       /* [rows, d]: Dropout(x), an input gradient before its mask */
    float *dg, *dxa, *dxv; /* [rows, r], [rows, r], [max_batch, r] */
    int32_t *ids;
};

static struct lora_site *lora_find(struct lora *L, const struct vlt5_site *s)
{
    return L->at[s->stack][s->layer][s->sublayer == VLT5_CROSS_ATTN][s->linear == VLT5_V];
}

static int lora_dropout(const struct lora *L, const struct vlt5_hook_batch *b, struct dropout *dr)
{
    *dr = (struct dropout){.p = b->train ? L->pf->opts.lora.dropout : 0.0f};
    if (b->dropout)
        dr->seed = b->dropout->seed, dr->step = b->dropout->step;
    return dropout_on(dr);
}

/* The input of A: x itself, or Dropout(x) in L->xd. */
static const float *lora_input(struct lora *L, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                               const float *x, int n, int in)
{
    struct dropout dr;
    if (!lora_dropout(L, b, &dr))
        return x;
    memcpy(L->xd, x, sizeof(float) * (size_t)n * in);
    peft_row_ids(L->pf->model, peft_encoder_rows(s), b, L->ids);
    dropout_apply(L->xd, b->B, b->T, in, &dr, peft_drop_site(s, 0), b->ex0, L->ids);
    return L->xd;
}

/* x_R, or Dropout(x_R) kept in st->cv. */
static const float *lora_cond(struct lora *L, struct lora_site *st, const struct vlt5_site *s,
                              const struct vlt5_hook_batch *b, int in)
{
    struct dropout dr;
    if (!lora_dropout(L, b, &dr))
        return b->cond;
    memcpy(st->cv, b->cond, sizeof(float) * (size_t)b->B * in);
    const int32_t row = COND_ROW;
    dropout_apply(st->cv, b->B, 1, in, &dr, peft_drop_site(s, 1), b->ex0, &row);
    return st->cv;
}

static void lora_forward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                         const float *x, float *y, int n, int in, int out)
{
    struct lora *L = self->ctx;
    struct lora_site *st = lora_find(L, s);
    const struct params *p = L->pf->params;
    const int r = L->r, route = L->pf->opts.routing;
    st->trained = b->train;
    const float *A = params_data(p, st->hA), *Bw = params_data(p, st->hB);
    linear_forward(st->xa, lora_input(L, s, b, x, n, in), A, NULL, n, in, r, 0);
    const float *g = st->xa;
    if (route != ROUTING_NONE) {
        linear_forward(st->xv, lora_cond(L, st, s, b, in), A, NULL, b->B, in, r, 0);
        route_forward(route, st->g, st->xa, st->xv, b->B, b->T, r);
        g = st->g;
    }
    /* y += s g B^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, r, L->scale, g, r, Bw, r, 1.0f, y, out);
}

static void lora_backward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                          const float *x, const float *dy, float *dx, int n, int in, int out)
{
    struct lora *L = self->ctx;
    struct lora_site *st = lora_find(L, s);
    struct peft *pf = L->pf;
    const struct params *p = pf->params;
    const int r = L->r, route = pf->opts.routing;
    if (!st->trained)
        return;
    st->trained = 0;
    const float *A = params_data(p, st->hA), *Bw = params_data(p, st->hB);
    float *dA = params_grad(p, st->hA), *dB = params_grad(p, st->hB);
    const float *g = route != ROUTING_NONE ? st->g : st->xa;
    /* dB += s dy^T g;  dg = s dy B */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, r, n, L->scale, dy, out, g, r, 1.0f, dB, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, r, out, L->scale, dy, out, Bw, r, 0.0f, L->dg, r);
    const float *dxa = L->dg;
    if (route != ROUTING_NONE) { /* x_R's path reaches A too */
        route_backward(route, L->dxa, L->dxv, L->dg, st->xa, st->xv, b->B, b->T, r);
        struct dropout dr;
        const float *cv = lora_dropout(L, b, &dr) ? st->cv : b->cond;
        linear_backward(NULL, dA, NULL, L->dxv, cv, A, b->B, in, r, 0);
        dxa = L->dxa;
    }
    const float *xin = lora_input(L, s, b, x, n, in); /* the same mask as forward */
    struct dropout dr;
    if (dx && lora_dropout(L, b, &dr)) {
        linear_backward(L->tmp, dA, NULL, dxa, xin, A, n, in, r, 0);
        dropout_apply(L->tmp, b->B, b->T, in, &dr, peft_drop_site(s, 0), b->ex0, L->ids);
        for (long i = 0; i < (long)n * in; i++)
            dx[i] += L->tmp[i];
    } else {
        linear_backward(dx, dA, NULL, dxa, xin, A, n, in, r, 1);
    }
    peft_mark_used(pf, st->hA);
    peft_mark_used(pf, st->hB);
}

static int lora_create(struct peft *pf, struct err *e)
{
    struct lora *L = xcalloc(1, sizeof *L);
    pf->method = L;
    struct vlt5 *m = pf->model;
    L->pf = pf, L->r = pf->opts.lora.r;
    if (L->r < 1)
        return err_set(e, "peft.lora.r: %d, expected at least 1", L->r);
    L->scale = pf->opts.lora.alpha / (float)L->r;
    L->hook = (struct vlt5_hook){.ctx = L, .linear_forward = lora_forward, .linear_backward = lora_backward};
    const int d = m->dims.d_model, inner = m->dims.n_heads * m->dims.d_kv;
    const int nl[2] = {m->dims.n_enc_layers, m->dims.n_dec_layers};
    L->sites = xcalloc((size_t)4 * (nl[0] + 2 * nl[1]), sizeof *L->sites);
    for (int stack = 0; stack < 2; stack++)
        for (int l = 0; l < nl[stack]; l++)
            for (int cross = 0; cross <= stack; cross++)
                for (int k = 0; k < 2; k++) {
                    struct lora_site *st = &L->sites[L->n_sites++];
                    st->site = (struct vlt5_site){stack, l, cross ? VLT5_CROSS_ATTN : VLT5_SELF_ATTN,
                                                  k ? VLT5_V : VLT5_Q};
                    char prefix[PARAM_NAME_MAX];
                    peft_site_prefix(&st->site, prefix, sizeof prefix);
                    const char *module = cross ? "EncDecAttention" : "SelfAttention";
                    const char lin = k ? 'v' : 'q';
                    const int sa[2] = {L->r, d}, sb[2] = {inner, L->r};
                    st->hA = peft_add(pf, e, 2, sa, "%s.%s.%c.lora_A", prefix, module, lin);
                    st->hB = st->hA < 0 ? -1 : peft_add(pf, e, 2, sb, "%s.%s.%c.lora_B", prefix, module, lin);
                    if (st->hB < 0)
                        return -1;
                    L->at[stack][l][cross][k] = st;
                    vlt5_set_linear_hook(m, &st->site, &L->hook);
                }
    return 0;
}

static void lora_bind(struct peft *pf)
{
    struct lora *L = pf->method;
    const struct vlt5 *m = pf->model;
    const int d = m->dims.d_model, r = L->r, Bmax = m->opts.max_batch;
    const int routed = pf->opts.routing != ROUTING_NONE, drop = pf->opts.lora.dropout > 0;
    const int rows_max = peft_max_rows(m, 1) > peft_max_rows(m, 0) ? peft_max_rows(m, 1) : peft_max_rows(m, 0);
    for (int i = 0; i < L->n_sites; i++) {
        struct lora_site *st = &L->sites[i];
        const size_t rows = (size_t)peft_max_rows(m, peft_encoder_rows(&st->site));
        st->xa = xcalloc(rows * r, sizeof(float));
        st->g = routed ? xcalloc(rows * r, sizeof(float)) : NULL;
        st->xv = routed ? xcalloc((size_t)Bmax * r, sizeof(float)) : NULL;
        st->cv = routed && drop ? xcalloc((size_t)Bmax * d, sizeof(float)) : NULL;
    }
    L->xd = xcalloc((size_t)rows_max * d, sizeof(float)), L->tmp = xcalloc((size_t)rows_max * d, sizeof(float));
    L->dg = xcalloc((size_t)rows_max * r, sizeof(float)), L->dxa = xcalloc((size_t)rows_max * r, sizeof(float));
    L->dxv = xcalloc((size_t)Bmax * r, sizeof(float));
    L->ids = xcalloc((size_t)peft_max_T(m), sizeof *L->ids);
}

static void lora_init(struct peft *pf, uint64_t seed)
{
    struct lora *L = pf->method;
    for (int i = 0; i < L->n_sites; i++) { /* kaiming_uniform_(a = sqrt 5): U(+-1/sqrt(in)); B = 0 */
        peft_fill_uniform(pf, L->sites[i].hA, 1.0 / sqrt((double)pf->params->t[L->sites[i].hA].shape[1]), seed);
        peft_fill_zero(pf, L->sites[i].hB);
    }
}

static void lora_destroy(struct peft *pf)
{
    struct lora *L = pf->method;
    if (!L)
        return;
    for (int i = 0; i < L->n_sites; i++)
        free(L->sites[i].xa), free(L->sites[i].g), free(L->sites[i].xv), free(L->sites[i].cv);
    free(L->sites), free(L->xd), free(L->tmp), free(L->dg), free(L->dxa), free(L->dxv), free(L->ids), free(L);
    pf->method = NULL;
}

const struct peft_method_ops peft_lora_ops = {
    .create = lora_create,
    .bind = lora_bind,
    .init = lora_init,
    .destroy = lora_destroy,
};
