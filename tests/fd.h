/* Finite-difference gradient checks for float kernels (tests only).
 *
 * A test defines a scalar L(state) in double (usually L = sum r * y for a fixed random r, so that the
 * backward pass gets dy = r) and the analytic gradient g of L with respect to a float buffer x.
 * fd_check perturbs x[i] by +-h, takes (L+ - L-) / 2h and returns the largest |g_i - fd_i| divided by
 * max(max_i |fd_i|, floor): the error relative to the gradient's scale.  With float32 kernels and
 * h ~ 1e-2 the truncation and rounding errors are around 1e-4 of that scale, so tests accept 2e-3. */
#ifndef MIXPHM_TESTS_FD_H
#define MIXPHM_TESTS_FD_H

#include <math.h>
#include <stdint.h>

typedef double (*fd_loss_fn)(void *ctx);

/* Checks every entry when n <= max_checks, else max_checks entries spread over the buffer. */
static inline double fd_check(fd_loss_fn loss, void *ctx, float *x, const float *g, long n, float h, long max_checks,
                              long *worst_index)
{
    long step = n <= max_checks ? 1 : n / max_checks;
    double max_fd = 0.0, max_err = 0.0;
    *worst_index = -1;
    for (long i = 0; i < n; i += step) {
        const float keep = x[i];
        x[i] = keep + h;
        const double lp = loss(ctx);
        x[i] = keep - h;
        const double lm = loss(ctx);
        x[i] = keep;
        const double fd = (lp - lm) / (2.0 * (double)h);
        if (fabs(fd) > max_fd)
            max_fd = fabs(fd);
        const double err = fabs(fd - (double)g[i]);
        if (err > max_err) {
            max_err = err;
            *worst_index = i;
        }
    }
    return max_err / (max_fd > 1e-6 ? max_fd : 1e-6);
}

/* The same with several step sizes: an entry passes with its best step.  For losses with kinks (the
 * ReLUs of a whole model), where a step can cross a kink and spoil one difference; a wrong gradient
 * agrees at no step. */
static inline double fd_check_steps(fd_loss_fn loss, void *ctx, float *x, const float *g, long n, const float *hs,
                                    int n_h, long max_checks, long *worst_index)
{
    long step = n <= max_checks ? 1 : n / max_checks;
    double max_g = 0.0, max_err = 0.0;
    *worst_index = -1;
    for (long i = 0; i < n; i++)
        max_g = fmax(max_g, fabs((double)g[i]));
    for (long i = 0; i < n; i += step) {
        const float keep = x[i];
        double best = INFINITY;
        for (int k = 0; k < n_h; k++) {
            x[i] = keep + hs[k];
            const double lp = loss(ctx);
            x[i] = keep - hs[k];
            const double lm = loss(ctx);
            x[i] = keep;
            best = fmin(best, fabs((lp - lm) / (2.0 * (double)hs[k]) - (double)g[i]));
        }
        if (best > max_err) {
            max_err = best;
            *worst_index = i;
        }
    }
    return max_err / (max_g > 1e-6 ? max_g : 1e-6);
}

/* Deterministic test values in [lo, hi). */
static inline void fd_fill(float *x, long n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (long i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * 0x1.0p-24);
    }
}

static inline double fd_dot(const float *a, const float *b, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

#endif
