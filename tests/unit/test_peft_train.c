/* Every method and routing function trains: on the toy VL-T5 (tests/peft_toy.h) with its real
 * initialisation (peft_init: LoRA's B = 0, experts as copies, S ~ N(0, 0.01^2)), dropout on and random
 * expert draws, 80 AdamW steps (lr 1e-2, the recipe's betas and eps, weight decay 0.01, clipping 5) on
 * one fixed batch of 8 examples take the training loss (answer loss plus MixPHM's regularisers with
 * the paper's weights) below 75 % of its first value, its answer part below 70 %, and the evaluation
 * loss (train = 0: merged experts, no dropout) below 70 % of its value before training.  (MixPHM
 * learns its answers more slowly here: its redundancy term starts large, as in the authors' code, and
 * its MI term grows with h_a; without them it keeps pace with the others.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/optimizer.h"
#include "tests/peft_toy.h"

static double eval_loss(struct peft_toy *T)
{
    struct err e;
    peft_eval_prepare(T->pf);
    T->b.train = 0;
    const int rc = vlt5_forward(&T->m, &T->b, &e);
    const double L = rc ? NAN : vlt5_loss(&T->m, NULL);
    T->b.train = 1;
    return L;
}

static void test_loss_falls(struct test_ctx *t)
{
    const struct adamw_hparams h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    for (int c = 0; c < PEFT_N_CASES; c++) {
        char name[64];
        peft_case_name(&PEFT_CASES[c], name, sizeof name);
        struct peft_options o;
        peft_toy_options(&o, PEFT_CASES[c].method, PEFT_CASES[c].routing);
        o.mixphm.red_weight = 0.2f, o.mixphm.mi_weight = 0.04f; /* the paper's weights and S's scale */
        o.mixphm.phm_init_std = o.compacter.phm_init_std = 0.01f;
        struct peft_toy *T = xmalloc(sizeof *T);
        if (peft_toy_build(t, T, &o, 0.1f, 0.0f)) {
            free(T);
            continue;
        }
        const double eval0 = eval_loss(T);
        double first = 0, last = 0, first_answer = 0, last_answer = 0;
        struct err e;
        for (long s = 0; s < 80; s++) {
            T->b.step = (uint64_t)s;
            params_zero_grad(&T->p);
            peft_used_clear(T->pf);
            CHECK(t, vlt5_forward(&T->m, &T->b, &e) == 0);
            const double answer = vlt5_loss(&T->m, NULL), L = answer + peft_reg_step(T->pf, &T->m);
            vlt5_backward(&T->m);
            if (s == 0)
                first = L, first_answer = answer;
            last = L, last_answer = answer;
            params_clip_grad(&T->p, 5.0);
            params_adamw_step(&T->p, 1e-2, 0.01, &h, T->pf->used);
        }
        const double eval1 = eval_loss(T);
        CHECKF(t, isfinite(last) && last < 0.75 * first, "%s: training loss %.4f -> %.4f", name, first, last);
        CHECKF(t, last_answer < 0.7 * first_answer, "%s: answer loss %.4f -> %.4f", name, first_answer, last_answer);
        CHECKF(t, isfinite(eval1) && eval1 < 0.7 * eval0, "%s: evaluation loss %.4f -> %.4f", name, eval0, eval1);
        if (getenv("MIXPHM_SHOW_ERRORS"))
            fprintf(stderr, "%-18s train %.4f -> %.4f (answers %.4f -> %.4f), eval %.4f -> %.4f\n", name, first,
                    last, first_answer, last_answer, eval0, eval1);
        peft_toy_free(T);
        free(T);
    }
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {{"loss_falls", test_loss_falls}};
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
