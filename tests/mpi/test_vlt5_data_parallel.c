/* Data parallelism of the backbone under mpirun -np 1, 2, 4: each rank runs its block of a global batch
 * of 8 (padded to its own lengths, dropout on, ex0 = its first global example, the global batch size as
 * the loss denominator); the allreduced loss and gradients equal those of the whole batch on one rank
 * (relative 1e-5: only the float summation order differs).  The same holds with model.precision bf16
 * (BitFit's biases train through the frozen bf16 products: a row's products do not depend on the
 * other rows); a build without oneDNN skips that case. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vlt5.h"
#include "mpi/world.h"
#include "nn/bf16_matmul.h"
#include "tests/fd.h"
#include "tests/vlt5_toy.h"
#include "tests/harness.h"

#define N_EX TOY_MAX

/* Loss and gradients of examples [first, first + n) on this process. */
static double run(struct test_ctx *t, struct params *p, struct vlt5 *m, const struct toy_data *x, int first, int n)
{
    struct err e;
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    struct vlt5_batch b = toy_batch(x, first, n, N_EX, text, labels);
    b.seed = 21, b.step = 8;
    params_zero_grad(p);
    if (vlt5_forward(m, &b, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return NAN;
    }
    double L = vlt5_loss(m, NULL);
    vlt5_backward(m);
    return L;
}

/* full: every backbone tensor trains (fp32); otherwise BitFit's biases, in `precision`. */
static void allreduced_gradients(struct test_ctx *t, int full, int precision)
{
    struct world *w = t->world;
    struct vlt5_dims d;
    toy_dims(&d);
    struct vlt5_options o = {.train_backbone = full, .linear_bias = !full, .precision = precision, .dropout = 0.1f,
                             .max_batch = N_EX, .max_text = TOY_TEXT, .max_target = TOY_ANSWER, .max_generate = 1};
    struct params p;
    struct vlt5 m;
    struct err e;
    if (vlt5_build(&m, &p, &d, &o, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return;
    }
    vlt5_init_random(&m, 4);
    struct toy_data *x = xmalloc(sizeof *x);
    toy_data_fill(x);
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

static void test_allreduced_gradients(struct test_ctx *t)
{
    allreduced_gradients(t, 1, VLT5_FP32);
}

static void test_allreduced_gradients_bf16(struct test_ctx *t)
{
    allreduced_gradients(t, 0, VLT5_BF16);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {{"allreduced_gradients", test_allreduced_gradients},
                                        {"allreduced_gradients_bf16", test_allreduced_gradients_bf16}};
    if (!bf16_runs_here())
        printf("# skipped allreduced_gradients_bf16: %s\n",
               bf16_built() ? "oneDNN has no bf16 matmul on this CPU" : "built without oneDNN (make DNNL=0)");
    return test_main_mpi(tests, bf16_runs_here() ? TEST_COUNT(tests) : 1, argc, argv);
}
