/* A matrix X [N, d] held by rows: each rank of a communicator holds one contiguous block of rows,
 * in rank order (rank r holds rows first_r .. first_r + count_r - 1, first_r = count_0 + ... +
 * count_{r-1}; a rank may hold none).  That is how a stage collects per-sample representations.
 *
 * bc_from_row_blocks lays such a matrix out block-cyclically for ScaLAPACK with one all-to-all
 * exchange: every element moves once, straight to the rank that owns it, and no rank ever holds more
 * than its own share (no gather to rank 0, whatever the number of ranks). */
#ifndef MIXPHM_MPI_ROW_BLOCKS_H
#define MIXPHM_MPI_ROW_BLOCKS_H

#include <mpi.h>

#include "base/err.h"
#include "mpi/blacs.h"

struct row_blocks {
    int n;       /* rows in all */
    int first;   /* this rank's first row */
    int count;   /* this rank's rows */
    int size;    /* ranks */
    int *counts; /* [size] rows of each rank */
    int *firsts; /* [size] first row of each rank */
};

/* Collective: every rank gives its own row count.  Refuses (on every rank alike) a negative count or
 * more than INT_MAX rows in all. */
int row_blocks_init(struct row_blocks *rb, MPI_Comm comm, int count, struct err *e);
void row_blocks_free(struct row_blocks *rb);

/* Xt = X^T [d, N] block-cyclic on grid g in nb x nb blocks, from this rank's rows x [rb->count, d]
 * (row-major; its rows are rb->first ...).  Each local column of Xt is the local part of one sample.
 * rb must describe the rows over g->comm.  Collective over g->comm; Xt is allocated here. */
int bc_from_row_blocks(const struct blacs_grid *g, const struct row_blocks *rb, const float *x, int d, int nb,
                       struct bc_matrix *xt, struct err *e);

#endif
