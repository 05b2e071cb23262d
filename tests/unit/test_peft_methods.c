/* Every PEFT method and routing function on the toy VL-T5 (tests/peft_toy.h), through the frozen
 * backbone:
 *   - the gradient of every trainable tensor by central differences, with dropout on (the backbone's,
 *     LoRA's and MixPHM's own) and MixPHM's regularisers in the loss: error <= 1e-2 of the gradient's
 *     scale with the best of h = 1e-4, 1e-3, 1e-2 (tests/fd.h; a step may switch a ReLU); a tensor
 *     whose gradient is below 1e-4 of the method's largest (BitFit's attention key biases: softmax
 *     ignores a shift shared by all keys) must agree to 1e-3 of that largest gradient;
 *   - merged inference (AdaMix, MixPHM) equals a training forward after every expert's factors were
 *     replaced by their averages (relative 1e-5), and differs from it before;
 *   - greedy decoding with the hooks equals the arg-max of the teacher-forced forward;
 *   - initialisation: LoRA's B = 0, experts are copies, PHM factors and biases within their bounds;
 *   - the expert draw: the same for the same (seed, step), uniform over many steps, per layer;
 *   - which tensors get a gradient (the optimizer's skip list);
 *   - configurations the methods refuse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/peft/peft_internal.h"
#include "tests/fd.h"
#include "tests/peft_toy.h"

static double loss_fn(void *ctx)
{
    return peft_toy_loss(ctx, 0);
}

static void test_gradients(struct test_ctx *t)
{
    for (int c = 0; c < PEFT_N_CASES; c++) {
        char name[64];
        peft_case_name(&PEFT_CASES[c], name, sizeof name);
        struct peft_options o;
        peft_toy_options(&o, PEFT_CASES[c].method, PEFT_CASES[c].routing);
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.1f, 0.3f)) {
            free(T);
            continue;
        }
        CHECKF(t, params_count(&T->p, 1, PARAM_BACKBONE) == 0, "%s trains backbone tensors", name);
        T->b = toy_batch(&T->data, 0, 4, 4, T->text, T->labels); /* 4 examples, padded text */
        params_zero_grad(&T->p);
        const double L = peft_toy_loss(T, 1);
        CHECKF(t, isfinite(L), "%s: loss %g", name, L);
        float *analytic = xmalloc(sizeof(float) * T->p.n_train);
        memcpy(analytic, T->p.grad, sizeof(float) * T->p.n_train);
        double global = 0; /* the largest gradient of the method */
        for (size_t k = 0; k < T->p.n_train; k++)
            global = fmax(global, fabs(analytic[k]));
        int checked = 0;
        for (int i = 0; i < T->p.n; i++) {
            const struct param_tensor *pt = &T->p.t[i];
            if (!pt->trainable)
                continue;
            long worst;
            const float steps[3] = {1e-4f, 1e-3f, 1e-2f};
            double scale = 1e-6;
            for (size_t k = 0; k < pt->numel; k++)
                scale = fmax(scale, fabs(analytic[pt->offset + k]));
            const double err = fd_check_steps(loss_fn, T, params_data(&T->p, i), analytic + pt->offset,
                                              (long)pt->numel, steps, 3, 4, &worst);
            if (scale < 1e-4 * global) /* a gradient that is 0 in exact arithmetic (BitFit's key biases) */
                CHECKF(t, err * scale < 1e-3 * global, "%s: %s: error %g, the method's scale %g", name, pt->name,
                       err * scale, global);
            else
                CHECKF(t, err < 1e-2, "%s: %s: relative error %g at %ld", name, pt->name, err, worst);
            checked++;
        }
        CHECKF(t, checked > 0, "%s: no trainable tensor", name);
        free(analytic);
        peft_toy_free(T);
        free(T);
    }
}

/* The name with its expert index replaced by '*': experts of one projection share it. */
static void expert_key(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s", name);
    char *ex = strstr(out, "deepspeed_experts.");
    if (!ex)
        return;
    char *digits = ex + strlen("deepspeed_experts."), *end = digits;
    while (*end >= '0' && *end <= '9')
        end++;
    *digits = '*';
    memmove(digits + 1, end, strlen(end) + 1);
}

/* Every tensor of a group of experts set to the group's average. */
static void average_experts(struct params *p)
{
    for (int i = 0; i < p->n; i++) {
        char gi[PARAM_NAME_MAX], gj[PARAM_NAME_MAX];
        if (!strstr(p->t[i].name, "deepspeed_experts.0."))
            continue;
        expert_key(p->t[i].name, gi, sizeof gi);
        int members[PEFT_MAX_EXPERTS], n = 0;
        for (int j = 0; j < p->n && n < PEFT_MAX_EXPERTS; j++) {
            expert_key(p->t[j].name, gj, sizeof gj);
            if (!strcmp(gi, gj))
                members[n++] = j;
        }
        for (size_t k = 0; k < p->t[i].numel; k++) {
            double s = 0;
            for (int x = 0; x < n; x++)
                s += params_data(p, members[x])[k];
            for (int x = 0; x < n; x++)
                params_data(p, members[x])[k] = (float)(s / n);
        }
    }
}

static double max_abs_diff(const float *a, const float *b, long n, double *scale)
{
    double m = 0, s = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i])), s = fmax(s, fabs(b[i]));
    *scale = s;
    return m;
}

static void test_merged_inference(struct test_ctx *t)
{
    const struct peft_case cases[] = {{PEFT_ADAMIX, 0}, {PEFT_MIXPHM, 0}, {PEFT_MIXPHM, ROUTING_MUL}};
    for (int c = 0; c < 3; c++) {
        struct peft_options o;
        struct err e;
        peft_toy_options(&o, cases[c].method, cases[c].routing);
        o.mixphm.dropout = 0, o.adamix.share_up = 0, o.expert_rule = PEFT_EXPERTS_FIXED;
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.0f, 0.3f)) {
            free(T);
            continue;
        }
        const long n = (long)TOY_MAX * TOY_ANSWER * T->m.dims.vocab;
        float *merged = xmalloc(sizeof(float) * n), *trained = xmalloc(sizeof(float) * n);
        T->b.train = 0;
        CHECKF(t, vlt5_forward(&T->m, &T->b, &e) == 0, "%s", e.msg);
        memcpy(merged, T->m.logits, sizeof(float) * n);
        T->b.train = 1;
        CHECKF(t, vlt5_forward(&T->m, &T->b, &e) == 0, "%s", e.msg);
        double scale, before = max_abs_diff(T->m.logits, merged, n, &scale);
        CHECKF(t, before > 1e-3 * scale, "case %d: an expert alone gives the merged logits (%g)", c, before);
        average_experts(&T->p);
        CHECKF(t, vlt5_forward(&T->m, &T->b, &e) == 0, "%s", e.msg);
        memcpy(trained, T->m.logits, sizeof(float) * n);
        const double after = max_abs_diff(trained, merged, n, &scale);
        CHECKF(t, after <= 1e-5 * scale, "case %d: merged logits differ from averaged factors by %g (scale %g)", c,
               after, scale);
        free(merged), free(trained);
        peft_toy_free(T);
        free(T);
    }
}

static void test_generate_matches_teacher_forcing(struct test_ctx *t)
{
    for (int c = 0; c < PEFT_N_CASES; c++) {
        struct peft_options o;
        struct err e;
        char name[64];
        peft_case_name(&PEFT_CASES[c], name, sizeof name);
        peft_toy_options(&o, PEFT_CASES[c].method, PEFT_CASES[c].routing);
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.1f, 0.3f)) {
            free(T);
            continue;
        }
        T->b.train = 0;
        int32_t out[TOY_MAX * TOY_ANSWER], labels[TOY_MAX * TOY_ANSWER];
        int len[TOY_MAX];
        CHECKF(t, vlt5_generate(&T->m, &T->b, TOY_ANSWER, out, len, &e) == 0, "%s", e.msg);
        for (int i = 0; i < TOY_MAX * TOY_ANSWER; i++)
            labels[i] = (i % TOY_ANSWER) < len[i / TOY_ANSWER] ? out[i] : -100;
        T->b.labels = labels, T->b.target_len = TOY_ANSWER;
        CHECKF(t, vlt5_forward(&T->m, &T->b, &e) == 0, "%s", e.msg);
        const int V = T->m.dims.vocab;
        for (int i = 0; i < TOY_MAX; i++)
            for (int k = 0; k < len[i]; k++) {
                const float *z = T->m.logits + (long)(i * TOY_ANSWER + k) * V;
                int best = 0;
                for (int j = 1; j < V; j++)
                    best = z[j] > z[best] ? j : best;
                CHECKF(t, best == out[i * TOY_ANSWER + k], "%s: example %d step %d: decoded %d, arg-max %d", name, i,
                       k, out[i * TOY_ANSWER + k], best);
            }
        peft_toy_free(T);
        free(T);
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void test_initialisation(struct test_ctx *t)
{
    const int methods[] = {PEFT_LORA, PEFT_HOULSBY, PEFT_ADAMIX, PEFT_MIXPHM, PEFT_COMPACTER};
    for (int c = 0; c < 5; c++) {
        struct peft_options o;
        peft_toy_options(&o, methods[c], 0);
        o.adamix.share_up = 0;
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.1f, 0.0f)) { /* scale 0: peft_init's values */
            free(T);
            continue;
        }
        const struct params *p = &T->p;
        for (int i = 0; i < p->n; i++) {
            const struct param_tensor *pt = &p->t[i];
            if (pt->owner != PARAM_PEFT)
                continue;
            const float *w = params_data(p, i);
            double bound = 0, maxabs = 0;
            for (size_t k = 0; k < pt->numel; k++)
                maxabs = fmax(maxabs, fabs(w[k]));
            if (ends_with(pt->name, "lora_B") || ends_with(pt->name, ".b"))
                bound = 0; /* zeros */
            else if (ends_with(pt->name, "lora_A") || ends_with(pt->name, "weight")) /* [out, in]: 1/sqrt(in) */
                bound = 1.0 / sqrt(pt->shape[1]);
            else if (ends_with(pt->name, "bias")) /* [out] of a d <-> 8 projection: fan_in = 32 * 8 / out */
                bound = 1.0 / sqrt(32.0 * 8.0 / pt->shape[0]);
            else if (ends_with(pt->name, "W_left") || ends_with(pt->name, "W_right"))
                bound = sqrt(2.0) * sqrt(6.0 / (pt->shape[1] + pt->shape[2]));
            else if (!strcmp(pt->name, "phm_rule"))
                bound = 5 * 0.3; /* N(0, 0.3^2) */
            CHECKF(t, maxabs <= bound + 1e-6, "%s: max |w| %g above %g", pt->name, maxabs, bound);
            CHECKF(t, bound == 0 || maxabs > 0.3 * bound, "%s: max |w| %g, bound %g: not drawn", pt->name, maxabs,
                   bound);
            const char *ex = strstr(pt->name, "deepspeed_experts.");
            if (ex && ex[strlen("deepspeed_experts.")] != '0') { /* a copy of expert 0 */
                char first[PARAM_NAME_MAX];
                snprintf(first, sizeof first, "%s", pt->name);
                first[ex - pt->name + strlen("deepspeed_experts.")] = '0';
                const int h0 = params_find(p, first);
                CHECKF(t, h0 >= 0 && !memcmp(params_data(p, h0), w, sizeof(float) * pt->numel),
                       "%s is not a copy of %s", pt->name, first);
            }
        }
        peft_toy_free(T);
        free(T);
    }
}

static void test_expert_draws(struct test_ctx *t)
{
    struct peft pf = {0};
    struct dropout dr = {.p = 0.1f, .seed = 9};
    struct vlt5_hook_batch b = {.train = 1, .dropout = &dr};
    int count[2][3] = {{0}}, differ = 0;
    for (int step = 0; step < 600; step++) {
        dr.step = (uint64_t)step;
        const struct vlt5_site s0 = {VLT5_ENCODER, 0, VLT5_FFN, -1}, s1 = {VLT5_DECODER, 1, VLT5_FFN, -1};
        const int e0 = peft_expert(&pf, &s0, &b, 1, 3), e1 = peft_expert(&pf, &s1, &b, 1, 3);
        CHECK(t, e0 >= 0 && e0 < 3 && e1 >= 0 && e1 < 3);
        CHECK_INT(t, peft_expert(&pf, &s0, &b, 1, 3), e0); /* a pure function of its coordinates */
        count[0][e0]++, count[1][e1]++;
        differ += e0 != e1;
    }
    for (int k = 0; k < 3; k++)
        CHECKF(t, count[0][k] > 150 && count[0][k] < 250 && count[1][k] > 150 && count[1][k] < 250,
               "expert %d drawn %d and %d times in 600", k, count[0][k], count[1][k]);
    CHECKF(t, differ > 300, "two layers drew the same expert %d times in 600", 600 - differ);
    pf.opts.expert_rule = PEFT_EXPERTS_FIXED, pf.opts.expert_offset = 2;
    const struct vlt5_site s = {VLT5_DECODER, 1, VLT5_FFN, -1};
    CHECK_INT(t, peft_expert(&pf, &s, &b, 1, 3), (2 + 1 + 2 + 1) % 3);
}

/* After one step of MixPHM (shared down, 3 up experts) exactly one up expert per layer got a gradient. */
static void test_expert_usage(struct test_ctx *t)
{
    const int methods[2] = {PEFT_MIXPHM, PEFT_LORA};
    for (int c = 0; c < 2; c++) {
        struct peft_options o;
        peft_toy_options(&o, methods[c], 0);
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.1f, 0.3f)) {
            free(T);
            continue;
        }
        peft_used_clear(T->pf);
        params_zero_grad(&T->p);
        peft_toy_loss(T, 1);
        int used = 0, trainable = 0, up_used = 0;
        for (int i = 0; i < T->p.n; i++) {
            if (!T->p.t[i].trainable)
                continue;
            trainable++;
            used += T->pf->used[i];
            up_used += T->pf->used[i] && strstr(T->p.t[i].name, "MoA_B") && ends_with(T->p.t[i].name, ".b");
            if (!T->pf->used[i]) { /* no gradient at all */
                const float *g = params_grad(&T->p, i);
                double s = 0;
                for (size_t k = 0; k < T->p.t[i].numel; k++)
                    s += fabs(g[k]);
                CHECKF(t, s == 0, "%s is marked unused but has a gradient", T->p.t[i].name);
            }
        }
        if (methods[c] == PEFT_MIXPHM) { /* S + 4 layers x (down 3 + one up expert 3) */
            CHECK_INT(t, up_used, 4);
            CHECK_INT(t, used, 1 + 4 * 6);
        } else {
            CHECK_INT(t, used, trainable);
        }
        peft_toy_free(T);
        free(T);
    }
}

static void test_refused_settings(struct test_ctx *t)
{
    struct {
        int method, routing;
        const char *field, *expect;
    } bad[] = {
        {PEFT_COMPACTER, ROUTING_MUL, "", "no low-rank bottleneck"},
        {PEFT_ADAMIX, ROUTING_ADD, "", "no low-rank bottleneck"},
        {PEFT_MIXPHM, 0, "bottleneck", "multiple of phm_dim"},
        {PEFT_COMPACTER, 0, "phm_dim", "d_model 32 is not a multiple"},
        {PEFT_LORA, 0, "r", "peft.lora.r"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct peft_options o;
        peft_toy_options(&o, bad[i].method, bad[i].routing);
        if (!strcmp(bad[i].field, "bottleneck"))
            o.mixphm.bottleneck = 6;
        if (!strcmp(bad[i].field, "phm_dim"))
            o.compacter.phm_dim = 3, o.compacter.bottleneck = 9;
        if (!strcmp(bad[i].field, "r"))
            o.lora.r = 0;
        struct params p;
        struct vlt5 m;
        struct vlt5_dims d;
        struct err e;
        struct peft *pf = NULL;
        toy_dims(&d);
        struct vlt5_options vo = {.max_batch = 1, .max_text = 1, .max_target = 1, .max_generate = 1};
        params_init(&p);
        CHECK(t, vlt5_register(&m, &p, &d, &vo, &e) == 0);
        CHECK(t, peft_create(&pf, &o, &m, &p, &e) != 0 && pf == NULL);
        CHECK_CONTAINS(t, e.msg, bad[i].expect);
        vlt5_free(&m);
        params_free(&p);
    }
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"gradients", test_gradients},
        {"merged_inference", test_merged_inference},
        {"generate_matches_teacher_forcing", test_generate_matches_teacher_forcing},
        {"initialisation", test_initialisation},
        {"expert_draws", test_expert_draws},
        {"expert_usage", test_expert_usage},
        {"refused_settings", test_refused_settings},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
