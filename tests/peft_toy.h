/* The toy VL-T5 of tests/vlt5_toy.h (d 32, 2+2 layers) with a PEFT method, and the list of every
 * method and routing combination (tests only). */
#ifndef MIXPHM_TESTS_PEFT_TOY_H
#define MIXPHM_TESTS_PEFT_TOY_H

#include <string.h>

#include "base/mem.h"
#include "model/peft/peft.h"
#include "tests/harness.h"
#include "tests/vlt5_toy.h"

struct peft_case {
    int method, routing;
};
/* Every method (full fine-tuning aside: the backbone's own tests cover it), then every routing
 * function on every method with a bottleneck. */
static const struct peft_case PEFT_CASES[] = {
    {PEFT_BITFIT, 0},  {PEFT_LORA, 0},        {PEFT_HOULSBY, 0}, {PEFT_PFEIFFER, 0},
    {PEFT_COMPACTER, 0}, {PEFT_COMPACTERPP, 0}, {PEFT_ADAMIX, 0},  {PEFT_MIXPHM, 0},
    {PEFT_LORA, ROUTING_MUL},       {PEFT_LORA, ROUTING_ADD},
    {PEFT_LORA, ROUTING_PROJ},      {PEFT_LORA, ROUTING_EXPAND},
    {PEFT_HOULSBY, ROUTING_MUL},    {PEFT_HOULSBY, ROUTING_ADD},
    {PEFT_HOULSBY, ROUTING_PROJ},   {PEFT_HOULSBY, ROUTING_EXPAND},
    {PEFT_PFEIFFER, ROUTING_MUL},   {PEFT_PFEIFFER, ROUTING_ADD},
    {PEFT_PFEIFFER, ROUTING_PROJ},  {PEFT_PFEIFFER, ROUTING_EXPAND},
    {PEFT_MIXPHM, ROUTING_MUL},     {PEFT_MIXPHM, ROUTING_ADD},
    {PEFT_MIXPHM, ROUTING_PROJ},    {PEFT_MIXPHM, ROUTING_EXPAND},
};
#define PEFT_N_CASES ((int)(sizeof PEFT_CASES / sizeof PEFT_CASES[0]))

static inline const char *peft_case_name(const struct peft_case *c, char *buf, size_t n)
{
    static const char *const routes[] = {"", "+mul", "+add", "+proj", "+expand"};
    snprintf(buf, n, "%s%s", peft_kind_name(c->method), routes[c->routing]);
    return buf;
}

/* Small settings: bottlenecks 8, PHM dimension 4 with rank 2, 3 experts (AdaMix shares up, MixPHM
 * down), LoRA rank 3, dropout inside MixPHM and LoRA, and the regulariser's weights large enough to
 * matter in a gradient check. */
static inline void peft_toy_options(struct peft_options *o, int method, int routing)
{
    memset(o, 0, sizeof *o);
    o->method = method, o->routing = routing;
    o->lora = (struct peft_lora_options){.r = 3, .alpha = 2.0f, .dropout = 0.2f};
    o->adapter.bottleneck = 8;
    o->compacter = (struct peft_compacter_options){.bottleneck = 8, .phm_dim = 4, .rank = 2, .phm_init_std = 0.3f};
    o->adamix = (struct peft_adamix_options){.bottleneck = 8, .experts = 3, .share_up = 1};
    o->mixphm = (struct peft_mixphm_options){.bottleneck = 8, .phm_dim = 4, .rank = 2, .experts = 3,
                                             .share_down = 1, .dropout = 0.3f, .alpha = 1.5f, .phm_init_std = 0.3f,
                                             .red_weight = 20.0f, .mi_weight = 0.4f, .red_lambda = 3.9e-3f};
}

struct peft_toy {
    struct params p;
    struct vlt5 m;
    struct peft *pf;
    struct toy_data data;
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch b;
};

/* The toy backbone (dropout p) with the method; its tensors get values in +-scale (PHM factors 2 scale,
 * S 3 scale), after peft_init, so that LoRA's B and the copies of experts differ from their
 * initialisation; scale 0 keeps peft_init's values. */
static inline int peft_toy_build(struct test_ctx *t, struct peft_toy *T, const struct peft_options *o, float dropout,
                                 float scale)
{
    struct err e;
    struct vlt5_dims d;
    memset(T, 0, sizeof *T);
    toy_dims(&d);
    struct vlt5_options vo = {.dropout = dropout, .max_batch = TOY_MAX, .max_text = TOY_TEXT,
                              .max_target = TOY_ANSWER, .max_generate = TOY_ANSWER};
    peft_backbone_options(o, &vo);
    params_init(&T->p);
    if (vlt5_register(&T->m, &T->p, &d, &vo, &e) || peft_create(&T->pf, o, &T->m, &T->p, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    params_alloc(&T->p);
    vlt5_bind(&T->m);
    peft_bind(T->pf);
    vlt5_init_random(&T->m, 77);
    peft_init(T->pf, 5);
    for (int i = 0; scale > 0 && i < T->p.n; i++) {
        const char *name = T->p.t[i].name;
        const size_t len = strlen(name);
        /* a PHM weight is a sum of products of three factors: larger factors keep it of the same order */
        const float s = !strcmp(name, "phm_rule") ? 3 * scale
                        : len > 6 && (!strcmp(name + len - 6, "W_left") || !strcmp(name + len - 7, "W_right"))
                            ? 2 * scale
                            : scale;
        if (T->p.t[i].owner == PARAM_PEFT)
            fd_fill(params_data(&T->p, i), (long)T->p.t[i].numel, 100 + (uint64_t)i, -s, s);
    }
    peft_eval_prepare(T->pf);
    toy_data_fill(&T->data);
    T->b = toy_batch(&T->data, 0, TOY_MAX, TOY_MAX, T->text, T->labels);
    return 0;
}

static inline void peft_toy_free(struct peft_toy *T)
{
    peft_free(T->pf);
    vlt5_free(&T->m);
    params_free(&T->p);
}

/* Training loss of T->b: the answer loss plus the method's regularisers; with `backward` the
 * gradients accumulate into the registry. */
static inline double peft_toy_loss(struct peft_toy *T, int backward)
{
    struct err e;
    if (vlt5_forward(&T->m, &T->b, &e))
        return NAN;
    double L = vlt5_loss(&T->m, NULL);
    L += peft_reg_step(T->pf, &T->m);
    if (backward)
        vlt5_backward(&T->m);
    return L;
}

#endif
