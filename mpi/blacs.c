#include "mpi/blacs.h"

#include <cblas.h>
#include <stddef.h>
#include <stdlib.h>

#include "base/mem.h"

/* ScaLAPACK 2.2 entry points (no C header in Debian).  BLACS has a C interface; the Fortran ones
 * take every argument by reference and, for each CHARACTER argument, a hidden length at the end
 * (size_t with gfortran >= 8). */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int Cblacs_pnum(int ctxt, int prow, int pcol);
void Cblacs_exit(int not_done);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);
void psgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const float *alpha,
             const float *a, const int *ia, const int *ja, const int *desca, const float *b, const int *ib,
             const int *jb, const int *descb, const float *beta, float *c, const int *ic, const int *jc,
             const int *descc, size_t transa_len, size_t transb_len);
void pssyrk_(const char *uplo, const char *trans, const int *n, const int *k, const float *alpha, const float *a,
             const int *ia, const int *ja, const int *desca, const float *beta, float *c, const int *ic,
             const int *jc, const int *descc, size_t uplo_len, size_t trans_len);

void blacs_grid_shape(int nprocs, int *nprow, int *npcol)
{
    int p = 1;
    for (int q = 1; q * q <= nprocs; q++)
        if (nprocs % q == 0)
            p = q;
    *nprow = p;
    *npcol = nprocs / p;
}

int blacs_grid_init(struct blacs_grid *g, MPI_Comm comm, int nprow, int npcol, struct err *e)
{
    g->comm = comm;
    MPI_Comm_rank(comm, &g->rank);
    MPI_Comm_size(comm, &g->size);
    if (nprow == 0 && npcol == 0)
        blacs_grid_shape(g->size, &nprow, &npcol);
    if (nprow < 1 || npcol < 1 || nprow * npcol != g->size) {
        return err_set_all(e, "a %dx%d process grid needs %d ranks, the communicator has %d", nprow, npcol,
                           nprow * npcol, g->size);
    }
    g->sys = Csys2blacs_handle(comm);
    g->ctxt = g->sys;
    Cblacs_gridinit(&g->ctxt, "Row", nprow, npcol);
    Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    /* Everything that maps rows to ranks relies on the row-major numbering. */
    if (g->nprow != nprow || g->npcol != npcol || Cblacs_pnum(g->ctxt, g->myrow, g->mycol) != g->rank ||
        g->myrow * npcol + g->mycol != g->rank) {
        err_set(e, "BLACS made a %dx%d grid with rank %d at (%d,%d), expected %dx%d at (%d,%d)", g->nprow,
                       g->npcol, g->rank, g->myrow, g->mycol, nprow, npcol, g->rank / npcol, g->rank % npcol);
        blacs_grid_free(g);
        return -1;
    }
    return 0;
}

void blacs_grid_free(struct blacs_grid *g)
{
    Cblacs_gridexit(g->ctxt);
    Cfree_blacs_system_handle(g->sys);
    g->ctxt = g->sys = -1;
}

int blacs_grid_rank_of(const struct blacs_grid *g, int prow, int pcol)
{
    return Cblacs_pnum(g->ctxt, prow, pcol);
}

void blacs_exit(void)
{
    Cblacs_exit(1);
}

int bc_numroc(int n, int nb, int iproc, int nprocs)
{
    int src = 0;
    return numroc_(&n, &nb, &iproc, &src, &nprocs);
}

int bc_matrix_alloc(struct bc_matrix *A, const struct blacs_grid *g, int m, int n, int mb, int nb, struct err *e)
{
    A->a = NULL;
    if (m < 0 || n < 0 || mb < 1 || nb < 1)
        return err_set(e, "cannot lay out a %dx%d matrix in %dx%d blocks", m, n, mb, nb);
    A->m = m;
    A->n = n;
    A->mb = mb;
    A->nb = nb;
    A->mloc = bc_numroc(m, mb, g->myrow, g->nprow);
    A->nloc = bc_numroc(n, nb, g->mycol, g->npcol);
    A->lld = A->mloc > 0 ? A->mloc : 1; /* ScaLAPACK wants lld >= 1 even with no local rows */
    int zero = 0, info = 0;
    descinit_(A->desc, &m, &n, &mb, &nb, &zero, &zero, &g->ctxt, &A->lld, &info);
    if (info != 0)
        return err_set(e, "descinit refused a %dx%d matrix in %dx%d blocks (argument %d)", m, n, mb, nb, -info);
    A->a = xaligned_calloc((size_t)A->lld * (size_t)A->nloc, sizeof *A->a);
    return 0;
}

void bc_matrix_free(struct bc_matrix *A)
{
    free(A->a);
    A->a = NULL;
}

int bc_matrix_row(const struct bc_matrix *A, const struct blacs_grid *g, int il)
{
    return bc_local_to_global(il, A->mb, g->myrow, g->nprow);
}

int bc_matrix_col(const struct bc_matrix *A, const struct blacs_grid *g, int jl)
{
    return bc_local_to_global(jl, A->nb, g->mycol, g->npcol);
}

/* On a 1x1 grid the local array is the whole matrix: the wrappers call BLAS directly, which PBLAS
 * would do too but through panels of nb columns (measured 2x slower for the N x N x 768 Gram, see
 * docs/benchmarks.md). */
static int single_process(const struct bc_matrix *A)
{
    int nprow, npcol, myrow, mycol;
    Cblacs_gridinfo(A->desc[1], &nprow, &npcol, &myrow, &mycol);
    return nprow == 1 && npcol == 1;
}

static enum CBLAS_TRANSPOSE cblas_trans(char t)
{
    return t == 'N' ? CblasNoTrans : CblasTrans;
}

/* Shape of op(A). */
static void op_shape(char trans, const struct bc_matrix *A, int *rows, int *cols)
{
    *rows = trans == 'N' ? A->m : A->n;
    *cols = trans == 'N' ? A->n : A->m;
}

static int check_trans(const char *what, char trans, struct err *e)
{
    if (trans != 'N' && trans != 'T')
        return err_set(e, "%s: transpose flag must be 'N' or 'T', got '%c'", what, trans);
    return 0;
}

int pblas_sgemm(char transa, char transb, float alpha, const struct bc_matrix *A, const struct bc_matrix *B,
                float beta, struct bc_matrix *C, struct err *e)
{
    if (check_trans("pblas_sgemm", transa, e) || check_trans("pblas_sgemm", transb, e))
        return -1;
    int am, ak, bk, bn;
    op_shape(transa, A, &am, &ak);
    op_shape(transb, B, &bk, &bn);
    if (ak != bk || am != C->m || bn != C->n)
        return err_set(e, "pblas_sgemm: op(A) is %dx%d, op(B) %dx%d, C %dx%d", am, ak, bk, bn, C->m, C->n);
    if (am == 0 || bn == 0)
        return 0;
    if (single_process(C)) {
        cblas_sgemm(CblasColMajor, cblas_trans(transa), cblas_trans(transb), am, bn, ak, alpha, A->a, A->lld, B->a,
                    B->lld, beta, C->a, C->lld);
        return 0;
    }
    int one = 1;
    psgemm_(&transa, &transb, &am, &bn, &ak, &alpha, A->a, &one, &one, A->desc, B->a, &one, &one, B->desc, &beta,
            C->a, &one, &one, C->desc, 1, 1);
    return 0;
}

int pblas_ssyrk(char uplo, char trans, float alpha, const struct bc_matrix *A, float beta, struct bc_matrix *C,
                struct err *e)
{
    if (check_trans("pblas_ssyrk", trans, e))
        return -1;
    if (uplo != 'U' && uplo != 'L')
        return err_set(e, "pblas_ssyrk: triangle must be 'U' or 'L', got '%c'", uplo);
    int n, k;
    op_shape(trans, A, &n, &k);
    if (C->m != n || C->n != n)
        return err_set(e, "pblas_ssyrk: op(A) is %dx%d, C %dx%d (must be %dx%d)", n, k, C->m, C->n, n, n);
    if (n == 0)
        return 0;
    if (single_process(C)) {
        cblas_ssyrk(CblasColMajor, uplo == 'U' ? CblasUpper : CblasLower, cblas_trans(trans), n, k, alpha, A->a,
                    A->lld, beta, C->a, C->lld);
        return 0;
    }
    int one = 1;
    pssyrk_(&uplo, &trans, &n, &k, &alpha, A->a, &one, &one, A->desc, &beta, C->a, &one, &one, C->desc, 1, 1);
    return 0;
}
