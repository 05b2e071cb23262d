/* Local sums over one rank's part of N x N Gram matrices: the pieces of the redundancy statistics
 * (RSA, linear and RBF CKA) that need no communication.  mpi/redundancy_stats adds them up over the
 * ranks; docs/analysis.md has the definitions.
 *
 * A representation X [N, d] is described by the Gram matrix of its column-centred samples,
 * Kc = Xc Xc^T with Xc = X - 1 mu^T, and per-sample numbers.  Everything else follows from Kc exactly:
 *
 *   squared distance   D_ij = |xc_i|^2 + |xc_j|^2 - 2 Kc_ij                 (translation invariant)
 *   cosine similarity  S_ij = (Kc_ij + xc_i.mu + xc_j.mu + |mu|^2) / (|x_i| |x_j|)
 *   RBF kernel         R_ij = exp(-D_ij / (2 sigma^2))
 *   centred kernels    (H K H)_ij = K_ij - r_i/N - r_j/N + s/N^2   (r = row sums of K, s = their sum)
 *
 * so one Gram matrix per representation serves all three statistics.  Forming Kc from centred
 * samples, rather than K = X X^T, keeps the float Gram accurate when the samples share a large mean
 * (as transformer states do): K_ij then is dominated by |mu|^2 and the centred or distance terms would
 * be differences of nearly equal float numbers.  The cosine similarity is rebuilt in double from Kc
 * and the exact rank-one terms, as accurate as a Gram of the normalised samples.
 *
 * The block holds local rows and columns of the global matrix at increasing global indices (a
 * block-cyclic distribution, or the whole matrix); only its elements on or above the diagonal
 * (i <= j) are read, because the matrix is symmetric and PxSYRK fills only that triangle.
 * Sums over all N^2 elements count an element above the diagonal twice.  Every sum is accumulated in
 * double, per local column first and then into the total, so the rounding error grows with the
 * number of rows plus the number of columns rather than with their product. */
#ifndef MIXPHM_NN_GRAM_SUMS_H
#define MIXPHM_NN_GRAM_SUMS_H

#include <stdint.h>

#include "nn/radix_select.h"

/* Per-sample numbers for one local row or column. */
struct gram_sample {
    double sq;  /* |x_i - mu|^2 */
    double dot; /* (x_i - mu) . mu */
    double inv; /* 1 / max(|x_i|, 1e-12): torch.nn.functional.normalize's scaling */
    double cl;  /* centring term of the linear kernel, r_i/N - s/(2 N^2) */
    double cr;  /* centring term of the RBF kernel, the same with the RBF row sums */
};

struct gram_block {
    const float *k; /* [ncols][ld], column-major: Kc(row_g[il], col_g[jl]) = k[jl * ld + il] */
    int ld, nrows, ncols;
    const int *row_g, *col_g;       /* [nrows], [ncols]: global indices, increasing */
    const struct gram_sample *rows; /* [nrows] */
    const struct gram_sample *cols; /* [ncols] */
    double mu_sq;     /* |mu|^2 */
    double gamma;     /* 1 / (2 sigma^2) of the RBF kernel */
    double cos_shift; /* subtracted from each cosine similarity before summing (near their mean) */
};

/* The squared distance of the samples of a local row and column, clamped at 0 (rounding can make the
 * difference slightly negative for nearly equal samples).  The same expression in every pass, so a
 * distance is the same number each time it is computed. */
static inline double gram_dist_sq(const struct gram_sample *r, const struct gram_sample *c, float kc)
{
    double d = r->sq + c->sq - 2.0 * (double)kc;
    return d > 0.0 ? d : 0.0;
}

/* Adds the row sums of the full symmetric matrix Kc (resp. R) that this block holds into
 * rowsum[N] (indexed by global row). */
void gram_rowsums_linear(const struct gram_block *b, double *rowsum /* [N] */);
void gram_rowsums_rbf(const struct gram_block *b, double *rowsum /* [N] */);

/* Counts the radix keys of the squared distances D_ij, i < j, into hist. */
void gram_distance_histogram(const struct gram_block *b, const struct radix_select *s,
                             uint64_t *hist /* [RADIX_BINS] */);

/* The smallest key of a squared distance D_ij (i < j) larger than `key`, or UINT64_MAX. */
uint64_t gram_distance_min_above(const struct gram_block *b, uint64_t key);

/* Sums for one pair of representations X (block x) and Y (block y) held in the same layout. */
struct gram_pair_sums {
    /* RSA: over the upper triangle i <= j, each element once, of the shifted cosine similarities
     * u = S^X_ij - shift_x and v = S^Y_ij - shift_y */
    double u, uu, v, vv, uv;
    /* linear CKA: over all N^2 elements of the centred kernels a = (H Kc^X H)_ij, b = (H Kc^Y H)_ij */
    double lin_ab, lin_aa, lin_bb;
    /* RBF CKA: the same with the centred RBF kernels */
    double rbf_ab, rbf_aa, rbf_bb;
};
#define GRAM_PAIR_SUMS_COUNT 11 /* doubles in struct gram_pair_sums, for a reduction */

/* Adds this block's contribution to *acc.  When `with_rbf` is 0 the RBF sums are left alone (no
 * bandwidth: fewer than two samples, or more than half of the pairs coincide). */
void gram_pair_sums(const struct gram_block *x, const struct gram_block *y, int with_rbf, struct gram_pair_sums *acc);

/* Pearson correlation of `count` pairs (u, v) from their sums; NaN when either has no variance. */
double pearson_from_sums(double count, double su, double suu, double sv, double svv, double suv);
/* <A, B>_F / sqrt(<A, A>_F <B, B>_F); NaN when either norm is 0. */
double cka_from_sums(double ab, double aa, double bb);

#endif
