/* The PEFT hook interface, exercised by two small methods defined here:
 *   - "lora": y += (x A^T) B^T on q and v of every attention (linear hooks);
 *   - "adapter": out = h + g_b * W_up gelu(W_dn h + b_dn) after every FFN and after the encoder's
 *     first self-attention (output hooks), with a per-example gate g_b = 1 + tanh(x_R[b] . u) on the
 *     conditioning vector, and a regulariser 0.5 * lam * sum h_a^2 computed after the forward (its
 *     gradient is fed back in output_backward), plus mu * sum_b v . mean_t(final hidden) on both stacks
 *     (fed through vlt5_final_grad).
 * Their parameter gradients through the whole frozen model, with dropout on, are checked by central
 * differences: relative error <= 1e-2 at the gradient's scale with the best of h = 1e-3, 3e-3, 1e-2 (a
 * step may switch a ReLU of the frozen FFNs; the float32 loss adds ~1e-3 of noise at the smallest).
 * Exactly, in full mode: a LoRA delta B A on q is a change of W_q, so dB = G A^T and dA = B^T G with
 * G = dL/dW_q (relative 1e-4).  Decoding with the hooks matches teacher forcing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vlt5.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "tests/fd.h"
#include "tests/harness.h"

#define MAX_SLOTS 96
#define RANK 3

static int slot_of(const struct vlt5_site *s)
{
    int k = ((s->stack * 2 + s->layer) * 3 + s->sublayer) * 7 + (s->linear < 0 ? 6 : s->linear);
    return k < MAX_SLOTS ? k : MAX_SLOTS - 1;
}

/* ---- lora ---------------------------------------------------------------------------------------- */
struct lora {
    struct vlt5_hook hook;
    struct params *p;
    int hA[MAX_SLOTS], hB[MAX_SLOTS]; /* A [r, in], B [out, r] */
    float *xa[MAX_SLOTS];             /* [n, r] */
    int calls;
};

static void lora_forward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                         const float *x, float *y, int n, int in, int out)
{
    struct lora *l = self->ctx;
    const int k = slot_of(s);
    const float *A = params_data(l->p, l->hA[k]), *B = params_data(l->p, l->hB[k]);
    float *xa = l->xa[k];
    linear_forward(xa, x, A, NULL, n, in, RANK, 0);
    linear_forward(y, xa, B, NULL, n, RANK, out, 1);
    l->calls += b->train;
}

static void lora_backward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                          const float *x, const float *dy, float *dx, int n, int in, int out)
{
    (void)b;
    struct lora *l = self->ctx;
    const int k = slot_of(s);
    float dxa[64 * 8 * RANK];
    linear_backward(dxa, params_grad(l->p, l->hB[k]), NULL, dy, l->xa[k], params_data(l->p, l->hB[k]), n, RANK, out, 0);
    linear_backward(dx, params_grad(l->p, l->hA[k]), NULL, dxa, x, params_data(l->p, l->hA[k]), n, in, RANK, 1);
    l->calls--;
}

/* ---- adapter ------------------------------------------------------------------------------------- */
struct adapter {
    struct vlt5_hook hook;
    struct params *p;
    int d;
    int hdn[MAX_SLOTS], hbdn[MAX_SLOTS], hup[MAX_SLOTS];
    float *h[MAX_SLOTS], *zpre[MAX_SLOTS], *z[MAX_SLOTS], *ha[MAX_SLOTS]; /* kept per site */
    int n[MAX_SLOTS];
    float gate[8];
    float u[64];
    float lam;
};

static void adapter_gates(struct adapter *a, const struct vlt5_hook_batch *b)
{
    for (int i = 0; i < b->B; i++)
        a->gate[i] = 1.0f + tanhf((float)fd_dot(b->cond + (long)i * a->d, a->u, a->d));
}

static void adapter_forward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                            float *h, int n, int d)
{
    struct adapter *a = self->ctx;
    const int k = slot_of(s);
    adapter_gates(a, b);
    memcpy(a->h[k], h, sizeof(float) * (size_t)n * d);
    linear_forward(a->zpre[k], h, params_data(a->p, a->hdn[k]), params_data(a->p, a->hbdn[k]), n, d, RANK, 0);
    gelu_forward(a->z[k], a->zpre[k], (size_t)n * RANK);
    linear_forward(a->ha[k], a->z[k], params_data(a->p, a->hup[k]), NULL, n, RANK, d, 0);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) {
            a->ha[k][(long)r * d + j] *= a->gate[r / b->T];
            h[(long)r * d + j] += a->ha[k][(long)r * d + j];
        }
    a->n[k] = n;
}

static void adapter_backward(struct vlt5_hook *self, const struct vlt5_site *s, const struct vlt5_hook_batch *b,
                             float *dh, int n, int d)
{
    struct adapter *a = self->ctx;
    const int k = slot_of(s);
    adapter_gates(a, b);
    float *g = xmalloc(sizeof(float) * (size_t)n * d), dz[64 * 8 * RANK];
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) /* d(h_a) = d(out) + the regulariser's lam * h_a, times the gate */
            g[(long)r * d + j] = (dh[(long)r * d + j] + a->lam * a->ha[k][(long)r * d + j]) * a->gate[r / b->T];
    linear_backward(dz, params_grad(a->p, a->hup[k]), NULL, g, a->z[k], params_data(a->p, a->hup[k]), n, RANK, d, 0);
    gelu_backward(dz, dz, a->zpre[k], (size_t)n * RANK);
    linear_backward(dh, params_grad(a->p, a->hdn[k]), params_grad(a->p, a->hbdn[k]), dz, a->h[k],
                    params_data(a->p, a->hdn[k]), n, d, RANK, 1);
    free(g);
}

/* ---- the model with both methods ------------------------------------------------------------------ */
struct setup {
    struct params p;
    struct vlt5 m;
    struct lora lora;
    struct adapter ad;
    struct vlt5_dims dims;
    int B, Lt, Ld;
    int32_t text[4 * 6], labels[4 * 4];
    float feats[4 * 36 * 8], boxes[4 * 36 * 4], weights[4];
    float v_enc[64], v_dec[64];
    float mu;
};

static void add_param(struct test_ctx *t, struct setup *S, int *h, const char *name, int slot, int d0, int d1)
{
    struct err e;
    char full[PARAM_NAME_MAX];
    snprintf(full, sizeof full, "test.%d.%s", slot, name);
    const int shape[2] = {d0, d1};
    *h = params_add(&S->p, full, d1 ? 2 : 1, shape, PARAM_PEFT, 1, &e);
    CHECKF(t, *h >= 0, "%s", e.msg);
}

static int setup(struct test_ctx *t, struct setup *S, int with_hooks, int full)
{
    struct err e;
    memset(S, 0, sizeof *S);
    vlt5_preset("tiny", &S->dims);
    struct vlt5_dims *d = &S->dims;
    d->d_model = 32, d->n_heads = 2, d->d_kv = 8, d->d_ff = 48, d->vocab = 50, d->feat_dim = 8;
    struct vlt5_options o = {.train_backbone = full, .dropout = 0.1f, .max_batch = 4, .max_text = 6, .max_target = 4, .max_generate = 6};
    params_init(&S->p);
    if (vlt5_register(&S->m, &S->p, d, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    S->lora = (struct lora){.hook = {.ctx = &S->lora, .linear_forward = lora_forward, .linear_backward = lora_backward},
                            .p = &S->p};
    S->ad.hook = (struct vlt5_hook){.ctx = &S->ad, .output_forward = adapter_forward, .output_backward = adapter_backward};
    S->ad.p = &S->p, S->ad.d = d->d_model;
    const int inner = d->n_heads * d->d_kv, rows = 4 * (6 + 36);
    for (int stack = 0; with_hooks && stack < 2; stack++)
        for (int l = 0; l < 2; l++)
            for (int sub = 0; sub < 3; sub++) {
                if (stack == VLT5_ENCODER && sub == VLT5_CROSS_ATTN)
                    continue;
                struct vlt5_site s = {stack, l, sub, -1};
                if (sub == VLT5_FFN || (stack == VLT5_ENCODER && l == 0 && sub == VLT5_SELF_ATTN)) {
                    int k = slot_of(&s);
                    add_param(t, S, &S->ad.hdn[k], "dn", k, RANK, d->d_model);
                    add_param(t, S, &S->ad.hbdn[k], "bdn", k, RANK, 0);
                    add_param(t, S, &S->ad.hup[k], "up", k, d->d_model, RANK);
                    S->ad.h[k] = xcalloc((size_t)rows * d->d_model, sizeof(float));
                    S->ad.ha[k] = xcalloc((size_t)rows * d->d_model, sizeof(float));
                    S->ad.zpre[k] = xcalloc((size_t)rows * RANK, sizeof(float));
                    S->ad.z[k] = xcalloc((size_t)rows * RANK, sizeof(float));
                    vlt5_set_output_hook(&S->m, &s, &S->ad.hook);
                }
                if (sub == VLT5_FFN)
                    continue;
                for (int lin = VLT5_Q; lin <= VLT5_V; lin += 2) {
                    s.linear = lin;
                    int k = slot_of(&s);
                    add_param(t, S, &S->lora.hA[k], "A", k, RANK, d->d_model);
                    add_param(t, S, &S->lora.hB[k], "B", k, inner, RANK);
                    S->lora.xa[k] = xcalloc((size_t)rows * RANK, sizeof(float));
                    vlt5_set_linear_hook(&S->m, &s, &S->lora.hook);
                }
            }
    params_alloc(&S->p);
    vlt5_bind(&S->m);
    vlt5_init_random(&S->m, 77);
    fd_fill(S->p.train, (long)S->p.n_train, 5, -0.3f, 0.3f); /* nonzero method parameters */
    fd_fill(S->ad.u, d->d_model, 6, -0.2f, 0.2f);
    fd_fill(S->v_enc, d->d_model, 7, -1, 1);
    fd_fill(S->v_dec, d->d_model, 8, -1, 1);
    /* 4 examples, text lengths 3, 6, 2, 5; answers of 2, 4, 1, 3 tokens */
    S->B = 4, S->Lt = 6, S->Ld = 4;
    const int tl[4] = {3, 6, 2, 5}, al[4] = {2, 4, 1, 3};
    for (int b = 0; b < 4; b++) {
        for (int i = 0; i < 6; i++)
            S->text[b * 6 + i] = i < tl[b] - 1 ? 3 + (b * 7 + i * 3) % 11 : i == tl[b] - 1 ? 1 : 0;
        for (int i = 0; i < 4; i++)
            S->labels[b * 4 + i] = i < al[b] - 1 ? 3 + (b * 5 + i) % 9 : i == al[b] - 1 ? 1 : -100;
        S->weights[b] = 0.25f * (float)(b + 1);
    }
    fd_fill(S->feats, 4 * 36 * 8, 9, 0, 2);
    fd_fill(S->boxes, 4 * 36 * 4, 10, 0, 1);
    S->mu = 0.05f;
    return 0;
}

static void teardown(struct setup *S)
{
    for (int k = 0; k < MAX_SLOTS; k++) {
        free(S->lora.xa[k]);
        free(S->ad.h[k]), free(S->ad.ha[k]), free(S->ad.zpre[k]), free(S->ad.z[k]);
    }
    vlt5_free(&S->m);
    params_free(&S->p);
}

static struct vlt5_batch batch_of(struct setup *S, int train)
{
    return (struct vlt5_batch){.B = S->B, .text_len = S->Lt, .text = S->text, .feats = S->feats, .boxes = S->boxes,
                               .target_len = S->Ld, .labels = S->labels, .weights = S->weights, .ex0 = 0,
                               .global_batch = S->B, .seed = 3, .step = 11, .train = train};
}

/* mu * sum_b v . mean_t(out[b, t, :]) and its gradient added into the stack's final gradient. */
static double pooled_term(struct setup *S, int stack, int add_grad)
{
    const int d = S->dims.d_model, T = stack == VLT5_ENCODER ? S->Lt + 36 : S->Ld;
    const float *out = vlt5_final_hidden(&S->m, stack), *v = stack == VLT5_ENCODER ? S->v_enc : S->v_dec;
    float *g = vlt5_final_grad(&S->m, stack);
    double L = 0;
    for (int r = 0; r < S->B * T; r++)
        for (int j = 0; j < d; j++) {
            L += (double)S->mu * v[j] * out[(long)r * d + j] / T;
            if (add_grad)
                g[(long)r * d + j] += S->mu * v[j] / (float)T;
        }
    return L;
}

static double total_loss(struct setup *S, int add_grads)
{
    struct err e;
    struct vlt5_batch b = batch_of(S, 1);
    if (vlt5_forward(&S->m, &b, &e))
        return NAN;
    double L = vlt5_loss(&S->m, NULL);
    for (int k = 0; k < MAX_SLOTS; k++) /* the regulariser on every adapter output */
        for (long i = 0; S->ad.ha[k] && i < (long)S->ad.n[k] * S->dims.d_model; i++)
            L += 0.5 * S->ad.lam * (double)S->ad.ha[k][i] * S->ad.ha[k][i];
    return L + pooled_term(S, VLT5_ENCODER, add_grads) + pooled_term(S, VLT5_DECODER, add_grads);
}

static double loss_fn(void *ctx)
{
    return total_loss(ctx, 0);
}

static void test_hooks_gradients(struct test_ctx *t)
{
    struct setup *S = xmalloc(sizeof *S);
    if (setup(t, S, 1, 0))
        return;
    S->ad.lam = 0.3f;
    params_zero_grad(&S->p);
    const double L = total_loss(S, 1);
    CHECK(t, isfinite(L));
    vlt5_backward(&S->m);
    CHECK_INT(t, S->lora.calls, 0); /* every training forward call had its backward */
    CHECK_INT(t, params_count(&S->p, 1, PARAM_BACKBONE), 0);
    float *analytic = xmalloc(sizeof(float) * S->p.n_train);
    memcpy(analytic, S->p.grad, sizeof(float) * S->p.n_train);
    int checked = 0;
    for (int i = 0; i < S->p.n; i++) {
        const struct param_tensor *pt = &S->p.t[i];
        if (!pt->trainable)
            continue;
        long worst;
        const float steps[3] = {1e-3f, 3e-3f, 1e-2f};
        double err = fd_check_steps(loss_fn, S, params_data(&S->p, i), analytic + pt->offset, (long)pt->numel, steps,
                                    3, 6, &worst);
        CHECKF(t, err < 1e-2, "%s: relative error %g at %ld", pt->name, err, worst);
        checked++;
    }
    CHECKF(t, checked == 39, "%d tensors checked, expected 24 LoRA and 15 adapter tensors", checked);
    free(analytic);
    teardown(S);
    free(S);
}

/* Decoding with the hooks, via the cache, picks the arg-max of the teacher-forced forward on its own output. */
static void test_generate_matches_teacher_forcing(struct test_ctx *t)
{
    struct setup *S = xmalloc(sizeof *S);
    struct err e;
    if (setup(t, S, 1, 0))
        return;
    struct vlt5_batch b = batch_of(S, 0);
    int32_t out[4 * 4];
    int len[4];
    CHECKF(t, vlt5_generate(&S->m, &b, 4, out, len, &e) == 0, "%s", e.msg);
    int32_t labels[4 * 4];
    for (int i = 0; i < 16; i++) /* labels = the generated tokens up to EOS */
        labels[i] = (i % 4) < len[i / 4] ? out[i] : -100;
    b.labels = labels;
    CHECKF(t, vlt5_forward(&S->m, &b, &e) == 0, "%s", e.msg);
    const int V = S->dims.vocab;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < len[i]; k++) {
            const float *z = S->m.logits + (long)(i * 4 + k) * V;
            int best = 0;
            for (int j = 1; j < V; j++)
                if (z[j] > z[best])
                    best = j;
            CHECKF(t, best == out[i * 4 + k], "example %d step %d: decoded %d, teacher-forced arg-max %d", i, k,
                   out[i * 4 + k], best);
        }
    teardown(S);
    free(S);
}

/* No method: the same model without hooks gives other logits than with them (the hooks are live), and
 * the already-embedded visual input gives the same logits as the features. */
static void test_embedded_visual_input(struct test_ctx *t)
{
    struct setup *S = xmalloc(sizeof *S);
    struct err e;
    if (setup(t, S, 0, 0))
        return;
    struct vlt5_batch b = batch_of(S, 0);
    CHECKF(t, vlt5_forward(&S->m, &b, &e) == 0, "%s", e.msg);
    const long n = (long)S->B * S->Ld * S->dims.vocab;
    float *ref = xmalloc(sizeof(float) * n), *vis = xmalloc(sizeof(float) * 4 * 36 * 32);
    memcpy(ref, S->m.logits, sizeof(float) * n);
    CHECKF(t, vlt5_visual_embed(&S->m, S->feats, S->boxes, 4, vis, &e) == 0, "%s", e.msg);
    b.feats = b.boxes = NULL;
    b.visual = vis;
    CHECKF(t, vlt5_forward(&S->m, &b, &e) == 0, "%s", e.msg);
    CHECK(t, memcmp(ref, S->m.logits, sizeof(float) * n) == 0);
    free(ref), free(vis);
    teardown(S);
    free(S);
}

/* In full mode, y = ln (W_q + B A)^T: the hook's gradients must be G A^T and B^T G with G = dL/dW_q. */
static void test_lora_equals_weight_gradient(struct test_ctx *t)
{
    struct setup *S = xmalloc(sizeof *S);
    if (setup(t, S, 1, 1))
        return;
    params_zero_grad(&S->p);
    total_loss(S, 1);
    vlt5_backward(&S->m);
    const int d = S->dims.d_model, in = S->dims.n_heads * S->dims.d_kv;
    for (int l = 0; l < 2; l++) {
        struct vlt5_site s = {VLT5_DECODER, l, VLT5_CROSS_ATTN, VLT5_Q};
        const int k = slot_of(&s);
        const float *G = S->m.dec_w[l].cross.q.g, *A = params_data(&S->p, S->lora.hA[k]);
        const float *B = params_data(&S->p, S->lora.hB[k]);
        const float *dA = params_grad(&S->p, S->lora.hA[k]), *dB = params_grad(&S->p, S->lora.hB[k]);
        double max_g = 0, err_b = 0, err_a = 0;
        for (int i = 0; i < in * d; i++)
            max_g = fmax(max_g, fabs(G[i]));
        for (int o = 0; o < in; o++) /* dB[o, r] = sum_j G[o, j] A[r, j] */
            for (int r = 0; r < RANK; r++) {
                double v = 0;
                for (int j = 0; j < d; j++)
                    v += (double)G[o * d + j] * A[r * d + j];
                err_b = fmax(err_b, fabs(v - dB[o * RANK + r]));
            }
        for (int r = 0; r < RANK; r++) /* dA[r, j] = sum_o B[o, r] G[o, j] */
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int o = 0; o < in; o++)
                    v += (double)B[o * RANK + r] * G[o * d + j];
                err_a = fmax(err_a, fabs(v - dA[r * d + j]));
            }
        CHECKF(t, max_g > 0 && err_b <= 1e-4 * max_g * d && err_a <= 1e-4 * max_g * in,
               "layer %d: dB error %g, dA error %g, max |G| %g", l, err_b, err_a, max_g);
    }
    teardown(S);
    free(S);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"hooks_gradients", test_hooks_gradients},
        {"generate_matches_teacher_forcing", test_generate_matches_teacher_forcing},
        {"embedded_visual_input", test_embedded_visual_input},
        {"lora_equals_weight_gradient", test_lora_equals_weight_gradient},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
