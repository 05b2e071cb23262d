/* Redundancy statistics between two representations of the same N samples, on a BLACS grid:
 * RSA (Pearson correlation of the upper triangles, diagonal included, of the cosine-similarity
 * matrices), linear CKA and RBF CKA (biased HSIC, median-heuristic bandwidth).  Definitions, numerical
 * notes and the calling pattern of the analyze stage: docs/analysis.md.
 *
 * Input layout: each rank of the grid's communicator holds one contiguous block of rows of
 * X [N, d], row-major float, in rank order (mpi/row_blocks.h); ranks may hold different numbers of rows,
 * or none.  Two representations are paired by global row index, so X and Y may be split differently.
 *
 * A representation is prepared once (redundancy_rep_init: centring, block-cyclic layout, the N x N
 * Gram matrix with PSSYRK, row sums, the median distance) and can then be paired with any number of
 * others (redundancy_pair: one pass over the local blocks and one reduction of 11 numbers).
 * Memory per rank: 4 N^2 / P bytes for each prepared representation (P ranks), plus d N / P floats
 * while it is being prepared.  Every call is collective over the grid's communicator; errors are
 * reported alike on every rank (e->collective = 1). */
#ifndef MIXPHM_MPI_REDUNDANCY_STATS_H
#define MIXPHM_MPI_REDUNDANCY_STATS_H

#include "base/err.h"
#include "mpi/blacs.h"
#include "nn/gram_sums.h"

#define REDUNDANCY_DEFAULT_BLOCK 64

struct redundancy_rep {
    const struct blacs_grid *grid;
    int n, d;                 /* samples, width */
    struct bc_matrix gram;    /* Kc = Xc Xc^T [n, n], block-cyclic; upper triangle (i <= j) valid */
    int *row_g, *col_g;       /* [gram.mloc], [gram.nloc]: global index of each local row, column */
    struct gram_sample *rows; /* [gram.mloc] */
    struct gram_sample *cols; /* [gram.nloc] */
    double mu_sq;             /* |mu|^2, mu the mean sample */
    double cos_shift;         /* mean cosine similarity over the upper triangle (a shift for the sums) */
    double sigma;             /* median heuristic bandwidth: median of |x_i - x_j| over i < j */
    int has_rbf;              /* 0 when sigma is 0 (more than half of the pairs coincide) */
};

/* Prepares X from this rank's rows x [n_local, d] (row-major).  block: the block size of the
 * block-cyclic layout (0: REDUNDANCY_DEFAULT_BLOCK).  Needs N >= 2 and finite values; refuses a d
 * that differs between ranks. */
int redundancy_rep_init(struct redundancy_rep *r, const struct blacs_grid *g, const float *x, int n_local, int d,
                        int block, struct err *e);
void redundancy_rep_free(struct redundancy_rep *r);

struct redundancy_stats {
    int n;                 /* samples */
    double rsa;            /* Pearson correlation of the upper triangles of S^X and S^Y */
    double cka_linear;     /* HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), K = X X^T, L = Y Y^T */
    double cka_rbf;        /* the same with the Gaussian kernels */
    double hsic_linear[3]; /* biased HSIC tr(K H L H) / (N-1)^2 of (X, Y), (X, X), (Y, Y) */
    double hsic_rbf[3];    /* the same for the Gaussian kernels */
    double sigma_x, sigma_y; /* the bandwidths */
};

/* The statistics of two prepared representations of the same samples on the same grid (same N and
 * block).  A statistic that is not defined is NaN: RSA when a similarity matrix is constant on its
 * upper triangle, a CKA when a centred kernel is 0 (all samples equal), the RBF CKA when a
 * bandwidth is 0. */
int redundancy_pair(const struct redundancy_rep *x, const struct redundancy_rep *y, struct redundancy_stats *s,
                    struct err *e);

/* Both in one call, for a single pair: x [n_local, dx] and y [n_local, dy], the same rows. */
int redundancy_compare(const struct blacs_grid *g, const float *x, int dx, const float *y, int dy, int n_local,
                       int block, struct redundancy_stats *s, struct err *e);

#endif
