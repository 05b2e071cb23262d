/* Greedy decoding with a key/value cache (HF generate() defaults as MixPHM uses them, docs/vlt5.md):
 * start token 0, arg-max (first maximum) each step, a finished example is padded with 0, and
 * decoding stops when every example has produced EOS or after max_new tokens.
 *
 * The encoder runs once; each decoder layer's cross-attention keys and values are computed once per
 * batch; each step feeds one token per example and appends its self-attention key and value to the
 * cache, so a step costs O(t) attention instead of re-running the prefix.  Hooks run as in training
 * (train = 0), with one row per example (T = 1, pos0 = the step). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "model/vlt5_parallel.h"
#include "nn/attention.h"
#include "nn/norm.h"
#include "nn/relpos.h"

struct vlt5_generate_bufs {
    int cap;                  /* positions per example in the self-attention cache */
    float *k_cache, *v_cache; /* [L, B, cap, inner] */
    float *x, *ln, *out, *lm; /* [B, d] */
    float *rstd;              /* [B] */
    float *q, *kv, *ctx;      /* [B, inner] */
    float *probs;             /* [B, H, max(cap, T_enc)] */
    float *bias;              /* [H, cap] */
    float *logits;            /* [B, vocab] */
    int32_t *tok;             /* [B] current input token */
    unsigned char *done;      /* [B] */
};

static void alloc_generate(struct vlt5 *m)
{
    if (m->gen)
        return;
    const struct vlt5_dims *dm = &m->dims;
    const long B = m->opts.max_batch, d = dm->d_model, in = vlt5_inner(dm), cap = m->opts.max_generate;
    const long T_enc = m->opts.max_text + dm->n_regions, keys = cap > T_enc ? cap : T_enc;
    struct vlt5_generate_bufs *g = xcalloc(1, sizeof *g);
    g->cap = (int)cap;
    g->k_cache = xaligned_calloc((size_t)(dm->n_dec_layers * B * cap * in), sizeof(float));
    g->v_cache = xaligned_calloc((size_t)(dm->n_dec_layers * B * cap * in), sizeof(float));
    g->x = xaligned_calloc((size_t)(B * d), sizeof(float)), g->ln = xaligned_calloc((size_t)(B * d), sizeof(float));
    g->out = xaligned_calloc((size_t)(B * d), sizeof(float)), g->lm = xaligned_calloc((size_t)(B * d), sizeof(float));
    g->rstd = xaligned_calloc((size_t)B, sizeof(float));
    g->q = xaligned_calloc((size_t)(B * in), sizeof(float)), g->kv = xaligned_calloc((size_t)(B * in), sizeof(float));
    g->ctx = xaligned_calloc((size_t)(B * in), sizeof(float));
    g->probs = xaligned_calloc((size_t)(B * dm->n_heads * keys), sizeof(float));
    g->bias = xaligned_calloc((size_t)(dm->n_heads * cap), sizeof(float));
    g->logits = xaligned_calloc((size_t)(B * dm->vocab), sizeof(float));
    g->tok = xcalloc((size_t)B, sizeof(int32_t));
    g->done = xcalloc((size_t)B, 1);
    m->gen = g;
}

void vlt5_free_generate(struct vlt5 *m)
{
    struct vlt5_generate_bufs *g = m->gen;
    if (!g)
        return;
    free(g->k_cache), free(g->v_cache), free(g->x), free(g->ln), free(g->out), free(g->lm), free(g->rstd);
    free(g->q), free(g->kv), free(g->ctx), free(g->probs), free(g->bias), free(g->logits), free(g->tok);
    free(g->done), free(g);
    m->gen = NULL;
}

/* x += hook_out(O ctx): the end of an attention sub-layer in a decoding step. */
static void attn_output_step(struct vlt5 *m, const struct vlt5_hook_batch *hb, struct vlt5_site *s,
                             const struct vlt5_attn_w *w)
{
    struct vlt5_generate_bufs *g = m->gen;
    const int B = m->B, d = m->dims.d_model, in = vlt5_inner(&m->dims);
    s->linear = VLT5_O;
    vlt5_linear_forward(m, s, hb, &w->o, &w->bo, g->ctx, g->out, B, in, d);
    s->linear = -1;
    vlt5_output_forward(m, s, hb, g->out, B, d);
    for (long i = 0; i < (long)B * d; i++)
        g->x[i] += g->out[i];
}

/* One self-attention sub-layer for the token at position t, with the cache of layer l. */
static void self_attn_step(struct vlt5 *m, const struct vlt5_hook_batch *hb, int l, int t)
{
    struct vlt5_generate_bufs *g = m->gen;
    const struct vlt5_dims *dm = &m->dims;
    const struct vlt5_attn_w *w = &m->dec_w[l].self;
    const int B = m->B, d = dm->d_model, in = vlt5_inner(dm), H = dm->n_heads;
    float *kc = g->k_cache + (long)l * m->opts.max_batch * g->cap * in;
    float *vc = g->v_cache + (long)l * m->opts.max_batch * g->cap * in;
    struct vlt5_site s = {VLT5_DECODER, l, VLT5_SELF_ATTN, VLT5_Q};
    par_rmsnorm_forward(m, g->ln, g->rstd, g->x, w->ln.w, B, d, T5_NORM_EPS);
    vlt5_linear_forward(m, &s, hb, &w->q, &w->bq, g->ln, g->q, B, d, in);
    s.linear = VLT5_K;
    vlt5_linear_forward(m, &s, hb, &w->k, &w->bk, g->ln, g->kv, B, d, in);
    for (int b = 0; b < B; b++)
        memcpy(kc + ((long)b * g->cap + t) * in, g->kv + (long)b * in, sizeof(float) * (size_t)in);
    s.linear = VLT5_V;
    vlt5_linear_forward(m, &s, hb, &w->v, &w->bv, g->ln, g->kv, B, d, in);
    for (int b = 0; b < B; b++)
        memcpy(vc + ((long)b * g->cap + t) * in, g->kv + (long)b * in, sizeof(float) * (size_t)in);
    relpos_bias_forward(g->bias, m->dec_rel.w, H, 1, t + 1, 1, t + 1, t, 0, dm->rel_buckets, dm->rel_max_distance);
    struct attention_dims ad = {.B = B, .H = H, .Tq = 1, .Tk = t + 1, .dk = dm->d_kv, .k_stride = g->cap};
    struct attention_mask am = {.key_valid = NULL, .causal = 1, .q0 = t, .bias = g->bias};
    par_attention_forward(m, g->ctx, g->probs, NULL, m->attn_tmp, g->q, kc, vc, &ad, &am, NULL);
    attn_output_step(m, hb, &s, w);
}

/* One cross-attention sub-layer over the cached encoder keys and values of layer l. */
static void cross_attn_step(struct vlt5 *m, const struct vlt5_hook_batch *hb, int l)
{
    struct vlt5_generate_bufs *g = m->gen;
    const struct vlt5_dims *dm = &m->dims;
    const struct vlt5_attn_w *w = &m->dec_w[l].cross;
    const struct vlt5_attn_acts *a = &m->dec.layer[l].cross;
    const int B = m->B, d = dm->d_model, in = vlt5_inner(dm), T = m->enc.T;
    struct vlt5_site s = {VLT5_DECODER, l, VLT5_CROSS_ATTN, VLT5_Q};
    par_rmsnorm_forward(m, g->ln, g->rstd, g->x, w->ln.w, B, d, T5_NORM_EPS);
    vlt5_linear_forward(m, &s, hb, &w->q, &w->bq, g->ln, g->q, B, d, in);
    struct attention_dims ad = {.B = B, .H = dm->n_heads, .Tq = 1, .Tk = T, .dk = dm->d_kv, .k_stride = T};
    struct attention_mask am = {.key_valid = m->enc_valid};
    par_attention_forward(m, g->ctx, g->probs, NULL, m->attn_tmp, g->q, a->k, a->v, &ad, &am, NULL);
    attn_output_step(m, hb, &s, w);
}

/* The cross-attention keys and values of every decoder layer, from the encoder output. */
static void cross_kv(struct vlt5 *m)
{
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model, in = vlt5_inner(dm), N = m->B * m->enc.T;
    struct vlt5_pass ps;
    vlt5_decoder_pass(m, &ps);
    for (int l = 0; l < dm->n_dec_layers; l++) {
        const struct vlt5_attn_w *w = &m->dec_w[l].cross;
        struct vlt5_attn_acts *a = &m->dec.layer[l].cross;
        struct vlt5_site s = {VLT5_DECODER, l, VLT5_CROSS_ATTN, VLT5_K};
        vlt5_linear_forward(m, &s, &ps.hb_kv, &w->k, &w->bk, m->enc.out, a->k, N, d, in);
        s.linear = VLT5_V;
        vlt5_linear_forward(m, &s, &ps.hb_kv, &w->v, &w->bv, m->enc.out, a->v, N, d, in);
    }
}

int vlt5_generate(struct vlt5 *m, const struct vlt5_batch *b, int max_new, int32_t *out, int *lengths,
                  struct err *e)
{
    if (max_new < 1 || max_new > m->opts.max_generate)
        return err_set(e, "generate: %d new tokens asked, the model was built for 1 to %d", max_new,
                       m->opts.max_generate);
    struct vlt5_batch eb = *b;
    eb.train = 0;
    eb.labels = NULL;
    if (vlt5_encode(m, &eb, e))
        return -1;
    alloc_generate(m);
    struct vlt5_generate_bufs *g = m->gen;
    const struct vlt5_dims *dm = &m->dims;
    const int B = m->B, d = dm->d_model, V = dm->vocab;
    cross_kv(m);
    memset(out, 0, sizeof(int32_t) * (size_t)B * max_new);
    for (int i = 0; i < B; i++)
        g->tok[i] = VLT5_PAD, g->done[i] = 0, lengths[i] = max_new;
    const float scale = (float)pow((double)d, -0.5);
    int32_t pos_id = 0;
    struct vlt5_pass ps; /* for the FFN sub-layers: one row per example */
    vlt5_decoder_pass(m, &ps);
    ps.T = 1, ps.ids = &pos_id, ps.drop = NULL;
    ps.hb.T = 1, ps.hb.valid = NULL;
    for (int t = 0; t < max_new; t++) {
        pos_id = t;
        ps.hb.pos0 = t;
        vlt5_embed_tokens(m, g->tok, B, g->x);
        for (int l = 0; l < dm->n_dec_layers; l++) {
            self_attn_step(m, &ps.hb, l, t);
            cross_attn_step(m, &ps.hb, l);
            vlt5_ffn_forward(m, &ps, l, g->x);
        }
        par_rmsnorm_forward(m, g->lm, g->rstd, g->x, m->dec_final_ln.w, B, d, T5_NORM_EPS);
        for (long i = 0; i < (long)B * d; i++)
            g->lm[i] *= scale;
        frozen_linear_forward(m->frozen, m->shared.h, m->shared.w, NULL, g->logits, g->lm, B, d, V);
        int all_done = 1;
        for (int i = 0; i < B; i++) {
            const float *z = g->logits + (long)i * V;
            int best = 0;
            for (int j = 1; j < V; j++)
                if (z[j] > z[best])
                    best = j;
            const int32_t next = g->done[i] ? VLT5_PAD : best;
            out[(long)i * max_new + t] = next;
            if (!g->done[i] && next == VLT5_EOS) {
                g->done[i] = 1;
                lengths[i] = t + 1;
            }
            g->tok[i] = next;
            all_done &= g->done[i];
        }
        if (all_done)
            break;
    }
    return 0;
}
