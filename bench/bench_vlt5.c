/* Times one training step (frozen t5-base backbone, no PEFT method attached, dropout on, gradients taken
 * down to the encoder input) and one greedy decoding batch, as bench/bench_vlt5.py does in PyTorch.
 *
 *   bench_vlt5 [SIZE [BATCH [TEXT [ANSWER [REPEATS]]]]]     defaults: t5-base 16 20 10 5
 *
 * Prints one JSON object: the median and the fastest of the repeats in seconds, and the GFLOP/s of the
 * fastest (bench/flops.h counts them).  On a shared machine the fastest is the better estimate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "bench/flops.h"
#include "bench/random_batch.h"
#include "model/vlt5.h"
#include "nn/blas_env.h"

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

int main(int argc, char **argv)
{
    const char *size = argc > 1 ? argv[1] : "t5-base";
    const int B = argc > 2 ? atoi(argv[2]) : 16, Lt = argc > 3 ? atoi(argv[3]) : 20;
    const int Ld = argc > 4 ? atoi(argv[4]) : 10, reps = argc > 5 ? atoi(argv[5]) : 5;
    struct vlt5_dims d;
    if (vlt5_preset(size, &d) || B < 1 || Lt < 1 || Ld < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_vlt5 [tiny|t5-small|t5-base [BATCH [TEXT [ANSWER [REPEATS]]]]]\n");
        return 2;
    }
    struct err e;
    struct params p;
    struct vlt5 m;
    struct vlt5_options o = {.dropout = 0.1f, .max_batch = B, .max_text = Lt, .max_target = Ld, .max_generate = Ld};
    if (vlt5_build(&m, &p, &d, &o, &e)) {
        fprintf(stderr, "bench_vlt5: %s\n", e.msg);
        return 1;
    }
    vlt5_init_random(&m, 1);
    m.input_grad = 1; /* backward through every block, as an adapter in block 0 needs */

    const long R = d.n_regions;
    struct share in;
    share_fill(&in, 0, B, Lt, Ld, (int)R, d.feat_dim);
    struct vlt5_batch batch = {.B = B, .text_len = Lt, .text = in.text, .feats = in.feats, .boxes = in.boxes,
                               .target_len = Ld, .labels = in.labels, .weights = in.weights, .global_batch = B,
                               .seed = 1, .train = 1};
    double *t_train = xmalloc(sizeof(double) * (size_t)reps), *t_dec = xmalloc(sizeof(double) * (size_t)reps);
    double loss = 0;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
        batch.step = (uint64_t)(r + 2);
        const double t0 = now();
        if (vlt5_forward(&m, &batch, &e)) {
            fprintf(stderr, "bench_vlt5: %s\n", e.msg);
            return 1;
        }
        loss = vlt5_loss(&m, NULL);
        vlt5_backward(&m);
        if (r >= 0)
            t_train[r] = now() - t0;
    }
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)(B * Ld));
    int *len = xmalloc(sizeof(int) * (size_t)B), steps = 0;
    for (int r = -1; r < reps; r++) {
        const double t0 = now();
        if (vlt5_generate(&m, &batch, Ld, out, len, &e)) {
            fprintf(stderr, "bench_vlt5: %s\n", e.msg);
            return 1;
        }
        if (r >= 0)
            t_dec[r] = now() - t0;
    }
    for (int b = 0; b < B; b++)
        steps = len[b] > steps ? len[b] : steps;
    const double tt = median(t_train, reps), td = median(t_dec, reps), tt_min = t_train[0], td_min = t_dec[0];
    const double ft = vlt5_train_flops(&d, B, Lt, Ld), fdec = vlt5_decode_flops(&d, B, Lt, steps);
    printf("{\"impl\": \"c\", \"size\": \"%s\", \"batch\": %d, \"text\": %d, \"answer\": %d, \"threads\": %d, "
           "\"blas_core\": \"%s\", \"train_step_s\": %.4f, \"train_step_min_s\": %.4f, \"train_gflops\": %.1f, "
           "\"train_gflop\": %.1f, \"decode_s\": %.4f, \"decode_min_s\": %.4f, \"decode_steps\": %d, "
           "\"decode_gflops\": %.1f, \"decode_gflop\": %.1f, \"loss\": %.4f}\n",
           size, B, Lt, Ld, blas_threads(), blas_core_name(), tt, tt_min, ft / tt_min * 1e-9, ft * 1e-9, td, td_min,
           steps, fdec / td_min * 1e-9, fdec * 1e-9, loss);
    share_free(&in);
    free(t_train), free(t_dec), free(out), free(len);
    vlt5_free(&m);
    params_free(&p);
    return 0;
}
