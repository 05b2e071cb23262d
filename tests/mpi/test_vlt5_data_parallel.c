/* Data parallelism of the backbone under mpirun -np 1, 2, 4: each rank runs its block of a global batch
 * of 8 (padded to its own lengths, dropout on, ex0 = its first global example, the global batch size as
 * the loss denominator); the allreduced loss and gradients equal those of the whole batch on one rank
 * (relative 1e-5: only the float summation order differs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vlt5.h"
#include "mpi/world.h"
#include "tests/fd.h"
#include "tests/harness.h"

#define N_EX 8
static const int TEXT_LEN[N_EX] = {3, 7, 2, 5, 4, 6, 1, 7}, ANSWER_LEN[N_EX] = {2, 4, 1, 3, 3, 1, 2, 4};

struct data {
    int32_t text[N_EX * 7], labels[N_EX * 4];
    float feats[N_EX * 36 * 8], boxes[N_EX * 36 * 4], weights[N_EX];
};

static void make_data(struct data *x)
{
    for (int b = 0; b < N_EX; b++) {
        for (int i = 0; i < 7; i++)
            x->text[b * 7 + i] = i < TEXT_LEN[b] - 1 ? 3 + (b * 7 + i * 3) % 11 : i == TEXT_LEN[b] - 1 ? 1 : 0;
        for (int i = 0; i < 4; i++)
            x->labels[b * 4 + i] = i < ANSWER_LEN[b] - 1 ? 3 + (b * 5 + i) % 9 : i == ANSWER_LEN[b] - 1 ? 1 : -100;
        x->weights[b] = b == 5 ? 0.0f : 0.2f * (float)(b + 1); /* a zero score still counts in the mean */
    }
    fd_fill(x->feats, N_EX * 36 * 8, 9, 0, 2);
    fd_fill(x->boxes, N_EX * 36 * 4, 10, 0, 1);
}

/* Loss and gradients of examples [first, first + n) on this process. */
static double run(struct test_ctx *t, struct params *p, struct vlt5 *m, const struct data *x, int first, int n)
{
    struct err e;
    int32_t text[N_EX * 7], labels[N_EX * 4];
    int Lt = 1, Ld = 1;
    for (int b = first; b < first + n; b++)
        Lt = TEXT_LEN[b] > Lt ? TEXT_LEN[b] : Lt, Ld = ANSWER_LEN[b] > Ld ? ANSWER_LEN[b] : Ld;
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < Lt; i++)
            text[b * Lt + i] = x->text[(first + b) * 7 + i];
        for (int i = 0; i < Ld; i++)
            labels[b * Ld + i] = x->labels[(first + b) * 4 + i];
    }
    struct vlt5_batch b = {.B = n, .text_len = Lt, .text = text, .feats = x->feats + (long)first * 36 * 8,
                           .boxes = x->boxes + (long)first * 36 * 4, .target_len = Ld, .labels = labels,
                           .weights = x->weights + first, .ex0 = (uint64_t)first, .global_batch = N_EX,
                           .seed = 21, .step = 8, .train = 1};
    params_zero_grad(p);
    if (vlt5_forward(m, &b, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return NAN;
    }
    double L = vlt5_loss(m, NULL);
    vlt5_backward(m);
    return L;
}

static void test_allreduced_gradients(struct test_ctx *t)
{
    struct world *w = t->world;
    struct vlt5_dims d;
    vlt5_preset("tiny", &d);
    d.d_model = 32, d.n_heads = 2, d.d_kv = 8, d.d_ff = 48, d.vocab = 50, d.feat_dim = 8;
    struct vlt5_options o = {.train_backbone = 1, .dropout = 0.1f, .max_batch = N_EX, .max_text = 7,
                             .max_target = 4, .max_generate = 1};
    struct params p;
    struct vlt5 m;
    struct err e;
    params_init(&p);
    if (vlt5_register(&m, &p, &d, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    params_alloc(&p);
    vlt5_bind(&m);
    vlt5_init_random(&m, 4);
    struct data *x = xmalloc(sizeof *x);
    make_data(x);
    /* reference: the whole batch here */
    const double L_ref = run(t, &p, &m, x, 0, N_EX);
    float *g_ref = xmalloc(sizeof(float) * p.n_train);
    memcpy(g_ref, p.grad, sizeof(float) * p.n_train);
    /* this rank's block (sizes differ when N_EX is not a multiple of the world size) */
    const int first = N_EX * w->rank / w->size, last = N_EX * (w->rank + 1) / w->size;
    double L = last > first ? run(t, &p, &m, x, first, last - first) : 0.0;
    if (last <= first)
        params_zero_grad(&p);
    MPI_Allreduce(MPI_IN_PLACE, &L, 1, MPI_DOUBLE, MPI_SUM, w->comm);
    MPI_Allreduce(MPI_IN_PLACE, p.grad, (int)p.n_train, MPI_FLOAT, MPI_SUM, w->comm);
    CHECK_NEAR(t, L, L_ref, 0, 1e-5);
    double max_g = 0, max_err = 0;
    for (size_t i = 0; i < p.n_train; i++) {
        max_g = fmax(max_g, fabs(g_ref[i]));
        max_err = fmax(max_err, fabs((double)g_ref[i] - p.grad[i]));
    }
    CHECKF(t, max_g > 0 && max_err <= 1e-5 * max_g, "%d ranks: gradients differ by %g (max |g| %g)", w->size, max_err,
           max_g);
    free(g_ref), free(x);
    vlt5_free(&m);
    params_free(&p);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {{"allreduced_gradients", test_allreduced_gradients}};
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
