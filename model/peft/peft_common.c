/* Helpers shared by the PEFT methods (peft_internal.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "model/peft/peft_internal.h"
#include "nn/rng.h"

void peft_site_prefix(const struct vlt5_site *s, char *out, size_t n)
{
    int k = s->sublayer;
    if (s->stack == VLT5_ENCODER && s->sublayer == VLT5_FFN)
        k = 1; /* encoder blocks have no cross-attention */
    snprintf(out, n, "%s.block.%d.layer.%d", s->stack == VLT5_ENCODER ? "encoder" : "decoder", s->layer, k);
}

int peft_add(struct peft *pf, struct err *e, int ndim, const int *shape, const char *fmt, ...)
{
    char name[PARAM_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof name)
        return err_set(e, "PEFT tensor name too long: %s...", name);
    return params_add(pf->params, name, ndim, shape, PARAM_PEFT, 1, e);
}

void peft_mark_used(struct peft *pf, int h)
{
    if (pf->used && h >= 0)
        pf->used[h] = 1;
}

int peft_encoder_rows(const struct vlt5_site *s)
{
    return s->stack == VLT5_ENCODER ||
           (s->sublayer == VLT5_CROSS_ATTN && (s->linear == VLT5_K || s->linear == VLT5_V));
}

int peft_max_T(const struct vlt5 *m)
{
    const int enc = m->opts.max_text + m->dims.n_regions;
    return enc > m->opts.max_target ? enc : m->opts.max_target;
}

int peft_max_rows(const struct vlt5 *m, int encoder_rows)
{
    return m->opts.max_batch * (encoder_rows ? m->opts.max_text + m->dims.n_regions : m->opts.max_target);
}

void peft_row_ids(const struct vlt5 *m, int encoder_rows, const struct vlt5_hook_batch *b, int32_t *ids)
{
    const int Lt = b->T - m->dims.n_regions; /* encoder rows: text then the regions */
    for (int t = 0; t < b->T; t++)
        ids[t] = encoder_rows ? (t < Lt ? t : DROPOUT_VIS_BASE + (t - Lt)) : b->pos0 + t;
}

uint32_t peft_drop_site(const struct vlt5_site *s, int kind)
{
    const int lin = s->linear < 0 ? 7 : s->linear;
    return VLT5_SITE_USER | ((uint32_t)s->stack << 20) | ((uint32_t)(s->layer & 0xff) << 12) |
           ((uint32_t)s->sublayer << 8) | ((uint32_t)lin << 4) | (uint32_t)(kind & 0xf);
}

int peft_expert(const struct peft *pf, const struct vlt5_site *s, const struct vlt5_hook_batch *b, int proj, int E)
{
    if (E <= 1)
        return 0;
    if (pf->opts.expert_rule == PEFT_EXPERTS_FIXED) {
        const long k = (long)pf->opts.expert_offset + s->layer + 2L * s->stack + proj;
        return (int)(((k % E) + E) % E);
    }
    /* one uniform draw per (seed, step, site, projection): every rank draws the same expert */
    const uint64_t seed = b->dropout ? b->dropout->seed : 0, step = b->dropout ? b->dropout->step : 0;
    const uint64_t key = rng_key(seed, step, peft_drop_site(s, 0xf) ^ ((uint32_t)proj << 28));
    return (int)(((rng_bits64(key, 0) >> 32) * (uint64_t)E) >> 32);
}

static uint64_t tensor_key(const struct peft *pf, int h, uint64_t seed)
{
    return hash_str(HASH_INIT, pf->params->t[h].name) ^ rng_mix64(seed + RNG_GAMMA);
}

void peft_fill_uniform(struct peft *pf, int h, double bound, uint64_t seed)
{
    float *w = params_data(pf->params, h);
    const uint64_t key = tensor_key(pf, h, seed);
    for (size_t i = 0; i < pf->params->t[h].numel; i++)
        w[i] = (float)((2.0 * rng_uniform(key, i) - 1.0) * bound);
}

void peft_fill_normal(struct peft *pf, int h, double std, uint64_t seed)
{
    float *w = params_data(pf->params, h);
    const uint64_t key = tensor_key(pf, h, seed);
    for (size_t i = 0; i < pf->params->t[h].numel; i++)
        w[i] = (float)(std * rng_normal(key, i));
}

void peft_fill_xavier_slices(struct peft *pf, int h, double gain, uint64_t seed)
{
    const struct param_tensor *t = &pf->params->t[h];
    /* each slice [a, b]: PyTorch's fan_in = b, fan_out = a */
    peft_fill_uniform(pf, h, gain * sqrt(6.0 / (double)(t->shape[1] + t->shape[2])), seed);
}

void peft_fill_zero(struct peft *pf, int h)
{
    memset(params_data(pf->params, h), 0, sizeof(float) * pf->params->t[h].numel);
}

void peft_copy_tensor(struct peft *pf, int dst, int src)
{
    memcpy(params_data(pf->params, dst), params_data(pf->params, src), sizeof(float) * pf->params->t[src].numel);
}
