/* MixPHM's regulariser through the split API, and AdaMix's consistency-loss recipe (model/peft/peft.h):
 *   - a batch split over two "ranks" (two models with the same weights, each padded to the global
 *     lengths), with the caller's reductions done by hand, gives the whole batch's loss and gradients
 *     (relative 1e-4 of the largest gradient; the redundancy part is the same on both ranks, exactly);
 *   - the MI term from each part's kept inputs (peft_reg_keep, peft_reg_kept_mi) gives that part's loss
 *     and pooled gradients of peft_reg_backward bit for bit, and keeps no more than its stated size;
 *   - the three-pass consistency recipe: the repeated pass A reproduces the first one bit for bit, pass
 *     B routes differently, and the recipe's gradient equals central differences (best of h = 1e-4,
 *     1e-3, 1e-2; 1e-2 of the gradient's scale) of L_A + w 0.5 [KL(q^||p) + KL(p^||q)] with the two
 *     targets held fixed (detached), each KL averaged over the rows of the global batch (three times
 *     this rank's). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/consistency.h"
#include "tests/fd.h"
#include "tests/peft_toy.h"

struct rank_part {
    struct peft_toy T;
    float *stats, *pooled, *dpooled, *kept, *kept_dpooled;
    size_t kept_floats;
    double shared, partial, vqa;
};

static void test_split_equals_whole(struct test_ctx *t)
{
    const int routes[2] = {ROUTING_NONE, ROUTING_ADD};
    for (int c = 0; c < 2; c++) {
        struct peft_options o;
        peft_toy_options(&o, PEFT_MIXPHM, routes[c]);
        struct peft_toy *W = xmalloc(sizeof *W);
        struct rank_part *R = xcalloc(2, sizeof *R);
        if (peft_toy_build(t, W, &o, 0.1f, 0.3f) || peft_toy_build(t, &R[0].T, &o, 0.1f, 0.3f) ||
            peft_toy_build(t, &R[1].T, &o, 0.1f, 0.3f))
            return;
        /* the whole batch of 8 (text padded to 7, answers to 4) */
        params_zero_grad(&W->p);
        struct err e;
        CHECK(t, vlt5_forward(&W->m, &W->b, &e) == 0);
        const double vqa_whole = vlt5_loss(&W->m, NULL), reg_whole = peft_reg_step(W->pf, &W->m);
        vlt5_backward(&W->m);
        /* ranks: examples [0, 3) and [3, 8), each padded to the same 7 and 4 */
        const int first[2] = {0, 3}, count[2] = {3, 5};
        size_t slen, width;
        peft_reg_sizes(R[0].T.pf, &slen, &width);
        CHECK(t, slen > 2 && width == 2 * 32);
        float *stats_sum = xcalloc(slen, sizeof(float)), *pooled_all = xcalloc(8 * width, sizeof(float));
        float *dpooled_sum = xcalloc(8 * width, sizeof(float));
        for (int k = 0; k < 2; k++) {
            struct peft_toy *T = &R[k].T;
            T->b = toy_batch(&T->data, first[k], count[k], 8, T->text, T->labels);
            CHECK(t, T->b.text_len == 7 && T->b.target_len == 4);
            params_zero_grad(&T->p);
            CHECK(t, vlt5_forward(&T->m, &T->b, &e) == 0);
            R[k].vqa = vlt5_loss(&T->m, NULL);
            R[k].stats = xcalloc(slen, sizeof(float));
            R[k].pooled = xcalloc((size_t)count[k] * width, sizeof(float));
            R[k].dpooled = xmalloc(8 * width * sizeof(float));
            for (size_t i = 0; i < 8 * width; i++) /* peft_reg_backward writes it, whatever it held */
                R[k].dpooled[i] = 1e3f;
            peft_reg_local(T->pf, &T->m, R[k].stats, R[k].pooled);
            R[k].kept_floats = peft_reg_keep_size(T->pf, count[k]);
            CHECK(t, R[k].kept_floats > 0);
            R[k].kept = xmalloc((R[k].kept_floats + 16) * sizeof(float)); /* 16 guard floats */
            for (size_t i = 0; i < R[k].kept_floats + 16; i++)
                R[k].kept[i] = -7.0f;
            peft_reg_keep(T->pf, &T->m, R[k].kept);
            int guard = 1;
            for (size_t i = R[k].kept_floats; i < R[k].kept_floats + 16; i++)
                guard &= R[k].kept[i] == -7.0f;
            CHECKF(t, guard, "peft_reg_keep wrote past its %zu floats", R[k].kept_floats);
            for (size_t i = 0; i < slen; i++) /* allreduce */
                stats_sum[i] += R[k].stats[i];
            memcpy(pooled_all + (size_t)first[k] * width, R[k].pooled, sizeof(float) * count[k] * width); /* gather */
        }
        for (int k = 0; k < 2; k++) {
            struct peft_toy *T = &R[k].T;
            R[k].kept_dpooled = xmalloc(8 * width * sizeof(float));
            for (size_t i = 0; i < 8 * width; i++)
                R[k].kept_dpooled[i] = 1e3f;
            const double kept_part = peft_reg_kept_mi(T->pf, R[k].kept, stats_sum, pooled_all, 8, (uint64_t)first[k],
                                                      R[k].kept_dpooled);
            R[k].shared = peft_reg_backward(T->pf, &T->m, stats_sum, pooled_all, 8, (uint64_t)first[k], R[k].dpooled,
                                            &R[k].partial);
            CHECKF(t, kept_part == R[k].partial && kept_part != 0.0, "part %d: MI from kept inputs %.17g, from the model %.17g",
                   k, kept_part, R[k].partial);
            CHECK(t, memcmp(R[k].kept_dpooled, R[k].dpooled, 8 * width * sizeof(float)) == 0);
            for (size_t i = 0; i < 8 * width; i++) /* allreduce */
                dpooled_sum[i] += R[k].dpooled[i];
        }
        for (int k = 0; k < 2; k++) {
            peft_reg_pooled_grad(R[k].T.pf, &R[k].T.m, dpooled_sum, (uint64_t)first[k]);
            vlt5_backward(&R[k].T.m);
        }
        CHECK(t, R[0].shared == R[1].shared);
        CHECK_NEAR(t, R[0].vqa + R[1].vqa, vqa_whole, 0, 1e-6);
        CHECK_NEAR(t, R[0].shared + R[0].partial + R[1].partial, reg_whole, 0, 1e-5);
        CHECKF(t, fabs(R[0].partial + R[1].partial) > 1e-3 * fabs(reg_whole) && R[0].shared > 0,
               "both parts of the regulariser matter: shared %g, partial %g", R[0].shared,
               R[0].partial + R[1].partial);
        double scale = 0, err = 0;
        for (size_t i = 0; i < W->p.n_train; i++) {
            scale = fmax(scale, fabs(W->p.grad[i]));
            err = fmax(err, fabs((double)R[0].T.p.grad[i] + R[1].T.p.grad[i] - W->p.grad[i]));
        }
        CHECKF(t, err <= 1e-4 * scale, "routing %d: split gradients differ by %g (scale %g)", routes[c], err, scale);
        for (int k = 0; k < 2; k++) {
            free(R[k].stats), free(R[k].pooled), free(R[k].dpooled), free(R[k].kept), free(R[k].kept_dpooled);
            peft_toy_free(&R[k].T);
        }
        free(stats_sum), free(pooled_all), free(dpooled_sum);
        peft_toy_free(W);
        free(W), free(R);
    }
}

/* The redundancy products as one product over a site's rows (reg_one_product, bf16's grouping) give the
 * per-example products' loss and gradients up to the order of the sums, on a batch whose examples keep
 * different numbers of rows (padded text): a wrong offset between examples would show. */
static void test_one_product_equals_per_example(struct test_ctx *t)
{
    struct peft_toy *T = xcalloc(2, sizeof *T);
    double loss[2];
    for (int k = 0; k < 2; k++) {
        struct peft_options o;
        peft_toy_options(&o, PEFT_MIXPHM, ROUTING_NONE);
        o.mixphm.mi_weight = 0.0f; /* the redundancy term alone */
        o.reg_one_product = k;
        if (peft_toy_build(t, &T[k], &o, 0.1f, 0.3f))
            return;
        const int Lt = T[k].b.text_len;
        int keep_differs = 0; /* the last text position: padding (id 0) in some examples only */
        for (int b = 1; b < T[k].b.B; b++)
            keep_differs |= (T[k].b.text[b * Lt + Lt - 1] == 0) != (T[k].b.text[Lt - 1] == 0);
        CHECKF(t, keep_differs, "the toy batch pads some examples' text and not others'");
        params_zero_grad(&T[k].p);
        struct err e;
        CHECK(t, vlt5_forward(&T[k].m, &T[k].b, &e) == 0);
        loss[k] = peft_reg_step(T[k].pf, &T[k].m);
        vlt5_backward(&T[k].m);
    }
    CHECKF(t, loss[0] > 0 && fabs(loss[1] - loss[0]) <= 1e-5 * loss[0], "redundancy loss %.9g in one product, %.9g per example",
           loss[1], loss[0]);
    double scale = 0, err = 0;
    for (size_t i = 0; i < T[0].p.n_train; i++) {
        scale = fmax(scale, fabs(T[0].p.grad[i]));
        err = fmax(err, fabs((double)T[1].p.grad[i] - T[0].p.grad[i]));
    }
    CHECKF(t, scale > 0 && err <= 1e-5 * scale, "gradients differ by %g (scale %g)", err, scale);
    peft_toy_free(&T[0]), peft_toy_free(&T[1]);
    free(T);
}

/* ---- consistency ------------------------------------------------------------------------------- */
struct cons {
    struct peft_toy T;
    float *LA, *LB; /* the detached targets */
    long n;
    double w;
    uint64_t seed;
};

/* L_A + w 0.5/N [KL(q^ || p) + KL(p^ || q)] with q^ = LB and p^ = LA held fixed. */
static double cons_loss(void *ctx)
{
    struct cons *C = ctx;
    struct err e;
    const int V = C->T.m.dims.vocab, rows = (int)(C->n / V);
    const double scale = C->w * 0.5 / ((double)C->T.b.global_batch * C->T.b.target_len); /* all ranks' rows */
    float *z = xmalloc(sizeof(float) * C->n);
    C->T.b.seed = peft_pass_seed(C->seed, 1);
    vlt5_forward(&C->T.m, &C->T.b, &e);
    double L = kl_to_target(C->T.m.logits, C->LA, NULL, rows, V, scale, 0);
    C->T.b.seed = C->seed;
    vlt5_forward(&C->T.m, &C->T.b, &e);
    memcpy(z, C->T.m.logits, sizeof(float) * C->n);
    L += vlt5_loss(&C->T.m, NULL) + kl_to_target(z, C->LB, NULL, rows, V, scale, 0);
    free(z);
    return L;
}

static void test_consistency_recipe(struct test_ctx *t)
{
    struct peft_options o;
    struct err e;
    peft_toy_options(&o, PEFT_ADAMIX, 0);
    o.adamix.share_up = 0;
    struct cons *C = xcalloc(1, sizeof *C);
    if (peft_toy_build(t, &C->T, &o, 0.1f, 0.3f))
        return;
    struct vlt5 *m = &C->T.m;
    C->n = (long)TOY_MAX * TOY_ANSWER * m->dims.vocab, C->w = 2.0, C->seed = C->T.b.seed;
    C->T.b.global_batch = 3 * TOY_MAX; /* this rank holds a third of the batch */
    C->LA = xmalloc(sizeof(float) * C->n), C->LB = xmalloc(sizeof(float) * C->n);
    float *again = xmalloc(sizeof(float) * C->n);
    params_zero_grad(&C->T.p);
    /* A */
    CHECK(t, vlt5_forward(m, &C->T.b, &e) == 0);
    memcpy(C->LA, m->logits, sizeof(float) * C->n);
    /* B */
    C->T.b.seed = peft_pass_seed(C->seed, 1);
    CHECK(t, vlt5_forward(m, &C->T.b, &e) == 0);
    memcpy(C->LB, m->logits, sizeof(float) * C->n);
    double L = peft_consistency(m, C->LB, C->LA, C->w, 0);
    vlt5_backward(m);
    /* A again */
    C->T.b.seed = C->seed;
    CHECK(t, vlt5_forward(m, &C->T.b, &e) == 0);
    memcpy(again, m->logits, sizeof(float) * C->n);
    CHECK(t, memcmp(again, C->LA, sizeof(float) * C->n) == 0);
    CHECK(t, memcmp(C->LB, C->LA, sizeof(float) * C->n) != 0);
    L += vlt5_loss(m, NULL);
    L += peft_consistency(m, again, C->LB, C->w, 1);
    vlt5_backward(m);
    CHECK_NEAR(t, L, cons_loss(C), 0, 1e-6);
    float *analytic = xmalloc(sizeof(float) * C->T.p.n_train);
    memcpy(analytic, C->T.p.grad, sizeof(float) * C->T.p.n_train);
    for (int i = 0; i < C->T.p.n; i++) {
        const struct param_tensor *pt = &C->T.p.t[i];
        if (!pt->trainable || !strstr(pt->name, "block.1"))
            continue;
        long worst;
        const float steps[3] = {1e-4f, 1e-3f, 1e-2f};
        const double err = fd_check_steps(cons_loss, C, params_data(&C->T.p, i), analytic + pt->offset,
                                          (long)pt->numel, steps, 3, 4, &worst);
        CHECKF(t, err < 1e-2, "%s: relative error %g at %ld", pt->name, err, worst);
    }
    free(analytic), free(again), free(C->LA), free(C->LB);
    peft_toy_free(&C->T);
    free(C);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"split_equals_whole", test_split_equals_whole},
        {"one_product_equals_per_example", test_one_product_equals_per_example},
        {"consistency_recipe", test_consistency_recipe},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
