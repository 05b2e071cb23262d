/* Times one training step of a frozen backbone (dropout on) and one greedy decoding batch, as
 * bench/bench_vlt5.py does in PyTorch.  The backbone alone takes its gradients down to the encoder
 * input; with a method (MixPHM or LoRA, the configuration's defaults) the step is the forward, the
 * answer loss, the method's regularisers and the backward into its tensors (no optimizer update on
 * either side), and decoding uses its evaluation form (merged experts).
 *
 *   bench_vlt5 [SIZE [BATCH [TEXT [ANSWER [REPEATS [METHOD [PRECISION [PARTS]]]]]]]]
 *   defaults: t5-base 16 20 10 5 none fp32 both; METHOD none, mixphm or lora; PRECISION fp32 or bf16;
 *   PARTS both, or decode for the decoding batch alone (the training figures are then 0)
 *
 * Prints one JSON object: the median and the fastest of the repeats in seconds, and the GFLOP/s of the
 * fastest (bench/flops.h counts the backbone's), the precision, the ISA oneDNN reports for this CPU
 * and, in bf16, the matmul kernel it runs.  On a shared machine the fastest is the better estimate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "bench/flops.h"
#include "train/random_batch.h"
#include "model/peft/peft.h"
#include "model/vlt5.h"
#include "nn/bf16_matmul.h"
#include "nn/blas_env.h"
#include "run/config.h"
#include "train/config_model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int fail(const struct err *e)
{
    fprintf(stderr, "bench_vlt5: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    const char *size = argc > 1 ? argv[1] : "t5-base";
    const int B = argc > 2 ? atoi(argv[2]) : 16, Lt = argc > 3 ? atoi(argv[3]) : 20;
    const int Ld = argc > 4 ? atoi(argv[4]) : 10, reps = argc > 5 ? atoi(argv[5]) : 5;
    const char *method = argc > 6 ? argv[6] : "none", *precision = argc > 7 ? argv[7] : "fp32";
    const char *parts = argc > 8 ? argv[8] : "both";
    struct vlt5_dims d;
    const int none = strcmp(method, "none") == 0, bf16 = strcmp(precision, "bf16") == 0;
    const int train = strcmp(parts, "decode") != 0;
    if (vlt5_preset(size, &d) || B < 1 || Lt < 1 || Ld < 1 || reps < 1 ||
        !(none || !strcmp(method, "mixphm") || !strcmp(method, "lora")) || !(bf16 || !strcmp(precision, "fp32")) ||
        !(!train || !strcmp(parts, "both"))) {
        fprintf(stderr, "usage: bench_vlt5 [tiny|t5-small|t5-base [BATCH [TEXT [ANSWER [REPEATS [none|mixphm|lora "
                        "[fp32|bf16 [both|decode]]]]]]]]\n");
        return 2;
    }
    struct err e;
    struct params p;
    struct vlt5 m;
    struct peft *pf = NULL;
    /* The configuration's defaults: the method's hyperparameters and the backbone's dropout. */
    char set_method[64], set_precision[64];
    snprintf(set_method, sizeof set_method, "peft.method=%s", none ? "mixphm" : method);
    snprintf(set_precision, sizeof set_precision, "model.precision=%s", precision);
    const char *sets[] = {set_method, set_precision};
    struct config *cfg = xmalloc(sizeof *cfg);
    if (config_load(cfg, NULL, sets, 2, &e) != 0)
        return fail(&e);
    struct vlt5_options o;
    config_vlt5_options(cfg, &o);
    o.max_batch = B, o.max_text = Lt, o.max_target = Ld, o.max_generate = Ld;
    struct peft_options po;
    config_peft_options(cfg, &po);
    params_init(&p);
    if (vlt5_register(&m, &p, &d, &o, &e) != 0 || (!none && peft_create(&pf, &po, &m, &p, &e) != 0))
        return fail(&e);
    params_alloc(&p);
    vlt5_bind(&m);
    if (pf)
        peft_bind(pf);
    vlt5_init_random(&m, 1);
    if (pf)
        peft_init(pf, 1);
    if (vlt5_pack_weights(&m, &e) != 0)
        return fail(&e);
    m.input_grad = none; /* the bare backbone: backward through every block, as an adapter in block 0 needs */

    const long R = d.n_regions;
    struct random_share in;
    random_share_fill(&in, 0, B, Lt, Ld, (int)R, d.feat_dim, d.vocab);
    struct vlt5_batch batch = {.B = B, .text_len = Lt, .text = in.text, .feats = in.feats, .boxes = in.boxes,
                               .target_len = Ld, .labels = in.labels, .weights = in.weights, .global_batch = B,
                               .seed = 1, .train = 1};
    double *t_train = xcalloc((size_t)reps, sizeof(double)), *t_dec = xmalloc(sizeof(double) * (size_t)reps);
    double loss = 0;
    for (int r = -1; train && r < reps; r++) { /* r = -1: warm-up */
        batch.step = (uint64_t)(r + 2);
        const double t0 = now();
        params_zero_grad(&p);
        if (vlt5_forward(&m, &batch, &e))
            return fail(&e);
        loss = vlt5_loss(&m, NULL);
        if (pf)
            loss += peft_reg_step(pf, &m);
        vlt5_backward(&m);
        if (r >= 0)
            t_train[r] = now() - t0;
    }
    if (pf)
        peft_eval_prepare(pf);
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)(B * Ld));
    int *len = xmalloc(sizeof(int) * (size_t)B), steps = 0;
    for (int r = -1; r < reps; r++) {
        const double t0 = now();
        if (vlt5_generate(&m, &batch, Ld, out, len, &e))
            return fail(&e);
        if (r >= 0)
            t_dec[r] = now() - t0;
    }
    for (int b = 0; b < B; b++)
        steps = len[b] > steps ? len[b] : steps;
    const double tt = median(t_train, reps), td = median(t_dec, reps), tt_min = t_train[0], td_min = t_dec[0];
    const double train_gflops = train ? vlt5_train_flops(&d, B, Lt, Ld) / tt_min * 1e-9 : 0.0;
    const double ft = vlt5_train_flops(&d, B, Lt, Ld), fdec = vlt5_decode_flops(&d, B, Lt, steps);
    char engine[512] = "OpenBLAS";
    if (bf16)
        vlt5_precision_describe(&m, engine, sizeof engine);
    for (char *c = engine; *c; c++) /* the description goes into a JSON string */
        if (*c == '"' || *c == '\\')
            *c = '\'';
    printf("{\"impl\": \"c\", \"size\": \"%s\", \"method\": \"%s\", \"precision\": \"%s\", \"isa\": \"%s\", "
           "\"batch\": %d, \"text\": %d, \"answer\": %d, \"threads\": %d, \"blas_core\": \"%s\", "
           "\"trainable\": %zu, \"train_step_s\": %.4f, \"train_step_min_s\": %.4f, \"train_gflops\": %.1f, "
           "\"train_gflop\": %.1f, \"decode_s\": %.4f, \"decode_min_s\": %.4f, \"decode_steps\": %d, "
           "\"decode_gflops\": %.1f, \"decode_gflop\": %.1f, \"loss\": %.4f, \"engine\": \"%s\"}\n",
           size, method, precision, bf16_cpu_isa(), B, Lt, Ld, blas_threads(), blas_core_name(), p.n_train, tt, tt_min,
           train_gflops, ft * 1e-9, td, td_min, steps, fdec / td_min * 1e-9, fdec * 1e-9, loss, engine);
    random_share_free(&in);
    free(t_train), free(t_dec), free(out), free(len), free(cfg);
    peft_free(pf);
    vlt5_free(&m);
    params_free(&p);
    return 0;
}
