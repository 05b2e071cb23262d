/* The representations of the analysis (model/peft/peft.h, peft_repr_* and peft_final_pool) on the toy
 * model, for every method with an adapter after the FFN:
 *   - h and h_a are the means of the FFN adapter's input and output rows over the regulariser's tokens,
 *     counted here from the batch itself (encoder: text tokens + regions, the first positions;
 *     decoder: every position), and g the mean of the stack's final output over every position;
 *   - h_a is the adapter's output: 0 exactly when every trainable tensor is 0;
 *   - an example's vectors do not depend on the batch it is in (a split batch padded alike, 1e-5);
 *   - methods without an FFN adapter say so and refuse peft_repr_enable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/peft/adapter.h"
#include "tests/peft_toy.h"

static const int ADAPTER_METHODS[] = {PEFT_HOULSBY,     PEFT_PFEIFFER, PEFT_COMPACTER,
                                      PEFT_COMPACTERPP, PEFT_ADAMIX,   PEFT_MIXPHM};
#define N_METHODS ((int)(sizeof ADAPTER_METHODS / sizeof ADAPTER_METHODS[0]))

/* Tokens pooled for example b: counted from the batch, not with the library's function. */
static int tokens(const struct vlt5 *m, const struct vlt5_batch *vb, int stack, int b)
{
    if (stack == VLT5_DECODER)
        return vb->target_len;
    int k = m->dims.n_regions;
    for (int t = 0; t < vb->text_len; t++)
        k += vb->text[(long)b * vb->text_len + t] != 0;
    return k;
}

static double max_diff(const float *a, const float *b, long n)
{
    double w = 0;
    for (long i = 0; i < n; i++)
        w = fmax(w, fabs((double)a[i] - b[i]));
    return w;
}

static void test_pooled_means(struct test_ctx *t)
{
    for (int c = 0; c < N_METHODS; c++) {
        struct peft_options o;
        peft_toy_options(&o, ADAPTER_METHODS[c], ROUTING_NONE);
        o.mixphm.red_weight = o.mixphm.mi_weight = 0; /* h_a kept for the analysis alone */
        struct peft_toy *T = xmalloc(sizeof *T);
        struct err e;
        if (peft_toy_build(t, T, &o, 0.1f, 0.3f))
            return;
        CHECK(t, peft_has_ffn_adapter(o.method));
        CHECKF(t, peft_repr_enable(T->pf, &e) == 0, "%s", e.msg);
        T->b.train = 0;
        CHECK(t, vlt5_forward(&T->m, &T->b, &e) == 0);
        const struct adapter *A = T->pf->method;
        const int d = T->m.dims.d_model, B = T->b.B;
        float *h = xcalloc((size_t)B * d, sizeof *h), *ha = xcalloc((size_t)B * d, sizeof *ha); /* [B, d] */
        float *want_h = xcalloc((size_t)B * d, sizeof *h), *want_ha = xcalloc((size_t)B * d, sizeof *ha);
        double worst = 0, norm_ha = 0;
        for (int s = 0; s < 2; s++) {
            const int L = s ? T->m.dims.n_dec_layers : T->m.dims.n_enc_layers;
            for (int l = 0; l < L; l++) {
                const struct adapter_site *st = A->ffn[s][l];
                peft_repr_pool(T->pf, &T->m, s, l, h, ha);
                for (int b = 0; b < B; b++) {
                    const int k = tokens(&T->m, &T->b, s, b);
                    for (int j = 0; j < d; j++) {
                        double sh = 0, sa = 0;
                        for (int r = 0; r < k; r++) {
                            sh += st->x[((long)b * st->T + r) * d + j];
                            sa += st->ha[((long)b * st->T + r) * d + j];
                        }
                        want_h[b * d + j] = (float)(sh / k), want_ha[b * d + j] = (float)(sa / k);
                        norm_ha += fabs(sa);
                    }
                }
                worst = fmax(worst, fmax(max_diff(h, want_h, (long)B * d), max_diff(ha, want_ha, (long)B * d)));
            }
            /* g: every position of the final output */
            const int Tn = s ? T->m.dec.T : T->m.enc.T;
            const float *out = vlt5_final_hidden(&T->m, s);
            peft_final_pool(&T->m, s, h, d);
            for (int b = 0; b < B; b++)
                for (int j = 0; j < d; j++) {
                    double sum = 0;
                    for (int r = 0; r < Tn; r++)
                        sum += out[((long)b * Tn + r) * d + j];
                    want_h[b * d + j] = (float)(sum / Tn);
                }
            worst = fmax(worst, max_diff(h, want_h, (long)B * d));
        }
        char name[64];
        snprintf(name, sizeof name, "%s", peft_kind_name(o.method));
        CHECKF(t, worst < 1e-6, "%s: pooled vectors differ from the means by %g", name, worst);
        CHECKF(t, norm_ha > 0, "%s: h_a is 0 everywhere", name);
        /* all trainable tensors 0: the adapter adds nothing */
        for (int i = 0; i < T->p.n; i++)
            if (T->p.t[i].owner == PARAM_PEFT)
                memset(params_data(&T->p, i), 0, sizeof(float) * T->p.t[i].numel);
        peft_eval_prepare(T->pf);
        CHECK(t, vlt5_forward(&T->m, &T->b, &e) == 0);
        peft_repr_pool(T->pf, &T->m, VLT5_DECODER, 1, h, ha);
        double amax = 0;
        for (long i = 0; i < (long)B * d; i++)
            amax = fmax(amax, fabs(ha[i]));
        CHECKF(t, amax == 0, "%s: h_a %g with zero adapter weights", name, amax);
        free(h), free(ha), free(want_h), free(want_ha);
        peft_toy_free(T);
        free(T);
    }
}

static void test_split_batch(struct test_ctx *t)
{
    struct peft_options o;
    peft_toy_options(&o, PEFT_MIXPHM, ROUTING_ADD);
    struct peft_toy *W = xmalloc(sizeof *W), *P = xmalloc(sizeof *P);
    struct err e;
    if (peft_toy_build(t, W, &o, 0.1f, 0.3f) || peft_toy_build(t, P, &o, 0.1f, 0.3f))
        return;
    CHECK(t, peft_repr_enable(W->pf, &e) == 0 && peft_repr_enable(P->pf, &e) == 0);
    const int d = W->m.dims.d_model;
    float *whole = xcalloc((size_t)8 * 3 * d, sizeof *whole), *part = xcalloc((size_t)8 * 3 * d, sizeof *part);
    W->b.train = 0;
    CHECK(t, vlt5_forward(&W->m, &W->b, &e) == 0);
    peft_repr_pool(W->pf, &W->m, VLT5_ENCODER, 1, whole, whole + 8 * d);
    peft_final_pool(&W->m, VLT5_DECODER, whole + 16 * d, d);
    const int first[2] = {0, 3}, count[2] = {3, 5};
    for (int k = 0; k < 2; k++) { /* each part padded to the whole batch's lengths */
        P->b = toy_batch(&P->data, first[k], count[k], 8, P->text, P->labels);
        P->b.train = 0;
        CHECK(t, vlt5_forward(&P->m, &P->b, &e) == 0);
        peft_repr_pool(P->pf, &P->m, VLT5_ENCODER, 1, part + (long)first[k] * d, part + (8L + first[k]) * d);
        peft_final_pool(&P->m, VLT5_DECODER, part + (16L + first[k]) * d, d);
    }
    const double diff = max_diff(whole, part, 24L * d);
    CHECKF(t, diff < 1e-5, "split batch differs by %g", diff);
    free(whole), free(part);
    peft_toy_free(W), peft_toy_free(P);
    free(W), free(P);
}

static void test_methods_without_adapter(struct test_ctx *t)
{
    CHECK(t, !peft_has_ffn_adapter(PEFT_FULL) && !peft_has_ffn_adapter(PEFT_BITFIT) &&
                 !peft_has_ffn_adapter(PEFT_LORA));
    struct peft_options o;
    peft_toy_options(&o, PEFT_LORA, ROUTING_NONE);
    struct peft_toy *T = xmalloc(sizeof *T);
    struct err e;
    if (peft_toy_build(t, T, &o, 0.1f, 0.3f))
        return;
    CHECK(t, peft_repr_enable(T->pf, &e) != 0);
    CHECK_CONTAINS(t, e.msg, "lora has no adapter after the FFN");
    peft_toy_free(T);
    free(T);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"pooled_means", test_pooled_means},
        {"split_batch", test_split_batch},
        {"methods_without_adapter", test_methods_without_adapter},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
