/* VL-T5: sizes, registration of the backbone's tensors, binding of views and activation buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "nn/relpos.h"

int vlt5_preset(const char *size, struct vlt5_dims *d)
{
    memset(d, 0, sizeof *d);
    d->vocab = 32200;
    d->feat_dim = 2048;
    d->n_regions = VLT5_REGIONS;
    d->rel_buckets = T5_REL_BUCKETS;
    d->rel_max_distance = T5_REL_MAX_DISTANCE;
    if (strcmp(size, "t5-base") == 0) {
        d->d_model = 768, d->n_heads = 12, d->d_kv = 64, d->d_ff = 3072, d->n_enc_layers = d->n_dec_layers = 12;
    } else if (strcmp(size, "t5-small") == 0) {
        d->d_model = 512, d->n_heads = 8, d->d_kv = 64, d->d_ff = 2048, d->n_enc_layers = d->n_dec_layers = 6;
    } else if (strcmp(size, "tiny") == 0) {
        d->d_model = 64, d->n_heads = 4, d->d_kv = 16, d->d_ff = 128, d->n_enc_layers = d->n_dec_layers = 2;
    } else {
        return -1;
    }
    return 0;
}

int vlt5_dims_check(const struct vlt5_dims *d, struct err *e)
{
    struct {
        const char *name;
        int v, lo, hi;
    } c[] = {
        {"d_model", d->d_model, 1, 65536},
        {"n_heads", d->n_heads, 1, 1024},
        {"d_kv", d->d_kv, 1, 65536},
        {"d_ff", d->d_ff, 1, 1 << 20},
        {"n_enc_layers", d->n_enc_layers, 1, VLT5_MAX_LAYERS},
        {"n_dec_layers", d->n_dec_layers, 1, VLT5_MAX_LAYERS},
        {"feat_dim", d->feat_dim, 1, 1 << 20},
        {"n_regions", d->n_regions, 1, 4096},
        {"rel_buckets", d->rel_buckets, 2, 1024},
        {"rel_max_distance", d->rel_max_distance, 2, 1 << 20},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].v < c[i].lo || c[i].v > c[i].hi)
            return err_set(e, "model dimension %s = %d: expected %d to %d", c[i].name, c[i].v, c[i].lo, c[i].hi);
    /* Region n uses the embedding of <vis_extra_id_n> = vocab - 1 - n; ids 0..2 are pad, eos, unk. */
    if (d->vocab < d->n_regions + 3)
        return err_set(e, "model vocabulary of %d tokens: needs at least %d (3 special tokens and one "
                          "<vis_extra_id> per region)",
                       d->vocab, d->n_regions + 3);
    return 0;
}

long vlt5_param_count(const struct vlt5_dims *d, int visual_bias)
{
    const long dm = d->d_model, in = (long)d->n_heads * d->d_kv, attn = 4 * dm * in + dm, ffn = 2 * dm * d->d_ff + dm;
    long n = (long)d->vocab * dm;                                     /* shared */
    n += dm * d->feat_dim + dm + dm * 5 + dm + 2 * dm;                /* visual embedding */
    n += visual_bias ? 2 * dm : 0;
    n += d->n_enc_layers * (attn + ffn) + (long)d->rel_buckets * d->n_heads + dm;
    n += d->n_dec_layers * (2 * attn + ffn) + (long)d->rel_buckets * d->n_heads + dm;
    return n;
}

/* ---- registration ------------------------------------------------------------------------------ */
struct reg {
    struct params *p;
    int trainable;
    struct err *e;
    int failed;
};

static struct tensor_ref add(struct reg *r, int owner, int trainable, int ndim, int d0, int d1, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static struct tensor_ref add(struct reg *r, int owner, int trainable, int ndim, int d0, int d1, const char *fmt, ...)
{
    struct tensor_ref t = {-1, NULL, NULL};
    if (r->failed)
        return t;
    char name[PARAM_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int shape[2] = {d0, d1};
    t.h = params_add(r->p, name, ndim, shape, owner, trainable, r->e);
    if (t.h < 0)
        r->failed = 1;
    return t;
}

static struct tensor_ref add_backbone(struct reg *r, int ndim, int d0, int d1, const char *name)
{
    return add(r, PARAM_BACKBONE, r->trainable, ndim, d0, d1, "%s", name);
}

static void add_attn(struct reg *r, const struct vlt5 *m, struct vlt5_attn_w *w, const char *prefix,
                     const char *module)
{
    const int d = m->dims.d_model, in = vlt5_inner(&m->dims);
    struct tensor_ref *lin[4] = {&w->q, &w->k, &w->v, &w->o};
    struct tensor_ref *bias[4] = {&w->bq, &w->bk, &w->bv, &w->bo};
    const char *names = "qkvo";
    for (int i = 0; i < 4; i++) {
        *lin[i] = add(r, PARAM_BACKBONE, r->trainable, 2, i < 3 ? in : d, i < 3 ? d : in, "%s.%s.%c.weight", prefix,
                      module, names[i]);
        *bias[i] = (struct tensor_ref){-1, NULL, NULL};
        if (m->opts.linear_bias)
            *bias[i] = add(r, PARAM_PEFT, 1, 1, i < 3 ? in : d, 0, "%s.%s.%c.bias", prefix, module, names[i]);
    }
    w->ln = add(r, PARAM_BACKBONE, r->trainable, 1, d, 0, "%s.layer_norm.weight", prefix);
}

static void add_ffn(struct reg *r, const struct vlt5 *m, struct vlt5_ffn_w *w, const char *prefix)
{
    const int d = m->dims.d_model, ff = m->dims.d_ff;
    w->wi = add(r, PARAM_BACKBONE, r->trainable, 2, ff, d, "%s.DenseReluDense.wi.weight", prefix);
    w->wo = add(r, PARAM_BACKBONE, r->trainable, 2, d, ff, "%s.DenseReluDense.wo.weight", prefix);
    w->bi = w->bo = (struct tensor_ref){-1, NULL, NULL};
    if (m->opts.linear_bias) {
        w->bi = add(r, PARAM_PEFT, 1, 1, ff, 0, "%s.DenseReluDense.wi.bias", prefix);
        w->bo = add(r, PARAM_PEFT, 1, 1, d, 0, "%s.DenseReluDense.wo.bias", prefix);
    }
    w->ln = add(r, PARAM_BACKBONE, r->trainable, 1, d, 0, "%s.layer_norm.weight", prefix);
}

/* The blocks of one stack in state-dict order: block.{l}.layer.{0: self-attention, [1: cross-attention,]
 * last: FFN}; block 0's self-attention owns the relative position bias; then the final norm. */
static void add_stack(struct reg *r, struct vlt5 *m, int stack)
{
    const char *name = stack == VLT5_ENCODER ? "encoder" : "decoder";
    const int dm = m->dims.d_model, L = vlt5_n_layers(m, stack);
    struct vlt5_layer_w *w = stack == VLT5_ENCODER ? m->enc_w : m->dec_w;
    char prefix[PARAM_NAME_MAX];
    for (int l = 0; l < L; l++) {
        if (l == 0)
            *(stack == VLT5_ENCODER ? &m->enc_rel : &m->dec_rel) =
                add(r, PARAM_BACKBONE, r->trainable, 2, m->dims.rel_buckets, m->dims.n_heads,
                    "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", name);
        snprintf(prefix, sizeof prefix, "%s.block.%d.layer.0", name, l);
        add_attn(r, m, &w[l].self, prefix, "SelfAttention");
        if (stack == VLT5_DECODER) {
            snprintf(prefix, sizeof prefix, "%s.block.%d.layer.1", name, l);
            add_attn(r, m, &w[l].cross, prefix, "EncDecAttention");
        }
        snprintf(prefix, sizeof prefix, "%s.block.%d.layer.%d", name, l, stack == VLT5_ENCODER ? 1 : 2);
        add_ffn(r, m, &w[l].ffn, prefix);
    }
    *(stack == VLT5_ENCODER ? &m->enc_final_ln : &m->dec_final_ln) =
        add(r, PARAM_BACKBONE, r->trainable, 1, dm, 0, "%s.final_layer_norm.weight", name);
}

int vlt5_register(struct vlt5 *m, struct params *p, const struct vlt5_dims *d, const struct vlt5_options *o,
                  struct err *e)
{
    memset(m, 0, sizeof *m);
    if (vlt5_dims_check(d, e))
        return -1;
    if (o->max_batch < 1 || o->max_text < 1 || o->max_target < 1 || o->max_generate < 1)
        return err_set(e, "model buffers: max_batch %d, max_text %d, max_target %d and max_generate %d must be "
                          "positive",
                       o->max_batch, o->max_text, o->max_target, o->max_generate);
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
        return err_set(e, "model dropout %g: expected 0 <= p < 1", (double)o->dropout);
    m->dims = *d;
    m->opts = *o;
    m->params = p;
    m->threads = 1;
    struct reg r = {p, o->train_backbone ? 1 : 0, e, 0};
    const int dm = d->d_model;
    m->shared = add_backbone(&r, 2, d->vocab, dm, "shared.weight");
    m->feat_w = add_backbone(&r, 2, dm, d->feat_dim, "encoder.visual_embedding.feat_embedding.0.weight");
    m->feat_b = m->pos_b = (struct tensor_ref){-1, NULL, NULL};
    if (o->visual_bias)
        m->feat_b = add_backbone(&r, 1, dm, 0, "encoder.visual_embedding.feat_embedding.0.bias");
    m->feat_ln = add_backbone(&r, 1, dm, 0, "encoder.visual_embedding.feat_embedding.1.weight");
    m->pos_w = add_backbone(&r, 2, dm, 5, "encoder.visual_embedding.absolute_vis_pos_embedding.0.weight");
    if (o->visual_bias)
        m->pos_b = add_backbone(&r, 1, dm, 0, "encoder.visual_embedding.absolute_vis_pos_embedding.0.bias");
    m->pos_ln = add_backbone(&r, 1, dm, 0, "encoder.visual_embedding.absolute_vis_pos_embedding.1.weight");
    m->img_order = add_backbone(&r, 2, 2, dm, "encoder.visual_embedding.img_order_embedding.weight");
    m->enc_w = xcalloc((size_t)d->n_enc_layers, sizeof *m->enc_w);
    m->dec_w = xcalloc((size_t)d->n_dec_layers, sizeof *m->dec_w);
    add_stack(&r, m, VLT5_ENCODER);
    add_stack(&r, m, VLT5_DECODER);
    const size_t n_hooks = 2 * VLT5_MAX_LAYERS * VLT5_N_SUBLAYERS;
    m->linear_hooks = xcalloc(n_hooks * VLT5_N_LINEARS, sizeof *m->linear_hooks);
    m->output_hooks = xcalloc(n_hooks, sizeof *m->output_hooks);
    if (r.failed) {
        vlt5_free(m);
        return err_prefix(e, "VL-T5 backbone");
    }
    if (vlt5_precision_init(m, e) != 0) {
        vlt5_free(m);
        return -1;
    }
    return 0;
}

int vlt5_build(struct vlt5 *m, struct params *p, const struct vlt5_dims *d, const struct vlt5_options *o,
               struct err *e)
{
    params_init(p);
    if (vlt5_register(m, p, d, o, e))
        return -1;
    params_alloc(p);
    vlt5_bind(m);
    return 0;
}

/* ---- binding ----------------------------------------------------------------------------------- */
static void bind_ref(const struct params *p, struct tensor_ref *t)
{
    if (t->h < 0) {
        t->w = t->g = NULL;
        return;
    }
    t->w = params_data(p, t->h);
    t->g = params_grad(p, t->h);
}

static void bind_attn(const struct params *p, struct vlt5_attn_w *w)
{
    struct tensor_ref *all[] = {&w->ln, &w->q, &w->k, &w->v, &w->o, &w->bq, &w->bk, &w->bv, &w->bo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        bind_ref(p, all[i]);
}

static void bind_ffn(const struct params *p, struct vlt5_ffn_w *w)
{
    struct tensor_ref *all[] = {&w->ln, &w->wi, &w->wo, &w->bi, &w->bo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        bind_ref(p, all[i]);
}

void vlt5_bind(struct vlt5 *m)
{
    const struct params *p = m->params;
    struct tensor_ref *top[] = {&m->shared, &m->enc_rel,   &m->dec_rel, &m->enc_final_ln, &m->dec_final_ln,
                                &m->feat_w, &m->feat_b,    &m->feat_ln, &m->pos_w,        &m->pos_b,
                                &m->pos_ln, &m->img_order};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        bind_ref(p, top[i]);
    for (int l = 0; l < m->dims.n_enc_layers; l++)
        bind_attn(p, &m->enc_w[l].self), bind_ffn(p, &m->enc_w[l].ffn);
    for (int l = 0; l < m->dims.n_dec_layers; l++)
        bind_attn(p, &m->dec_w[l].self), bind_attn(p, &m->dec_w[l].cross), bind_ffn(p, &m->dec_w[l].ffn);
    if (m->enc.layer) /* bound before: the views moved, the buffers stay */
        return;
    const struct vlt5_dims *d = &m->dims;
    const long B = m->opts.max_batch, dm = d->d_model;
    const int T_enc = m->opts.max_text + d->n_regions, T_dec = m->opts.max_target;
    vlt5_set_bind(m);
    const long T_max = T_enc > T_dec ? T_enc : T_dec;
    m->tmp_out = vlt5_fbuf(B * T_max * dm), m->attn_tmp = vlt5_fbuf(m->threads * 2 * T_max * T_max);
}

void vlt5_free(struct vlt5 *m)
{
    if (m->enc.layer)
        free(m->tmp_out), free(m->attn_tmp);
    vlt5_sets_free(m);
    vlt5_free_backward(m);
    vlt5_free_generate(m);
    frozen_linears_free(m->frozen);
    free(m->enc_w), free(m->dec_w), free(m->linear_hooks), free(m->output_hooks);
    memset(m, 0, sizeof *m);
}
