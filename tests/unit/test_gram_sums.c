/* nn/gram_sums: the local sums of the redundancy statistics, on a whole Gram matrix and on the pieces
 * that the ranks of a block-cyclic grid hold, against the plain double computation
 * (tests/redundancy_ref.h).  Only the upper triangle may be read: the lower one is NaN here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/gram_sums.h"
#include "tests/harness.h"
#include "tests/redundancy_ref.h"
#include "tests/rng.h"

enum { N = 23, DX = 6, DY = 4 };

/* One representation as the kernels see it: the full Kc (column-major, NaN below the diagonal) and
 * the per-sample numbers of every sample. */
struct rep {
    double x[N * DX];      /* the samples, as the float values they are */
    float kc[N * N];       /* Kc [N, N] column-major */
    struct gram_sample smp[N];
    int index[N];          /* 0 .. N-1 */
    double mu_sq, shift, gamma;
};

/* Builds Kc and the per-sample numbers from x [N, d] the way the engine defines them; the centring
 * terms come from the row sums of the full matrices computed here in double. */
static void make_rep(struct rep *r, const double *x, int d)
{
    memcpy(r->x, x, sizeof(double) * N * (size_t)d);
    double mu[DX] = {0};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < d; k++)
            mu[k] += x[i * d + k] / N;
    float xc[N * DX];
    r->mu_sq = 0;
    for (int k = 0; k < d; k++)
        r->mu_sq += mu[k] * mu[k];
    for (int i = 0; i < N; i++) {
        double sq = 0, dot = 0, nrm = 0;
        for (int k = 0; k < d; k++) {
            xc[i * d + k] = (float)(x[i * d + k] - mu[k]);
            sq += (double)xc[i * d + k] * xc[i * d + k];
            dot += (double)xc[i * d + k] * mu[k];
            nrm += x[i * d + k] * x[i * d + k];
        }
        r->smp[i] = (struct gram_sample){.sq = sq, .dot = dot, .inv = 1 / sqrt(nrm)};
        r->index[i] = i;
    }
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            double q = 0;
            for (int k = 0; k < d; k++)
                q += (double)xc[i * d + k] * xc[j * d + k];
            r->kc[j * N + i] = i <= j ? (float)q : NAN;
        }
    r->gamma = 1 / (2 * pow(ref_median_distance(x, N, d), 2));
    /* centring terms from row sums of the full linear and RBF kernels of the float centred samples */
    double rl[N] = {0}, rr[N] = {0}, tl = 0, tr = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float k = i <= j ? r->kc[j * N + i] : r->kc[i * N + j];
            double kr = exp(-r->gamma * gram_dist_sq(&r->smp[i], &r->smp[j], k));
            rl[i] += k;
            rr[i] += kr;
            tl += k;
            tr += kr;
        }
    for (int i = 0; i < N; i++) {
        r->smp[i].cl = rl[i] / N - tl / (2.0 * N * N);
        r->smp[i].cr = rr[i] / N - tr / (2.0 * N * N);
    }
    r->shift = 0.25;
}

static struct gram_block whole(const struct rep *r)
{
    return (struct gram_block){.k = r->kc, .ld = N, .nrows = N, .ncols = N, .row_g = r->index, .col_g = r->index,
                               .rows = r->smp, .cols = r->smp, .mu_sq = r->mu_sq, .gamma = r->gamma,
                               .cos_shift = r->shift};
}

/* The piece of r that process (p, q) of a P x Q grid holds with nb x nb blocks, copied out. */
struct piece {
    float k[N * N];
    int row_g[N], col_g[N];
    struct gram_sample rows[N], cols[N];
    struct gram_block b;
};

static void make_piece(struct piece *pc, const struct rep *r, int p, int P, int q, int Q, int nb)
{
    int m = 0, n = 0;
    for (int i = 0; i < N; i++) {
        if ((i / nb) % P == p) {
            pc->row_g[m] = i;
            pc->rows[m++] = r->smp[i];
        }
        if ((i / nb) % Q == q) {
            pc->col_g[n] = i;
            pc->cols[n++] = r->smp[i];
        }
    }
    for (int jl = 0; jl < n; jl++)
        for (int il = 0; il < m; il++)
            pc->k[jl * m + il] = r->kc[pc->col_g[jl] * N + pc->row_g[il]];
    pc->b = (struct gram_block){.k = pc->k, .ld = m > 0 ? m : 1, .nrows = m, .ncols = n, .row_g = pc->row_g,
                                .col_g = pc->col_g, .rows = pc->rows, .cols = pc->cols, .mu_sq = r->mu_sq,
                                .gamma = r->gamma, .cos_shift = r->shift};
}

static void make_data(double *x, double *y)
{
    struct test_rng rng = {2024};
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < DX; k++)
            x[i * DX + k] = (double)(float)(rng_normal(&rng) + 1.5); /* a common offset, as in real states */
        for (int k = 0; k < DY; k++)
            y[i * DY + k] = (double)(float)(x[i * DX + k] - x[i * DX + k + 2] + 0.7 * rng_normal(&rng));
    }
}

static const int grids[][3] = {{1, 1, 4}, {1, 2, 3}, {2, 2, 2}, {2, 1, 5}, {3, 2, 1}}; /* P, Q, nb */

static void test_row_sums(struct test_ctx *t)
{
    static double x[N * DX], y[N * DY];
    static struct rep rx;
    make_data(x, y);
    make_rep(&rx, x, DX);
    double ref_l[N] = {0}, ref_r[N] = {0};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            ref_l[i] += i <= j ? rx.kc[j * N + i] : rx.kc[i * N + j]; /* the float Gram, mirrored */
            ref_r[i] += exp(-rx.gamma * ref_dist2(x, DX, i, j));
        }
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        double lin[N] = {0}, rbf[N] = {0};
        for (int p = 0; p < grids[g][0]; p++)
            for (int q = 0; q < grids[g][1]; q++) {
                static struct piece pc;
                make_piece(&pc, &rx, p, grids[g][0], q, grids[g][1], grids[g][2]);
                gram_rowsums_linear(&pc.b, lin);
                gram_rowsums_rbf(&pc.b, rbf);
            }
        for (int i = 0; i < N; i++) {
            CHECK_NEAR(t, lin[i], ref_l[i], 1e-9, 1e-12);
            CHECK_NEAR(t, rbf[i], ref_r[i], 1e-5, 1e-5);
        }
    }
}

/* The sums of the pieces of every grid equal those of the whole matrix, and the statistics made from
 * them equal the plain computation. */
static void test_pair_sums(struct test_ctx *t)
{
    static double x[N * DX], y[N * DY];
    static struct rep rx, ry;
    make_data(x, y);
    make_rep(&rx, x, DX);
    make_rep(&ry, y, DY);
    struct gram_block wx = whole(&rx), wy = whole(&ry);
    struct gram_pair_sums all = {0};
    gram_pair_sums(&wx, &wy, 1, &all);

    double tri = N * (N + 1) / 2.0;
    struct ref_stats ref;
    ref_redundancy(x, DX, y, DY, N, &ref);
    CHECK_NEAR(t, pearson_from_sums(tri, all.u, all.uu, all.v, all.vv, all.uv), ref.rsa, 2e-6, 0);
    CHECK_NEAR(t, cka_from_sums(all.lin_ab, all.lin_aa, all.lin_bb), ref.cka_linear, 2e-6, 0);
    CHECK_NEAR(t, cka_from_sums(all.rbf_ab, all.rbf_aa, all.rbf_bb), ref.cka_rbf, 2e-6, 0);
    double scale = (N - 1.0) * (N - 1.0);
    CHECK_NEAR(t, all.lin_ab / scale, ref.hsic_linear[0], 0, 1e-5);
    CHECK_NEAR(t, all.lin_aa / scale, ref.hsic_linear[1], 0, 1e-5);
    CHECK_NEAR(t, all.rbf_bb / scale, ref.hsic_rbf[2], 0, 1e-5);

    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        struct gram_pair_sums sum = {0};
        for (int p = 0; p < grids[g][0]; p++)
            for (int q = 0; q < grids[g][1]; q++) {
                static struct piece px, py;
                make_piece(&px, &rx, p, grids[g][0], q, grids[g][1], grids[g][2]);
                make_piece(&py, &ry, p, grids[g][0], q, grids[g][1], grids[g][2]);
                gram_pair_sums(&px.b, &py.b, 1, &sum);
            }
        const double *a = &sum.u, *b = &all.u;
        for (int i = 0; i < GRAM_PAIR_SUMS_COUNT; i++)
            CHECKF(t, fabs(a[i] - b[i]) <= 1e-12 * (fabs(b[i]) + 1), "grid %zu, sum %d: %.17g vs %.17g", g, i, a[i],
                   b[i]);
    }
    /* without a bandwidth the RBF sums stay as they were */
    struct gram_pair_sums norbf = {0};
    gram_pair_sums(&wx, &wy, 0, &norbf);
    CHECK(t, norbf.rbf_ab == 0 && norbf.rbf_aa == 0 && norbf.lin_ab == all.lin_ab);
}

/* The median of the distances found with the histogram kernel over the pieces, and the smallest
 * distance above a key, against sorting the same numbers. */
static void test_distance_selection(struct test_ctx *t)
{
    static double x[N * DX], y[N * DY];
    static struct rep rx;
    make_data(x, y);
    make_rep(&rx, x, DX);
    int m = N * (N - 1) / 2, pos = 0;
    uint64_t keys[N * (N - 1) / 2];
    for (int j = 0; j < N; j++)
        for (int i = 0; i < j; i++)
            keys[pos++] = radix_key_of(gram_dist_sq(&rx.smp[i], &rx.smp[j], rx.kc[j * N + i]));
    for (int a = 1; a < m; a++) /* insertion sort: m is small */
        for (int b = a; b > 0 && keys[b - 1] > keys[b]; b--) {
            uint64_t tmp = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = tmp;
        }
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        int k = (int)(g * 37 % (size_t)m);
        struct radix_select s;
        radix_select_begin(&s, (uint64_t)k);
        static uint64_t hist[RADIX_BINS];
        uint64_t above = UINT64_MAX;
        while (!radix_select_done(&s)) {
            memset(hist, 0, sizeof hist);
            for (int p = 0; p < grids[g][0]; p++)
                for (int q = 0; q < grids[g][1]; q++) {
                    static struct piece pc;
                    make_piece(&pc, &rx, p, grids[g][0], q, grids[g][1], grids[g][2]);
                    gram_distance_histogram(&pc.b, &s, hist);
                }
            CHECK_INT(t, radix_select_advance(&s, hist), 0);
        }
        CHECK(t, s.key == keys[k]);
        for (int p = 0; p < grids[g][0]; p++)
            for (int q = 0; q < grids[g][1]; q++) {
                static struct piece pc;
                make_piece(&pc, &rx, p, grids[g][0], q, grids[g][1], grids[g][2]);
                uint64_t v = gram_distance_min_above(&pc.b, s.key);
                above = v < above ? v : above;
            }
        int next = k;
        while (next < m && keys[next] == keys[k])
            next++;
        CHECK(t, above == (next < m ? keys[next] : UINT64_MAX));
    }
    /* and the median distance itself, against the one from the double samples */
    double med = 0.5 * (sqrt(radix_value_of(keys[(m - 1) / 2])) + sqrt(radix_value_of(keys[m / 2])));
    CHECK_NEAR(t, med, ref_median_distance(x, N, DX), 0, 1e-6);
}

static void test_pearson_and_cka_formulas(struct test_ctx *t)
{
    /* u = 1, 2, 3 and v = 2u or -u, or constant */
    CHECK_NEAR(t, pearson_from_sums(3, 6, 14, 12, 56, 28), 1.0, 1e-12, 0);
    CHECK_NEAR(t, pearson_from_sums(3, 6, 14, -6, 14, -14), -1.0, 1e-12, 0);
    CHECK(t, isnan(pearson_from_sums(3, 6, 14, 3, 3, 6)));
    CHECK(t, isnan(pearson_from_sums(0, 0, 0, 0, 0, 0)));
    CHECK_NEAR(t, cka_from_sums(2, 4, 4), 0.5, 1e-15, 0);
    CHECK(t, isnan(cka_from_sums(0, 0, 1)));
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"row sums of the linear and RBF kernels, whole and in pieces", test_row_sums},
        {"pair sums, whole and in pieces, against the plain statistics", test_pair_sums},
        {"distance selection and the next distance over pieces", test_distance_selection},
        {"Pearson and CKA from sums", test_pearson_and_cka_formulas},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
