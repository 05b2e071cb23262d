/* Every PEFT method and routing function against the PyTorch reference
 * (tests/reference/peft_reference.py, float64, dropout off, experts fixed: the C side uses
 * PEFT_EXPERTS_FIXED with the fixture's offsets), on the fixture VL-T5 (d 64, 2+2 layers):
 *   logits of the training forward, and of the merged inference forward (AdaMix, MixPHM):
 *       max |c - ref| <= 2e-5 * max |ref|
 *   the answer loss, MixPHM's redundancy term (the split API's shared part) and MI term (its partial
 *   part), AdaMix's consistency loss by the three-pass recipe of peft.h: relative 1e-5 (absolute 1e-7)
 *   the gradient of every trainable tensor, of the sum of the losses: max |c - ref| <= 2e-4 * max(max
 *   |ref| of the tensor, 1e-2 * max |ref| of the case); experts that were not used: exactly zero.
 *   (The gradients of the first encoder layer pass through every layer's backward: torch itself in
 *   float32 is off by 1.1e-4 of the float64 value there, e.g. lora+expand's first q.lora_A, and the C
 *   code by as much; the other tensors agree to ~2e-5.)
 * The method's tensors are fixture_tensor(name, seed 17) times peft_factor(), as the script makes them. */
#include "model/optimizer.h"
#include "model/peft/peft.h"
#include "tests/unit/fixture_weights.h"
#include "tests/unit/reference_fixture.h"

#define PEFT_FIXTURE "peft.h5"
#define PEFT_SEED 17
#define GRAD_TOL 2e-4

/* The script's peft_factor, in the same float32 arithmetic. */
static float peft_factor(const struct param_tensor *t)
{
    const size_t n = strlen(t->name);
    if (!strcmp(t->name, "phm_rule"))
        return 0.5f;
    if ((n >= 6 && !strcmp(t->name + n - 6, "W_left")) || (n >= 7 && !strcmp(t->name + n - 7, "W_right")))
        return 0.25f;
    if (n >= 2 && !strcmp(t->name + n - 2, ".b"))
        return 0.1f;
    if (n >= 5 && !strcmp(t->name + n - 5, ".bias"))
        return 1.0f;
    return (float)(1.0 / sqrt((double)t->shape[t->ndim - 1]));
}

enum { C_METHOD, C_ROUTING, C_R, C_LORA_ALPHA, C_BOTTLENECK, C_PHM_DIM, C_RANK, C_EXPERTS, C_SHARE_UP, C_SHARE_DOWN,
       C_ALPHA, C_RED_W, C_MI_W, C_LAMBDA, C_CONSISTENCY, C_OFFSET_A, C_OFFSET_B, C_COUNT };

static void options_of(const float *c, struct peft_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = (int)c[C_METHOD], o->routing = (int)c[C_ROUTING];
    o->lora = (struct peft_lora_options){.r = (int)c[C_R], .alpha = c[C_LORA_ALPHA]};
    o->adapter.bottleneck = (int)c[C_BOTTLENECK];
    o->compacter = (struct peft_compacter_options){.bottleneck = (int)c[C_BOTTLENECK], .phm_dim = (int)c[C_PHM_DIM],
                                                   .rank = (int)c[C_RANK]};
    o->adamix = (struct peft_adamix_options){.bottleneck = (int)c[C_BOTTLENECK], .experts = (int)c[C_EXPERTS],
                                             .share_up = (int)c[C_SHARE_UP], .share_down = (int)c[C_SHARE_DOWN]};
    o->mixphm = (struct peft_mixphm_options){.bottleneck = (int)c[C_BOTTLENECK], .phm_dim = (int)c[C_PHM_DIM],
                                             .rank = (int)c[C_RANK], .experts = (int)c[C_EXPERTS],
                                             .share_up = (int)c[C_SHARE_UP], .share_down = (int)c[C_SHARE_DOWN],
                                             .alpha = c[C_ALPHA], .red_weight = c[C_RED_W], .mi_weight = c[C_MI_W],
                                             .red_lambda = c[C_LAMBDA]};
    o->consistency = c[C_CONSISTENCY];
    o->expert_rule = PEFT_EXPERTS_FIXED, o->expert_offset = (int)c[C_OFFSET_A];
}

struct pcase {
    struct params p;
    struct vlt5 m;
    struct peft *pf;
    struct vlt5_batch b;
};

static int build(struct test_ctx *t, struct fixture *fx, const struct peft_options *o, struct pcase *c)
{
    struct err e;
    struct vlt5_options vo = {.dropout = 0.0f, .max_batch = 4, .max_text = 16, .max_target = 8, .max_generate = 8};
    peft_backbone_options(o, &vo);
    params_init(&c->p);
    if (vlt5_register(&c->m, &c->p, &fx->dims, &vo, &e) || peft_create(&c->pf, o, &c->m, &c->p, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    params_alloc(&c->p);
    vlt5_bind(&c->m);
    peft_bind(c->pf);
    fixture_fill(&c->p, &fx->dims, (uint64_t)fx->seed);
    for (int i = 0; i < c->p.n; i++) {
        const struct param_tensor *pt = &c->p.t[i];
        if (pt->owner != PARAM_PEFT)
            continue;
        float *w = params_data(&c->p, i);
        fixture_tensor(pt->name, w, pt->numel, &fx->dims, PEFT_SEED);
        const float f = peft_factor(pt);
        for (size_t k = 0; k < pt->numel; k++)
            w[k] *= f;
    }
    c->b = (struct vlt5_batch){.B = fx->B, .text_len = fx->Lt, .text = fx->text, .feats = fx->feats,
                               .boxes = fx->boxes, .target_len = fx->Ld, .labels = fx->labels,
                               .weights = fx->weights, .global_batch = fx->global_batch, .seed = 1, .step = 1,
                               .train = 1};
    return 0;
}

/* The answer loss, the regularisers through the split API (one rank) and the consistency recipe;
 * fills losses[4] like the fixture's NAME.loss, gradients in the registry. */
static void train_pass(struct test_ctx *t, struct pcase *c, const float *cfg, double losses[4], float *logits_out)
{
    struct err e;
    struct vlt5 *m = &c->m;
    const long n = (long)c->b.B * c->b.target_len * m->dims.vocab;
    params_zero_grad(&c->p);
    CHECK(t, vlt5_forward(m, &c->b, &e) == 0);
    memcpy(logits_out, m->logits, sizeof(float) * n);
    losses[3] = 0;
    if (cfg[C_CONSISTENCY] > 0) { /* pass B with the other experts, then A again */
        float *LB = xmalloc(sizeof(float) * n);
        c->pf->opts.expert_offset = (int)cfg[C_OFFSET_B];
        CHECK(t, vlt5_forward(m, &c->b, &e) == 0);
        memcpy(LB, m->logits, sizeof(float) * n);
        losses[3] += peft_consistency(m, LB, logits_out, cfg[C_CONSISTENCY], 0);
        vlt5_backward(m);
        c->pf->opts.expert_offset = (int)cfg[C_OFFSET_A];
        CHECK(t, vlt5_forward(m, &c->b, &e) == 0);
        losses[0] = vlt5_loss(m, NULL);
        losses[3] += peft_consistency(m, logits_out, LB, cfg[C_CONSISTENCY], 1);
        free(LB);
    } else {
        losses[0] = vlt5_loss(m, NULL);
    }
    size_t slen, width;
    peft_reg_sizes(c->pf, &slen, &width);
    losses[1] = losses[2] = 0;
    if (slen) {
        const long B = c->b.B;
        float *stats = xcalloc(slen, sizeof(float)), *pooled = xcalloc((size_t)B * width + 1, sizeof(float));
        float *dpooled = xcalloc((size_t)B * width + 1, sizeof(float));
        peft_reg_local(c->pf, m, stats, pooled);
        losses[1] = peft_reg_backward(c->pf, m, stats, pooled, B, 0, dpooled, &losses[2]);
        peft_reg_pooled_grad(c->pf, m, dpooled, 0);
        free(stats), free(pooled), free(dpooled);
    }
    vlt5_backward(m);
}

/* Every trainable tensor's gradient against its slice of NAME.grad. */
static void compare_gradients(struct test_ctx *t, struct fixture *fx, const char *name, struct pcase *c)
{
    char ds[128];
    int nd;
    long dims[H5IO_MAX_DIMS];
    struct err e;
    snprintf(ds, sizeof ds, "%s.grad_names", name);
    if (h5io_shape(fx->f, ds, &nd, dims, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    int32_t *bytes = read_ints(t, fx, ds, dims[0]);
    char *names = xcalloc((size_t)dims[0] + 2, 1);
    for (long i = 0; bytes && i < dims[0]; i++)
        names[i] = (char)bytes[i];
    const long total = (long)params_count(&c->p, 1, PARAM_ANY);
    snprintf(ds, sizeof ds, "%s.grad", name);
    float *ref = read_floats(t, fx, ds, total);
    double case_max = 0;
    for (long i = 0; ref && i < total; i++)
        case_max = fmax(case_max, fabs(ref[i]));
    long offset = 0;
    int seen = 0;
    for (char *tok = strtok(names, "\n"); tok && ref; tok = strtok(NULL, "\n"), seen++) {
        const int h = params_find(&c->p, tok);
        CHECKF(t, h >= 0 && c->p.t[h].trainable, "%s: the reference's %s is not a trainable tensor here", name, tok);
        if (h < 0)
            break;
        const long numel = (long)c->p.t[h].numel;
        const float *g = params_grad(&c->p, h), *r = ref + offset;
        double max_ref = 0, max_err = 0;
        for (long k = 0; k < numel; k++)
            max_ref = fmax(max_ref, fabs(r[k])), max_err = fmax(max_err, fabs((double)g[k] - r[k]));
        if (getenv("MIXPHM_SHOW_ERRORS"))
            fprintf(stderr, "%-14s %-72s error %.3g of %.3g\n", name, tok, max_err, max_ref);
        if (max_ref == 0)
            CHECKF(t, max_err == 0, "%s: %s: no gradient in the reference (an unused expert), %g here", name, tok,
                   max_err);
        else
            CHECKF(t, max_err <= GRAD_TOL * fmax(max_ref, 1e-2 * case_max), "%s: %s: max error %.3g, max |ref| %.3g",
                   name, tok, max_err, max_ref);
        offset += numel;
    }
    int trainable = 0;
    for (int i = 0; i < c->p.n; i++)
        trainable += c->p.t[i].trainable;
    CHECKF(t, offset == total && seen == trainable,
           "%s: the reference has %ld gradient values for %d tensors, the model %ld for %d", name, offset, seen, total,
           trainable);
    free(bytes), free(names), free(ref);
}

static void run_case(struct test_ctx *t, struct fixture *fx, const char *name)
{
    char ds[128];
    snprintf(ds, sizeof ds, "%s.config", name);
    float *cfg = read_floats(t, fx, ds, C_COUNT);
    if (!cfg)
        return;
    struct peft_options o;
    options_of(cfg, &o);
    struct pcase *c = xcalloc(1, sizeof *c);
    if (build(t, fx, &o, c) == 0) {
        const long n = (long)fx->B * fx->Ld * fx->dims.vocab;
        float *logits = xmalloc(sizeof(float) * n);
        double losses[4];
        train_pass(t, c, cfg, losses, logits);
        snprintf(ds, sizeof ds, "%s.logits", name);
        compare_dataset(t, fx, ds, logits, n);
        snprintf(ds, sizeof ds, "%s.loss", name);
        float *ref = read_floats(t, fx, ds, 4);
        for (int k = 0; ref && k < 4; k++)
            CHECKF(t, fabs(losses[k] - ref[k]) <= 1e-7 + 1e-5 * fabs(ref[k]), "%s: loss %d: %.9g vs %.9g", name, k,
                   losses[k], ref[k]);
        free(ref);
        compare_gradients(t, fx, name, c);
        snprintf(ds, sizeof ds, "%s.logits_eval", name);
        if (h5io_exists(fx->f, ds)) { /* merged inference */
            struct err e;
            peft_eval_prepare(c->pf);
            c->b.train = 0;
            CHECK(t, vlt5_forward(&c->m, &c->b, &e) == 0);
            compare_dataset(t, fx, ds, c->m.logits, n);
        }
        free(logits);
        peft_free(c->pf);
        vlt5_free(&c->m);
        params_free(&c->p);
    }
    free(c), free(cfg);
}

static void run_cases(struct test_ctx *t, const char *const *names, int n)
{
    struct fixture fx;
    if (fixture_open(t, PEFT_FIXTURE, &fx))
        return;
    for (int i = 0; i < n; i++)
        run_case(t, &fx, names[i]);
    fixture_close(&fx);
}

static void test_methods(struct test_ctx *t)
{
    static const char *const names[] = {"bitfit",    "lora",        "houlsby", "pfeiffer",          "compacter",
                                        "compacter++", "adamix",    "mixphm",  "adamix_consistency"};
    run_cases(t, names, (int)(sizeof names / sizeof names[0]));
}

static void test_routing(struct test_ctx *t)
{
    static const char *const names[] = {"lora+mul",      "lora+add",      "lora+proj",     "lora+expand",
                                        "houlsby+mul",   "houlsby+add",   "houlsby+proj",  "houlsby+expand",
                                        "pfeiffer+mul",  "pfeiffer+add",  "pfeiffer+proj", "pfeiffer+expand",
                                        "mixphm+mul",    "mixphm+add",    "mixphm+proj",   "mixphm+expand"};
    run_cases(t, names, (int)(sizeof names / sizeof names[0]));
}

/* The fixture's train.* : MixPHM with its regulariser trained for a few steps as the authors' loop
 * does (experts (step + layer + 2 stack + proj) mod E, clipping, AdamW over the tensors that got a
 * gradient, each with its own step count).  The loss of every step, each tensor's step count
 * (exactly), and each tensor's change over the steps (relative L2 error <= 1e-3; observed <= 1.1e-5,
 * while updating the experts that were not drawn, as a plain AdamW would, is off by 1e-2 and more). */
enum { T_STEPS, T_LR, T_WD, T_CLIP, T_BOTTLENECK, T_PHM_DIM, T_RANK, T_EXPERTS, T_SHARE_UP, T_SHARE_DOWN, T_ALPHA,
       T_RED_W, T_MI_W, T_LAMBDA, T_COUNT };

static void test_training_steps(struct test_ctx *t)
{
    struct fixture fx;
    if (fixture_open(t, PEFT_FIXTURE, &fx))
        return;
    float *tc = read_floats(t, &fx, "train.config", T_COUNT);
    if (!tc) {
        fixture_close(&fx);
        return;
    }
    const int steps = (int)tc[T_STEPS];
    struct peft_options o;
    memset(&o, 0, sizeof o);
    o.method = PEFT_MIXPHM, o.routing = ROUTING_NONE;
    o.mixphm = (struct peft_mixphm_options){.bottleneck = (int)tc[T_BOTTLENECK], .phm_dim = (int)tc[T_PHM_DIM],
                                            .rank = (int)tc[T_RANK], .experts = (int)tc[T_EXPERTS],
                                            .share_up = (int)tc[T_SHARE_UP], .share_down = (int)tc[T_SHARE_DOWN],
                                            .alpha = tc[T_ALPHA], .red_weight = tc[T_RED_W], .mi_weight = tc[T_MI_W],
                                            .red_lambda = tc[T_LAMBDA]};
    o.expert_rule = PEFT_EXPERTS_FIXED;
    struct pcase *c = xcalloc(1, sizeof *c);
    float *ref_loss = read_floats(t, &fx, "train.loss", steps);
    if (ref_loss && build(t, &fx, &o, c) == 0) {
        struct params *p = &c->p;
        float *before = xmalloc(sizeof(float) * (p->n_train ? p->n_train : 1)); /* [n_train] */
        memcpy(before, p->train, sizeof(float) * p->n_train);
        const struct adamw_hparams h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
        struct err e;
        for (int s = 0; s < steps; s++) {
            c->pf->opts.expert_offset = s;
            params_zero_grad(p);
            peft_used_clear(c->pf);
            CHECK(t, vlt5_forward(&c->m, &c->b, &e) == 0);
            const double loss = vlt5_loss(&c->m, NULL) + peft_reg_step(c->pf, &c->m);
            vlt5_backward(&c->m);
            CHECKF(t, fabs(loss - ref_loss[s]) <= 1e-4 * fabs(ref_loss[s]), "step %d: loss %.8g, reference %.8g", s,
                   loss, ref_loss[s]);
            params_clip_grad(p, tc[T_CLIP]);
            params_adamw_step(p, tc[T_LR], tc[T_WD], &h, c->pf->used);
        }
        int trainable = 0;
        for (int i = 0; i < p->n; i++)
            trainable += p->t[i].trainable;
        const long total = (long)params_count(p, 1, PARAM_ANY);
        float *ref = read_floats(t, &fx, "train.params", total);
        int32_t *ref_steps = read_ints(t, &fx, "train.adam_step", trainable);
        int32_t *bytes = NULL;
        int nd;
        long dims[H5IO_MAX_DIMS];
        if (h5io_shape(fx.f, "train.names", &nd, dims, &e) == 0)
            bytes = read_ints(t, &fx, "train.names", dims[0]);
        char *names = xcalloc(bytes ? (size_t)dims[0] + 2 : 2, 1);
        for (long i = 0; bytes && i < dims[0]; i++)
            names[i] = (char)bytes[i];
        long offset = 0;
        int k = 0, skipped = 0;
        for (char *tok = strtok(names, "\n"); tok && ref && ref_steps; tok = strtok(NULL, "\n"), k++) {
            const int hnd = params_find(p, tok);
            CHECKF(t, hnd >= 0 && p->t[hnd].trainable, "train: the reference's %s is not a trainable tensor", tok);
            if (hnd < 0)
                break;
            const struct param_tensor *pt = &p->t[hnd];
            CHECKF(t, p->adam_step[hnd] == ref_steps[k], "train: %s took %ld AdamW steps, the reference %d", tok,
                   p->adam_step[hnd], (int)ref_steps[k]);
            skipped += ref_steps[k] < steps;
            double num = 0, den = 0;
            for (size_t j = 0; j < pt->numel; j++) {
                const double w0 = before[pt->offset + j], dc = p->train[pt->offset + j] - w0,
                             dr = ref[offset + (long)j] - w0;
                num += (dc - dr) * (dc - dr), den += dr * dr;
            }
            if (getenv("MIXPHM_SHOW_ERRORS"))
                fprintf(stderr, "train %-72s steps %ld, change %.3g, relative error %.3g\n", tok, p->adam_step[hnd],
                        sqrt(den), den > 0 ? sqrt(num / den) : sqrt(num));
            CHECKF(t, den == 0 ? num == 0 : sqrt(num / den) <= 1e-3, "train: %s changed by %.3g, relative error %.3g",
                   tok, sqrt(den), den > 0 ? sqrt(num / den) : sqrt(num));
            offset += (long)pt->numel;
        }
        CHECKF(t, k == trainable && offset == total, "train: %d reference tensors, %d here", k, trainable);
        CHECKF(t, skipped > 0, "train: every tensor was updated in every step; the case must skip some experts");
        free(before), free(ref), free(ref_steps), free(bytes), free(names);
        peft_free(c->pf);
        vlt5_free(&c->m);
        params_free(&c->p);
    }
    free(c), free(tc), free(ref_loss);
    fixture_close(&fx);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"methods", test_methods},
        {"routing", test_routing},
        {"training_steps", test_training_steps},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
