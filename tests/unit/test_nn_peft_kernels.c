/* The kernels of the PEFT methods (nn/): values against plain double-precision formulas written here
 * (relative 1e-5 of the largest value) and every backward by central differences (tests/fd.h, h = 1e-2,
 * error <= 2e-3 of the gradient's scale):
 *   phm_linear (against the Kronecker sum formed block by block), routing (the four functions),
 *   xcorr + rownorm (the off-diagonal redundancy term), jsd_mi, kl_to_target, GELU (erf), SiLU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/activation.h"
#include "nn/consistency.h"
#include "nn/jsd_mi.h"
#include "nn/phm_linear.h"
#include "nn/routing.h"
#include "nn/xcorr.h"
#include "tests/fd.h"
#include "tests/harness.h"

static double max_abs(const float *x, long n)
{
    double m = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* The analytic gradient g of x against central differences of f (step h): 2e-3 of its scale. */
static void fd_expect(struct test_ctx *t, fd_loss_fn f, void *ctx, float *x, const float *g, long n, float h,
                      const char *what)
{
    long worst;
    const double err = fd_check(f, ctx, x, g, n, h, 1000, &worst);
    CHECKF(t, err < 2e-3, "%s: relative error %g at %ld", what, err, worst);
}

/* ---- PHM ---------------------------------------------------------------------------------------- */
struct phm_case {
    struct phm_dims p;
    int N;
    float *x, *S, *T, *U, *b, *y, *r, *cache, *scratch;
};

static double phm_loss(void *ctx)
{
    struct phm_case *c = ctx;
    phm_linear_forward(c->y, c->x, c->S, c->T, c->U, c->b, c->N, &c->p, c->cache);
    return fd_dot(c->y, c->r, (long)c->N * c->p.out);
}

static void test_phm_linear(struct test_ctx *t)
{
    struct phm_case c = {.p = {.in = 12, .out = 8, .n = 4, .r = 2}, .N = 5};
    const struct phm_dims *p = &c.p;
    const int kin = p->in / p->n, kout = p->out / p->n;
    const long nS = p->n * p->n * p->n, nT = (long)p->n * kin * p->r, nU = (long)p->n * p->r * kout;
    c.x = xmalloc(sizeof(float) * c.N * p->in), c.S = xmalloc(sizeof(float) * nS);
    c.T = xmalloc(sizeof(float) * nT), c.U = xmalloc(sizeof(float) * nU), c.b = xmalloc(sizeof(float) * p->out);
    c.y = xmalloc(sizeof(float) * c.N * p->out), c.r = xmalloc(sizeof(float) * c.N * p->out);
    c.cache = xmalloc(sizeof(float) * phm_cache_floats(c.N, p));
    c.scratch = xmalloc(sizeof(float) * phm_scratch_floats(c.N, p));
    fd_fill(c.x, c.N * p->in, 1, -1, 1), fd_fill(c.S, nS, 2, -1, 1), fd_fill(c.T, nT, 3, -1, 1);
    fd_fill(c.U, nU, 4, -1, 1), fd_fill(c.b, p->out, 5, -1, 1), fd_fill(c.r, c.N * p->out, 6, -1, 1);
    /* H = sum_i kron(S_i, T_i U_i), block by block, in double */
    double *H = xcalloc((size_t)p->in * p->out, sizeof(double));
    for (int i = 0; i < p->n; i++)
        for (int a = 0; a < p->n; a++)
            for (int cc = 0; cc < p->n; cc++)
                for (int k = 0; k < kin; k++)
                    for (int q = 0; q < kout; q++) {
                        double w = 0;
                        for (int j = 0; j < p->r; j++)
                            w += (double)c.T[(i * kin + k) * p->r + j] * c.U[(i * p->r + j) * kout + q];
                        H[(a * kin + k) * p->out + cc * kout + q] += c.S[(i * p->n + a) * p->n + cc] * w;
                    }
    float *Hf = xmalloc(sizeof(float) * p->in * p->out);
    phm_weight(Hf, c.S, c.T, c.U, p);
    for (int i = 0; i < p->in * p->out; i++)
        CHECKF(t, fabs(Hf[i] - H[i]) <= 1e-5 * (1 + fabs(H[i])), "H[%d] %g vs %g", i, Hf[i], H[i]);
    phm_loss(&c);
    const double scale = max_abs(c.y, c.N * p->out);
    for (int m = 0; m < c.N; m++)
        for (int o = 0; o < p->out; o++) {
            double v = c.b[o];
            for (int k = 0; k < p->in; k++)
                v += (double)c.x[m * p->in + k] * H[k * p->out + o];
            CHECKF(t, fabs(c.y[m * p->out + o] - v) <= 1e-5 * scale, "y[%d,%d] %g vs %g", m, o, c.y[m * p->out + o], v);
        }
    /* backward with dy = r */
    float *dx = xcalloc((size_t)c.N * p->in, sizeof(float)), *dS = xcalloc(nS, sizeof(float));
    float *dT = xcalloc(nT, sizeof(float)), *dU = xcalloc(nU, sizeof(float)), *db = xcalloc(p->out, sizeof(float));
    phm_loss(&c);
    phm_linear_backward(dx, dS, dT, dU, db, c.r, c.x, c.S, c.T, c.U, c.N, p, c.cache, c.scratch, 0);
    struct {
        const char *name;
        float *x, *g;
        long n;
    } v[] = {{"x", c.x, dx, c.N * p->in}, {"S", c.S, dS, nS}, {"T", c.T, dT, nT}, {"U", c.U, dU, nU}, {"b", c.b, db, p->out}};
    for (int k = 0; k < 5; k++)
        fd_expect(t, phm_loss, &c, v[k].x, v[k].g, v[k].n, 1e-2f, v[k].name);
    /* accumulate_dx adds */
    float *dx2 = xmalloc(sizeof(float) * c.N * p->in);
    for (long i = 0; i < (long)c.N * p->in; i++)
        dx2[i] = 1.0f;
    phm_linear_backward(dx2, NULL, NULL, NULL, NULL, c.r, c.x, c.S, c.T, c.U, c.N, p, c.cache, c.scratch, 1);
    for (long i = 0; i < (long)c.N * p->in; i++)
        CHECKF(t, fabsf(dx2[i] - 1.0f - dx[i]) <= 1e-5f * (1 + fabsf(dx[i])), "accumulated dx[%ld]", i);
    CHECK_INT(t, phm_param_count(&(struct phm_dims){.in = 768, .out = 64, .n = 4, .r = 8}), 6720);
    CHECK_INT(t, phm_param_count(&(struct phm_dims){.in = 64, .out = 768, .n = 4, .r = 8}), 7424);
    free(H), free(Hf), free(dx), free(dx2), free(dS), free(dT), free(dU), free(db);
    free(c.x), free(c.S), free(c.T), free(c.U), free(c.b), free(c.y), free(c.r), free(c.cache), free(c.scratch);
}

/* ---- routing ------------------------------------------------------------------------------------ */
#define RB 2
#define RT 3
#define RR 4
struct route_case {
    int kind;
    float xt[RB * RT * RR], xv[RB * RR], g[RB * RT * RR], r[RB * RT * RR];
};

static double route_loss(void *ctx)
{
    struct route_case *c = ctx;
    route_forward(c->kind, c->g, c->xt, c->xv, RB, RT, RR);
    return fd_dot(c->g, c->r, RB * RT * RR);
}

static void test_routing(struct test_ctx *t)
{
    for (int kind = ROUTE_NONE; kind <= ROUTE_EXPAND; kind++) {
        struct route_case c = {.kind = kind};
        fd_fill(c.xt, RB * RT * RR, 11, -1, 1), fd_fill(c.xv, RB * RR, 12, -1, 1), fd_fill(c.r, RB * RT * RR, 13, -1, 1);
        route_loss(&c);
        for (int b = 0; b < RB; b++)
            for (int s = 0; s < RT; s++) {
                const float *x = c.xt + (b * RT + s) * RR, *v = c.xv + b * RR;
                double dot = 0, sum = 0;
                for (int i = 0; i < RR; i++)
                    dot += (double)x[i] * v[i], sum += x[i];
                for (int i = 0; i < RR; i++) {
                    const double want = kind == ROUTE_MUL    ? (double)x[i] * v[i]
                                        : kind == ROUTE_ADD  ? (double)x[i] + v[i]
                                        : kind == ROUTE_PROJ ? dot * v[i]
                                        : kind == ROUTE_EXPAND ? sum * v[i]
                                                               : x[i];
                    CHECKF(t, fabs(c.g[(b * RT + s) * RR + i] - want) < 1e-5, "kind %d: g %g vs %g", kind,
                           c.g[(b * RT + s) * RR + i], want);
                }
            }
        float dxt[RB * RT * RR], dxv[RB * RR];
        route_backward(kind, dxt, dxv, c.r, c.xt, c.xv, RB, RT, RR);
        char what[32];
        snprintf(what, sizeof what, "route %d: dxt", kind);
        fd_expect(t, route_loss, &c, c.xt, dxt, RB * RT * RR, 1e-2f, what);
        snprintf(what, sizeof what, "route %d: dxv", kind);
        if (kind == ROUTE_NONE)
            CHECK(t, max_abs(dxv, RB * RR) == 0);
        else
            fd_expect(t, route_loss, &c, c.xv, dxv, RB * RR, 1e-2f, what);
    }
}

/* ---- redundancy term ---------------------------------------------------------------------------- */
#define XN 7
#define XD 5
struct xcorr_case {
    float u[XN * XD], r[XN * XD];
    double scale;
};

/* scale * sum_{p != q} C_pq^2 with C = norm(U)^T norm(R), all in double */
static double xcorr_direct(void *ctx)
{
    struct xcorr_case *c = ctx;
    double un[XN], rn[XN], C[XD][XD] = {{0}}, s = 0;
    for (int m = 0; m < XN; m++) {
        un[m] = rn[m] = 0;
        for (int j = 0; j < XD; j++)
            un[m] += (double)c->u[m * XD + j] * c->u[m * XD + j], rn[m] += (double)c->r[m * XD + j] * c->r[m * XD + j];
        un[m] = fmax(sqrt(un[m]), 1e-12), rn[m] = fmax(sqrt(rn[m]), 1e-12);
    }
    for (int m = 0; m < XN; m++)
        for (int p = 0; p < XD; p++)
            for (int q = 0; q < XD; q++)
                C[p][q] += c->u[m * XD + p] / un[m] * c->r[m * XD + q] / rn[m];
    for (int p = 0; p < XD; p++)
        for (int q = 0; q < XD; q++)
            s += p == q ? 0 : C[p][q] * C[p][q];
    return c->scale * s;
}

static void test_xcorr(struct test_ctx *t)
{
    struct xcorr_case c = {.scale = 0.3};
    fd_fill(c.u, XN * XD, 21, -1, 1), fd_fill(c.r, XN * XD, 22, -1, 1);
    memset(c.u + 2 * XD, 0, sizeof(float) * XD); /* a zero row: divided by eps, no NaN */
    float uh[XN * XD], rh[XN * XD], un[XN], rn[XN], C[XD * XD] = {0}, dC[XD * XD];
    float du[XN * XD], dr[XN * XD], gu[XN * XD], gr[XN * XD];
    rownorm_forward(uh, un, c.u, XN, XD), rownorm_forward(rh, rn, c.r, XN, XD);
    xcorr_accumulate(C, uh, rh, 3, XD); /* in two parts, as over ranks */
    xcorr_accumulate(C, uh + 3 * XD, rh + 3 * XD, XN - 3, XD);
    const double L = offdiag_sq_loss(C, dC, XD, c.scale);
    CHECK_NEAR(t, L, xcorr_direct(&c), 0, 1e-5);
    for (int p = 0; p < XD; p++)
        CHECK(t, dC[p * XD + p] == 0);
    xcorr_backward(du, dr, dC, uh, rh, XN, XD);
    rownorm_backward(gu, du, uh, un, XN, XD, 0), rownorm_backward(gr, dr, rh, rn, XN, XD, 0);
    for (int i = 0; i < XN * XD; i++)
        CHECKF(t, isfinite(gu[i]) && isfinite(gr[i]), "gradient %d is not finite with a zero row", i);
    c.u[2 * XD] = 0.5f; /* away from the zero row for the differences */
    rownorm_forward(uh, un, c.u, XN, XD);
    memset(C, 0, sizeof C);
    xcorr_accumulate(C, uh, rh, XN, XD);
    offdiag_sq_loss(C, dC, XD, c.scale);
    xcorr_backward(du, dr, dC, uh, rh, XN, XD);
    rownorm_backward(gu, du, uh, un, XN, XD, 0), rownorm_backward(gr, dr, rh, rn, XN, XD, 0);
    fd_expect(t, xcorr_direct, &c, c.u, gu, XN * XD, 1e-3f, "du");
    fd_expect(t, xcorr_direct, &c, c.r, gr, XN * XD, 1e-3f, "dr");
}

/* ---- JSD mutual information ------------------------------------------------------------------------ */
#define JN 6
#define JB 3
#define JD 4
struct jsd_case {
    float u[JN * JD], g[JB * JD];
    int own[JN];
    double M, B;
};

static double softplus(double x)
{
    return log1p(exp(x));
}

static double jsd_direct(void *ctx)
{
    struct jsd_case *c = ctx;
    double pos = 0, neg = 0;
    for (int m = 0; m < JN; m++)
        for (int j = 0; j < JB; j++) {
            const double s = fd_dot(c->u + m * JD, c->g + j * JD, JD);
            if (j == c->own[m])
                pos += log(2.0) - softplus(-s);
            else
                neg += softplus(-s) + s - log(2.0);
        }
    return neg / (c->M * (c->B - 1)) - pos / c->M;
}

static double jsd_kernel(void *ctx)
{
    struct jsd_case *c = ctx;
    float scratch[JN * JB];
    return jsd_mi(c->u, c->own, c->g, JN, JB, JD, 1 / c->M, 1 / (c->M * (c->B - 1)), NULL, NULL, scratch);
}

static void test_jsd_mi(struct test_ctx *t)
{
    struct jsd_case c = {.own = {0, 0, 1, 1, 2, 2}, .M = JN, .B = JB};
    fd_fill(c.u, JN * JD, 31, -2, 2), fd_fill(c.g, JB * JD, 32, -2, 2);
    CHECK_NEAR(t, jsd_kernel(&c), jsd_direct(&c), 1e-7, 1e-6);
    float du[JN * JD] = {0}, dg[JB * JD] = {0}, scratch[JN * JB];
    jsd_mi(c.u, c.own, c.g, JN, JB, JD, 1 / c.M, 1 / (c.M * (c.B - 1)), du, dg, scratch);
    fd_expect(t, jsd_direct, &c, c.u, du, JN * JD, 1e-2f, "du");
    fd_expect(t, jsd_direct, &c, c.g, dg, JB * JD, 1e-2f, "dg");
}

/* ---- consistency ----------------------------------------------------------------------------------- */
#define KR 3
#define KV 5
struct kl_case {
    float z[KR * KV], q[KR * KV];
};

static double kl_direct(void *ctx)
{
    struct kl_case *c = ctx;
    double s = 0;
    for (int n = 0; n < KR; n++) {
        double lz = 0, lq = 0;
        for (int v = 0; v < KV; v++)
            lz += exp(c->z[n * KV + v]), lq += exp(c->q[n * KV + v]);
        lz = log(lz), lq = log(lq);
        for (int v = 0; v < KV; v++) {
            const double logq = c->q[n * KV + v] - lq;
            s += exp(logq) * (logq - (c->z[n * KV + v] - lz));
        }
    }
    return 0.7 * s;
}

static void test_kl_to_target(struct test_ctx *t)
{
    struct kl_case c;
    fd_fill(c.z, KR * KV, 41, -3, 3), fd_fill(c.q, KR * KV, 42, -3, 3);
    float dz[KR * KV], zz[KR * KV];
    CHECK_NEAR(t, kl_to_target(c.z, c.q, dz, KR, KV, 0.7, 0), kl_direct(&c), 0, 1e-6);
    fd_expect(t, kl_direct, &c, c.z, dz, KR * KV, 1e-2f, "dz");
    memcpy(zz, c.z, sizeof zz); /* in place */
    kl_to_target(zz, c.q, zz, KR, KV, 0.7, 0);
    CHECK(t, memcmp(zz, dz, sizeof zz) == 0);
    for (int i = 0; i < KR * KV; i++)
        zz[i] = 1.0f;
    kl_to_target(c.z, c.q, zz, KR, KV, 0.7, 1);
    for (int i = 0; i < KR * KV; i++)
        CHECK(t, fabsf(zz[i] - 1.0f - dz[i]) < 1e-6f);
    CHECK(t, fabs(kl_to_target(c.q, c.q, NULL, KR, KV, 1.0, 0)) < 1e-6);
}

/* ---- activations ------------------------------------------------------------------------------------ */
struct act_case {
    int kind;
    float x[16], y[16], r[16];
};

static double act_loss(void *ctx)
{
    struct act_case *c = ctx;
    activation_forward(c->kind, c->y, c->x, 16);
    return fd_dot(c->y, c->r, 16);
}

static void test_activations(struct test_ctx *t)
{
    for (int kind = ACT_RELU; kind <= ACT_SILU; kind++) {
        struct act_case c = {.kind = kind};
        fd_fill(c.x, 16, 51, -3, 3), fd_fill(c.r, 16, 52, -1, 1);
        act_loss(&c);
        for (int i = 0; i < 16; i++) {
            const double x = c.x[i];
            const double want = kind == ACT_RELU       ? fmax(x, 0)
                                : kind == ACT_GELU_TANH ? 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)))
                                : kind == ACT_GELU_ERF  ? 0.5 * x * (1 + erf(x / sqrt(2.0)))
                                                        : x / (1 + exp(-x));
            CHECKF(t, fabs(c.y[i] - want) < 1e-6 * (1 + fabs(want)), "kind %d: f(%g) = %g, want %g", kind, x, c.y[i],
                   want);
        }
        float dx[16];
        activation_backward(kind, dx, c.r, c.x, 16);
        fd_expect(t, act_loss, &c, c.x, dx, 16, 1e-3f, "activation");
    }
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"phm_linear", test_phm_linear}, {"routing", test_routing},           {"xcorr", test_xcorr},
        {"jsd_mi", test_jsd_mi},         {"kl_to_target", test_kl_to_target}, {"activations", test_activations},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
