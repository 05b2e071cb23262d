/* The train and eval stages' inner loops on every rank of MPI_COMM_WORLD, as one training group:
 * a data-parallel optimizer step of a PEFT method on a frozen backbone with random weights (the
 * train stage's trainer_step: forward, regulariser exchange, backward, bucketed gradient allreduce,
 * clipping, AdamW), and greedy decoding of each rank's share of the test questions (the eval stage).
 *
 *   mpirun -np N bench_parallel [SIZE [METHOD [GLOBAL_BATCH [TEXT [ANSWER [REPEATS [VOCAB [FEAT_DIM]]]]]]]]
 *   defaults: t5-base mixphm 16 20 10 3 32200 2048
 * SIZE is a preset name or comma-separated config settings ("model.size=custom,model.d_model=192,...",
 * also peft.* keys), so that any backbone and method width can be timed; VOCAB and FEAT_DIM give the
 * data's sizes (the synthetic benchmark: about 300 words, 64-wide features).
 *
 * Prints one JSON object (rank 0): the fastest and median step in seconds, steps/s, the time of the
 * gradient allreduce alone on the same buffer and its share of the step, and decoded questions/s
 * (the global batch over the slowest rank's decoding time). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "train/random_batch.h"
#include "mpi/grad_allreduce.h"
#include "nn/blas_env.h"
#include "run/config.h"
#include "train/model.h"
#include "train/batch.h"
#include "train/step.h"

#define MAX_SETS 16

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The slowest rank's time of each repeat, then sorted. */
static void slowest_sorted(double *t, int n)
{
    MPI_Allreduce(MPI_IN_PLACE, t, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
}

static int fail(const char *what, const struct err *e)
{
    fprintf(stderr, "bench_parallel: %s: %s\n", what, e->msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *model = argc > 1 ? argv[1] : "t5-base", *method = argc > 2 ? argv[2] : "mixphm";
    const int Bg = argc > 3 ? atoi(argv[3]) : 16, Lt = argc > 4 ? atoi(argv[4]) : 20;
    const int Ld = argc > 5 ? atoi(argv[5]) : 10, reps = argc > 6 ? atoi(argv[6]) : 3;
    const int vocab = argc > 7 ? atoi(argv[7]) : 32200, feat_dim = argc > 8 ? atoi(argv[8]) : 2048;
    if (Bg < size || Lt < 2 || Ld < 2 || reps < 1 || vocab < 110 || feat_dim < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np N bench_parallel [SIZE [METHOD [GLOBAL_BATCH >= N [TEXT [ANSWER "
                            "[REPEATS [VOCAB [FEAT_DIM]]]]]]]]\n");
        MPI_Finalize();
        return 2;
    }
    char set_size[64], set_method[64], list[1024];
    snprintf(set_size, sizeof set_size, "model.size=%s", model);
    snprintf(set_method, sizeof set_method, "peft.method=%s", method);
    const char *sets[MAX_SETS + 1] = {set_method};
    int n_sets = 1;
    if (strchr(model, '=')) { /* settings, not a preset name */
        snprintf(list, sizeof list, "%s", model);
        for (char *tok = strtok(list, ","); tok && n_sets <= MAX_SETS; tok = strtok(NULL, ","))
            sets[n_sets++] = tok;
    } else {
        sets[n_sets++] = set_size;
    }
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    if (config_load(cfg, NULL, sets, n_sets, &e) != 0)
        return fail("config", &e);

    int lo, hi; /* with train.chunk_examples in SIZE, whole chunks (the fixed-order step) */
    chunk_share(Bg, (int)cfg->train.chunk_examples, rank, size, &lo, &hi);
    const int B = hi - lo;
    struct model_sizes sz = {.max_batch = B, .max_text = Lt, .max_target = Ld, .max_generate = Ld};
    struct model_ctx mc;
    if (model_setup(&mc, cfg, vocab, feat_dim, MODEL_OF_RUN, &sz, &e) != 0)
        return fail("model", &e);
    vlt5_init_random(&mc.model, 1);
    peft_init(mc.peft, 1);
    struct trainer t;
    trainer_init(&t, &mc, MPI_COMM_WORLD, Bg, cfg->train.bucket_mb, cfg->train.weight_decay, cfg->train.adam_eps,
                 cfg->train.clip_norm);
    /* no memory check: -1 */
    trainer_fixed_order(&t, (int)cfg->train.chunk_examples, Bg, cfg->train.chunk_keep_activations, -1, &e);
    const int R = mc.model.dims.n_regions;
    struct random_share s;
    random_share_fill(&s, lo, hi, Lt, Ld, R, feat_dim, vocab);
    struct vlt5_batch batch = {.B = B, .text_len = Lt, .text = s.text, .feats = s.feats, .boxes = s.boxes,
                               .target_len = Ld, .labels = s.labels, .weights = s.weights, .ex0 = (uint64_t)lo,
                               .global_batch = Bg, .seed = 1, .train = 1};

    double *t_step = xcalloc((size_t)reps, sizeof *t_step), *t_red = xcalloc((size_t)reps, sizeof *t_red);
    double *t_dec = xcalloc((size_t)reps, sizeof *t_dec), loss = 0, norm = 0;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
        batch.step = (uint64_t)(r + 2);
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        if (trainer_step(&t, &batch, 1e-4, r + 2, &loss, &norm, &e) != 0)
            return fail("step", &e);
        if (r >= 0)
            t_step[r] = MPI_Wtime() - t0;
    }
    /* The allreduce alone, on the gradient buffer it sums in every step. */
    for (int r = -1; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        grad_bucket_allreduce(mc.params.grad, mc.params.n_train, t.bucket_floats, MPI_COMM_WORLD);
        if (r >= 0)
            t_red[r] = MPI_Wtime() - t0;
    }
    peft_eval_prepare(mc.peft);
    batch.train = 0;
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)B * Ld);
    int *len = xmalloc(sizeof(int) * (size_t)B);
    for (int r = -1; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        if (vlt5_generate(&mc.model, &batch, Ld, out, len, &e) != 0)
            return fail("decoding", &e);
        if (r >= 0)
            t_dec[r] = MPI_Wtime() - t0;
    }
    slowest_sorted(t_step, reps);
    slowest_sorted(t_red, reps);
    slowest_sorted(t_dec, reps);
    if (rank == 0) {
        const double step = t_step[0], red = t_red[0];
        printf("{\"impl\": \"c\", \"size\": \"%s\", \"method\": \"%s\", \"ranks\": %d, \"global_batch\": %d, "
               "\"chunk_examples\": %ld, \"text\": %d, \"answer\": %d, \"threads\": %d, \"blas_core\": \"%s\", \"trainable\": %zu, \"backbone\": %zu, "
               "\"step_min_s\": %.4f, \"step_median_s\": %.4f, \"steps_per_s\": %.3f, \"allreduce_min_s\": %.5f, "
               "\"allreduce_share\": %.4f, \"decode_min_s\": %.4f, \"questions_per_s\": %.2f, \"loss\": %.4f}\n",
               model, method, size, Bg, cfg->train.chunk_examples, Lt, Ld, blas_threads(), blas_core_name(), mc.params.n_train,
               params_count(&mc.params, -1, PARAM_BACKBONE), step,
               t_step[reps / 2], 1.0 / step, red, red / step, t_dec[0], Bg / t_dec[0], loss);
    }
    free(t_step), free(t_red), free(t_dec), free(out), free(len), free(cfg);
    random_share_free(&s);
    trainer_free(&t);
    model_teardown(&mc);
    MPI_Finalize();
    return 0;
}
