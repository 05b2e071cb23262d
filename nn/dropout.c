#include "nn/dropout.h"

#include <stddef.h>

#include "nn/rng.h"

/* The mask of a row is integer hashing, which AVX-512 (x86-64-v4: 64-bit multiplies) runs 8 draws at a
 * time; the loader picks that copy on CPUs that have it.  The results are the scalar code's. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__SANITIZE_ADDRESS__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

uint64_t dropout_site_key(const struct dropout *d, uint32_t site)
{
    return rng_key(d->seed, d->step, site);
}

uint64_t dropout_row_key_at(uint64_t site_key, uint64_t example, uint64_t row)
{
    return rng_fold(rng_fold(site_key, example), row);
}

uint64_t dropout_row_key(const struct dropout *d, uint32_t site, uint64_t example, uint64_t row)
{
    return dropout_row_key_at(dropout_site_key(d, site), example, row);
}

VECTOR_CLONES void dropout_row(float *x, int n, const struct dropout *d, uint64_t row_key, const int32_t *col_ids,
                               uint32_t col0)
{
    const uint64_t threshold = (uint64_t)((double)d->p * 4294967296.0);
    const float scale = 1.0f / (1.0f - d->p);
    if (col_ids) { /* ids come in contiguous runs: an even id and its successor share one draw */
        int c = 0;
        while (c < n) {
            const uint32_t id = (uint32_t)col_ids[c];
            if (!(id & 1u) && c + 1 < n && (uint32_t)col_ids[c + 1] == id + 1) {
                uint64_t z = rng_bits64(row_key, id >> 1);
                x[c] *= (float)((uint32_t)z >= threshold) * scale;
                x[c + 1] *= (float)((z >> 32) >= threshold) * scale;
                c += 2;
            } else {
                x[c] *= (float)(rng_bits32(row_key, id) >= threshold) * scale;
                c++;
            }
        }
        return;
    }
    /* Contiguous columns: one 64-bit draw serves an even/odd pair of ids. */
    int c = 0;
    if (col0 & 1u) {
        if (n > 0)
            x[0] *= (float)(rng_bits32(row_key, col0) >= threshold) * scale;
        c = 1;
    }
    for (; c + 1 < n; c += 2) { /* branch-free: a drop is a coin flip the predictor cannot learn */
        uint64_t z = rng_bits64(row_key, (col0 + (uint32_t)c) >> 1);
        x[c] *= (float)((uint32_t)z >= threshold) * scale;
        x[c + 1] *= (float)((z >> 32) >= threshold) * scale;
    }
    if (c < n)
        x[c] *= (float)(rng_bits32(row_key, col0 + (uint32_t)c) >= threshold) * scale;
}

void dropout_apply(float *x, int B, int R, int C, const struct dropout *d, uint32_t site, uint64_t ex0,
                   const int32_t *row_ids)
{
    if (!dropout_on(d))
        return;
    const uint64_t site_key = dropout_site_key(d, site);
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            uint64_t id = row_ids ? (uint64_t)(uint32_t)row_ids[r] : (uint64_t)r;
            dropout_row(x + ((long)b * R + r) * C, C, d, dropout_row_key_at(site_key, ex0 + (uint64_t)b, id), NULL, 0);
        }
}
