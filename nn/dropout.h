/* Dropout whose masks come from counter-based random numbers (rng.h).
 *
 * Element (global example e, row r, column c) of dropout site s at step t is dropped iff
 *     bits32(row_key(seed, t, s, e, r), c) < p * 2^32
 * and the kept elements are scaled by 1 / (1 - p).  Rows and columns are *canonical* ids that do not
 * depend on how a batch was padded (for the encoder: text position t, or DROPOUT_VIS_BASE + n for
 * region n), so a batch split over ranks, each padding its own examples, draws the masks of the
 * single-rank run.  Applying the same call to a gradient is the backward pass: nothing is stored. */
#ifndef MIXPHM_NN_DROPOUT_H
#define MIXPHM_NN_DROPOUT_H

#include <stdint.h>

/* Canonical id of region n in the encoder sequence: DROPOUT_VIS_BASE + n (text positions are < it). */
#define DROPOUT_VIS_BASE 0x10000

struct dropout {
    float p;       /* drop probability, 0 <= p < 1; 0 turns dropout off */
    uint64_t seed; /* run seed */
    uint64_t step; /* optimizer step (or any counter that changes per forward pass) */
};

static inline int dropout_on(const struct dropout *d)
{
    return d && d->p > 0.0f;
}

uint64_t dropout_row_key(const struct dropout *d, uint32_t site, uint64_t example, uint64_t row);
/* The same in two steps, for loops over many rows of one site: dropout_row_key(d, s, e, r) ==
 * dropout_row_key_at(dropout_site_key(d, s), e, r). */
uint64_t dropout_site_key(const struct dropout *d, uint32_t site);
uint64_t dropout_row_key_at(uint64_t site_key, uint64_t example, uint64_t row);

/* x[n] *= mask / (1 - p); column c has id col_ids[c], or col0 + c when col_ids is NULL. */
void dropout_row(float *x, int n, const struct dropout *d, uint64_t row_key, const int32_t *col_ids,
                 uint32_t col0);

/* x [B, R, C]: row r of local example b is (example ex0 + b, row id row_ids[r] or r), columns 0..C-1. */
void dropout_apply(float *x, int B, int R, int C, const struct dropout *d, uint32_t site, uint64_t ex0,
                   const int32_t *row_ids);

#endif
