/* mpi/redundancy_stats under mpirun -np 1, 2 and 4: the distributed RSA, linear CKA and RBF CKA
 * against the plain double computation (tests/redundancy_ref.h), across grid shapes and rank counts,
 * and the properties the statistics must have.
 *
 * Tolerances.  The engine forms the Gram matrices in float (PSSYRK) and sums in double.  An entry of
 * Kc = Xc Xc^T of width d has a relative rounding error of about sqrt(d) 2^-24 (6e-8 sqrt(d)), at most
 * d 2^-24.  HSIC values are sums of products of such entries and inherit that relative error (the
 * largest seen over these cases and grids: 3e-7); the CKA and RSA are ratios in which most of it
 * cancels (largest seen: 1.3e-8), and sigma has the relative error of one distance (largest: 1e-7).
 * TOL_REF = 2e-6 (relative for HSIC and sigma, absolute for RSA and CKA, which are in [-1, 1]) against
 * the double reference leaves a margin of 7x on HSIC and 100x on the statistics while still failing on
 * any mistake in a formula (those show at 1e-3 and above).  Two float runs of the same data differ
 * only by the order of the float sums (block size, grid): TOL_RANKS = 5e-7 (largest seen: 9e-9 on the
 * statistics, 6e-8 relative on sigma).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/blacs.h"
#include "mpi/redundancy_stats.h"
#include "mpi/world.h"
#include "tests/harness.h"
#include "tests/redundancy_ref.h"
#include "tests/rng.h"
#include "tests/split_rows.h"

#define TOL_REF 2e-6
#define TOL_RANKS 5e-7

/* Two related representations: X Gaussian around a common offset, Y a noisy nonlinear function of
 * part of X, so that no statistic is near 0 or 1.  Float values, kept also in double. */
struct data {
    int n, dx, dy;
    float *xf, *yf; /* [n, dx], [n, dy] */
    double *x, *y;
};

static void data_make(struct data *D, int n, int dx, int dy, uint64_t seed, double offset, double coupling)
{
    struct test_rng rng = {seed};
    D->n = n, D->dx = dx, D->dy = dy;
    D->xf = xmalloc((size_t)n * dx * sizeof *D->xf);
    D->yf = xmalloc((size_t)n * dy * sizeof *D->yf);
    D->x = xmalloc((size_t)n * dx * sizeof *D->x);
    D->y = xmalloc((size_t)n * dy * sizeof *D->y);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < dx; k++)
            D->xf[i * dx + k] = (float)(rng_normal(&rng) + offset * (k % 3 == 0));
        for (int k = 0; k < dy; k++)
            D->yf[i * dy + k] = (float)(coupling * tanh(D->xf[i * dx + k % dx] - D->xf[i * dx + (k + 1) % dx]) +
                                        rng_normal(&rng) + 0.5 * offset);
    }
    for (int i = 0; i < n * dx; i++)
        D->x[i] = D->xf[i];
    for (int i = 0; i < n * dy; i++)
        D->y[i] = D->yf[i];
}

static void data_free(struct data *D)
{
    free(D->xf);
    free(D->yf);
    free(D->x);
    free(D->y);
}

/* The distributed statistics of the data with this rank's rows of the given split. */
static int run(const struct blacs_grid *g, const struct data *D, int nb, enum split_mode mode,
               struct redundancy_stats *s, struct err *e)
{
    int first = 0, count = 0;
    split_rows(D->n, g->size, g->rank, mode, &first, &count);
    return redundancy_compare(g, D->xf + (size_t)first * D->dx, D->dx, D->yf + (size_t)first * D->dy, D->dy, count,
                              nb, s, e);
}

static void check_near(struct test_ctx *t, const char *what, const char *label, double got, double want, double tol)
{
    CHECKF(t, fabs(got - want) <= tol, "%s: %s %.9g, expected %.9g (tolerance %g)", label, what, got, want, tol);
}

static void check_against_ref(struct test_ctx *t, const char *label, const struct redundancy_stats *s,
                              const struct ref_stats *r)
{
    check_near(t, "RSA", label, s->rsa, r->rsa, TOL_REF);
    check_near(t, "linear CKA", label, s->cka_linear, r->cka_linear, TOL_REF);
    check_near(t, "RBF CKA", label, s->cka_rbf, r->cka_rbf, TOL_REF);
    check_near(t, "sigma_x", label, s->sigma_x, r->sigma_x, TOL_REF * r->sigma_x);
    check_near(t, "sigma_y", label, s->sigma_y, r->sigma_y, TOL_REF * r->sigma_y);
    /* HSIC has the scale of the kernels: compare relative to sqrt(HSIC(K,K) HSIC(L,L)) */
    double lin = sqrt(r->hsic_linear[1] * r->hsic_linear[2]), rbf = sqrt(r->hsic_rbf[1] * r->hsic_rbf[2]);
    for (int i = 0; i < 3; i++) {
        check_near(t, "linear HSIC", label, s->hsic_linear[i], r->hsic_linear[i], TOL_REF * lin);
        check_near(t, "RBF HSIC", label, s->hsic_rbf[i], r->hsic_rbf[i], TOL_REF * rbf);
    }
}

static void check_same(struct test_ctx *t, const char *label, const struct redundancy_stats *a,
                       const struct redundancy_stats *b, double tol)
{
    check_near(t, "RSA", label, a->rsa, b->rsa, tol);
    check_near(t, "linear CKA", label, a->cka_linear, b->cka_linear, tol);
    check_near(t, "RBF CKA", label, a->cka_rbf, b->cka_rbf, tol);
    check_near(t, "sigma_x", label, a->sigma_x, b->sigma_x, tol * b->sigma_x);
}

/* N, dx, dy, block: N below the block size, N below the number of ranks, N not a multiple of the
 * block, N a multiple, a block of 1. */
static const int cases[][4] = {{2, 3, 2, 4}, {3, 5, 4, 2}, {13, 6, 5, 4}, {37, 16, 8, 8},
                               {64, 12, 12, 16}, {101, 20, 7, 16}, {50, 9, 11, 1}};

static void test_matches_serial(struct test_ctx *t)
{
    int shapes[3][2] = {{0, 0}, {1, t->size}, {t->size, 1}}, nshapes = t->size > 1 ? 3 : 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct data D;
        data_make(&D, cases[c][0], cases[c][1], cases[c][2], 100 + c, 2.0, 1.5);
        struct ref_stats ref;
        ref_redundancy(D.x, D.dx, D.y, D.dy, D.n, &ref);
        for (int s = 0; s < nshapes; s++) {
            struct blacs_grid g;
            struct err e;
            CHECK_INT(t, blacs_grid_init(&g, t->world->comm, shapes[s][0], shapes[s][1], &e), 0);
            for (int mode = SPLIT_EVEN; mode <= SPLIT_SKEWED; mode++) {
                struct redundancy_stats st;
                char label[128];
                snprintf(label, sizeof label, "N %d dx %d dy %d block %d grid %dx%d split %d", D.n, D.dx, D.dy,
                         cases[c][3], g.nprow, g.npcol, mode);
                CHECKF(t, run(&g, &D, cases[c][3], (enum split_mode)mode, &st, &e) == 0, "%s: %s", label, e.msg);
                check_against_ref(t, label, &st, &ref);
                CHECK_INT(t, st.n, D.n);
            }
            blacs_grid_free(&g);
        }
        data_free(&D);
    }
    blacs_exit();
}

/* Samples far from the origin compared with their spread (as transformer states are): offset 50,
 * spread 1, so the cosine similarities are all within 1e-3 of 1 and a float Gram of the raw samples
 * would lose the differences (entries near 2e4 with rounding errors near 1e-3).  The engine's Gram of
 * the centred samples keeps the float accuracy of the statistics. */
static void test_large_common_offset(struct test_ctx *t)
{
    struct data D;
    data_make(&D, 60, 8, 8, 55, 0.0, 1.5);
    for (int i = 0; i < D.n * 8; i++) {
        D.xf[i] += 50.0f;
        D.yf[i] -= 30.0f;
        D.x[i] = D.xf[i];
        D.y[i] = D.yf[i];
    }
    struct ref_stats ref;
    ref_redundancy(D.x, D.dx, D.y, D.dy, D.n, &ref);
    struct blacs_grid g;
    struct err e;
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    struct redundancy_stats s;
    CHECK_INT(t, run(&g, &D, 8, SPLIT_SKEWED, &s, &e), 0);
    check_against_ref(t, "offset 50", &s, &ref);
    blacs_grid_free(&g);
    blacs_exit();
    data_free(&D);
}

/* The same data on 1, 2, 3 ranks of this job (sub-communicators of the world, near-square grids)
 * gives the same statistics as on all of them. */
static void test_equal_across_rank_counts(struct test_ctx *t)
{
    static const int sub[][4] = {{37, 16, 8, 8}, {101, 20, 7, 16}};
    for (size_t c = 0; c < sizeof sub / sizeof sub[0]; c++) {
        struct data D;
        data_make(&D, sub[c][0], sub[c][1], sub[c][2], 7 + c, 2.0, 1.5);
        struct redundancy_stats all, part;
        struct blacs_grid g;
        struct err e;
        CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
        CHECK_INT(t, run(&g, &D, sub[c][3], SPLIT_EVEN, &all, &e), 0);
        blacs_grid_free(&g);
        for (int ranks = 1; ranks < t->size; ranks++) {
            MPI_Comm comm;
            MPI_Comm_split(t->world->comm, t->rank < ranks ? 0 : MPI_UNDEFINED, t->rank, &comm);
            if (comm != MPI_COMM_NULL) {
                CHECK_INT(t, blacs_grid_init(&g, comm, 0, 0, &e), 0);
                CHECK_INT(t, run(&g, &D, sub[c][3], SPLIT_EVEN, &part, &e), 0);
                blacs_grid_free(&g);
                MPI_Comm_free(&comm);
            }
            /* world rank 0 is in every sub-communicator: it tells the others */
            MPI_Bcast(&part, (int)sizeof part, MPI_BYTE, 0, t->world->comm);
            char label[96];
            snprintf(label, sizeof label, "N %d on %d rank(s) vs %d", D.n, ranks, t->size);
            check_same(t, label, &part, &all, TOL_RANKS);
        }
        /* and with another block size */
        CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
        CHECK_INT(t, run(&g, &D, 3, SPLIT_SKEWED, &part, &e), 0);
        blacs_grid_free(&g);
        check_same(t, "block 3 vs the case's block", &part, &all, TOL_RANKS);
        data_free(&D);
    }
    blacs_exit();
}

/* Identical inputs: every statistic is 1.  A representation paired with itself uses the very same
 * numbers (1 to rounding of the final division); a copy split differently over the ranks differs
 * from it only by float rounding. */
static void test_identical_inputs(struct test_ctx *t)
{
    struct data D;
    data_make(&D, 61, 10, 10, 3, 2.0, 1.0);
    struct blacs_grid g;
    struct err e;
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    int first, count, first2, count2;
    split_rows(D.n, g.size, g.rank, SPLIT_EVEN, &first, &count);
    split_rows(D.n, g.size, g.rank, SPLIT_SKEWED, &first2, &count2);
    struct redundancy_rep a, b;
    CHECK_INT(t, redundancy_rep_init(&a, &g, D.xf + first * D.dx, count, D.dx, 8, &e), 0);
    CHECK_INT(t, redundancy_rep_init(&b, &g, D.xf + first2 * D.dx, count2, D.dx, 8, &e), 0);
    struct redundancy_stats s;
    CHECK_INT(t, redundancy_pair(&a, &a, &s, &e), 0);
    check_near(t, "RSA", "X with itself", s.rsa, 1.0, 1e-12);
    check_near(t, "linear CKA", "X with itself", s.cka_linear, 1.0, 1e-12);
    check_near(t, "RBF CKA", "X with itself", s.cka_rbf, 1.0, 1e-12);
    CHECK_INT(t, redundancy_pair(&a, &b, &s, &e), 0);
    check_near(t, "RSA", "X with a copy split differently", s.rsa, 1.0, 1e-9);
    check_near(t, "linear CKA", "X with a copy split differently", s.cka_linear, 1.0, 1e-9);
    check_near(t, "RBF CKA", "X with a copy split differently", s.cka_rbf, 1.0, 1e-9);
    redundancy_rep_free(&a);
    redundancy_rep_free(&b);
    blacs_grid_free(&g);
    blacs_exit();
    data_free(&D);
}

/* Independent inputs: N = 400 samples, width 3, X and Y drawn separately.
 * - RSA of zero-mean isotropic data: off the diagonal S_ij and T_ij are uncorrelated with variance 1/d,
 *   so their correlation is about N(0, 1/M'), M' = N(N-1)/2 pairs: sd 0.0035.  The N diagonal entries,
 *   1 in both matrices (torch.triu_indices includes them), add a positive bias of about
 *   (2/N) / (2/N + 1/d) = 0.015.  Bound: 0.05 (bias + 10 sd).
 * - linear CKA (with an offset of 2 that centring must remove, or the CKA would be near 1): for
 *   N >> d, E[CKA] = sqrt(dx dy)/N = 0.0075 (|Xc^T Yc|_F^2 is about N dx dy times a chi-square with dx dy
 *   degrees of freedom over its mean, |Xc^T Xc|_F about N sqrt(dx)); 0.05 is 6.7 times the mean, a
 *   chi-square(9) tail below 1e-8.
 * - RBF CKA: the same argument with the kernel's leading eigendirections; bound 0.05.
 * The seed is fixed, so the outcome is deterministic; the bounds say why it must hold. */
static void test_independent_inputs(struct test_ctx *t)
{
    struct data D;
    data_make(&D, 400, 3, 3, 77, 0.0, 0.0); /* coupling 0: Y does not depend on X */
    struct data O;
    data_make(&O, 400, 3, 3, 78, 2.0, 0.0);
    struct blacs_grid g;
    struct err e;
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    struct redundancy_stats s, so;
    CHECK_INT(t, run(&g, &D, 16, SPLIT_EVEN, &s, &e), 0);
    CHECK_INT(t, run(&g, &O, 16, SPLIT_EVEN, &so, &e), 0);
    CHECKF(t, fabs(s.rsa) < 0.05, "RSA of independent inputs %g", s.rsa);
    CHECKF(t, fabs(s.cka_linear) < 0.05, "linear CKA of independent inputs %g", s.cka_linear);
    CHECKF(t, fabs(s.cka_rbf) < 0.05, "RBF CKA of independent inputs %g", s.cka_rbf);
    CHECKF(t, fabs(so.cka_linear) < 0.05, "linear CKA of independent offset inputs %g", so.cka_linear);
    CHECKF(t, fabs(so.cka_rbf) < 0.05, "RBF CKA of independent offset inputs %g", so.cka_rbf);
    if (t->rank == 0)
        printf("    independent inputs, N 400, d 3: RSA %.4f, linear CKA %.4f (offset %.4f), "
               "RBF CKA %.4f (offset %.4f)\n",
               s.rsa, s.cka_linear, so.cka_linear, s.cka_rbf, so.cka_rbf);
    blacs_grid_free(&g);
    blacs_exit();
    data_free(&D);
    data_free(&O);
}

/* A random orthogonal d x d matrix (Gram-Schmidt of a Gaussian one), row-major. */
static void random_orthogonal(int d, uint64_t seed, double *q)
{
    struct test_rng rng = {seed};
    for (int i = 0; i < d * d; i++)
        q[i] = rng_normal(&rng);
    for (int c = 0; c < d; c++) { /* orthonormalise the columns */
        for (int p = 0; p < c; p++) {
            double dot = 0;
            for (int r = 0; r < d; r++)
                dot += q[r * d + c] * q[r * d + p];
            for (int r = 0; r < d; r++)
                q[r * d + c] -= dot * q[r * d + p];
        }
        double nrm = 0;
        for (int r = 0; r < d; r++)
            nrm += q[r * d + c] * q[r * d + c];
        for (int r = 0; r < d; r++)
            q[r * d + c] /= sqrt(nrm);
    }
}

/* CKA (linear and RBF) does not change when X is scaled, rotated and translated; RSA (cosines of the
 * uncentred samples) does not change when X is scaled or rotated; RSA and CKA of X and 2X are 1. */
static void test_invariances(struct test_ctx *t)
{
    struct data D, M;
    data_make(&D, 45, 8, 6, 21, 1.0, 1.5);
    data_make(&M, 45, 8, 6, 21, 1.0, 1.5); /* M.x becomes 3 X Q (+ c) */
    double q[8 * 8];
    random_orthogonal(8, 5, q);
    struct blacs_grid g;
    struct err e;
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    struct redundancy_stats base, moved;
    CHECK_INT(t, run(&g, &D, 4, SPLIT_EVEN, &base, &e), 0);
    for (int translate = 0; translate <= 1; translate++) {
        for (int i = 0; i < D.n; i++)
            for (int k = 0; k < 8; k++) {
                double v = 0;
                for (int j = 0; j < 8; j++)
                    v += D.x[i * 8 + j] * q[j * 8 + k];
                M.xf[i * 8 + k] = (float)(3.0 * v + (translate ? 5.0 - k : 0.0));
            }
        CHECK_INT(t, run(&g, &M, 4, SPLIT_SKEWED, &moved, &e), 0);
        const char *label = translate ? "3 X Q + c vs X" : "3 X Q vs X";
        check_near(t, "linear CKA", label, moved.cka_linear, base.cka_linear, TOL_REF);
        check_near(t, "RBF CKA", label, moved.cka_rbf, base.cka_rbf, TOL_REF);
        check_near(t, "sigma_x / 3", label, moved.sigma_x / 3, base.sigma_x, TOL_REF * base.sigma_x);
        if (!translate)
            check_near(t, "RSA", label, moved.rsa, base.rsa, TOL_REF);
        else /* a translation changes the cosines: the statistic must notice */
            CHECKF(t, fabs(moved.rsa - base.rsa) > 1e-3, "RSA after translation %g vs %g", moved.rsa, base.rsa);
    }
    /* X against 2X */
    int first, count;
    split_rows(D.n, g.size, g.rank, SPLIT_EVEN, &first, &count);
    float *twice = xmalloc((size_t)(count ? count : 1) * 8 * sizeof *twice);
    for (int i = 0; i < count * 8; i++)
        twice[i] = 2 * D.xf[first * 8 + i];
    struct redundancy_stats s;
    CHECK_INT(t, redundancy_compare(&g, D.xf + first * 8, 8, twice, 8, count, 4, &s, &e), 0);
    check_near(t, "RSA", "X vs 2X", s.rsa, 1.0, 1e-9);
    check_near(t, "linear CKA", "X vs 2X", s.cka_linear, 1.0, 1e-9);
    check_near(t, "RBF CKA", "X vs 2X", s.cka_rbf, 1.0, 1e-9);
    free(twice);
    blacs_grid_free(&g);
    blacs_exit();
    data_free(&D);
    data_free(&M);
}

/* sigma of one-dimensional points against sorting their distances; ties; sigma 0. */
static void check_sigma(struct test_ctx *t, const struct blacs_grid *g, const double *pts, int n, double want,
                        int want_rbf)
{
    int first, count;
    split_rows(n, g->size, g->rank, SPLIT_EVEN, &first, &count);
    float x[16];
    for (int i = 0; i < count; i++)
        x[i] = (float)pts[first + i];
    struct redundancy_rep r;
    struct err e;
    CHECK_INT(t, redundancy_rep_init(&r, g, x, count, 1, 2, &e), 0);
    CHECKF(t, fabs(r.sigma - want) <= 1e-6 * want, "N %d: sigma %.9g, sorted median %.9g", n, r.sigma, want);
    CHECK_INT(t, r.has_rbf, want_rbf);
    struct redundancy_stats s;
    CHECK_INT(t, redundancy_pair(&r, &r, &s, &e), 0);
    CHECK(t, want_rbf ? s.cka_rbf > 0.999999 : isnan(s.cka_rbf));
    redundancy_rep_free(&r);
}

static void test_median_bandwidth(struct test_ctx *t)
{
    struct blacs_grid g;
    struct err e;
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    static const double spread[] = {0, 1, 3, 7, 15, 31, 63, 127, 255, 511}; /* distinct distances */
    check_sigma(t, &g, spread, 9, ref_median_distance(spread, 9, 1), 1);    /* 36 pairs: two middle ones */
    check_sigma(t, &g, spread, 10, ref_median_distance(spread, 10, 1), 1);  /* 45 pairs: the middle one */
    static const double ties[] = {0, 0, 0, 1, 2}; /* 0 0 0 1 1 1 1 2 2 2: both middle ones are 1 */
    check_sigma(t, &g, ties, 5, 1.0, 1);
    static const double half[] = {0, 0, 0, 4}; /* 0 0 0 4 4 4: the middle ones straddle, (0 + 4)/2 */
    check_sigma(t, &g, half, 4, 2.0, 1);
    static const double most[] = {0, 0, 0, 0, 1}; /* 6 of 10 pairs coincide: sigma 0, no RBF CKA */
    check_sigma(t, &g, most, 5, 0.0, 0);
    blacs_grid_free(&g);
    blacs_exit();
}

static void test_bad_inputs(struct test_ctx *t)
{
    struct blacs_grid g;
    struct err e = {0};
    CHECK_INT(t, blacs_grid_init(&g, t->world->comm, 0, 0, &e), 0);
    struct redundancy_rep r;
    float x[13 * 3];
    for (int i = 0; i < 13 * 3; i++)
        x[i] = (float)(i % 7);
    /* one sample */
    CHECK_INT(t, redundancy_rep_init(&r, &g, x, t->rank == 0, 3, 0, &e), -1);
    CHECK_CONTAINS(t, e.msg, "at least 2 samples");
    CHECK_INT(t, e.collective, 1);
    /* a NaN in global row 5 (of 13 rows, split evenly) */
    int first, count;
    split_rows(13, g.size, g.rank, SPLIT_EVEN, &first, &count);
    if (first <= 5 && 5 < first + count)
        x[(5 - first) * 3 + 1] = NAN;
    e.collective = 0;
    CHECK_INT(t, redundancy_rep_init(&r, &g, x, count, 3, 0, &e), -1);
    CHECK_CONTAINS(t, e.msg, "non-finite value in row 5");
    CHECK_INT(t, e.collective, 1);
    /* a width that differs between ranks */
    if (t->size > 1) {
        CHECK_INT(t, redundancy_rep_init(&r, &g, x, 1, t->rank == 1 ? 2 : 3, 0, &e), -1);
        CHECK_CONTAINS(t, e.msg, "width differs");
    }
    /* pairing representations of different sizes */
    for (int i = 0; i < 13 * 3; i++)
        x[i] = (float)(i % 7);
    struct redundancy_rep a, b;
    struct redundancy_stats s;
    CHECK_INT(t, redundancy_rep_init(&a, &g, x, t->rank == 0 ? 4 : 0, 3, 0, &e), 0);
    CHECK_INT(t, redundancy_rep_init(&b, &g, x, t->rank == 0 ? 5 : 0, 3, 0, &e), 0);
    CHECK_INT(t, redundancy_pair(&a, &b, &s, &e), -1);
    CHECK_CONTAINS(t, e.msg, "cannot pair");
    redundancy_rep_free(&a);
    redundancy_rep_free(&b);
    blacs_grid_free(&g);
    blacs_exit();
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"distributed statistics equal the serial computation", test_matches_serial},
        {"a large common offset keeps float accuracy", test_large_common_offset},
        {"equal across rank counts, grids and block sizes", test_equal_across_rank_counts},
        {"identical inputs give 1", test_identical_inputs},
        {"independent inputs give nearly 0", test_independent_inputs},
        {"scaling, rotation and translation", test_invariances},
        {"median-heuristic bandwidth is exact", test_median_bandwidth},
        {"bad inputs are refused on every rank", test_bad_inputs},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
