/* mpi/blacs and mpi/row_blocks: process grids, the block-cyclic layout of row-distributed matrices
 * and the PBLAS products, under mpirun -np 1, 2 and 4, on every grid shape the rank count allows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/blacs.h"
#include "mpi/row_blocks.h"
#include "mpi/world.h"
#include "tests/harness.h"
#include "tests/rng.h"
#include "tests/split_rows.h"

/* The grid shapes to try on `size` ranks: near-square, one row, one column. */
static int grid_shapes(int size, int shapes[3][2])
{
    int n = 0, p, q;
    blacs_grid_shape(size, &p, &q);
    shapes[n][0] = p;
    shapes[n++][1] = q;
    if (size > 1 && p != 1) {
        shapes[n][0] = 1;
        shapes[n++][1] = size;
    }
    if (size > 1) {
        shapes[n][0] = size;
        shapes[n++][1] = 1;
    }
    return n;
}

/* Runs fn on a grid of every shape the ranks of comm allow. */
static void on_every_grid_of(struct test_ctx *t, MPI_Comm comm,
                             void (*fn)(struct test_ctx *t, const struct blacs_grid *g))
{
    int size, shapes[3][2];
    MPI_Comm_size(comm, &size);
    int count = grid_shapes(size, shapes);
    for (int s = 0; s < count; s++) {
        struct blacs_grid g;
        struct err e;
        CHECK_INT(t, blacs_grid_init(&g, comm, shapes[s][0], shapes[s][1], &e), 0);
        fn(t, &g);
        blacs_grid_free(&g);
    }
}

/* ... on all ranks, and with 4 ranks also on the first 3 (1x3 and 3x1 grids), then releases BLACS. */
static void on_every_grid(struct test_ctx *t, void (*fn)(struct test_ctx *t, const struct blacs_grid *g))
{
    on_every_grid_of(t, t->world->comm, fn);
    if (t->size == 4) {
        MPI_Comm three;
        MPI_Comm_split(t->world->comm, t->rank < 3 ? 0 : MPI_UNDEFINED, t->rank, &three);
        if (three != MPI_COMM_NULL) {
            on_every_grid_of(t, three, fn);
            MPI_Comm_free(&three);
        }
    }
    blacs_exit();
}

static void test_grid_layout(struct test_ctx *t)
{
    int shapes[3][2], count = grid_shapes(t->size, shapes);
    for (int s = 0; s < count; s++) {
        struct blacs_grid g;
        struct err e;
        CHECK_INT(t, blacs_grid_init(&g, t->world->comm, shapes[s][0], shapes[s][1], &e), 0);
        CHECK_INT(t, g.nprow, shapes[s][0]);
        CHECK_INT(t, g.npcol, shapes[s][1]);
        CHECK_INT(t, g.myrow, t->rank / g.npcol);
        CHECK_INT(t, g.mycol, t->rank % g.npcol);
        CHECK_INT(t, blacs_grid_rank_of(&g, g.myrow, g.mycol), t->rank);
        CHECK_INT(t, blacs_grid_rank_of(&g, g.nprow - 1, g.npcol - 1), t->size - 1);
        blacs_grid_free(&g);
    }
    /* 0x0 picks the near-square shape */
    struct blacs_grid g;
    struct err e;
    int p, q;
    blacs_grid_shape(t->size, &p, &q);
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    CHECK(t, g.nprow == p && g.npcol == q);
    blacs_grid_free(&g);
    blacs_exit();
}

static void test_grid_shape_refused(struct test_ctx *t)
{
    struct blacs_grid g;
    struct err e = {0};
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 2, t->size, &e), -1);
    CHECK_CONTAINS(t, e.msg, "ranks");
    CHECK_INT(t, e.collective, 1);
}

/* X [n, d] with X_ik = 1000 i + k (exact in float for the sizes used) */
static float value_at(int i, int k)
{
    return (float)(1000 * i + k);
}

/* Lays out X^T from row blocks and checks every element each rank holds, and that nothing is lost. */
static void check_layout(struct test_ctx *t, const struct blacs_grid *g, int n, int d, int nb, enum split_mode mode)
{
    int first = 0, count = 0;
    split_rows(n, g->size, g->rank, mode, &first, &count);
    float *x = xmalloc((size_t)(count ? count : 1) * (size_t)d * sizeof *x); /* [count, d] */
    for (int i = 0; i < count; i++)
        for (int k = 0; k < d; k++)
            x[i * d + k] = value_at(first + i, k);
    struct row_blocks rb;
    struct bc_matrix xt;
    struct err e;
    CHECK_INT(t, row_blocks_init(&rb, g->comm, count, &e), 0);
    CHECK_INT(t, rb.n, n);
    CHECK_INT(t, rb.first, first);
    CHECK_INT(t, bc_from_row_blocks(g, &rb, x, d, nb, &xt, &e), 0);
    CHECK_INT(t, xt.m, d);
    CHECK_INT(t, xt.n, n);
    int wrong = 0;
    for (int jl = 0; jl < xt.nloc; jl++)
        for (int il = 0; il < xt.mloc; il++)
            wrong += xt.a[(size_t)jl * xt.lld + il] != value_at(bc_matrix_col(&xt, g, jl), bc_matrix_row(&xt, g, il));
    CHECKF(t, wrong == 0, "n %d d %d nb %d grid %dx%d: %d of %d local values misplaced", n, d, nb, g->nprow,
           g->npcol, wrong, xt.mloc * xt.nloc);
    long long held = (long long)xt.mloc * xt.nloc, all = 0;
    MPI_Allreduce(&held, &all, 1, MPI_LONG_LONG, MPI_SUM, g->comm);
    CHECK_INT(t, all, (long long)n * d);
    bc_matrix_free(&xt);
    row_blocks_free(&rb);
    free(x);
}

static void layout_cases(struct test_ctx *t, const struct blacs_grid *g)
{
    static const int cases[][3] = {{1, 1, 1}, {3, 2, 2}, {5, 7, 4}, {13, 10, 4}, {64, 33, 16}, {100, 17, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        check_layout(t, g, cases[c][0], cases[c][1], cases[c][2], SPLIT_EVEN);
        check_layout(t, g, cases[c][0], cases[c][1], cases[c][2], SPLIT_SKEWED);
    }
}

static void test_row_blocks_to_block_cyclic(struct test_ctx *t)
{
    on_every_grid(t, layout_cases);
}

/* Random rows in row blocks, laid out as X^T [d, n]; the full X [n, d] in double for the reference. */
static void random_layout(struct test_ctx *t, const struct blacs_grid *g, int n, int d, int nb, uint64_t seed,
                          double *full, struct bc_matrix *xt)
{
    struct test_rng rng = {seed};
    for (int i = 0; i < n * d; i++)
        full[i] = (double)(float)rng_normal(&rng);
    int first = 0, count = 0;
    split_rows(n, g->size, g->rank, SPLIT_SKEWED, &first, &count);
    float *x = xmalloc((size_t)(count ? count : 1) * (size_t)d * sizeof *x);
    for (int i = 0; i < count * d; i++)
        x[i] = (float)full[first * d + i];
    struct row_blocks rb;
    struct err e;
    CHECK_INT(t, row_blocks_init(&rb, g->comm, count, &e), 0);
    CHECK_INT(t, bc_from_row_blocks(g, &rb, x, d, nb, xt, &e), 0);
    row_blocks_free(&rb);
    free(x);
}

/* Largest |C_ij - ref_ij| / scale over the local elements of C (upper triangle only when `upper`). */
static double max_error(const struct blacs_grid *g, const struct bc_matrix *c, const double *a, const double *b,
                        int d, int upper, double scale)
{
    double worst = 0;
    for (int jl = 0; jl < c->nloc; jl++)
        for (int il = 0; il < c->mloc; il++) {
            int i = bc_matrix_row(c, g, il), j = bc_matrix_col(c, g, jl);
            if (upper && i > j)
                continue;
            double ref = 0;
            for (int k = 0; k < d; k++)
                ref += a[i * d + k] * b[j * d + k];
            worst = fmax(worst, fabs(c->a[(size_t)jl * c->lld + il] - ref) / scale);
        }
    return worst;
}

/* Float products of length d of unit-variance numbers: relative error well below d * 2^-24 of
 * sqrt(d)-sized entries; 1e-5 of d is a generous bound for d <= 40. */
static void pblas_cases(struct test_ctx *t, const struct blacs_grid *g)
{
    static const int cases[][3] = {{3, 5, 2}, {29, 11, 4}, {70, 40, 16}};
    struct err e;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c][0], d = cases[c][1], nb = cases[c][2];
        double *x = xmalloc((size_t)n * d * sizeof *x), *y = xmalloc((size_t)n * d * sizeof *y);
        struct bc_matrix xt, yt, gram, cross;
        random_layout(t, g, n, d, nb, 11 + c, x, &xt);
        random_layout(t, g, n, d, nb, 97 + c, y, &yt);
        CHECK_INT(t, bc_matrix_alloc(&gram, g, n, n, nb, nb, &e), 0);
        CHECK_INT(t, bc_matrix_alloc(&cross, g, n, n, nb, nb, &e), 0);
        CHECK_INT(t, pblas_ssyrk('U', 'T', 1.0f, &xt, 0.0f, &gram, &e), 0);
        CHECK_INT(t, pblas_sgemm('T', 'N', 1.0f, &xt, &yt, 0.0f, &cross, &e), 0);
        double err_syrk = max_error(g, &gram, x, x, d, 1, d), err_gemm = max_error(g, &cross, x, y, d, 0, d);
        CHECKF(t, err_syrk < 1e-5, "syrk n %d d %d: relative error %g", n, d, err_syrk);
        CHECKF(t, err_gemm < 1e-5, "gemm n %d d %d: relative error %g", n, d, err_gemm);
        /* SYRK leaves the lower triangle alone (still the zeros it was allocated with) */
        int touched = 0;
        for (int jl = 0; jl < gram.nloc; jl++)
            for (int il = 0; il < gram.mloc; il++)
                touched += bc_matrix_row(&gram, g, il) > bc_matrix_col(&gram, g, jl) &&
                           gram.a[(size_t)jl * gram.lld + il] != 0.0f;
        CHECK_INT(t, touched, 0);
        /* shapes that do not fit are refused before PBLAS sees them */
        CHECK_INT(t, pblas_sgemm('N', 'N', 1.0f, &xt, &yt, 0.0f, &cross, &e), -1);
        CHECK_CONTAINS(t, e.msg, "op(A)");
        CHECK_INT(t, pblas_ssyrk('U', 'N', 1.0f, &xt, 0.0f, &gram, &e), d == n ? 0 : -1);
        bc_matrix_free(&xt);
        bc_matrix_free(&yt);
        bc_matrix_free(&gram);
        bc_matrix_free(&cross);
        free(x);
        free(y);
    }
}

static void test_pblas_products(struct test_ctx *t)
{
    on_every_grid(t, pblas_cases);
}

static void test_row_counts_checked(struct test_ctx *t)
{
    struct row_blocks rb;
    struct err e = {0};
    /* the last rank claims a negative count: every rank refuses alike */
    CHECK_INT(t, row_blocks_init(&rb, t->world->comm, t->rank == t->size - 1 ? -3 : 2, &e), -1);
    CHECK_CONTAINS(t, e.msg, "negative");
    CHECK_INT(t, e.collective, 1);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"grids of every shape the ranks allow", test_grid_layout},
        {"a grid that does not match the ranks is refused", test_grid_shape_refused},
        {"row blocks to block-cyclic, even and skewed splits, N below the grid", test_row_blocks_to_block_cyclic},
        {"PSSYRK and PSGEMM equal serial products", test_pblas_products},
        {"negative row counts are refused on every rank", test_row_counts_checked},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
