#include "model/peft/peft.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/peft/peft_internal.h"
#include "nn/consistency.h"
#include "nn/rng.h"

/* Full fine-tuning is an option of the backbone (peft_backbone_options): nothing to add. */
static const struct peft_method_ops backbone_only = {0};

static const struct peft_method_ops *method_ops(int method)
{
    switch (method) {
    case PEFT_FULL: return &backbone_only;
    case PEFT_BITFIT: return &peft_bitfit_ops;
    case PEFT_LORA: return &peft_lora_ops;
    case PEFT_HOULSBY:
    case PEFT_PFEIFFER:
    case PEFT_COMPACTER:
    case PEFT_COMPACTERPP:
    case PEFT_ADAMIX:
    case PEFT_MIXPHM: return &peft_adapter_ops;
    default: return NULL;
    }
}

/* Methods whose experts are drawn per pass, so that some tensors get no gradient in a step. */
static int has_experts(const struct peft *pf)
{
    return pf->opts.method == PEFT_ADAMIX || pf->opts.method == PEFT_MIXPHM;
}

const char *peft_kind_name(int method)
{
    return method >= 0 && method < PEFT_METHOD_COUNT ? peft_method_names[method] : "?";
}

void peft_backbone_options(const struct peft_options *o, struct vlt5_options *vo)
{
    vo->train_backbone = o->method == PEFT_FULL;
    vo->linear_bias = o->method == PEFT_BITFIT;
}

int peft_create(struct peft **out, const struct peft_options *o, struct vlt5 *m, struct params *p, struct err *e)
{
    *out = NULL;
    const struct peft_method_ops *ops = method_ops(o->method);
    if (!ops)
        return err_set(e, "peft.method: unknown method %d", o->method);
    if (o->routing < ROUTING_NONE || o->routing > ROUTING_EXPAND)
        return err_set(e, "peft.routing: unknown routing function %d", o->routing);
    if (o->routing != ROUTING_NONE && !peft_method_supports_routing(o->method))
        return err_set(e, "peft.routing: %s has no low-rank bottleneck for a routing function (lora, houlsby, "
                          "pfeiffer and mixphm have one)", peft_kind_name(o->method));
    struct peft *pf = xcalloc(1, sizeof *pf);
    pf->opts = *o;
    pf->model = m;
    pf->params = p;
    if (ops->create && ops->create(pf, e) != 0) {
        if (ops->destroy)
            ops->destroy(pf);
        free(pf);
        return -1;
    }
    *out = pf;
    return 0;
}

void peft_bind(struct peft *pf)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    pf->used = xmalloc((size_t)pf->params->n);
    memset(pf->used, 1, (size_t)pf->params->n);
    if (ops->bind)
        ops->bind(pf);
}

void peft_init(struct peft *pf, uint64_t seed)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->init)
        ops->init(pf, seed);
}

void peft_eval_prepare(struct peft *pf)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->eval_prepare)
        ops->eval_prepare(pf);
}

void peft_free(struct peft *pf)
{
    if (!pf)
        return;
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->destroy)
        ops->destroy(pf);
    free(pf->used);
    free(pf);
}

void peft_used_clear(struct peft *pf)
{
    if (pf->used) /* without experts every trainable tensor gets a gradient in every step */
        memset(pf->used, has_experts(pf) ? 0 : 1, (size_t)pf->params->n);
}

void peft_reg_sizes(const struct peft *pf, size_t *stats_len, size_t *pooled_width)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    *stats_len = *pooled_width = 0;
    if (ops->reg_sizes)
        ops->reg_sizes(pf, stats_len, pooled_width);
}

void peft_reg_local(struct peft *pf, const struct vlt5 *m, float *stats, float *pooled)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->reg_local)
        ops->reg_local(pf, m, stats, pooled);
}

double peft_reg_backward(struct peft *pf, const struct vlt5 *m, const float *stats_sum, const float *pooled_all,
                         long global_batch, uint64_t ex0, float *dpooled_all, double *loss_partial)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    size_t stats_len, width;
    peft_reg_sizes(pf, &stats_len, &width);
    *loss_partial = 0;
    if (width) /* the methods add their parts into it */
        memset(dpooled_all, 0, sizeof(float) * (size_t)global_batch * width);
    return ops->reg_backward ? ops->reg_backward(pf, m, stats_sum, pooled_all, global_batch, ex0, dpooled_all,
                                                 loss_partial)
                             : 0.0;
}

void peft_reg_pooled_grad(struct peft *pf, struct vlt5 *m, const float *dpooled_sum, uint64_t ex0)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->reg_pooled_grad)
        ops->reg_pooled_grad(pf, m, dpooled_sum, ex0);
}

int peft_sets_alloc(struct peft *pf, int n, int B)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    return ops->sets_alloc ? ops->sets_alloc(pf, n, B) : -1;
}

void peft_set_select(struct peft *pf, int i)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->set_select)
        ops->set_select(pf, i);
}

size_t peft_set_bytes(const struct peft *pf, int B)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    return ops->set_bytes ? ops->set_bytes(pf, B) : 0;
}

size_t peft_reg_keep_size(const struct peft *pf, int B)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    return ops->reg_keep_size ? ops->reg_keep_size(pf, B) : 0;
}

void peft_reg_keep(const struct peft *pf, const struct vlt5 *m, float *kept)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->reg_keep)
        ops->reg_keep(pf, m, kept);
}

double peft_reg_kept_mi(struct peft *pf, const float *kept, const float *stats_sum, const float *pooled_all,
                        long global_batch, uint64_t ex0, float *dpooled_all)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    size_t stats_len, width;
    peft_reg_sizes(pf, &stats_len, &width);
    if (width)
        memset(dpooled_all, 0, sizeof(float) * (size_t)global_batch * width);
    return ops->reg_kept_mi ? ops->reg_kept_mi(pf, kept, stats_sum, pooled_all, global_batch, ex0, dpooled_all) : 0.0;
}

double peft_reg_step(struct peft *pf, struct vlt5 *m)
{
    size_t stats_len, width;
    peft_reg_sizes(pf, &stats_len, &width);
    if (stats_len == 0 && width == 0)
        return 0.0;
    long B = m->B;
    float *stats = xcalloc(stats_len ? stats_len : 1, sizeof *stats);            /* [stats_len] */
    float *pooled = xcalloc((size_t)B * (width ? width : 1), sizeof *pooled);      /* [B, width] */
    float *dpooled = xcalloc((size_t)B * (width ? width : 1), sizeof *dpooled);    /* [B, width] */
    peft_reg_local(pf, m, stats, pooled);
    double partial = 0;
    double shared = peft_reg_backward(pf, m, stats, pooled, B, 0, dpooled, &partial);
    peft_reg_pooled_grad(pf, m, dpooled, 0);
    free(stats);
    free(pooled);
    free(dpooled);
    return shared + partial;
}

int peft_has_ffn_adapter(int method)
{
    const struct peft_method_ops *ops = method_ops(method);
    return ops && ops->repr_enable != NULL;
}

int peft_repr_enable(struct peft *pf, struct err *e)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (!ops->repr_enable)
        return err_set(e, "peft.method %s has no adapter after the FFN: no h_a to analyse",
                       peft_kind_name(pf->opts.method));
    return ops->repr_enable(pf, e);
}

void peft_repr_pool(const struct peft *pf, const struct vlt5 *m, int stack, int layer, float *h, float *ha)
{
    const struct peft_method_ops *ops = method_ops(pf->opts.method);
    if (ops->repr_pool)
        ops->repr_pool(pf, m, stack, layer, h, ha);
}

uint64_t peft_pass_seed(uint64_t seed, int pass)
{
    return pass == 0 ? seed : rng_fold(seed, (uint64_t)pass);
}

double peft_consistency(struct vlt5 *m, const float *own_logits, const float *other_logits, double weight,
                        int after_loss)
{
    const long rows = (long)m->B * m->Ld;
    const double scale = weight * 0.5 / ((double)m->batch.global_batch * m->Ld);
    const double loss = kl_to_target(own_logits, other_logits, m->logits, (int)rows, m->dims.vocab, scale, after_loss);
    m->pass_ready = 2; /* m->logits holds the gradient of the pass's loss */
    return loss;
}
