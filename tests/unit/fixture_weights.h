/* The fixture weights of tests/reference/fixture_weights.py, bit for bit (tests only): a pure function
 * of (seed, tensor name, index) in float32 arithmetic, so the fixtures do not store the weights. */
#ifndef MIXPHM_TESTS_FIXTURE_WEIGHTS_H
#define MIXPHM_TESTS_FIXTURE_WEIGHTS_H

#include <math.h>
#include <string.h>

#include "base/hash.h"
#include "model/params.h"
#include "model/vlt5.h"
#include "nn/rng.h"

static inline int fixture_ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static inline int fixture_fan(const char *name, const struct vlt5_dims *d)
{
    if (fixture_ends(name, ".q.weight"))
        return d->d_model * d->d_kv;
    if (fixture_ends(name, ".k.weight") || fixture_ends(name, ".v.weight") || fixture_ends(name, "wi.weight"))
        return d->d_model;
    if (fixture_ends(name, ".o.weight"))
        return d->n_heads * d->d_kv;
    if (fixture_ends(name, "wo.weight"))
        return d->d_ff;
    if (fixture_ends(name, "relative_attention_bias.weight"))
        return 4;
    if (fixture_ends(name, "feat_embedding.0.weight"))
        return d->feat_dim;
    if (fixture_ends(name, "absolute_vis_pos_embedding.0.weight"))
        return 5;
    if (strcmp(name, "shared.weight") == 0)
        return d->d_model;
    return 1;
}

static inline void fixture_tensor(const char *name, float *w, size_t n, const struct vlt5_dims *d, uint64_t seed)
{
    const uint64_t key = hash_str(HASH_INIT, name) ^ (seed * RNG_GAMMA);
    const int norm = fixture_ends(name, "layer_norm.weight") || fixture_ends(name, "_embedding.1.weight");
    const int bias = fixture_ends(name, ".bias");
    const float scale = sqrtf(3.0f / (float)fixture_fan(name, d));
    for (size_t i = 0; i < n; i++) {
        const float u = (float)(rng_bits64(key, i) >> 40) * 0x1p-24f;
        const float v = u * 2.0f - 1.0f;
        w[i] = norm ? 1.0f + 0.25f * v : bias ? 0.125f * v : v * scale;
    }
}

/* Fills every backbone tensor of the registry. */
static inline void fixture_fill(struct params *p, const struct vlt5_dims *d, uint64_t seed)
{
    for (int i = 0; i < p->n; i++)
        if (p->t[i].owner & PARAM_BACKBONE)
            fixture_tensor(p->t[i].name, params_data(p, i), p->t[i].numel, d, seed);
}

#endif
