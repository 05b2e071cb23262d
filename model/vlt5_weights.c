/* VL-T5 weights: loading and saving the backbone in the HDF5 weight format, T5's random
 * initialisation, and the visual embedding on its own (for the features stage). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/h5io.h"
#include "model/params_h5.h"
#include "model/vlt5_internal.h"
#include "nn/rng.h"

static const char *const FEWVLM_VISUAL_BIASES[] = {
    "encoder.visual_embedding.feat_embedding.0.bias",
    "encoder.visual_embedding.absolute_vis_pos_embedding.0.bias",
    NULL,
};

int vlt5_load(struct vlt5 *m, const char *path, struct err *e)
{
    /* A FewVLM checkpoint keeps its two visual biases; MixPHM's model has none and ignores them. */
    const char *const *ignore = m->opts.visual_bias ? NULL : FEWVLM_VISUAL_BIASES;
    if (vlt5_weights_packed(m))
        return err_set(e, "loading the VL-T5 backbone %s: its bf16 weights were already packed (load the backbone "
                          "once, before the first forward)", path);
    if (params_load_h5(m->params, path, PARAM_BACKBONE, ignore, e))
        return err_prefix(e, "loading the VL-T5 backbone");
    return vlt5_pack_weights(m, e) ? err_prefix(e, "%s", path) : 0;
}

int vlt5_save(const struct vlt5 *m, const char *path, struct err *e)
{
    const struct vlt5_dims *d = &m->dims;
    const struct weights_attr attrs[] = {
        {"d_model", d->d_model},
        {"n_heads", d->n_heads},
        {"d_kv", d->d_kv},
        {"d_ff", d->d_ff},
        {"n_enc_layers", d->n_enc_layers},
        {"n_dec_layers", d->n_dec_layers},
        {"vocab", d->vocab},
        {"feat_dim", d->feat_dim},
        {"rel_buckets", d->rel_buckets},
        {"rel_max_distance", d->rel_max_distance},
        {"visual_bias", m->opts.visual_bias},
    };
    return params_save_h5(m->params, path, PARAM_BACKBONE, attrs, (int)(sizeof attrs / sizeof attrs[0]), e);
}

int vlt5_dims_from_weights(const char *path, struct vlt5_dims *d, struct err *e)
{
    vlt5_preset("t5-base", d); /* region count and bucket defaults */
    struct {
        const char *name;
        int *field;
    } keys[] = {
        {"d_model", &d->d_model},         {"n_heads", &d->n_heads},   {"d_kv", &d->d_kv},
        {"d_ff", &d->d_ff},               {"n_enc_layers", &d->n_enc_layers},
        {"n_dec_layers", &d->n_dec_layers}, {"vocab", &d->vocab},     {"feat_dim", &d->feat_dim},
        {"rel_buckets", &d->rel_buckets}, {"rel_max_distance", &d->rel_max_distance},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        long v;
        if (weights_read_attr(path, keys[i].name, &v, e))
            return -1;
        *keys[i].field = (int)v;
    }
    return vlt5_dims_check(d, e) ? err_prefix(e, "%s", path) : 0;
}

/* ---- initialisation ---------------------------------------------------------------------------- */
static uint64_t tensor_key(const struct vlt5 *m, uint64_t seed, const struct tensor_ref *t)
{
    return rng_key(seed, hash_str(HASH_INIT, m->params->t[t->h].name), 0);
}

static size_t numel(const struct vlt5 *m, const struct tensor_ref *t)
{
    return m->params->t[t->h].numel;
}

static void fill_normal(const struct vlt5 *m, uint64_t seed, const struct tensor_ref *t, double std)
{
    if (t->h < 0)
        return;
    const uint64_t key = tensor_key(m, seed, t);
    for (size_t i = 0; i < numel(m, t); i++)
        t->w[i] = (float)(std * rng_normal(key, i));
}

/* PyTorch's default nn.Linear initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
static void fill_uniform(const struct vlt5 *m, uint64_t seed, const struct tensor_ref *t, int fan_in)
{
    if (t->h < 0)
        return;
    const uint64_t key = tensor_key(m, seed, t);
    const double a = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < numel(m, t); i++)
        t->w[i] = (float)(a * (2.0 * rng_uniform(key, i) - 1.0));
}

static void fill_ones(const struct vlt5 *m, const struct tensor_ref *t)
{
    for (size_t i = 0; t->h >= 0 && i < numel(m, t); i++)
        t->w[i] = 1.0f;
}

static void init_attn(const struct vlt5 *m, uint64_t seed, const struct vlt5_attn_w *w)
{
    const double d = m->dims.d_model, in = vlt5_inner(&m->dims);
    fill_normal(m, seed, &w->q, pow(d * m->dims.d_kv, -0.5));
    fill_normal(m, seed, &w->k, pow(d, -0.5));
    fill_normal(m, seed, &w->v, pow(d, -0.5));
    fill_normal(m, seed, &w->o, pow(in, -0.5));
    fill_ones(m, &w->ln);
}

static void init_ffn(const struct vlt5 *m, uint64_t seed, const struct vlt5_ffn_w *w)
{
    fill_normal(m, seed, &w->wi, pow(m->dims.d_model, -0.5));
    fill_normal(m, seed, &w->wo, pow(m->dims.d_ff, -0.5));
    fill_ones(m, &w->ln);
}

/* HF T5PreTrainedModel._init_weights with factor 1.0; the visual embedding's linears keep PyTorch's
 * default; norm weights are 1.  BitFit biases (owned by the method) stay 0. */
void vlt5_init_random(struct vlt5 *m, uint64_t seed)
{
    if (vlt5_weights_packed(m)) { /* the float32 values are gone: a caller's ordering bug, not an input error */
        fprintf(stderr, "mixphm: internal error: vlt5_init_random after the bf16 weights were packed\n");
        abort();
    }
    const double d = m->dims.d_model;
    fill_normal(m, seed, &m->shared, 1.0);
    fill_normal(m, seed, &m->img_order, 1.0);
    fill_uniform(m, seed, &m->feat_w, m->dims.feat_dim);
    fill_uniform(m, seed, &m->feat_b, m->dims.feat_dim);
    fill_uniform(m, seed, &m->pos_w, 5);
    fill_uniform(m, seed, &m->pos_b, 5);
    fill_ones(m, &m->feat_ln);
    fill_ones(m, &m->pos_ln);
    fill_normal(m, seed, &m->enc_rel, pow(d, -0.5));
    fill_normal(m, seed, &m->dec_rel, pow(d, -0.5));
    fill_ones(m, &m->enc_final_ln);
    fill_ones(m, &m->dec_final_ln);
    for (int l = 0; l < m->dims.n_enc_layers; l++)
        init_attn(m, seed, &m->enc_w[l].self), init_ffn(m, seed, &m->enc_w[l].ffn);
    for (int l = 0; l < m->dims.n_dec_layers; l++) {
        init_attn(m, seed, &m->dec_w[l].self);
        init_attn(m, seed, &m->dec_w[l].cross);
        init_ffn(m, seed, &m->dec_w[l].ffn);
    }
}

int vlt5_visual_embed(struct vlt5 *m, const float *feats, const float *boxes, int B, float *out, struct err *e)
{
    if (B < 1 || B > m->opts.max_batch)
        return err_set(e, "visual embedding of %d examples: the model was built for 1 to %d", B, m->opts.max_batch);
    if (vlt5_pack_weights(m, e))
        return -1;
    vlt5_visual_forward(m, feats, boxes, B, out);
    return 0;
}
