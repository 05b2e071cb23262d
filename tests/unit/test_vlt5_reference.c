/* The C model against the PyTorch reference (tests/reference/vlt5_reference.py, float64, dropout off).
 *
 * Tolerances (float32 against float64, weights identical): every compared array must satisfy
 *     max |c - ref| <= 2e-5 * max |ref|        (outputs, logits, gradients)
 * the loss to relative 1e-5, greedy tokens and lengths exactly, relative position buckets exactly, and
 * AdamW parameters to relative 1e-6 (the reference runs torch in float32 there, as HF does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "model/optimizer.h"
#include "model/params_h5.h"
#include "model/vlt5.h"
#include "nn/relpos.h"
#include "tests/harness.h"
#include "tests/unit/fixture_weights.h"
#include "tests/unit/reference_fixture.h"

/* The fixture's model with its weights; full: every backbone tensor trainable. */
static int build(struct test_ctx *t, struct fixture *fx, struct params *p, struct vlt5 *m, int full)
{
    struct err e;
    struct vlt5_options o = {.train_backbone = full, .visual_bias = (int)fx->visual_bias, .dropout = 0.1f,
                             .max_batch = 4, .max_text = 16, .max_target = 8, .max_generate = 19};
    if (vlt5_build(m, p, &fx->dims, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    fixture_fill(p, &fx->dims, (uint64_t)fx->seed);
    return 0;
}

/* A fixture with its model built and filled. */
struct ref_case {
    struct fixture fx;
    struct params p;
    struct vlt5 m;
    struct vlt5_batch b;
};

static int case_open(struct test_ctx *t, const char *name, int full, struct ref_case *c);

static void case_close(struct ref_case *c)
{
    vlt5_free(&c->m);
    params_free(&c->p);
    fixture_close(&c->fx);
}

static struct vlt5_batch batch_of(const struct fixture *fx)
{
    return (struct vlt5_batch){.B = fx->B, .text_len = fx->Lt, .text = fx->text, .feats = fx->feats,
                               .boxes = fx->boxes, .target_len = fx->Ld, .labels = fx->labels,
                               .weights = fx->weights, .ex0 = 0, .global_batch = fx->global_batch,
                               .seed = 1, .step = 1, .train = 0};
}

static int case_open(struct test_ctx *t, const char *name, int full, struct ref_case *c)
{
    if (fixture_open(t, name, &c->fx) || build(t, &c->fx, &c->p, &c->m, full))
        return -1;
    c->b = batch_of(&c->fx);
    return 0;
}


static void test_relpos_buckets(struct test_ctx *t)
{
    struct fixture fx;
    if (fixture_open(t, "vlt5_a.h5", &fx))
        return;
    int32_t *bi = read_ints(t, &fx, "bucket_bidirectional", 601), *ca = read_ints(t, &fx, "bucket_causal", 601);
    for (int r = -300; bi && ca && r <= 300; r++) {
        CHECKF(t, relpos_bucket(r, 1, 32, 128) == bi[r + 300], "bidirectional %d: %d vs torch %d", r,
               relpos_bucket(r, 1, 32, 128), bi[r + 300]);
        CHECKF(t, relpos_bucket(r, 0, 32, 128) == ca[r + 300], "causal %d: %d vs torch %d", r,
               relpos_bucket(r, 0, 32, 128), ca[r + 300]);
    }
    free(bi), free(ca);
    fixture_close(&fx);
}

static void test_forward(struct test_ctx *t)
{
    struct ref_case *c = xmalloc(sizeof *c);
    struct err e;
    if (case_open(t, "vlt5_a.h5", 0, c) == 0) {
        CHECKF(t, vlt5_forward(&c->m, &c->b, &e) == 0, "%s", e.msg);
        const long d = c->fx.dims.d_model, T = c->fx.Lt + c->fx.dims.n_regions;
        compare_dataset(t, &c->fx, "enc_out", vlt5_final_hidden(&c->m, VLT5_ENCODER), c->fx.B * T * d);
        compare_dataset(t, &c->fx, "dec_out", vlt5_final_hidden(&c->m, VLT5_DECODER), (long)c->fx.B * c->fx.Ld * d);
        compare_dataset(t, &c->fx, "logits", c->m.logits, (long)c->fx.B * c->fx.Ld * c->fx.dims.vocab);
        float ex[4];
        const double loss = vlt5_loss(&c->m, ex);
        float *ref = read_floats(t, &c->fx, "loss", 1);
        if (ref)
            CHECK_NEAR(t, loss, ref[0], 0, 1e-5);
        free(ref);
        compare_dataset(t, &c->fx, "example_loss", ex, c->fx.B);
        case_close(c);
    }
    free(c);
}

/* Frozen backbone: no gradient buffers at all, yet input gradients flow through every frozen weight. */
static void test_frozen_input_gradients(struct test_ctx *t)
{
    struct ref_case *c = xmalloc(sizeof *c);
    struct err e;
    if (case_open(t, "vlt5_a.h5", 0, c) == 0) {
        CHECK_INT(t, c->p.n_train, 0);
        CHECK(t, c->p.grad == NULL && c->p.adam_m == NULL && c->p.adam_v == NULL);
        CHECK(t, c->m.shared.g == NULL && c->m.enc_w[0].self.q.g == NULL && c->m.dec_w[1].ffn.wo.g == NULL);
        c->m.input_grad = 1;
        CHECKF(t, vlt5_forward(&c->m, &c->b, &e) == 0, "%s", e.msg);
        vlt5_loss(&c->m, NULL);
        vlt5_backward(&c->m);
        const long d = c->fx.dims.d_model, T = c->fx.Lt + c->fx.dims.n_regions;
        compare_dataset(t, &c->fx, "d_enc_emb", c->m.enc.d_emb, c->fx.B * T * d);
        compare_dataset(t, &c->fx, "d_dec_emb", c->m.dec.d_emb, (long)c->fx.B * c->fx.Ld * d);
        case_close(c);
    }
    free(c);
}

static void test_greedy(struct test_ctx *t)
{
    struct ref_case *c = xmalloc(sizeof *c);
    struct err e;
    if (case_open(t, "vlt5_a.h5", 0, c) == 0) {
        int32_t out[4 * 19];
        int len[4];
        CHECKF(t, vlt5_generate(&c->m, &c->b, 19, out, len, &e) == 0, "%s", e.msg);
        int32_t *ref = read_ints(t, &c->fx, "greedy", (long)c->fx.B * 19), *ref_len = read_ints(t, &c->fx, "greedy_len", c->fx.B);
        for (int i = 0; ref && ref_len && i < c->fx.B; i++) {
            CHECKF(t, len[i] == ref_len[i], "example %d: length %d, reference %d", i, len[i], ref_len[i]);
            for (int k = 0; k < 19; k++)
                CHECKF(t, out[i * 19 + k] == ref[i * 19 + k], "example %d token %d: %d, reference %d", i, k,
                       out[i * 19 + k], ref[i * 19 + k]);
        }
        free(ref), free(ref_len);
        case_close(c);
    }
    free(c);
}

static void test_full_gradients(struct test_ctx *t)
{
    struct ref_case *c = xmalloc(sizeof *c);
    struct err e;
    if (case_open(t, "vlt5_b.h5", 1, c) == 0) {
        CHECK_INT(t, params_count(&c->p, 0, PARAM_ANY), 0); /* everything trains */
        CHECKF(t, vlt5_forward(&c->m, &c->b, &e) == 0, "%s", e.msg);
        const double loss = vlt5_loss(&c->m, NULL);
        float *ref = read_floats(t, &c->fx, "loss", 1);
        if (ref)
            CHECK_NEAR(t, loss, ref[0], 0, 1e-5);
        free(ref);
        params_zero_grad(&c->p);
        vlt5_backward(&c->m);
        int compared = 0;
        for (int i = 0; i < c->p.n; i++) {
            char name[PARAM_NAME_MAX + 8];
            snprintf(name, sizeof name, "grad.%s", c->p.t[i].name);
            CHECKF(t, params_grad(&c->p, i) != NULL, "%s has no gradient", c->p.t[i].name);
            if (params_grad(&c->p, i))
                compare_dataset(t, &c->fx, name, params_grad(&c->p, i), (long)c->p.t[i].numel), compared++;
        }
        CHECK_INT(t, compared, 54);
        case_close(c);
    }
    free(c);
}

/* tools/convert_vlt5.py's output for a FewVLM-style checkpoint loads with every value in place. */
static void test_converted_checkpoint(struct test_ctx *t)
{
    struct fixture fx;
    if (fixture_open(t, "convert_c.h5", &fx))
        return;
    for (int vb = 0; vb <= 1; vb++) {
        struct params p;
        struct vlt5 m;
        struct err e;
        struct vlt5_options o = {.visual_bias = vb, .max_batch = 1, .max_text = 4, .max_target = 2, .max_generate = 2};
        if (vlt5_build(&m, &p, &fx.dims, &o, &e)) {
            CHECKF(t, 0, "%s", e.msg);
            return;
        }
        CHECKF(t, vlt5_load(&m, fx.path, &e) == 0, "visual_bias %d: %s", vb, e.msg);
        for (int i = 0; i < p.n; i++) {
            float *want = xmalloc(sizeof(float) * p.t[i].numel);
            fixture_tensor(p.t[i].name, want, p.t[i].numel, &fx.dims, 7);
            CHECKF(t, memcmp(want, params_data(&p, i), sizeof(float) * p.t[i].numel) == 0, "%s differs",
                   p.t[i].name);
            free(want);
        }
        CHECK_INT(t, p.n, 33 - 2 * !vb);
        vlt5_free(&m);
        params_free(&p);
    }
    fixture_close(&fx);
}

static void test_adamw_matches_torch(struct test_ctx *t)
{
    struct fixture fx;
    struct err e;
    memset(&fx, 0, sizeof fx);
    snprintf(fx.path, sizeof fx.path, FIXTURES "adamw.h5");
    fx.f = h5io_open(fx.path, &e);
    if (fx.f < 0) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    double lr = 0, wd = 0, clip = 0;
    long total = 0, warmup = 0;
    h5io_read_attr_f64(fx.f, "lr", &lr, &e), h5io_read_attr_f64(fx.f, "weight_decay", &wd, &e);
    h5io_read_attr_f64(fx.f, "clip", &clip, &e);
    CHECK(t, h5io_read_attr_i64(fx.f, "total", &total, &e) == 0 &&
                 h5io_read_attr_i64(fx.f, "warmup", &warmup, &e) == 0);
    struct params p;
    params_init(&p);
    const char *names[] = {"a.weight", "b.bias", "c.LayerNorm.weight"};
    const int shapes[3][2] = {{3, 4}, {5, 0}, {4, 0}};
    struct vlt5_dims ones = {.d_model = 1, .n_heads = 1, .d_kv = 1, .d_ff = 1, .feat_dim = 1};
    for (int i = 0; i < 3; i++)
        params_add(&p, names[i], shapes[i][1] ? 2 : 1, shapes[i], PARAM_PEFT, 1, &e);
    params_alloc(&p);
    for (int i = 0; i < 3; i++)
        fixture_tensor(names[i], params_data(&p, i), p.t[i].numel, &ones, 3);
    float *norms = read_floats(t, &fx, "grad_norm", total);
    const struct adamw_hparams h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    for (long s = 0; norms && s < total; s++) {
        for (int i = 0; i < 3; i++) {
            fixture_tensor(names[i], params_grad(&p, i), p.t[i].numel, &ones, 100 + (uint64_t)s);
            for (size_t k = 0; k < p.t[i].numel; k++)
                params_grad(&p, i)[k] *= (float)(1.0 + 3.0 * (double)(s % 3));
        }
        CHECK_NEAR(t, params_clip_grad(&p, clip), norms[s], 0, 1e-6);
        params_adamw_step(&p, lr_linear_warmup(lr, s, warmup, total), wd, &h, NULL);
        for (int i = 0; i < 3; i++) {
            char name[64];
            snprintf(name, sizeof name, "after.%s", names[i]);
            float *ref = read_floats(t, &fx, name, total * (long)p.t[i].numel);
            for (size_t k = 0; ref && k < p.t[i].numel; k++)
                CHECKF(t, fabsf(params_data(&p, i)[k] - ref[s * (long)p.t[i].numel + k]) <=
                              1e-6f * fabsf(ref[s * (long)p.t[i].numel + k]) + 1e-9f,
                       "step %ld %s[%zu]: %.9g vs torch %.9g", s, names[i], k, params_data(&p, i)[k],
                       ref[s * (long)p.t[i].numel + k]);
            free(ref);
        }
    }
    free(norms);
    params_free(&p);
    h5io_close_quiet(fx.f);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"relpos_buckets", test_relpos_buckets},
        {"forward", test_forward},
        {"frozen_input_gradients", test_frozen_input_gradients},
        {"greedy", test_greedy},
        {"full_gradients", test_full_gradients},
        {"converted_checkpoint", test_converted_checkpoint},
        {"adamw_matches_torch", test_adamw_matches_torch},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
