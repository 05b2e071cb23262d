/* One sub-layer of a T5 block, forward and backward, in place on the residual stream x [B, T, d]:
 *
 *   attention:  x += Dropout( hook_out( O( Attention( Q(ln), K(src), V(src) ) ) ) ),  ln = RMS(x)
 *               (src = ln for self-attention, the encoder output for cross-attention)
 *   FFN:        x += Dropout( hook_out( WO( Dropout( ReLU( WI(ln) ) ) ) ) )
 *
 * Every linear adds its hook's delta (and its BitFit bias); frozen weights have no gradient pointer,
 * so their weight-gradient GEMM is skipped and only input gradients pass through them. */
#include <string.h>

#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "model/vlt5_parallel.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/norm.h"

static struct vlt5_attn_w *attn_w(struct vlt5 *m, int stack, int layer, int cross)
{
    if (stack == VLT5_ENCODER)
        return &m->enc_w[layer].self;
    return cross ? &m->dec_w[layer].cross : &m->dec_w[layer].self;
}

static struct vlt5_attn_acts *attn_acts(struct vlt5 *m, int stack, int layer, int cross)
{
    struct vlt5_stack_acts *s = stack == VLT5_ENCODER ? &m->enc : &m->dec;
    return cross ? &s->layer[layer].cross : &s->layer[layer].self;
}

static struct vlt5_ffn_w *ffn_w(struct vlt5 *m, int stack, int layer)
{
    return stack == VLT5_ENCODER ? &m->enc_w[layer].ffn : &m->dec_w[layer].ffn;
}

static struct vlt5_ffn_acts *ffn_acts(struct vlt5 *m, int stack, int layer)
{
    return stack == VLT5_ENCODER ? &m->enc.layer[layer].ffn : &m->dec.layer[layer].ffn;
}

/* y[n, out] = x W^T + b + hook delta */
void vlt5_linear_forward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb,
                         const struct tensor_ref *W, const struct tensor_ref *b, const float *x, float *y, int n, int in,
                         int out)
{
    frozen_linear_forward(m->frozen, W->h, W->w, b->w, y, x, n, in, out);
    struct vlt5_hook *h = vlt5_linear_hook(m, s->stack, s->layer, s->sublayer, s->linear);
    if (h && h->linear_forward)
        h->linear_forward(h, s, hb, x, y, n, in, out);
}

/* dx (+)= dy W (+ the hook's input gradient); dW, db and the hook's own gradients accumulate. */
static void lin_backward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb,
                         const struct tensor_ref *W, const struct tensor_ref *b, const float *x, const float *dy,
                         float *dx, int n, int in, int out, int accumulate_dx)
{
    frozen_linear_backward(m->frozen, W->h, W->w, W->g, b->g, dy, x, dx, n, in, out, accumulate_dx);
    struct vlt5_hook *h = vlt5_linear_hook(m, s->stack, s->layer, s->sublayer, s->linear);
    if (h && h->linear_backward)
        h->linear_backward(h, s, hb, x, dy, dx, n, in, out);
}

void vlt5_output_forward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb, float *h,
                         int n, int d)
{
    struct vlt5_hook *k = vlt5_output_hook(m, s->stack, s->layer, s->sublayer);
    if (k && k->output_forward)
        k->output_forward(k, s, hb, h, n, d);
}

static void out_hook_backward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb,
                              float *dh, int n, int d)
{
    struct vlt5_hook *k = vlt5_output_hook(m, s->stack, s->layer, s->sublayer);
    if (k && k->output_backward)
        k->output_backward(k, s, hb, dh, n, d);
}

static void attn_setup(const struct vlt5 *m, const struct vlt5_pass *ps, int layer, int cross,
                       struct attention_dims *ad, struct attention_mask *am, struct attention_dropout *dr)
{
    const int Tk = cross ? ps->Tk : ps->T;
    *ad = (struct attention_dims){.B = ps->B, .H = m->dims.n_heads, .Tq = ps->T, .Tk = Tk, .dk = m->dims.d_kv,
                                  .k_stride = Tk};
    memset(am, 0, sizeof *am);
    am->key_valid = cross ? ps->kv_valid : ps->valid;
    am->causal = cross ? 0 : ps->causal;
    am->bias = cross ? NULL : ps->bias;
    *dr = (struct attention_dropout){.d = ps->drop,
                                     .site = vlt5_drop_site(ps->stack, layer, cross ? DROP_CROSS_PROBS : DROP_SELF_PROBS),
                                     .ex0 = ps->hb.ex0,
                                     .q_ids = ps->ids,
                                     .k_ids = cross ? ps->kv_ids : ps->ids};
}

void vlt5_attn_forward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, int cross, float *x)
{
    const struct vlt5_attn_w *w = attn_w(m, ps->stack, layer, cross);
    struct vlt5_attn_acts *a = attn_acts(m, ps->stack, layer, cross);
    const int d = m->dims.d_model, in = vlt5_inner(&m->dims), N = ps->B * ps->T;
    const int sub = cross ? VLT5_CROSS_ATTN : VLT5_SELF_ATTN;
    struct vlt5_site s = {ps->stack, layer, sub, VLT5_Q};
    memcpy(a->x, x, sizeof(float) * (size_t)N * d);
    par_rmsnorm_forward(m, a->ln, a->rstd, x, w->ln.w, N, d, T5_NORM_EPS);
    vlt5_linear_forward(m, &s, &ps->hb, &w->q, &w->bq, a->ln, a->q, N, d, in);
    const float *src = cross ? ps->kv_src : a->ln;
    const struct vlt5_hook_batch *hb_kv = cross ? &ps->hb_kv : &ps->hb;
    const int Nk = cross ? ps->B * ps->Tk : N;
    s.linear = VLT5_K;
    vlt5_linear_forward(m, &s, hb_kv, &w->k, &w->bk, src, a->k, Nk, d, in);
    s.linear = VLT5_V;
    vlt5_linear_forward(m, &s, hb_kv, &w->v, &w->bv, src, a->v, Nk, d, in);
    struct attention_dims ad;
    struct attention_mask am;
    struct attention_dropout dr;
    attn_setup(m, ps, layer, cross, &ad, &am, &dr);
    par_attention_forward(m, a->ctx, a->probs, a->probs_drop, m->attn_tmp, a->q, a->k, a->v, &ad, &am, &dr);
    float *out = m->tmp_out; /* [N, d] */
    s.linear = VLT5_O;
    vlt5_linear_forward(m, &s, &ps->hb, &w->o, &w->bo, a->ctx, out, N, in, d);
    s.linear = -1;
    vlt5_output_forward(m, &s, &ps->hb, out, N, d);
    par_dropout_apply(m, out, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, layer, cross ? DROP_CROSS_OUT : DROP_SELF_OUT),
                  ps->hb.ex0, ps->ids);
    par_add(m, x, out, (long)N * d);
}

void vlt5_attn_backward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, int cross, float *dx,
                        float *d_kv_src)
{
    const struct vlt5_attn_w *w = attn_w(m, ps->stack, layer, cross);
    const struct vlt5_attn_acts *a = attn_acts(m, ps->stack, layer, cross);
    struct vlt5_backward_bufs *bw = m->bwd;
    const int d = m->dims.d_model, in = vlt5_inner(&m->dims), N = ps->B * ps->T;
    const int sub = cross ? VLT5_CROSS_ATTN : VLT5_SELF_ATTN;
    struct vlt5_site s = {ps->stack, layer, sub, -1};
    float *d_out = bw->d_sub;
    memcpy(d_out, dx, sizeof(float) * (size_t)N * d);
    par_dropout_apply(m, d_out, ps->B, ps->T, d, ps->drop,
                  vlt5_drop_site(ps->stack, layer, cross ? DROP_CROSS_OUT : DROP_SELF_OUT), ps->hb.ex0, ps->ids);
    out_hook_backward(m, &s, &ps->hb, d_out, N, d);
    s.linear = VLT5_O;
    lin_backward(m, &s, &ps->hb, &w->o, &w->bo, a->ctx, d_out, bw->dctx, N, in, d, 0);
    struct attention_dims ad;
    struct attention_mask am;
    struct attention_dropout dr;
    attn_setup(m, ps, layer, cross, &ad, &am, &dr);
    /* The position bias is shared by all layers: its gradient is summed here, reduced once per pass. */
    const struct tensor_ref *rel = ps->stack == VLT5_ENCODER ? &m->enc_rel : &m->dec_rel;
    float *dbias = (!cross && rel->g) ? bw->dbias : NULL;
    par_attention_backward(m, bw->dq, bw->dk, bw->dv, dbias, bw->attn_scratch, bw->dctx, a->q, a->k, a->v, a->probs,
                       a->probs_drop, &ad, &dr);
    s.linear = VLT5_Q;
    lin_backward(m, &s, &ps->hb, &w->q, &w->bq, a->ln, bw->dq, bw->d_ln, N, d, in, 0);
    if (cross) {
        const int Nk = ps->B * ps->Tk;
        s.linear = VLT5_K;
        lin_backward(m, &s, &ps->hb_kv, &w->k, &w->bk, ps->kv_src, bw->dk, d_kv_src, Nk, d, in, 1);
        s.linear = VLT5_V;
        lin_backward(m, &s, &ps->hb_kv, &w->v, &w->bv, ps->kv_src, bw->dv, d_kv_src, Nk, d, in, 1);
    } else {
        s.linear = VLT5_K;
        lin_backward(m, &s, &ps->hb, &w->k, &w->bk, a->ln, bw->dk, bw->d_ln, N, d, in, 1);
        s.linear = VLT5_V;
        lin_backward(m, &s, &ps->hb, &w->v, &w->bv, a->ln, bw->dv, bw->d_ln, N, d, in, 1);
    }
    par_rmsnorm_backward(m, dx, w->ln.g, bw->d_ln, a->x, a->rstd, w->ln.w, N, d, 1);
}

void vlt5_ffn_forward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, float *x)
{
    const struct vlt5_ffn_w *w = ffn_w(m, ps->stack, layer);
    struct vlt5_ffn_acts *f = ffn_acts(m, ps->stack, layer);
    const int d = m->dims.d_model, ff = m->dims.d_ff, N = ps->B * ps->T;
    struct vlt5_site s = {ps->stack, layer, VLT5_FFN, VLT5_WI};
    memcpy(f->x, x, sizeof(float) * (size_t)N * d);
    par_rmsnorm_forward(m, f->ln, f->rstd, x, w->ln.w, N, d, T5_NORM_EPS);
    vlt5_linear_forward(m, &s, &ps->hb, &w->wi, &w->bi, f->ln, f->h, N, d, ff);
    par_relu_forward(m, f->h, f->h, (size_t)N * ff);
    par_dropout_apply(m, f->h, ps->B, ps->T, ff, ps->drop, vlt5_drop_site(ps->stack, layer, DROP_FFN_INNER), ps->hb.ex0,
                  ps->ids);
    float *out = m->tmp_out;
    s.linear = VLT5_WO;
    vlt5_linear_forward(m, &s, &ps->hb, &w->wo, &w->bo, f->h, out, N, ff, d);
    s.linear = -1;
    vlt5_output_forward(m, &s, &ps->hb, out, N, d);
    par_dropout_apply(m, out, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, layer, DROP_FFN_OUT), ps->hb.ex0, ps->ids);
    par_add(m, x, out, (long)N * d);
}

void vlt5_ffn_backward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, float *dx)
{
    const struct vlt5_ffn_w *w = ffn_w(m, ps->stack, layer);
    const struct vlt5_ffn_acts *f = ffn_acts(m, ps->stack, layer);
    struct vlt5_backward_bufs *bw = m->bwd;
    const int d = m->dims.d_model, ff = m->dims.d_ff, N = ps->B * ps->T;
    struct vlt5_site s = {ps->stack, layer, VLT5_FFN, -1};
    float *d_out = bw->d_sub;
    memcpy(d_out, dx, sizeof(float) * (size_t)N * d);
    par_dropout_apply(m, d_out, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, layer, DROP_FFN_OUT), ps->hb.ex0,
                  ps->ids);
    out_hook_backward(m, &s, &ps->hb, d_out, N, d);
    s.linear = VLT5_WO;
    lin_backward(m, &s, &ps->hb, &w->wo, &w->bo, f->h, d_out, bw->dh, N, ff, d, 0);
    /* h = dropout(relu(pre)): h > 0 exactly where the unit was active and kept, with slope 1/(1-p) */
    const float scale = dropout_on(ps->drop) ? 1.0f / (1.0f - ps->drop->p) : 1.0f;
    par_relu_dropout_backward(m, bw->dh, f->h, scale, (long)N * ff);
    s.linear = VLT5_WI;
    lin_backward(m, &s, &ps->hb, &w->wi, &w->bi, f->ln, bw->dh, bw->d_ln, N, d, ff, 0);
    par_rmsnorm_backward(m, dx, w->ln.g, bw->d_ln, f->x, f->rstd, w->ln.w, N, d, 1);
}
