#include "nn/dropout.h"

#include <stddef.h>

#include "nn/rng.h"

/* The mask of a row is integer hashing, which AVX-512 (x86-64-v4: 64-bit multiplies) runs 8 draws at a
 * time and AVX2 (x86-64-v3, 64-bit multiplies from 32-bit ones) 4; the loader picks the copy the CPU
 * can run.  The results are the scalar code's, bit for bit. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__SANITIZE_ADDRESS__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
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

/* Columns with ids col0, col0 + 1, ...: one 64-bit draw serves an even id and its successor.  The
 * loop over pairs has no branch (a drop is a coin flip the predictor cannot learn) and vectorises. */
static inline void mask_run(float *x, int n, uint64_t row_key, uint32_t col0, uint64_t threshold, float scale)
{
    int c = 0;
    if ((col0 & 1u) && n > 0) {
        x[0] *= rng_bits32(row_key, col0) >= threshold ? scale : 0.0f;
        c = 1;
    }
    const int pairs = (n - c) / 2;
    const uint64_t first = (col0 + (uint32_t)c) >> 1;
    float *y = x + c;
    for (int k = 0; k < pairs; k++) {
        const uint64_t z = rng_bits64(row_key, first + (uint64_t)k);
        y[2 * k] *= (uint32_t)z >= threshold ? scale : 0.0f;
        y[2 * k + 1] *= (uint32_t)(z >> 32) >= threshold ? scale : 0.0f;
    }
    c += 2 * pairs;
    if (c < n)
        x[c] *= rng_bits32(row_key, col0 + (uint32_t)c) >= threshold ? scale : 0.0f;
}

VECTOR_CLONES void dropout_row(float *x, int n, const struct dropout *d, uint64_t row_key, const int32_t *col_ids,
                               uint32_t col0)
{
    const uint64_t threshold = (uint64_t)((double)d->p * 4294967296.0);
    const float scale = 1.0f / (1.0f - d->p);
    if (!col_ids) {
        mask_run(x, n, row_key, col0, threshold, scale);
        return;
    }
    for (int c = 0, e; c < n; c = e) { /* runs of consecutive ids (text positions, then regions) */
        for (e = c + 1; e < n && (uint32_t)col_ids[e] == (uint32_t)col_ids[c] + (uint32_t)(e - c); e++)
            ;
        mask_run(x + c, e - c, row_key, (uint32_t)col_ids[c], threshold, scale);
    }
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
