/* nn/adamw: HF AdamW steps against the same recurrence in double (float32 rounding only: relative
 * 1e-5), the linear warm-up schedule's values, and global-norm clipping.  The comparison with PyTorch
 * itself is in test_vlt5_reference (fixture adamw.h5). */
#include <math.h>
#include <string.h>

#include "nn/adamw.h"
#include "tests/harness.h"

static void test_adamw_matches_recurrence(struct test_ctx *t)
{
    enum { N = 5, STEPS = 6 };
    float p[N] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f}, m[N] = {0}, v[N] = {0};
    double pd[N], md[N] = {0}, vd[N] = {0};
    for (int i = 0; i < N; i++)
        pd[i] = p[i];
    const struct adamw_hparams h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    for (int s = 1; s <= STEPS; s++) {
        float g[N];
        for (int i = 0; i < N; i++)
            g[i] = (float)(sin(0.7 * s + i) * (i + 1));
        const double lr = 1e-2 * s, wd = s % 2 ? 0.01 : 0.0;
        adamw_update(p, g, m, v, N, lr, wd, &h, s);
        for (int i = 0; i < N; i++) {
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
            double step = lr * sqrt(1 - pow(0.999, s)) / (1 - pow(0.9, s));
            pd[i] -= step * md[i] / (sqrt(vd[i]) + 1e-6);
            pd[i] -= lr * wd * pd[i];
        }
    }
    for (int i = 0; i < N; i++)
        CHECK_NEAR(t, p[i], pd[i], 1e-6, 1e-5);
}

static void test_linear_schedule(struct test_ctx *t)
{
    /* 100 steps, 5 of warm-up, base 5e-3 */
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 0, 5, 100), 0.0, 0, 0); /* the first update uses lr 0 */
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 1, 5, 100), 1e-3, 1e-15, 0);
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 4, 5, 100), 4e-3, 1e-15, 0);
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 5, 5, 100), 5e-3, 1e-15, 0);
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 52, 5, 100), 5e-3 * 48.0 / 95.0, 1e-15, 0);
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 100, 5, 100), 0.0, 0, 0);
    CHECK_NEAR(t, lr_linear_warmup(5e-3, 120, 5, 100), 0.0, 0, 0);
    /* no warm-up: full rate at once, then linear decay */
    CHECK_NEAR(t, lr_linear_warmup(1.0, 0, 0, 10), 1.0, 0, 0);
    CHECK_NEAR(t, lr_linear_warmup(1.0, 3, 0, 10), 0.7, 1e-15, 0);
}

static void test_clip(struct test_ctx *t)
{
    float g[4] = {3, 4, 0, 0}; /* norm 5 */
    double norm = sqrt(sum_squares(g, 4));
    CHECK_NEAR(t, norm, 5.0, 0, 0);
    CHECK_NEAR(t, clip_factor(norm, 5.0), 1.0, 0, 0); /* not above the limit: untouched */
    CHECK_NEAR(t, clip_factor(norm, 1.0), 1.0 / (5.0 + 1e-6), 0, 1e-7); /* float32 */
    scale_floats(g, 4, clip_factor(norm, 1.0));
    CHECK_NEAR(t, sqrt(sum_squares(g, 4)), 1.0, 1e-6, 0);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"adamw_matches_recurrence", test_adamw_matches_recurrence},
        {"linear_schedule", test_linear_schedule},
        {"clip", test_clip},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
