#include "nn/dropout.h"

#include <stddef.h>

#include "nn/rng.h"

uint64_t dropout_row_key(const struct dropout *d, uint32_t site, uint64_t example, uint64_t row)
{
    return rng_fold(rng_fold(rng_key(d->seed, d->step, site), example), row);
}

void dropout_row(float *x, int n, const struct dropout *d, uint64_t row_key, const int32_t *col_ids,
                 uint32_t col0)
{
    const uint64_t threshold = (uint64_t)((double)d->p * 4294967296.0);
    const float scale = 1.0f / (1.0f - d->p);
    if (col_ids) {
        for (int c = 0; c < n; c++)
            x[c] = rng_bits32(row_key, (uint32_t)col_ids[c]) < threshold ? 0.0f : x[c] * scale;
        return;
    }
    /* Contiguous columns: one 64-bit draw serves an even/odd pair of ids. */
    int c = 0;
    if (col0 & 1u) {
        if (n > 0)
            x[0] = rng_bits32(row_key, col0) < threshold ? 0.0f : x[0] * scale;
        c = 1;
    }
    for (; c + 1 < n; c += 2) { /* branch-free: a drop is a coin flip the predictor cannot learn */
        uint64_t z = rng_bits64(row_key, (col0 + (uint32_t)c) >> 1);
        x[c] *= (float)((uint32_t)z >= threshold) * scale;
        x[c + 1] *= (float)((z >> 32) >= threshold) * scale;
    }
    if (c < n)
        x[c] = rng_bits32(row_key, col0 + (uint32_t)c) < threshold ? 0.0f : x[c] * scale;
}

void dropout_apply(float *x, int B, int R, int C, const struct dropout *d, uint32_t site, uint64_t ex0,
                   const int32_t *row_ids)
{
    if (!dropout_on(d))
        return;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            uint64_t id = row_ids ? (uint64_t)(uint32_t)row_ids[r] : (uint64_t)r;
            dropout_row(x + ((long)b * R + r) * C, C, d, dropout_row_key(d, site, ex0 + (uint64_t)b, id), NULL, 0);
        }
}
