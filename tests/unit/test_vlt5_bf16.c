/* model.precision bf16 against fp32, on the same weights, batch and dropout masks.
 *
 * Errors are max |bf16 - fp32| / max |fp32| over a tensor ("of scale").  Tolerances (observed values
 * in docs/architecture.md, "Numerics and tests"):
 *   - tiny model (d 64, 2+2 layers) and a t5-small-shaped one (d 512, 8 x 64, d_ff 2048, 2+2 layers,
 *     vocabulary 2000): logits 2e-2 of scale, loss relative 1e-2, the logits' gradients 5e-2 of scale,
 *     the input-embedding gradients of both stacks 1e-1 of scale and 6e-2 in norm (these random-weight
 *     gradients are that sensitive: rounding only the weights to bf16, in fp32 arithmetic, moves them
 *     by 3.5 % of scale already);
 *   - MixPHM attached (toy backbone): the gradients of its tensors 5e-2 of scale;
 *   - 40 AdamW steps of MixPHM on one batch: every step's loss within 2 % of fp32's, and the loss
 *     falls as fp32's does;
 *   - greedy decoding: the same tokens for at least 3 of 4 examples (random weights: near ties flip);
 *   - a batch split in two (each part padded to its own lengths) gives the whole batch's loss and
 *     gradients within 1e-5 relative, as in fp32: a row's products do not depend on the other rows;
 *   - the steady state creates no oneDNN primitive; packed weights release their float32 values
 *     (the tied embedding keeps them); loading again, saving the backbone and full fine-tuning are
 *     refused by name.
 * A build without oneDNN (make DNNL=0) checks only that bf16 is refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/frozen_linear.h"
#include "model/optimizer.h"
#include "model/peft/peft.h"
#include "tests/harness.h"
#include "tests/peft_toy.h"
#include "tests/rng.h"

#define R36 36

static int show(void)
{
    return getenv("MIXPHM_SHOW_ERRORS") != NULL;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, long n)
{
    double e = 0, s = 0;
    for (long i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? e / s : e;
}

struct model {
    struct params p;
    struct vlt5 m;
    struct peft *pf;
};

/* |a - b| / |b| (Euclidean norms) */
static double rel_norm(const float *a, const float *b, long n)
{
    double e = 0, s = 0;
    for (long i = 0; i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* A backbone of dims d (random weights, seed 3), with the method o (NULL: none), in `precision`. */
static int build_threads(struct test_ctx *t, struct model *x, const struct vlt5_dims *d, int precision,
                         const struct peft_options *o, int B, int Lt, int Ld, int threads)
{
    struct err e;
    memset(x, 0, sizeof *x);
    struct vlt5_options vo = {.dropout = 0.1f, .max_batch = B, .max_text = Lt, .max_target = Ld, .max_generate = Ld,
                              .precision = precision, .threads = threads};
    if (o)
        peft_backbone_options(o, &vo);
    params_init(&x->p);
    struct peft_options po;
    if (o) { /* the regulariser's grouping of the pipeline for this precision (train/config_model.c) */
        po = *o;
        po.reg_one_product = precision == VLT5_BF16;
    }
    if (vlt5_register(&x->m, &x->p, d, &vo, &e) || (o && peft_create(&x->pf, &po, &x->m, &x->p, &e))) {
        CHECKF(t, 0, "%s", e.msg);
        params_free(&x->p);
        return -1;
    }
    params_alloc(&x->p);
    vlt5_bind(&x->m);
    if (x->pf)
        peft_bind(x->pf);
    vlt5_init_random(&x->m, 3);
    if (x->pf) {
        peft_init(x->pf, 5);
        for (int i = 0; i < x->p.n; i++) /* away from the initialisation (LoRA's B = 0, copied experts) */
            if (x->p.t[i].owner == PARAM_PEFT)
                fd_fill(params_data(&x->p, i), (long)x->p.t[i].numel, 100 + (uint64_t)i, -0.3, 0.3);
        peft_eval_prepare(x->pf);
    }
    return 0;
}

static int build(struct test_ctx *t, struct model *x, const struct vlt5_dims *d, int precision,
                 const struct peft_options *o, int B, int Lt, int Ld)
{
    return build_threads(t, x, d, precision, o, B, Lt, Ld, 0);
}

static void model_free(struct model *x)
{
    peft_free(x->pf);
    vlt5_free(&x->m);
    params_free(&x->p);
}

/* A random batch: B examples, text lengths Lt - b % 3, answers Ld - b % 2, region features of F. */
struct batch {
    int32_t *text, *labels;
    float *feats, *boxes, *weights;
    struct vlt5_batch b;
};

static void batch_fill(struct batch *x, int B, int Lt, int Ld, int F, int vocab)
{
    struct test_rng r = {17};
    x->text = xcalloc((size_t)B * Lt, sizeof(int32_t)), x->labels = xcalloc((size_t)B * Ld, sizeof(int32_t));
    x->feats = xmalloc(sizeof(float) * (size_t)B * R36 * F), x->boxes = xmalloc(sizeof(float) * (size_t)B * R36 * 4);
    x->weights = xmalloc(sizeof(float) * (size_t)B);
    for (int b = 0; b < B; b++) {
        const int tl = Lt - b % 3, al = Ld - b % 2;
        for (int i = 0; i < tl; i++)
            x->text[b * Lt + i] = i == tl - 1 ? 1 : 3 + (int)(rng_next(&r) % (uint64_t)(vocab - 40));
        for (int i = 0; i < Ld; i++)
            x->labels[b * Ld + i] = i < al - 1 ? 3 + (int)(rng_next(&r) % (uint64_t)(vocab - 40)) : i == al - 1 ? 1 : -100;
        x->weights[b] = 0.3f + 0.2f * (float)b;
    }
    for (long i = 0; i < (long)B * R36 * F; i++)
        x->feats[i] = (float)rng_uniform(&r);
    for (long i = 0; i < (long)B * R36; i++) {
        const float x0 = (float)(0.5 * rng_uniform(&r)), y0 = (float)(0.5 * rng_uniform(&r));
        float *bx = x->boxes + i * 4;
        bx[0] = x0, bx[1] = y0, bx[2] = x0 + 0.4f, bx[3] = y0 + 0.3f;
    }
    x->b = (struct vlt5_batch){.B = B, .text_len = Lt, .text = x->text, .feats = x->feats, .boxes = x->boxes,
                               .target_len = Ld, .labels = x->labels, .weights = x->weights, .global_batch = B,
                               .seed = 9, .step = 4, .train = 1};
}

static void batch_free(struct batch *x)
{
    free(x->text), free(x->labels), free(x->feats), free(x->boxes), free(x->weights);
}

/* One training pass; returns the loss (NAN on failure). */
static double pass(struct test_ctx *t, struct model *x, const struct vlt5_batch *b)
{
    struct err e;
    params_zero_grad(&x->p);
    if (vlt5_forward(&x->m, b, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return NAN;
    }
    double L = vlt5_loss(&x->m, NULL);
    if (x->pf)
        L += peft_reg_step(x->pf, &x->m);
    vlt5_backward(&x->m);
    return L;
}

/* Logits, loss and the gradients of both stacks' embedded inputs, bf16 against fp32. */
static void compare_backbone(struct test_ctx *t, const char *label, const struct vlt5_dims *d, int B, int Lt, int Ld)
{
    struct model f, h;
    struct batch x;
    if (build(t, &f, d, VLT5_FP32, NULL, B, Lt, Ld))
        return;
    if (build(t, &h, d, VLT5_BF16, NULL, B, Lt, Ld)) {
        model_free(&f);
        return;
    }
    batch_fill(&x, B, Lt, Ld, d->feat_dim, d->vocab);
    f.m.input_grad = h.m.input_grad = 1;
    const double Lf = pass(t, &f, &x.b), Lh = pass(t, &h, &x.b);
    const long rows = (long)B * Ld, enc = (long)B * (Lt + R36) * d->d_model, dec = rows * d->d_model;
    const double e_logits = rel_err(h.m.logits, f.m.logits, rows * d->vocab); /* dlogits after the loss */
    /* The logits themselves: a forward without the loss. */
    struct err e;
    double e_fwd = NAN;
    if (vlt5_forward(&f.m, &x.b, &e) == 0 && vlt5_forward(&h.m, &x.b, &e) == 0)
        e_fwd = rel_err(h.m.logits, f.m.logits, rows * d->vocab);
    const double e_enc = rel_err(h.m.enc.d_emb, f.m.enc.d_emb, enc), e_dec = rel_err(h.m.dec.d_emb, f.m.dec.d_emb, dec);
    CHECKF(t, e_fwd <= 2e-2, "%s: logits differ by %.3g of scale", label, e_fwd);
    CHECKF(t, fabs(Lh - Lf) <= 1e-2 * fabs(Lf), "%s: loss %.6f, fp32 %.6f", label, Lh, Lf);
    const double n_enc = rel_norm(h.m.enc.d_emb, f.m.enc.d_emb, enc), n_dec = rel_norm(h.m.dec.d_emb, f.m.dec.d_emb, dec);
    CHECKF(t, e_enc <= 1e-1 && e_dec <= 1e-1 && n_enc <= 6e-2 && n_dec <= 6e-2,
           "%s: input gradients differ by %.3g (encoder), %.3g (decoder) of scale, %.3g and %.3g in norm", label, e_enc,
           e_dec, n_enc, n_dec);
    CHECKF(t, e_logits <= 5e-2, "%s: logit gradients differ by %.3g of scale", label, e_logits);
    if (show())
        fprintf(stderr, "%s: logits %.3g, loss %.3g relative, d_logits %.3g, d_emb enc %.3g dec %.3g (norms %.3g %.3g)\n",
                label, e_fwd, fabs(Lh - Lf) / fabs(Lf), e_logits, e_enc, e_dec, n_enc, n_dec);
    /* greedy decoding */
    int32_t *tf = xcalloc((size_t)B * Ld, sizeof(int32_t)), *th = xcalloc((size_t)B * Ld, sizeof(int32_t));
    int *lf = xcalloc((size_t)B, sizeof(int)), *lh = xcalloc((size_t)B, sizeof(int));
    struct vlt5_batch eb = x.b;
    eb.train = 0;
    int same = 0;
    if (vlt5_generate(&f.m, &eb, Ld, tf, lf, &e) == 0 && vlt5_generate(&h.m, &eb, Ld, th, lh, &e) == 0)
        for (int b = 0; b < B; b++)
            same += lf[b] == lh[b] && memcmp(tf + b * Ld, th + b * Ld, sizeof(int32_t) * (size_t)Ld) == 0;
    CHECKF(t, 4 * same >= 3 * B, "%s: greedy decoding gives fp32's tokens for %d of %d examples", label, same, B);
    if (show())
        fprintf(stderr, "%s: decoding: %d of %d examples as fp32\n", label, same, B);
    /* steady state: the same step and decoding again create no primitive */
    const long created = bf16_ctx_primitives_created(h.m.frozen->ctx);
    pass(t, &h, &x.b);
    vlt5_generate(&h.m, &eb, Ld, th, lh, &e);
    CHECK_INT(t, bf16_ctx_primitives_created(h.m.frozen->ctx), created);
    CHECK_INT(t, bf16_ctx_reference_kernels(h.m.frozen->ctx), 0);
    free(tf), free(th), free(lf), free(lh);
    batch_free(&x);
    model_free(&f), model_free(&h);
}

static void test_tiny(struct test_ctx *t)
{
    struct vlt5_dims d;
    vlt5_preset("tiny", &d);
    d.vocab = 300, d.feat_dim = 64;
    compare_backbone(t, "tiny", &d, 4, 9, 5);
}

static void test_t5_small_shaped(struct test_ctx *t)
{
    struct vlt5_dims d;
    vlt5_preset("t5-small", &d);
    d.n_enc_layers = d.n_dec_layers = 2, d.vocab = 2000;
    compare_backbone(t, "t5-small-shaped", &d, 4, 12, 6);
}

/* MixPHM's gradients through the bf16 backbone (regulariser and dropout on). */
static void test_mixphm_gradients(struct test_ctx *t)
{
    struct vlt5_dims d;
    toy_dims(&d);
    struct peft_options o;
    peft_toy_options(&o, PEFT_MIXPHM, ROUTING_NONE);
    o.expert_rule = PEFT_EXPERTS_FIXED;
    struct model f, h;
    if (build(t, &f, &d, VLT5_FP32, &o, TOY_MAX, TOY_TEXT, TOY_ANSWER))
        return;
    if (build(t, &h, &d, VLT5_BF16, &o, TOY_MAX, TOY_TEXT, TOY_ANSWER)) {
        model_free(&f);
        return;
    }
    struct toy_data *x = xmalloc(sizeof *x);
    toy_data_fill(x);
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch b = toy_batch(x, 0, TOY_MAX, TOY_MAX, text, labels);
    const double Lf = pass(t, &f, &b), Lh = pass(t, &h, &b);
    const double eg = rel_err(h.p.grad, f.p.grad, (long)f.p.n_train);
    CHECKF(t, fabs(Lh - Lf) <= 1e-2 * fabs(Lf), "loss with the regulariser %.6f, fp32 %.6f", Lh, Lf);
    CHECKF(t, eg <= 5e-2, "MixPHM's gradients differ by %.3g of scale", eg);
    if (show())
        fprintf(stderr, "mixphm: loss %.3g relative, gradients %.3g of scale\n", fabs(Lh - Lf) / fabs(Lf), eg);
    free(x);
    model_free(&f), model_free(&h);
}

/* A short MixPHM training run: bf16's losses track fp32's. */
static void test_mixphm_training(struct test_ctx *t)
{
    const struct adamw_hparams hp = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    struct vlt5_dims d;
    toy_dims(&d);
    struct peft_options o;
    peft_toy_options(&o, PEFT_MIXPHM, ROUTING_NONE);
    o.mixphm.red_weight = 0.2f, o.mixphm.mi_weight = 0.04f, o.mixphm.phm_init_std = 0.01f;
    struct model m[2];
    if (build(t, &m[0], &d, VLT5_FP32, &o, TOY_MAX, TOY_TEXT, TOY_ANSWER))
        return;
    if (build(t, &m[1], &d, VLT5_BF16, &o, TOY_MAX, TOY_TEXT, TOY_ANSWER)) {
        model_free(&m[0]);
        return;
    }
    struct toy_data *x = xmalloc(sizeof *x);
    toy_data_fill(x);
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch b = toy_batch(x, 0, TOY_MAX, TOY_MAX, text, labels);
    enum { STEPS = 40 };
    double L[2][STEPS], worst = 0;
    for (int s = 0; s < STEPS; s++) {
        b.step = (uint64_t)s;
        for (int k = 0; k < 2; k++) {
            peft_used_clear(m[k].pf);
            L[k][s] = pass(t, &m[k], &b);
            params_clip_grad(&m[k].p, 5.0);
            params_adamw_step(&m[k].p, 1e-2, 0.01, &hp, m[k].pf->used);
        }
        worst = fmax(worst, fabs(L[1][s] - L[0][s]) / fabs(L[0][s]));
    }
    CHECKF(t, worst <= 2e-2, "bf16's losses differ from fp32's by up to %.3g relative", worst);
    CHECKF(t, L[1][STEPS - 1] < 0.8 * L[1][0] && L[0][STEPS - 1] < 0.8 * L[0][0],
           "losses fall: fp32 %.4f -> %.4f, bf16 %.4f -> %.4f", L[0][0], L[0][STEPS - 1], L[1][0], L[1][STEPS - 1]);
    if (show())
        fprintf(stderr, "training: fp32 %.4f -> %.4f, bf16 %.4f -> %.4f, largest step difference %.3g\n", L[0][0],
                L[0][STEPS - 1], L[1][0], L[1][STEPS - 1], worst);
    free(x);
    model_free(&m[0]), model_free(&m[1]);
}

/* The batch split in two, each half padded to its own lengths, sums to the whole batch (BitFit: every
 * block's biases train through the frozen bf16 products). */
static void test_split_batch(struct test_ctx *t)
{
    struct vlt5_dims d;
    toy_dims(&d);
    struct peft_options o;
    peft_toy_options(&o, PEFT_BITFIT, ROUTING_NONE);
    struct model h;
    if (build(t, &h, &d, VLT5_BF16, &o, TOY_MAX, TOY_TEXT, TOY_ANSWER))
        return;
    struct toy_data *x = xmalloc(sizeof *x);
    toy_data_fill(x);
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch whole = toy_batch(x, 0, TOY_MAX, TOY_MAX, text, labels);
    const double L = pass(t, &h, &whole);
    float *g = xmalloc(sizeof(float) * h.p.n_train), *g2 = xcalloc(h.p.n_train, sizeof(float));
    memcpy(g, h.p.grad, sizeof(float) * h.p.n_train);
    double L2 = 0;
    for (int part = 0; part < 2; part++) {
        struct vlt5_batch b = toy_batch(x, part ? 3 : 0, part ? TOY_MAX - 3 : 3, TOY_MAX, text, labels);
        L2 += pass(t, &h, &b);
        for (size_t i = 0; i < h.p.n_train; i++)
            g2[i] += h.p.grad[i];
    }
    const double eg = rel_err(g2, g, (long)h.p.n_train);
    CHECK_NEAR(t, L2, L, 0, 1e-5);
    CHECKF(t, eg <= 1e-5, "split batch: gradients differ by %.3g of scale", eg);
    if (show())
        fprintf(stderr, "split batch: loss %.3g relative, gradients %.3g of scale\n", fabs(L2 - L) / fabs(L), eg);
    free(g), free(g2), free(x);
    model_free(&h);
}

static long differing(const float *a, const float *b, long n)
{
    long k = 0;
    for (long i = 0; i < n; i++)
        k += memcmp(&a[i], &b[i], sizeof *a) != 0;
    return k;
}

/* The model's own loops split over threads (model/vlt5_parallel.h) give one thread's bits: loss,
 * gradients (MixPHM with its regulariser, dropout on) and greedy decoding, on 1 and 3 threads (3 does
 * not divide the rows evenly).  t5-small's widths, so that every loop is above the size it is split at. */
static void test_threads_same_bits(struct test_ctx *t)
{
    struct vlt5_dims d;
    vlt5_preset("t5-small", &d);
    d.n_enc_layers = d.n_dec_layers = 2, d.vocab = 2000;
    struct peft_options o;
    peft_toy_options(&o, PEFT_MIXPHM, ROUTING_NONE);
    o.expert_rule = PEFT_EXPERTS_FIXED;
    enum { B = 5, LT = 12, LD = 6 };
    struct model m[2];
    if (build_threads(t, &m[0], &d, VLT5_BF16, &o, B, LT, LD, 1))
        return;
    if (build_threads(t, &m[1], &d, VLT5_BF16, &o, B, LT, LD, 3)) {
        model_free(&m[0]);
        return;
    }
    CHECKF(t, m[0].m.threads == 1 && m[1].m.threads == 3, "threads %d and %d, asked for 1 and 3", m[0].m.threads,
           m[1].m.threads);
    struct batch x;
    batch_fill(&x, B, LT, LD, d.feat_dim, d.vocab);
    double L[2];
    int32_t out[2][B * LD];
    int len[2][B];
    for (int k = 0; k < 2; k++) {
        L[k] = pass(t, &m[k], &x.b);
        struct err e;
        CHECKF(t, vlt5_generate(&m[k].m, &x.b, LD, out[k], len[k], &e) == 0, "generate: %s", e.msg);
    }
    CHECKF(t, memcmp(&L[0], &L[1], sizeof L[0]) == 0, "loss %.17g on 1 thread, %.17g on 3", L[0], L[1]);
    const long n = (long)m[0].p.n_train, bad = differing(m[0].p.grad, m[1].p.grad, n);
    CHECKF(t, bad == 0 && n > 0, "%ld of %ld gradients differ between 1 and 3 threads", bad, n);
    CHECKF(t, memcmp(out[0], out[1], sizeof out[0]) == 0 && memcmp(len[0], len[1], sizeof len[0]) == 0,
           "greedy decoding differs between 1 and 3 threads");
    if (show())
        fprintf(stderr, "threads: loss %.9g, %ld gradients, the same bits\n", L[0], n);
    batch_free(&x);
    model_free(&m[0]), model_free(&m[1]);
}

/* Packed weights give back their float32 values; what cannot work afterwards is refused by name. */
static void test_memory_and_refusals(struct test_ctx *t)
{
    struct vlt5_dims d; /* t5-small's blocks, one of each: large enough for the layouts' padding not to count */
    vlt5_preset("t5-small", &d);
    d.n_enc_layers = d.n_dec_layers = 1, d.vocab = 1000;
    struct vlt5_options vo = {.dropout = 0.1f, .max_batch = 2, .max_text = 4, .max_target = 3, .max_generate = 3,
                              .precision = VLT5_BF16, .train_backbone = 1};
    struct params p;
    struct vlt5 m;
    struct err e;
    params_init(&p);
    CHECK_INT(t, vlt5_register(&m, &p, &d, &vo, &e), -1);
    CHECK_CONTAINS(t, e.msg, "full fine-tuning trains the backbone: use model.precision fp32");
    params_free(&p);
    vo.train_backbone = 0;
    if (!bf16_runs_here()) { /* refused by name: a build without oneDNN, or a CPU without AVX-512 */
        params_init(&p);
        CHECK_INT(t, vlt5_register(&m, &p, &d, &vo, &e), -1);
        CHECK_CONTAINS(t, e.msg, bf16_built() ? "has no bf16 matmul for this CPU" : "built without it (make DNNL=0)");
        params_free(&p);
        return;
    }
    params_init(&p);
    if (vlt5_register(&m, &p, &d, &vo, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    params_alloc(&p);
    vlt5_bind(&m);
    const size_t frozen_fp32 = p.n_frozen; /* what stays in the shared buffer: norms, biases, embedding... */
    vlt5_init_random(&m, 3);
    char path[600];
    snprintf(path, sizeof path, "%s/w.h5", t->tmpdir);
    CHECKF(t, vlt5_save(&m, path, &e) == 0, "before packing the backbone saves: %s", e.msg);
    CHECKF(t, vlt5_pack_weights(&m, &e) == 0, "%s", e.msg);
    CHECK(t, m.enc_w[0].self.q.w == NULL && m.dec_w[1].ffn.wo.w == NULL && m.dec_w[0].cross.v.w == NULL);
    CHECK(t, m.feat_w.w == NULL && m.shared.w != NULL && m.pos_w.w != NULL);
    CHECK(t, p.n_frozen == frozen_fp32);
    /* released: 6 + 10 block linears and the feature projection; packed too: the LM head */
    const size_t in = (size_t)d.n_heads * d.d_kv, blocks = 12 * in * d.d_model + 4 * (size_t)d.d_model * d.d_ff;
    const size_t released = sizeof(float) * (blocks + (size_t)d.d_model * d.feat_dim);
    CHECK_INT(t, m.frozen->fp32_released, released);
    const double packed = (double)released + sizeof(float) * (double)d.vocab * d.d_model;
    CHECKF(t, m.frozen->bf16_bytes <= 0.51 * packed, "bf16 weights %zu bytes, float32 %.0f", m.frozen->bf16_bytes,
           packed);
    CHECK_INT(t, vlt5_load(&m, path, &e), -1);
    CHECK_CONTAINS(t, e.msg, "already packed");
    CHECK_INT(t, vlt5_save(&m, path, &e), -1);
    CHECK_CONTAINS(t, e.msg, "released once converted");
    char line[512];
    vlt5_precision_describe(&m, line, sizeof line);
    CHECK_CONTAINS(t, line, "bf16: oneDNN");
    CHECK_CONTAINS(t, line, "float32 released");
    vlt5_free(&m);
    params_free(&p);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"memory_and_refusals", test_memory_and_refusals},
        {"tiny", test_tiny},
        {"t5_small_shaped", test_t5_small_shaped},
        {"mixphm_gradients", test_mixphm_gradients},
        {"mixphm_training", test_mixphm_training},
        {"split_batch", test_split_batch},
        {"threads_same_bits", test_threads_same_bits},
    };
    if (!bf16_built())
        printf("# skipped the comparisons with fp32: built without oneDNN (make DNNL=0)\n");
    else if (!bf16_runs_here())
        printf("# skipped the comparisons with fp32: oneDNN has no bf16 matmul on this CPU (ISA %s)\n",
               bf16_cpu_isa());
    return test_main(tests, bf16_runs_here() ? TEST_COUNT(tests) : 1, argc, argv);
}
