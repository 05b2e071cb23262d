/* VL-T5 properties that need no reference: a batch split over "ranks" gives the gradients of the whole
 * batch (dropout on, each part padded to its own length), full-model gradients with dropout on against
 * central differences, T5's initialisation statistics, the answer sampler, and input errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vlt5.h"
#include "model/vqa_target.h"
#include "tests/fd.h"
#include "tests/vlt5_toy.h"
#include "tests/harness.h"

struct toy {
    struct params p;
    struct vlt5 m;
    struct vlt5_dims dims;
    struct toy_data x;
};

static int toy_init(struct test_ctx *t, struct toy *z, int full)
{
    struct err e;
    memset(z, 0, sizeof *z);
    toy_dims(&z->dims);
    struct vlt5_options o = {.train_backbone = full, .dropout = 0.1f, .max_batch = 4, .max_text = TOY_TEXT,
                             .max_target = TOY_ANSWER, .max_generate = 4};
    if (vlt5_build(&z->m, &z->p, &z->dims, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    vlt5_init_random(&z->m, 99);
    toy_data_fill(&z->x);
    return 0;
}

static void toy_free(struct toy *z)
{
    vlt5_free(&z->m);
    params_free(&z->p);
}

static double step(struct toy *z, const struct vlt5_batch *b)
{
    struct err e;
    if (vlt5_forward(&z->m, b, &e))
        return NAN;
    double L = vlt5_loss(&z->m, NULL);
    vlt5_backward(&z->m);
    return L;
}

/* Ranks {0, 1} and {2, 3} each see their examples with the global batch size: their losses and
 * gradients add up to the whole batch's (relative 1e-5: only float summation order differs). */
static void test_split_batch_sums(struct test_ctx *t)
{
    struct toy *z = xmalloc(sizeof *z);
    if (toy_init(t, z, 1))
        return;
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    params_zero_grad(&z->p);
    struct vlt5_batch all = toy_batch(&z->x, 0, 4, 4, text, labels);
    const double L_all = step(z, &all);
    float *g_all = xmalloc(sizeof(float) * z->p.n_train);
    memcpy(g_all, z->p.grad, sizeof(float) * z->p.n_train);
    params_zero_grad(&z->p);
    struct vlt5_batch first = toy_batch(&z->x, 0, 2, 4, text, labels);
    double L_split = step(z, &first);
    CHECK_INT(t, first.text_len, 7);
    struct vlt5_batch second = toy_batch(&z->x, 2, 2, 4, text, labels);
    CHECK_INT(t, second.text_len, 5); /* padded differently than in the whole batch */
    L_split += step(z, &second);
    CHECK_NEAR(t, L_split, L_all, 0, 1e-5);
    double max_g = 0, max_err = 0;
    for (size_t i = 0; i < z->p.n_train; i++) {
        max_g = fmax(max_g, fabs(g_all[i]));
        max_err = fmax(max_err, fabs((double)g_all[i] - z->p.grad[i]));
    }
    CHECKF(t, max_g > 0 && max_err <= 1e-5 * max_g, "gradients differ by %g (max |g| %g)", max_err, max_g);
    /* dropout is live: another step draws other masks and another loss */
    struct vlt5_batch other = toy_batch(&z->x, 0, 4, 4, text, labels);
    other.step = 4;
    CHECK(t, fabs(step(z, &other) - L_all) > 1e-4);
    other.step = 3;
    CHECK_NEAR(t, step(z, &other), L_all, 0, 0); /* and the same step draws the same ones */
    free(g_all);
    toy_free(z);
    free(z);
}

struct fd_ctx {
    struct toy *z;
    struct vlt5_batch b;
};

static double fd_loss(void *p)
{
    struct fd_ctx *c = p;
    struct err e;
    if (vlt5_forward(&c->z->m, &c->b, &e))
        return NAN;
    return vlt5_loss(&c->z->m, NULL);
}

/* Full fine-tuning with dropout on: sampled entries of every tensor against central differences (best of
 * h = 1e-3, 3e-3, 1e-2 per entry, relative error <= 1e-2 at the gradient's scale; see tests/fd.h). */
static void test_full_gradients_with_dropout(struct test_ctx *t)
{
    struct toy *z = xmalloc(sizeof *z);
    if (toy_init(t, z, 1))
        return;
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct fd_ctx c = {z, toy_batch(&z->x, 0, 4, 4, text, labels)};
    params_zero_grad(&z->p);
    step(z, &c.b);
    float *g = xmalloc(sizeof(float) * z->p.n_train);
    memcpy(g, z->p.grad, sizeof(float) * z->p.n_train);
    const float steps[3] = {1e-3f, 3e-3f, 1e-2f};
    for (int i = 0; i < z->p.n; i++) {
        const struct param_tensor *pt = &z->p.t[i];
        long worst;
        double err = fd_check_steps(fd_loss, &c, params_data(&z->p, i), g + pt->offset, (long)pt->numel, steps, 3, 4,
                                    &worst);
        CHECKF(t, err < 1e-2, "%s: relative error %g at %ld", pt->name, err, worst);
    }
    free(g);
    toy_free(z);
    free(z);
}

/* T5's _init_weights (factor 1): std of q (d d_kv)^-1/2, k and v d^-1/2, o (H d_kv)^-1/2, wi d^-1/2,
 * wo d_ff^-1/2, embeddings 1, relative bias d^-1/2; norms 1.  Sample stds within 5 %. */
static void test_init_statistics(struct test_ctx *t)
{
    struct vlt5_dims d;
    vlt5_preset("tiny", &d);
    d.vocab = 400, d.feat_dim = 16;
    struct params p;
    struct vlt5 m;
    struct err e;
    struct vlt5_options o = {.visual_bias = 1, .max_batch = 1, .max_text = 1, .max_target = 1, .max_generate = 1};
    if (vlt5_build(&m, &p, &d, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    vlt5_init_random(&m, 1);
    struct {
        const float *w;
        long n;
        double std;
        const char *what;
    } c[] = {
        {m.enc_w[0].self.q.w, 64L * 64, 1.0 / sqrt(64.0 * 16), "q"},
        {m.dec_w[1].cross.k.w, 64L * 64, 1.0 / 8.0, "k"},
        {m.enc_w[1].self.o.w, 64L * 64, 1.0 / 8.0, "o"},
        {m.dec_w[0].ffn.wi.w, 128L * 64, 1.0 / 8.0, "wi"},
        {m.enc_w[0].ffn.wo.w, 128L * 64, 1.0 / sqrt(128.0), "wo"},
        {m.shared.w, 400L * 64, 1.0, "shared"},
        {m.feat_w.w, 64L * 16, 0.25 / sqrt(3.0), "feat linear (U(-1/4, 1/4))"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double s = 0, ss = 0;
        for (long k = 0; k < c[i].n; k++)
            s += c[i].w[k], ss += (double)c[i].w[k] * c[i].w[k];
        const double mean = s / c[i].n, sd = sqrt(ss / c[i].n - mean * mean);
        CHECKF(t, fabs(sd / c[i].std - 1) < 0.05 && fabs(mean) < 5 * c[i].std / sqrt((double)c[i].n),
               "%s: mean %g std %g, expected 0 and %g", c[i].what, mean, sd, c[i].std);
    }
    CHECK(t, m.enc_final_ln.w[5] == 1.0f && m.dec_w[1].cross.ln.w[0] == 1.0f && m.feat_ln.w[3] == 1.0f);
    /* the same seed gives the same weights; another seed others */
    float keep = m.dec_w[1].ffn.wo.w[17];
    vlt5_init_random(&m, 1);
    CHECK(t, keep == m.dec_w[1].ffn.wo.w[17]);
    vlt5_init_random(&m, 2);
    CHECK(t, keep != m.dec_w[1].ffn.wo.w[17]);
    vlt5_free(&m);
    params_free(&p);
}

static void test_answer_sampling(struct test_ctx *t)
{
    const float scores[4] = {0.3f, 0.0f, 0.9f, 0.6f};
    int count[4] = {0, 0, 0, 0};
    for (uint64_t ex = 0; ex < 18000; ex++) {
        int k = vqa_sample_answer(42, 3, ex, scores, 4);
        CHECK(t, k >= 0 && k < 4);
        if (k >= 0 && k < 4)
            count[k]++;
    }
    /* expected 3000, 0, 9000, 6000; sd <= 67 */
    CHECKF(t, abs(count[0] - 3000) < 350 && count[1] == 0 && abs(count[2] - 9000) < 350 && abs(count[3] - 6000) < 350,
           "counts %d %d %d %d", count[0], count[1], count[2], count[3]);
    CHECK_INT(t, vqa_sample_answer(42, 3, 7, scores, 4), vqa_sample_answer(42, 3, 7, scores, 4));
    int changes = 0;
    for (uint64_t ep = 0; ep < 50; ep++)
        changes += vqa_sample_answer(42, ep, 7, scores, 4) != vqa_sample_answer(42, ep + 1, 7, scores, 4);
    CHECKF(t, changes > 10, "the answer of an example changed %d times in 50 epochs", changes);
    const float zeros[3] = {0, 0, 0};
    CHECK_INT(t, vqa_sample_answer(42, 0, 0, zeros, 3), -1);
    const float one[1] = {1.0f};
    CHECK_INT(t, vqa_sample_answer(1, 2, 3, one, 1), 0);
}

static void test_batch_errors(struct test_ctx *t)
{
    struct toy *z = xmalloc(sizeof *z);
    struct err e;
    if (toy_init(t, z, 0))
        return;
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch b = toy_batch(&z->x, 0, 4, 4, text, labels);
    text[5] = 50;
    CHECK_INT(t, vlt5_forward(&z->m, &b, &e), -1);
    CHECK_CONTAINS(t, e.msg, "example 0, text position 5: token id 50 is outside the vocabulary of 50");
    text[5] = 0;
    labels[6] = -3;
    CHECK_INT(t, vlt5_forward(&z->m, &b, &e), -1);
    CHECK_CONTAINS(t, e.msg, "example 1, answer position 2: token id -3");
    labels[6] = 1;
    b.text_len = 8;
    CHECK_INT(t, vlt5_forward(&z->m, &b, &e), -1);
    CHECK_CONTAINS(t, e.msg, "text length 8: the model was built for 1 to 7");
    b.text_len = 7;
    b.feats = NULL;
    CHECK_INT(t, vlt5_forward(&z->m, &b, &e), -1);
    CHECK_CONTAINS(t, e.msg, "region features and boxes, or embedded visual tokens");
    int32_t out[4 * 5];
    int len[4];
    b.feats = z->x.feats;
    CHECK_INT(t, vlt5_generate(&z->m, &b, 5, out, len, &e), -1);
    CHECK_CONTAINS(t, e.msg, "5 new tokens asked, the model was built for 1 to 4");
    toy_free(z);
    free(z);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"split_batch_sums", test_split_batch_sums},
        {"full_gradients_with_dropout", test_full_gradients_with_dropout},
        {"init_statistics", test_init_statistics},
        {"answer_sampling", test_answer_sampling},
        {"batch_errors", test_batch_errors},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
