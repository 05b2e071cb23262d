/* nn/ kernels: linear, RMS norm, LayerNorm, ReLU, GELU and cross-entropy against direct double
 * computations (forward) and central finite differences (backward, tests/fd.h: error relative to the
 * gradient's scale <= 2e-3 with h = 1e-2; ReLU with inputs kept >= 0.05 from its kink). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/xent.h"
#include "tests/fd.h"
#include "tests/harness.h"

#define FD_TOL 2e-3

/* ---- linear ---------------------------------------------------------------------------------- */
struct lin_ctx {
    int N, in, out;
    float *x, *W, *b, *y, *r; /* x [N, in], W [out, in], b [out], y [N, out], r [N, out] */
};

static double lin_loss(void *p)
{
    struct lin_ctx *c = p;
    linear_forward(c->y, c->x, c->W, c->b, c->N, c->in, c->out, 0);
    return fd_dot(c->y, c->r, (long)c->N * c->out);
}

static void test_linear(struct test_ctx *t)
{
    struct lin_ctx c = {.N = 5, .in = 7, .out = 6};
    c.x = xmalloc(sizeof(float) * 35);
    c.W = xmalloc(sizeof(float) * 42);
    c.b = xmalloc(sizeof(float) * 6);
    c.y = xmalloc(sizeof(float) * 30);
    c.r = xmalloc(sizeof(float) * 30);
    fd_fill(c.x, 35, 1, -1, 1);
    fd_fill(c.W, 42, 2, -1, 1);
    fd_fill(c.b, 6, 3, -1, 1);
    fd_fill(c.r, 30, 4, -1, 1);
    lin_loss(&c);
    double worst = 0.0;
    for (int n = 0; n < 5; n++)
        for (int o = 0; o < 6; o++) {
            double s = c.b[o];
            for (int i = 0; i < 7; i++)
                s += (double)c.x[n * 7 + i] * c.W[o * 7 + i];
            worst = fmax(worst, fabs(s - c.y[n * 6 + o]));
        }
    CHECKF(t, worst < 1e-5, "forward differs from the direct sum by %g", worst);

    float dx[35], dW[42], db[6];
    memset(dW, 0, sizeof dW);
    memset(db, 0, sizeof db);
    linear_backward(dx, dW, db, c.r, c.x, c.W, 5, 7, 6, 0);
    long wi;
    double e;
    e = fd_check(lin_loss, &c, c.x, dx, 35, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "dx: relative error %g at %ld", e, wi);
    e = fd_check(lin_loss, &c, c.W, dW, 42, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "dW: relative error %g at %ld", e, wi);
    e = fd_check(lin_loss, &c, c.b, db, 6, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "db: relative error %g at %ld", e, wi);

    /* accumulate flags: dx += and y += */
    float dx2[35];
    for (int i = 0; i < 35; i++)
        dx2[i] = 1.0f;
    linear_backward(dx2, NULL, NULL, c.r, c.x, c.W, 5, 7, 6, 1);
    for (int i = 0; i < 35; i++)
        CHECK_NEAR(t, dx2[i], dx[i] + 1.0f, 1e-5, 0);
    float y0[30];
    lin_loss(&c); /* y from the unperturbed inputs */
    memcpy(y0, c.y, sizeof y0);
    linear_forward(c.y, c.x, c.W, NULL, 5, 7, 6, 1);
    for (int i = 0; i < 30; i++)
        CHECK_NEAR(t, c.y[i], 2 * y0[i] - c.b[i % 6], 1e-5, 1e-5);
    free(c.x), free(c.W), free(c.b), free(c.y), free(c.r);
}

/* ---- norms ----------------------------------------------------------------------------------- */
struct norm_ctx {
    int N, d, layer; /* layer: 1 LayerNorm, 0 RMS norm */
    float *x, *w, *b, *y, *r, *s1, *s2;
};

static double norm_loss(void *p)
{
    struct norm_ctx *c = p;
    if (c->layer)
        layernorm_forward(c->y, c->s1, c->s2, c->x, c->w, c->b, c->N, c->d, 1e-5f);
    else
        rmsnorm_forward(c->y, c->s2, c->x, c->w, c->N, c->d, T5_NORM_EPS);
    return fd_dot(c->y, c->r, (long)c->N * c->d);
}

static void check_norm(struct test_ctx *t, int layer)
{
    struct norm_ctx c = {.N = 4, .d = 9, .layer = layer};
    const int n = c.N * c.d;
    c.x = xmalloc(sizeof(float) * n), c.y = xmalloc(sizeof(float) * n), c.r = xmalloc(sizeof(float) * n);
    c.w = xmalloc(sizeof(float) * c.d), c.b = xmalloc(sizeof(float) * c.d);
    c.s1 = xmalloc(sizeof(float) * c.N), c.s2 = xmalloc(sizeof(float) * c.N);
    fd_fill(c.x, n, 11, -2, 2);
    fd_fill(c.w, c.d, 12, 0.5f, 1.5f);
    fd_fill(c.b, c.d, 13, -1, 1);
    fd_fill(c.r, n, 14, -1, 1);
    norm_loss(&c);
    for (int i = 0; i < c.N; i++) { /* forward against the definition, in double */
        double mu = 0, ms = 0;
        for (int j = 0; j < c.d; j++)
            mu += c.x[i * c.d + j] / (double)c.d;
        for (int j = 0; j < c.d; j++) {
            double v = c.x[i * c.d + j] - (layer ? mu : 0.0);
            ms += v * v / c.d;
        }
        for (int j = 0; j < c.d; j++) {
            double v = (c.x[i * c.d + j] - (layer ? mu : 0.0)) / sqrt(ms + (layer ? 1e-5 : 1e-6)) * c.w[j] +
                       (layer ? c.b[j] : 0.0);
            CHECK_NEAR(t, c.y[i * c.d + j], v, 1e-5, 1e-5);
        }
    }
    float *dx = xcalloc((size_t)n, sizeof(float)), dw[9] = {0}, db[9] = {0};
    if (layer)
        layernorm_backward(dx, dw, db, c.r, c.x, c.s1, c.s2, c.w, c.N, c.d, 0);
    else
        rmsnorm_backward(dx, dw, c.r, c.x, c.s2, c.w, c.N, c.d, 0);
    long wi;
    double e = fd_check(norm_loss, &c, c.x, dx, n, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "%s dx: relative error %g at %ld", layer ? "layernorm" : "rmsnorm", e, wi);
    e = fd_check(norm_loss, &c, c.w, dw, c.d, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "%s dw: relative error %g at %ld", layer ? "layernorm" : "rmsnorm", e, wi);
    if (layer) {
        e = fd_check(norm_loss, &c, c.b, db, c.d, 1e-2f, 100, &wi);
        CHECKF(t, e < FD_TOL, "layernorm db: relative error %g at %ld", e, wi);
    }
    free(dx), free(c.x), free(c.y), free(c.r), free(c.w), free(c.b), free(c.s1), free(c.s2);
}

static void test_rmsnorm(struct test_ctx *t)
{
    check_norm(t, 0);
}

static void test_layernorm(struct test_ctx *t)
{
    check_norm(t, 1);
}

/* ---- activations ----------------------------------------------------------------------------- */
struct act_ctx {
    int gelu;
    long n;
    float *x, *y, *r;
};

static double act_loss(void *p)
{
    struct act_ctx *c = p;
    if (c->gelu)
        gelu_forward(c->y, c->x, (size_t)c->n);
    else
        relu_forward(c->y, c->x, (size_t)c->n);
    return fd_dot(c->y, c->r, c->n);
}

static void check_activation(struct test_ctx *t, int gelu)
{
    struct act_ctx c = {.gelu = gelu, .n = 40};
    c.x = xmalloc(sizeof(float) * 40), c.y = xmalloc(sizeof(float) * 40), c.r = xmalloc(sizeof(float) * 40);
    fd_fill(c.x, 40, 21, -3, 3);
    for (int i = 0; i < 40; i++) /* keep away from ReLU's kink */
        if (fabsf(c.x[i]) < 0.05f)
            c.x[i] = 0.1f;
    fd_fill(c.r, 40, 22, -1, 1);
    act_loss(&c);
    for (int i = 0; i < 40; i++) {
        double v = c.x[i];
        double want = gelu ? 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))) : (v > 0 ? v : 0);
        CHECK_NEAR(t, c.y[i], want, 1e-6, 1e-5);
    }
    float dx[40];
    if (gelu)
        gelu_backward(dx, c.r, c.x, 40);
    else
        relu_backward(dx, c.r, c.y, 40);
    long wi;
    double e = fd_check(act_loss, &c, c.x, dx, 40, gelu ? 1e-2f : 1e-3f, 100, &wi);
    CHECKF(t, e < FD_TOL, "%s: relative error %g at %ld", gelu ? "gelu" : "relu", e, wi);
    free(c.x), free(c.y), free(c.r);
}

static void test_relu(struct test_ctx *t)
{
    check_activation(t, 0);
}

static void test_gelu(struct test_ctx *t)
{
    check_activation(t, 1);
}

/* ---- cross-entropy --------------------------------------------------------------------------- */
struct xent_ctx {
    int N, V;
    float *z, *loss, *lse, *w;
    int32_t *target;
};

static double xent_loss(void *p)
{
    struct xent_ctx *c = p;
    xent_forward(c->loss, c->lse, c->z, c->target, c->N, c->V);
    double s = 0;
    for (int n = 0; n < c->N; n++)
        s += (double)c->w[n] * c->loss[n];
    return s;
}

static void test_xent(struct test_ctx *t)
{
    struct xent_ctx c = {.N = 4, .V = 11};
    int32_t target[4] = {3, XENT_IGNORE, 0, 10};
    float w[4] = {0.5f, 2.0f, 1.0f, 0.25f};
    c.target = target, c.w = w;
    c.z = xmalloc(sizeof(float) * 44), c.loss = xmalloc(sizeof(float) * 4), c.lse = xmalloc(sizeof(float) * 4);
    fd_fill(c.z, 44, 31, -4, 4);
    xent_loss(&c);
    for (int n = 0; n < 4; n++) {
        if (target[n] < 0) {
            CHECK_NEAR(t, c.loss[n], 0.0, 0, 0);
            continue;
        }
        double s = 0;
        for (int j = 0; j < 11; j++)
            s += exp((double)c.z[n * 11 + j]);
        CHECK_NEAR(t, c.loss[n], log(s) - c.z[n * 11 + target[n]], 1e-5, 1e-5);
    }
    float g[44];
    memcpy(g, c.z, sizeof g);
    xent_backward(g, c.lse, target, w, 4, 11);
    for (int j = 0; j < 11; j++)
        CHECK_NEAR(t, g[11 + j], 0.0, 0, 0); /* the ignored row */
    long wi;
    double e = fd_check(xent_loss, &c, c.z, g, 44, 1e-2f, 100, &wi);
    CHECKF(t, e < FD_TOL, "dlogits: relative error %g at %ld", e, wi);
    free(c.z), free(c.loss), free(c.lse);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"linear", test_linear}, {"rmsnorm", test_rmsnorm}, {"layernorm", test_layernorm},
        {"relu", test_relu},     {"gelu", test_gelu},       {"xent", test_xent},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
