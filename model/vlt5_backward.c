/* VL-T5 backward: LM head, decoder, encoder, embeddings.
 *
 * Only what some trainable tensor (or a hook, or an asked-for input gradient) needs is computed: the
 * encoder is skipped when nothing in or below it trains, a stack stops at the lowest block that has
 * something to train, and frozen weights never get a weight-gradient GEMM. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "model/vlt5_parallel.h"
#include "nn/norm.h"
#include "nn/relpos.h"

/* Backward scratch, allocated at the first backward (a model that only decodes never needs it). */
static void alloc_backward(struct vlt5 *m)
{
    if (m->bwd)
        return;
    const struct vlt5_dims *d = &m->dims;
    const long B = m->opts.max_batch, T = m->opts.max_text + d->n_regions;
    const long Tmax = T > m->opts.max_target ? T : m->opts.max_target, rows = B * Tmax, in = vlt5_inner(d);
    struct vlt5_backward_bufs *b = xcalloc(1, sizeof *b);
    b->dx = vlt5_fbuf(rows * d->d_model), b->d_sub = vlt5_fbuf(rows * d->d_model), b->d_ln = vlt5_fbuf(rows * d->d_model);
    b->dq = vlt5_fbuf(rows * in), b->dk = vlt5_fbuf(rows * in), b->dv = vlt5_fbuf(rows * in), b->dctx = vlt5_fbuf(rows * in);
    b->dh = vlt5_fbuf(rows * d->d_ff), b->d_kv_src = vlt5_fbuf(B * T * d->d_model);
    b->attn_scratch = vlt5_fbuf(m->threads * Tmax * Tmax), b->dbias = vlt5_fbuf((long)d->n_heads * Tmax * Tmax);
    b->lm_scratch = vlt5_fbuf(B * m->opts.max_target * d->d_model);
    m->bwd = b;
}

void vlt5_free_backward(struct vlt5 *m)
{
    struct vlt5_backward_bufs *b = m->bwd;
    if (!b)
        return;
    free(b->dx), free(b->d_sub), free(b->d_ln), free(b->dq), free(b->dk), free(b->dv), free(b->dctx);
    free(b->dh), free(b->d_kv_src), free(b->attn_scratch), free(b->dbias), free(b->lm_scratch), free(b);
    m->bwd = NULL;
}

static int ref_trains(const struct tensor_ref *t)
{
    return t->g != NULL;
}

static int attn_trains(const struct vlt5_attn_w *w)
{
    return ref_trains(&w->ln) || ref_trains(&w->q) || ref_trains(&w->k) || ref_trains(&w->v) || ref_trains(&w->o) ||
           ref_trains(&w->bq) || ref_trains(&w->bk) || ref_trains(&w->bv) || ref_trains(&w->bo);
}

static int ffn_trains(const struct vlt5_ffn_w *w)
{
    return ref_trains(&w->ln) || ref_trains(&w->wi) || ref_trains(&w->wo) || ref_trains(&w->bi) || ref_trains(&w->bo);
}

/* Whether block `l` of a stack has a trainable tensor or any hook (hooks may own parameters). */
static int layer_trains(const struct vlt5 *m, int stack, int l)
{
    if (stack == VLT5_ENCODER ? attn_trains(&m->enc_w[l].self) || ffn_trains(&m->enc_w[l].ffn)
                              : attn_trains(&m->dec_w[l].self) || attn_trains(&m->dec_w[l].cross) ||
                                    ffn_trains(&m->dec_w[l].ffn))
        return 1;
    for (int s = 0; s < VLT5_N_SUBLAYERS; s++) {
        if (vlt5_output_hook(m, stack, l, s))
            return 1;
        for (int k = 0; k < VLT5_N_LINEARS; k++)
            if (vlt5_linear_hook(m, stack, l, s, k))
                return 1;
    }
    return 0;
}

static int visual_trains(const struct vlt5 *m)
{
    return ref_trains(&m->feat_w) || ref_trains(&m->feat_b) || ref_trains(&m->feat_ln) || ref_trains(&m->pos_w) ||
           ref_trains(&m->pos_b) || ref_trains(&m->pos_ln) || ref_trains(&m->img_order);
}

/* The lowest block whose backward must run (n_layers: none); *embed: the embeddings need gradients. */
static int stack_stop(const struct vlt5 *m, int stack, int *embed)
{
    const int L = vlt5_n_layers(m, stack);
    *embed = m->input_grad || ref_trains(&m->shared) || (stack == VLT5_ENCODER && visual_trains(m));
    const struct tensor_ref *rel = stack == VLT5_ENCODER ? &m->enc_rel : &m->dec_rel;
    if (*embed || ref_trains(rel))
        return 0;
    for (int l = 0; l < L; l++)
        if (layer_trains(m, stack, l))
            return l;
    return L;
}

static int stack_needed(const struct vlt5 *m, int stack, int stop, int embed)
{
    const struct tensor_ref *fin = stack == VLT5_ENCODER ? &m->enc_final_ln : &m->dec_final_ln;
    return embed || stop < vlt5_n_layers(m, stack) || ref_trains(fin);
}

/* dx = d(x_final) from d(out), through the final dropout and RMS norm. */
static void final_backward(struct vlt5 *m, struct vlt5_stack_acts *s, const struct vlt5_pass *ps,
                           const struct tensor_ref *ln, float *dx)
{
    const int d = m->dims.d_model, N = ps->B * ps->T;
    float *g = m->bwd->d_sub;
    memcpy(g, s->d_out, sizeof(float) * (size_t)N * d);
    par_dropout_apply(m, g, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, VLT5_STACK_LAYER, DROP_FINAL), ps->hb.ex0,
                  ps->ids);
    par_rmsnorm_backward(m, dx, ln->g, g, s->x_final, s->rstd_final, ln->w, N, d, 0);
}

/* Gradient of the embedded input from dx (the gradient after the embedding dropout), in place. */
static void embed_backward(struct vlt5 *m, struct vlt5_stack_acts *s, const struct vlt5_pass *ps, float *dx)
{
    const int d = m->dims.d_model;
    par_dropout_apply(m, dx, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, VLT5_STACK_LAYER, DROP_EMBED), ps->hb.ex0,
                  ps->ids);
    if (m->input_grad)
        memcpy(s->d_emb, dx, sizeof(float) * (size_t)ps->B * ps->T * d);
}

void vlt5_backward(struct vlt5 *m)
{
    if (!m->pass_ready)
        return;
    alloc_backward(m);
    struct vlt5_backward_bufs *bw = m->bwd;
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model, H = dm->n_heads;
    const struct vlt5_batch *b = &m->batch;
    struct vlt5_pass ps;
    int enc_embed, dec_embed;
    const int enc_stop = stack_stop(m, VLT5_ENCODER, &enc_embed);
    const int enc_needed = stack_needed(m, VLT5_ENCODER, enc_stop, enc_embed);
    int dec_stop = stack_stop(m, VLT5_DECODER, &dec_embed);
    if (enc_needed)
        dec_stop = 0; /* every cross-attention feeds the encoder output */
    const int dec_needed = enc_needed || stack_needed(m, VLT5_DECODER, dec_stop, dec_embed);

    /* LM head: d(dec.out) += d^-0.5 * dlogits shared;  d(shared) += dlogits^T (dec.out * d^-0.5) */
    const int Nd = m->B * m->Ld;
    if (m->pass_ready == 2 && (dec_needed || ref_trains(&m->shared))) {
        frozen_linear_backward(m->frozen, m->shared.h, m->shared.w, m->shared.g, NULL, m->logits, m->lm_in,
                               dec_needed ? bw->lm_scratch : NULL, Nd, d, dm->vocab, 0);
        const float scale = (float)pow((double)d, -0.5);
        for (long i = 0; dec_needed && i < (long)Nd * d; i++)
            m->dec.d_out[i] += scale * bw->lm_scratch[i];
    }

    if (dec_needed) {
        vlt5_decoder_pass(m, &ps);
        final_backward(m, &m->dec, &ps, &m->dec_final_ln, bw->dx);
        memset(bw->dbias, 0, sizeof(float) * (size_t)H * m->Ld * m->Ld);
        float *d_enc = enc_needed ? m->enc.d_out : NULL;
        for (int l = dm->n_dec_layers - 1; l >= dec_stop; l--) {
            vlt5_ffn_backward(m, &ps, l, bw->dx);
            vlt5_attn_backward(m, &ps, l, 1, bw->dx, d_enc);
            vlt5_attn_backward(m, &ps, l, 0, bw->dx, NULL);
        }
        if (m->dec_rel.g)
            relpos_bias_backward(m->dec_rel.g, bw->dbias, H, m->Ld, m->Ld, m->Ld, m->Ld, 0, 0, dm->rel_buckets,
                                 dm->rel_max_distance);
        if (dec_embed && dec_stop == 0) {
            embed_backward(m, &m->dec, &ps, bw->dx);
            vlt5_embed_tokens_backward(m, m->dec_in, Nd, bw->dx);
        }
    }

    if (enc_needed) {
        vlt5_encoder_pass(m, &ps);
        final_backward(m, &m->enc, &ps, &m->enc_final_ln, bw->dx);
        const int T = m->enc.T;
        memset(bw->dbias, 0, sizeof(float) * (size_t)H * T * T);
        for (int l = dm->n_enc_layers - 1; l >= enc_stop; l--) {
            vlt5_ffn_backward(m, &ps, l, bw->dx);
            vlt5_attn_backward(m, &ps, l, 0, bw->dx, NULL);
        }
        if (m->enc_rel.g)
            relpos_bias_backward(m->enc_rel.g, bw->dbias, H, T, T, m->Lt, m->Lt, 0, 1, dm->rel_buckets,
                                 dm->rel_max_distance);
        if (enc_embed && enc_stop == 0) {
            embed_backward(m, &m->enc, &ps, bw->dx);
            const int R = dm->n_regions, Lt = m->Lt;
            float *d_vis = bw->d_sub; /* [B, R, d] */
            for (int bi = 0; bi < m->B; bi++) {
                const float *row = bw->dx + (long)bi * T * d;
                vlt5_embed_tokens_backward(m, b->text + (long)bi * Lt, Lt, row);
                memcpy(d_vis + (long)bi * R * d, row + (long)Lt * d, sizeof(float) * (size_t)R * d);
            }
            if (!b->visual)
                vlt5_visual_backward(m, b->feats, d_vis, m->B);
        }
    }
    m->pass_ready = 0;
}
