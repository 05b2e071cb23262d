/* nn/bf16_matmul: the oneDNN bf16 products against cblas_sgemm.
 *
 *   - with the inputs and weights rounded to bf16 first (bf16_round), the product is the fp32 product
 *     of the rounded values up to summation order: |err| <= 1e-5 * sum_k |x_k w_k| per element;
 *   - against the unrounded fp32 product, the bf16 tolerance: each factor is off by at most 2^-8
 *     relative, so |err| <= 2^-7 * sum_k |x_k w_k| + 1e-5 (the bound always holds), and on random
 *     data the largest error is below 1e-2 of the largest |y|;
 *   - forward and backward, overwriting and accumulating, odd shapes (1 row, k = 5, n = 19), one
 *     weight used at several row counts, primitives reused (a repeated call creates none) and the
 *     table emptied when it is full;
 *   - every row's result is bit-identical whatever the number of rows (1 to 399) and the threads (1,
 *     2): what makes a batch split over ranks sum to the whole batch (K-chunks, padded rows); and no
 *     product runs oneDNN's reference code;
 *   - bf16_round: ties to even, infinities, NaN.
 * In a build without oneDNN (make DNNL=0) only the refusal of bf16 is checked. */
#include <cblas.h>
#include <math.h>
#if MIXPHM_DNNL
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/bf16_matmul.h"
#include "tests/harness.h"
#include "tests/rng.h"

static float *randn(struct test_rng *r, long n, double scale)
{
    float *v = xmalloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++)
        v[i] = (float)(scale * rng_normal(r));
    return v;
}

static float *rounded(const float *v, long n)
{
    float *o = xmalloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++)
        o[i] = bf16_round(v[i]);
    return o;
}

/* sum_k |a[i, k] b[k, j]| for a [M, K] row-major and b given as B^T ([N, K], trans = 1) or B ([K, N]). */
static double abs_dot(const float *a, const float *b, int i, int j, int K, int N, int trans)
{
    double s = 0;
    for (int k = 0; k < K; k++)
        s += fabs((double)a[(long)i * K + k] * (trans ? b[(long)j * K + k] : b[(long)k * N + j]));
    return s;
}

struct cmp {
    double worst;  /* max of |err| / bound */
    double max_err, max_ref;
};

/* Compares got [M, N] with ref [M, N]: |err| <= rel * abs_dot + atol. */
static void compare(struct cmp *c, const float *got, const float *ref, const float *a, const float *b, int M, int K,
                    int N, int trans, double rel, double atol)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const double err = fabs((double)got[(long)i * N + j] - ref[(long)i * N + j]);
            const double bound = rel * abs_dot(a, b, i, j, K, N, trans) + atol;
            c->worst = fmax(c->worst, err / bound);
            c->max_err = fmax(c->max_err, err);
            c->max_ref = fmax(c->max_ref, fabs(ref[(long)i * N + j]));
        }
}

static struct bf16_ctx *open_ctx(struct test_ctx *t)
{
    struct bf16_ctx *c;
    struct err e;
    err_clear(&e);
    if (bf16_ctx_create(&c, &e) != 0) {
        CHECKF(t, 0, "bf16_ctx_create: %s", e.msg);
        return NULL;
    }
    return c;
}

/* One weight W [out, in] against cblas at each row count, forward and backward. */
static void check_shape(struct test_ctx *t, struct bf16_ctx *c, struct test_rng *r, int out, int in,
                        const int *rows, int n_rows)
{
    float *W = randn(r, (long)out * in, 1.0 / sqrt(in)), *Wr = rounded(W, (long)out * in);
    struct bf16_weight *w;
    struct err e;
    err_clear(&e);
    CHECKF(t, bf16_weight_pack(c, W, out, in, &w, &e) == 0, "pack [%d, %d]: %s", out, in, e.msg);
    if (!w) {
        free(W), free(Wr);
        return;
    }
    for (int ri = 0; ri < n_rows; ri++) {
        const int N = rows[ri];
        float *x = randn(r, (long)N * in, 1.0), *xr = rounded(x, (long)N * in);
        float *y = xmalloc(sizeof(float) * (size_t)N * out), *ref = xmalloc(sizeof(float) * (size_t)N * out);
        struct cmp cm;
        /* forward: y = x W^T */
        bf16_linear_forward(c, w, y, x, N, 0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, xr, in, Wr, in, 0.0f, ref, out);
        compare(&cm, y, ref, xr, Wr, N, in, out, 1, 1e-5, 1e-30);
        CHECKF(t, cm.worst <= 1.0, "forward [%d, %d] x [%d, %d]^T vs sgemm of the rounded values: %.3g of the bound",
               N, in, out, in, cm.worst);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, 0.0f, ref, out);
        compare(&cm, y, ref, x, W, N, in, out, 1, 0x1p-7, 1e-5);
        CHECKF(t, cm.worst <= 1.0 && cm.max_err <= 1e-2 * cm.max_ref,
               "forward [%d, %d] vs fp32: %.3g of the bound, max error %.3g of max |y| %.3g", N, in, cm.worst,
               cm.max_err, cm.max_ref);
        /* forward accumulating: y = 0.5 + x W^T */
        for (long i = 0; i < (long)N * out; i++)
            y[i] = 0.5f;
        bf16_linear_forward(c, w, y, x, N, 1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, xr, in, Wr, in, 0.0f, ref, out);
        for (long i = 0; i < (long)N * out; i++)
            ref[i] += 0.5f;
        compare(&cm, y, ref, xr, Wr, N, in, out, 1, 1e-5, 1e-6);
        CHECKF(t, cm.worst <= 1.0, "forward accumulating [%d, %d]: %.3g of the bound", N, in, cm.worst);
        free(x), free(xr), free(y), free(ref);

        /* backward: dx = dy W */
        float *dy = randn(r, (long)N * out, 1.0), *dyr = rounded(dy, (long)N * out);
        float *dx = xmalloc(sizeof(float) * (size_t)N * in), *dref = xmalloc(sizeof(float) * (size_t)N * in);
        bf16_linear_backward_dx(c, w, dx, dy, N, 0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dyr, out, Wr, in, 0.0f, dref, in);
        compare(&cm, dx, dref, dyr, Wr, N, out, in, 0, 1e-5, 1e-30);
        CHECKF(t, cm.worst <= 1.0, "backward [%d, %d] x [%d, %d] vs sgemm of the rounded values: %.3g of the bound",
               N, out, out, in, cm.worst);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in, 0.0f, dref, in);
        compare(&cm, dx, dref, dy, W, N, out, in, 0, 0x1p-7, 1e-5);
        CHECKF(t, cm.worst <= 1.0 && cm.max_err <= 1e-2 * cm.max_ref,
               "backward [%d, %d] vs fp32: %.3g of the bound, max error %.3g of max |dx| %.3g", N, out, cm.worst,
               cm.max_err, cm.max_ref);
        /* backward accumulating onto what is there */
        float *before = xmalloc(sizeof(float) * (size_t)N * in);
        memcpy(before, dx, sizeof(float) * (size_t)N * in);
        bf16_linear_backward_dx(c, w, dx, dy, N, 1);
        double worst = 0;
        for (long i = 0; i < (long)N * in; i++)
            worst = fmax(worst, fabs(dx[i] - 2.0 * before[i]) / (1e-6 + 1e-6 * fabs(before[i])));
        CHECKF(t, worst <= 1.0, "backward accumulating [%d, %d]: %.3g of the tolerance", N, out, worst);
        free(dy), free(dyr), free(dx), free(dref), free(before);
    }
    bf16_weight_free(w);
    free(W), free(Wr);
}

static void test_products(struct test_ctx *t)
{
    struct bf16_ctx *c = open_ctx(t);
    if (!c)
        return;
    struct test_rng r = {11};
    const int rows_a[] = {1, 7, 64, 130};
    check_shape(t, c, &r, 96, 64, rows_a, 4);        /* tiny q/k/v */
    const int rows_b[] = {3, 33};
    check_shape(t, c, &r, 19, 5, rows_b, 2);         /* odd, tiny k (the box projection's) */
    check_shape(t, c, &r, 1000, 37, rows_b, 2);      /* wide, like an LM head */
    const int rows_c[] = {16, 160};
    check_shape(t, c, &r, 768, 3072, rows_c, 2);     /* t5-base wo */
    bf16_ctx_free(c);
}

/* The same calls again create no primitive; more shapes than the table holds still give the right
 * products. */
static void test_primitive_reuse(struct test_ctx *t)
{
    struct bf16_ctx *c = open_ctx(t);
    if (!c)
        return;
    struct test_rng r = {5};
    const int out = 24, in = 40, max_rows = BF16_MAX_PRIMITIVES / 2 + 20;
    float *W = randn(&r, (long)out * in, 0.2), *Wr = rounded(W, (long)out * in);
    float *x = randn(&r, (long)max_rows * in, 1.0), *xr = rounded(x, (long)max_rows * in);
    float *y = xmalloc(sizeof(float) * (size_t)max_rows * out), *ref = xmalloc(sizeof(float) * (size_t)max_rows * out);
    float *dx = xmalloc(sizeof(float) * (size_t)max_rows * in);
    struct bf16_weight *w;
    struct err e;
    CHECK(t, bf16_weight_pack(c, W, out, in, &w, &e) == 0);
    bf16_linear_forward(c, w, y, x, 9, 0);
    bf16_linear_backward_dx(c, w, dx, y, 9, 1);
    const long created = bf16_ctx_primitives_created(c);
    CHECKF(t, created == 4, "one forward and one backward: %ld primitives (conversions and matmuls), expected 4",
           created);
    for (int k = 0; k < 3; k++) {
        bf16_linear_forward(c, w, y, x, 9, 0);
        bf16_linear_backward_dx(c, w, dx, y, 9, 1);
    }
    CHECK_INT(t, bf16_ctx_primitives_created(c), created);
    /* Each row count is a conversion and a matmul: this overflows the table at least once. */
    int bad = 0;
    for (int N = 1; N <= max_rows; N++) {
        bf16_linear_forward(c, w, y, x, N, 0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, xr, in, Wr, in, 0.0f, ref, out);
        struct cmp cm;
        compare(&cm, y, ref, xr, Wr, N, in, out, 1, 1e-5, 1e-30);
        bad += cm.worst > 1.0;
    }
    CHECKF(t, bad == 0, "%d of %d row counts wrong across table flushes", bad, max_rows);
    CHECK(t, bf16_ctx_primitives_created(c) > BF16_MAX_PRIMITIVES);
    CHECK_INT(t, bf16_ctx_reference_kernels(c), 0);
    char d[256];
    bf16_ctx_describe(c, d, sizeof d);
    CHECK_CONTAINS(t, d, "oneDNN 2.");
    CHECK_CONTAINS(t, d, "ISA ");
    CHECK(t, bf16_weight_bytes(w) >= 2u * (size_t)out * in * sizeof(uint16_t)); /* both layouts */
    bf16_weight_free(w);
    bf16_ctx_free(c);
    free(W), free(Wr), free(x), free(xr), free(y), free(ref), free(dx);
}

/* The same rows of products of 1 to 399 rows, with 1 and 2 threads, against a product of 400 rows:
 * shapes with more than BF16_K_CHUNK inputs (split into chunks) and with fewer. */
static void test_rows_independent(struct test_ctx *t)
{
    struct bf16_ctx *c = open_ctx(t);
    if (!c)
        return;
    const int shapes[][2] = {{64, 64}, {768, 3072}, {3072, 768}, {1000, 37}};
    const int rows[] = {1, 3, 5, 9, 16, 17, 64, 100, 333, 399};
    const int M = 400, n_rows = (int)(sizeof rows / sizeof rows[0]);
    struct test_rng r = {23};
#if MIXPHM_DNNL
    const int threads0 = omp_get_max_threads();
#endif
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int out = shapes[s][0], in = shapes[s][1];
        float *W = randn(&r, (long)out * in, 0.1), *x = randn(&r, (long)M * in, 1.0), *dy = randn(&r, (long)M * out, 1.0);
        float *y = xmalloc(sizeof(float) * (size_t)M * out), *y2 = xmalloc(sizeof(float) * (size_t)M * out);
        float *dx = xmalloc(sizeof(float) * (size_t)M * in), *dx2 = xmalloc(sizeof(float) * (size_t)M * in);
        struct bf16_weight *w;
        struct err e;
        CHECKF(t, bf16_weight_pack(c, W, out, in, &w, &e) == 0, "%s", e.msg);
        bf16_linear_forward(c, w, y, x, M, 0);
        bf16_linear_backward_dx(c, w, dx, dy, M, 0);
        int bad = 0;
        for (int th = 1; th <= 2; th++) {
#if MIXPHM_DNNL
            omp_set_num_threads(th);
#endif
            for (int i = 0; i < n_rows; i++) {
                const int m = rows[i];
                bf16_linear_forward(c, w, y2, x, m, 0);
                bf16_linear_backward_dx(c, w, dx2, dy, m, 0);
                bad += memcmp(y, y2, sizeof(float) * (size_t)m * out) != 0;
                bad += memcmp(dx, dx2, sizeof(float) * (size_t)m * in) != 0;
            }
        }
        CHECKF(t, bad == 0, "W [%d, %d]: %d of %d products differ from the 400-row one in their rows", out, in, bad,
               4 * n_rows);
        bf16_weight_free(w);
        free(W), free(x), free(dy), free(y), free(y2), free(dx), free(dx2);
    }
#if MIXPHM_DNNL
    omp_set_num_threads(threads0);
#endif
    CHECK_INT(t, bf16_ctx_reference_kernels(c), 0);
    bf16_ctx_free(c);
}

static void test_round(struct test_ctx *t)
{
    CHECK(t, bf16_round(1.0f) == 1.0f);
    CHECK(t, bf16_round(1.0f + 0x1p-8f) == 1.0f);                 /* tie, to even */
    CHECK(t, bf16_round(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);   /* tie, to even (up) */
    CHECK(t, bf16_round(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);
    CHECK(t, bf16_round(-2.5f) == -2.5f);
    CHECK(t, isinf(bf16_round(INFINITY)) && bf16_round(-INFINITY) < 0);
    CHECK(t, isnan(bf16_round(NAN)));
    CHECK(t, isinf(bf16_round(3.4e38f)));                          /* above the largest bf16 */
}

/* Without oneDNN bf16 is refused by name; with it a context opens on this CPU. */
static void test_availability(struct test_ctx *t)
{
    struct bf16_ctx *c = NULL;
    struct err e;
    err_clear(&e);
    const int rc = bf16_ctx_create(&c, &e);
    if (!bf16_built()) {
        printf("# skipped the bf16 products: built without oneDNN (make DNNL=0)\n");
        CHECK(t, rc != 0 && c == NULL);
        CHECK_CONTAINS(t, e.msg, "built without it (make DNNL=0)");
        CHECK_CONTAINS(t, e.msg, "model.precision fp32");
        return;
    }
    if (!bf16_runs_here()) {
        printf("# skipped the bf16 products: oneDNN has no bf16 matmul on this CPU (ISA %s)\n", bf16_cpu_isa());
        CHECK(t, rc != 0 && c == NULL);
        CHECK_CONTAINS(t, e.msg, "has no bf16 matmul for this CPU");
        CHECK_CONTAINS(t, e.msg, "avx512_bf16 or amx_bf16");
        CHECK_CONTAINS(t, e.msg, "model.precision fp32");
        return;
    }
    CHECKF(t, rc == 0, "%s", e.msg);
    bf16_ctx_free(c);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"availability", test_availability},
        {"round", test_round},
        {"products against sgemm", test_products},
        {"primitive reuse", test_primitive_reuse},
        {"rows independent of the row count", test_rows_independent},
    };
    /* The products need oneDNN and a CPU it has a bf16 matmul for: otherwise the first two run. */
    return test_main(tests, bf16_runs_here() ? TEST_COUNT(tests) : 2, argc, argv);
}
