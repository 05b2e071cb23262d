/* nn/ attention, relative position buckets and dropout.
 * Attention backward is checked by central differences (tests/fd.h, relative error <= 2e-3 with
 * h = 1e-2) with padding masks, a causal mask, a position bias and dropout on (the masks are a pure
 * function of their coordinates, so the loss stays a smooth function of the inputs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/rng.h"
#include "nn/relpos.h"
#include "tests/fd.h"
#include "tests/harness.h"

#define FD_TOL 2e-3

struct attn_ctx {
    struct attention_dims a;
    struct attention_mask m;
    struct attention_dropout dr;
    float *q, *k, *v, *out, *probs, *probs_drop, *scratch, *r, *bias;
};

static double attn_loss(void *p)
{
    struct attn_ctx *c = p;
    c->m.bias = c->bias;
    attention_forward(c->out, c->probs, c->probs_drop, c->scratch, c->q, c->k, c->v, &c->a, &c->m, &c->dr);
    return fd_dot(c->out, c->r, (long)c->a.B * c->a.Tq * c->a.H * c->a.dk);
}

static void check_attention(struct test_ctx *t, int causal, float p_drop)
{
    struct attn_ctx c;
    memset(&c, 0, sizeof c);
    c.a = (struct attention_dims){.B = 2, .H = 3, .Tq = 5, .Tk = 5, .dk = 4, .k_stride = 5};
    if (!causal) /* cross-attention shape: more keys than queries */
        c.a.Tk = c.a.k_stride = 7;
    const int ld = c.a.H * c.a.dk;
    const long nq = (long)c.a.B * c.a.Tq * ld, nk = (long)c.a.B * c.a.k_stride * ld;
    const long nb = (long)c.a.H * c.a.Tq * c.a.Tk;
    c.q = xmalloc(sizeof(float) * nq), c.out = xmalloc(sizeof(float) * nq), c.r = xmalloc(sizeof(float) * nq);
    c.k = xmalloc(sizeof(float) * nk), c.v = xmalloc(sizeof(float) * nk);
    c.bias = xmalloc(sizeof(float) * nb);
    c.probs = xmalloc(sizeof(float) * nb * c.a.B);
    c.probs_drop = xmalloc(sizeof(float) * nb * c.a.B);
    c.scratch = xmalloc(sizeof(float) * attention_scratch_floats(&c.a));
    fd_fill(c.q, nq, 41, -1, 1), fd_fill(c.k, nk, 42, -1, 1), fd_fill(c.v, nk, 43, -1, 1);
    fd_fill(c.r, nq, 44, -1, 1), fd_fill(c.bias, nb, 45, -0.5f, 0.5f);
    unsigned char valid[14];
    memset(valid, 1, sizeof valid);
    valid[c.a.k_stride - 1] = 0; /* example 0: last key is padding */
    valid[c.a.k_stride + 1] = 0; /* example 1: key 1 is padding */
    c.m.key_valid = valid;
    c.m.causal = causal;
    int32_t ids[7] = {0, 1, 2, 5, 6, DROPOUT_VIS_BASE, DROPOUT_VIS_BASE + 1};
    struct dropout d = {.p = p_drop, .seed = 7, .step = 3};
    c.dr = (struct attention_dropout){.d = &d, .site = 9, .ex0 = 4, .q_ids = ids, .k_ids = ids};
    attn_loss(&c);

    /* Weights: masked keys get exactly 0, and each row sums to 1. */
    for (int b = 0; b < c.a.B; b++)
        for (int h = 0; h < c.a.H; h++)
            for (int i = 0; i < c.a.Tq; i++) {
                const float *row = c.probs + (((long)b * c.a.H + h) * c.a.Tq + i) * c.a.Tk;
                double s = 0;
                for (int j = 0; j < c.a.Tk; j++) {
                    s += row[j];
                    if (!valid[b * c.a.k_stride + j] || (causal && j > i))
                        CHECKF(t, row[j] == 0.0f, "b%d h%d q%d: masked key %d has weight %g", b, h, i, j, row[j]);
                }
                CHECK_NEAR(t, s, 1.0, 1e-5, 0);
            }

    float *dq = xmalloc(sizeof(float) * nq), *dk = xmalloc(sizeof(float) * nk), *dv = xmalloc(sizeof(float) * nk);
    float *dbias = xcalloc((size_t)nb, sizeof(float));
    attention_backward(dq, dk, dv, dbias, c.scratch, c.r, c.q, c.k, c.v, c.probs, c.probs_drop, &c.a, &c.dr);
    long wi;
    double e;
    const char *what = causal ? "causal" : "padded";
    e = fd_check(attn_loss, &c, c.q, dq, nq, 1e-2f, 200, &wi);
    CHECKF(t, e < FD_TOL, "%s p=%g dq: relative error %g at %ld", what, p_drop, e, wi);
    e = fd_check(attn_loss, &c, c.k, dk, nk, 1e-2f, 200, &wi);
    CHECKF(t, e < FD_TOL, "%s p=%g dk: relative error %g at %ld", what, p_drop, e, wi);
    e = fd_check(attn_loss, &c, c.v, dv, nk, 1e-2f, 200, &wi);
    CHECKF(t, e < FD_TOL, "%s p=%g dv: relative error %g at %ld", what, p_drop, e, wi);
    e = fd_check(attn_loss, &c, c.bias, dbias, nb, 1e-2f, 200, &wi);
    CHECKF(t, e < FD_TOL, "%s p=%g dbias: relative error %g at %ld", what, p_drop, e, wi);
    free(dq), free(dk), free(dv), free(dbias);
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.r), free(c.bias), free(c.probs), free(c.probs_drop), free(c.scratch);
}

static void test_attention_padding_mask(struct test_ctx *t)
{
    check_attention(t, 0, 0.0f);
}

static void test_attention_causal(struct test_ctx *t)
{
    check_attention(t, 1, 0.0f);
}

static void test_attention_with_dropout(struct test_ctx *t)
{
    check_attention(t, 0, 0.3f);
    check_attention(t, 1, 0.3f);
}

/* One query against a cache (Tq 1, q0 = i, k_stride > Tk) gives row i of the full causal attention. */
static void test_attention_cached_query(struct test_ctx *t)
{
    const int B = 2, H = 2, T = 6, dk = 3, S = 9, ld = H * dk;
    float q[2 * 6 * 6], k[2 * 6 * 6], v[2 * 6 * 6], out[2 * 6 * 6], probs[2 * 2 * 36], bias[2 * 36], scratch[72];
    fd_fill(q, B * T * ld, 51, -1, 1), fd_fill(k, B * T * ld, 52, -1, 1), fd_fill(v, B * T * ld, 53, -1, 1);
    fd_fill(bias, H * T * T, 54, -1, 1);
    struct attention_dims a = {.B = B, .H = H, .Tq = T, .Tk = T, .dk = dk, .k_stride = T};
    struct attention_mask m = {.causal = 1, .bias = bias};
    attention_forward(out, probs, NULL, scratch, q, k, v, &a, &m, NULL);
    float kc[2 * 9 * 6], vc[2 * 9 * 6]; /* caches with room for S positions */
    memset(kc, 0, sizeof kc), memset(vc, 0, sizeof vc);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++)
            for (int c = 0; c < ld; c++) {
                kc[(b * S + j) * ld + c] = k[(b * T + j) * ld + c];
                vc[(b * S + j) * ld + c] = v[(b * T + j) * ld + c];
            }
    for (int i = 0; i < T; i++) {
        float qi[2 * 6], oi[2 * 6], pi[2 * 2 * 6], bi[2 * 6], sc[12];
        for (int b = 0; b < B; b++)
            memcpy(qi + b * ld, q + (b * T + i) * ld, sizeof(float) * ld);
        for (int h = 0; h < H; h++)
            memcpy(bi + h * (i + 1), bias + (h * T + i) * T, sizeof(float) * (i + 1));
        struct attention_dims ai = {.B = B, .H = H, .Tq = 1, .Tk = i + 1, .dk = dk, .k_stride = S};
        struct attention_mask mi = {.causal = 1, .q0 = i, .bias = bi};
        attention_forward(oi, pi, NULL, sc, qi, kc, vc, &ai, &mi, NULL);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < ld; c++)
                CHECK_NEAR(t, oi[b * ld + c], out[(b * T + i) * ld + c], 1e-6, 1e-5);
    }
}

/* Buckets from the formula, worked by hand (32 buckets, max distance 128). */
static void test_relpos_buckets(struct test_ctx *t)
{
    /* bidirectional: 16 buckets per side, 8 exact */
    CHECK_INT(t, relpos_bucket(0, 1, 32, 128), 0);
    CHECK_INT(t, relpos_bucket(-3, 1, 32, 128), 3);
    CHECK_INT(t, relpos_bucket(3, 1, 32, 128), 19);
    CHECK_INT(t, relpos_bucket(-7, 1, 32, 128), 7);
    CHECK_INT(t, relpos_bucket(-8, 1, 32, 128), 8);   /* 8 + trunc(log(1)/log(16)*8) */
    CHECK_INT(t, relpos_bucket(-12, 1, 32, 128), 9);  /* 8 + trunc(log(1.5)/log(16)*8 = 1.17) */
    CHECK_INT(t, relpos_bucket(-16, 1, 32, 128), 10); /* exactly 2 at the edge */
    CHECK_INT(t, relpos_bucket(16, 1, 32, 128), 26);
    CHECK_INT(t, relpos_bucket(-127, 1, 32, 128), 15);
    CHECK_INT(t, relpos_bucket(-1000, 1, 32, 128), 15);
    CHECK_INT(t, relpos_bucket(1000, 1, 32, 128), 31);
    /* causal: later keys -> 0; 16 exact */
    CHECK_INT(t, relpos_bucket(5, 0, 32, 128), 0);
    CHECK_INT(t, relpos_bucket(-5, 0, 32, 128), 5);
    CHECK_INT(t, relpos_bucket(-15, 0, 32, 128), 15);
    CHECK_INT(t, relpos_bucket(-16, 0, 32, 128), 16);
    CHECK_INT(t, relpos_bucket(-32, 0, 32, 128), 21); /* 16 + trunc(log(2)/log(8)*16 = 5.33) */
    CHECK_INT(t, relpos_bucket(-500, 0, 32, 128), 31);
}

/* relpos_bias_backward is the adjoint of relpos_bias_forward: <F(table), r> = <table, B(r)>. */
static void test_relpos_bias_adjoint(struct test_ctx *t)
{
    const int H = 3, Tq = 6, Tk = 9, nq = 4, nk = 5;
    float table[32 * 3], bias[3 * 6 * 9], r[3 * 6 * 9], dtable[32 * 3];
    fd_fill(table, 96, 61, -1, 1);
    fd_fill(r, H * Tq * Tk, 62, -1, 1);
    memset(dtable, 0, sizeof dtable);
    relpos_bias_forward(bias, table, H, Tq, Tk, nq, nk, 0, 1, 32, 128);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < Tq; i++)
            for (int j = 0; j < Tk; j++) {
                float want = (i < nq && j < nk) ? table[relpos_bucket(j - i, 1, 32, 128) * H + h] : 0.0f;
                CHECK(t, bias[(h * Tq + i) * Tk + j] == want);
            }
    relpos_bias_backward(dtable, r, H, Tq, Tk, nq, nk, 0, 1, 32, 128);
    CHECK_NEAR(t, fd_dot(bias, r, H * Tq * Tk), fd_dot(table, dtable, 96), 1e-5, 1e-5);
}

static void test_dropout_masks(struct test_ctx *t)
{
    const int B = 4, R = 50, C = 64;
    const long n = (long)B * R * C;
    float *x = xmalloc(sizeof(float) * n), *y = xmalloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        x[i] = 1.0f;
    struct dropout d = {.p = 0.1f, .seed = 1234, .step = 17};
    memcpy(y, x, sizeof(float) * n);
    dropout_apply(y, B, R, C, &d, 5, 100, NULL);
    long dropped = 0;
    for (long i = 0; i < n; i++) {
        CHECKF(t, y[i] == 0.0f || fabsf(y[i] - 1.0f / 0.9f) < 1e-6f, "element %ld is %g", i, y[i]);
        dropped += y[i] == 0.0f;
    }
    /* 12800 Bernoulli(0.1) draws: mean 1280, sd 34 */
    CHECKF(t, labs(dropped - 1280) < 5 * 34, "dropped %ld of %ld, expected about 1280", dropped, n);

    /* The same coordinates give the same mask; a split of the batch (ex0) draws the same masks. */
    float *z = xmalloc(sizeof(float) * n);
    memcpy(z, x, sizeof(float) * n);
    dropout_apply(z, 2, R, C, &d, 5, 100, NULL);
    dropout_apply(z + 2L * R * C, 2, R, C, &d, 5, 102, NULL);
    CHECK(t, memcmp(y, z, sizeof(float) * n) == 0);

    /* Another step, site or seed gives another mask. */
    int differ[3] = {0, 0, 0};
    for (int v = 0; v < 3; v++) {
        struct dropout d2 = d;
        uint32_t site = 5;
        if (v == 0)
            d2.step++;
        if (v == 1)
            site++;
        if (v == 2)
            d2.seed++;
        memcpy(z, x, sizeof(float) * n);
        dropout_apply(z, B, R, C, &d2, site, 100, NULL);
        for (long i = 0; i < n; i++)
            differ[v] += (z[i] == 0.0f) != (y[i] == 0.0f);
    }
    CHECKF(t, differ[0] > 1000 && differ[1] > 1000 && differ[2] > 1000, "masks too similar: %d %d %d", differ[0],
           differ[1], differ[2]);

    /* Canonical row ids: rows given explicitly as 0..R-1 match the default. */
    int32_t *ids = xmalloc(sizeof(int32_t) * R);
    for (int r = 0; r < R; r++)
        ids[r] = r;
    memcpy(z, x, sizeof(float) * n);
    dropout_apply(z, B, R, C, &d, 5, 100, ids);
    CHECK(t, memcmp(y, z, sizeof(float) * n) == 0);
    /* An odd starting column id draws the same value for the same id as a contiguous run from 0. */
    float row_a[9], row_b[8];
    for (int i = 0; i < 9; i++)
        row_a[i] = 1.0f;
    for (int i = 0; i < 8; i++)
        row_b[i] = 1.0f;
    struct dropout heavy = {.p = 0.5f, .seed = 1, .step = 1};
    uint64_t key = dropout_row_key(&heavy, 3, 1, 2);
    dropout_row(row_a, 9, &heavy, key, NULL, 0);
    dropout_row(row_b, 8, &heavy, key, NULL, 1);
    for (int i = 0; i < 8; i++)
        CHECK(t, row_a[i + 1] == row_b[i]);
    free(ids), free(x), free(y), free(z);
}

/* dropout_row against its definition, element by element: column id c is dropped iff
 * bits32(row key, c) < p 2^32, a kept value is x / (1 - p) exactly; for contiguous columns from every
 * start parity and length, and for id lists with runs, gaps, odd starts and lone ids (the vectorised
 * copies the loader picks must give these bits). */
static void test_dropout_row_definition(struct test_ctx *t)
{
    const struct dropout d = {.p = 0.3f, .seed = 99, .step = 5};
    const uint64_t key = dropout_row_key(&d, 7, 3, 11), threshold = (uint64_t)((double)d.p * 4294967296.0);
    const float scale = 1.0f / (1.0f - d.p);
    static const int32_t lists[][12] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
        {3, 4, 5, 6, 7, DROPOUT_VIS_BASE, DROPOUT_VIS_BASE + 1, DROPOUT_VIS_BASE + 2, 40, 41, 43, 44},
        {1, 5, 9, 2, 3, 4, 5, 6, 100, 101, 7, 8},
    };
    float x[70], want[70];
    int bad = 0;
    for (int list = -1; list < 3; list++)
        for (uint32_t col0 = 0; col0 < (list < 0 ? 4u : 1u); col0++)
            for (int n = 0; n <= (list < 0 ? 70 : 12); n++) {
                for (int c = 0; c < n; c++) {
                    x[c] = (float)(c % 7) - 2.5f + 0.125f * (float)c; /* negative, zero-free */
                    const uint32_t id = list < 0 ? col0 + (uint32_t)c : (uint32_t)lists[list][c];
                    want[c] = rng_bits32(key, id) >= threshold ? x[c] * scale : x[c] * 0.0f;
                }
                dropout_row(x, n, &d, key, list < 0 ? NULL : lists[list], col0);
                bad += memcmp(x, want, sizeof(float) * (size_t)n) != 0;
            }
    CHECKF(t, bad == 0, "%d rows differ from the definition", bad);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"attention_padding_mask", test_attention_padding_mask},
        {"attention_causal", test_attention_causal},
        {"attention_with_dropout", test_attention_with_dropout},
        {"dropout_row_definition", test_dropout_row_definition},
        {"attention_cached_query", test_attention_cached_query},
        {"relpos_buckets", test_relpos_buckets},
        {"relpos_bias_adjoint", test_relpos_bias_adjoint},
        {"dropout_masks", test_dropout_masks},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
