/* BLACS process grids, block-cyclic matrices and the PBLAS products mixphm uses.
 *
 * Debian's ScaLAPACK ships no C header; blacs.c declares the few entry points it calls (with the
 * gfortran hidden string lengths for the Fortran ones).  A grid spans every rank of a communicator,
 * numbered row by row: rank r sits at (r / npcol, r % npcol).  Global indices here are 0-based, the
 * first block of each dimension lives on process row/column 0, and a matrix is stored column-major
 * on each rank with its shape next to it:
 *
 *   global A [m, n], blocks [mb, nb]   ->   local a[jl * lld + il], il < mloc, jl < nloc
 *
 * BLACS keeps process-wide state of its own.  blacs_exit() releases it (Cblacs_exit(1): BLACS does not
 * finalize MPI); call it once no grid is left, before MPI_Finalize.  A grid can be made again after. */
#ifndef MIXPHM_MPI_BLACS_H
#define MIXPHM_MPI_BLACS_H

#include <mpi.h>

#include "base/err.h"

struct blacs_grid {
    MPI_Comm comm; /* the ranks of the grid (not owned, must outlive the grid) */
    int rank, size;
    int sys;  /* BLACS system handle of comm */
    int ctxt; /* BLACS context of the grid */
    int nprow, npcol, myrow, mycol;
};

/* The near-square shape of `nprocs` processes: nprow the largest divisor <= sqrt(nprocs), so
 * 1 -> 1x1, 2 -> 1x2, 3 -> 1x3, 4 -> 2x2, 6 -> 2x3, 8 -> 2x4, 12 -> 3x4; a prime count gives 1 x p. */
void blacs_grid_shape(int nprocs, int *nprow, int *npcol);

/* Collective over comm.  nprow = npcol = 0 chooses blacs_grid_shape(size); otherwise
 * nprow * npcol must equal the size of comm. */
int blacs_grid_init(struct blacs_grid *g, MPI_Comm comm, int nprow, int npcol, struct err *e);
void blacs_grid_free(struct blacs_grid *g);
/* The rank in g->comm of the process at (prow, pcol). */
int blacs_grid_rank_of(const struct blacs_grid *g, int prow, int pcol);
void blacs_exit(void);

/* Block-cyclic index arithmetic for one dimension of `n` indices in blocks of `nb` over `nprocs`
 * processes (source 0). */
int bc_numroc(int n, int nb, int iproc, int nprocs); /* indices held by process iproc (ScaLAPACK's numroc) */
static inline int bc_owner(int ig, int nb, int nprocs)
{
    return (ig / nb) % nprocs;
}
static inline int bc_local_to_global(int il, int nb, int iproc, int nprocs)
{
    return (il / nb) * nb * nprocs + iproc * nb + il % nb;
}
static inline int bc_global_to_local(int ig, int nb, int nprocs)
{
    return (ig / (nb * nprocs)) * nb + ig % nb;
}

struct bc_matrix {
    int m, n;     /* global shape */
    int mb, nb;   /* block shape */
    int mloc, nloc, lld;
    int desc[9];  /* ScaLAPACK array descriptor */
    float *a;     /* [nloc][lld] column-major, zeroed, 64-byte aligned */
};

int bc_matrix_alloc(struct bc_matrix *A, const struct blacs_grid *g, int m, int n, int mb, int nb, struct err *e);
void bc_matrix_free(struct bc_matrix *A);
/* Global row (column) index of local row il (column jl). */
int bc_matrix_row(const struct bc_matrix *A, const struct blacs_grid *g, int il);
int bc_matrix_col(const struct bc_matrix *A, const struct blacs_grid *g, int jl);

/* C = alpha op(A) op(B) + beta C over the whole matrices (PSGEMM); op is 'N' or 'T'.
 * Collective over the grid.  Refuses shapes that do not fit. */
int pblas_sgemm(char transa, char transb, float alpha, const struct bc_matrix *A, const struct bc_matrix *B,
                float beta, struct bc_matrix *C, struct err *e);
/* The `uplo` ('U' or 'L') triangle of C = alpha A^T A + beta C (trans 'T') or alpha A A^T + beta C
 * ('N') (PSSYRK); the other triangle of C is not touched. */
int pblas_ssyrk(char uplo, char trans, float alpha, const struct bc_matrix *A, float beta, struct bc_matrix *C,
                struct err *e);

#endif
