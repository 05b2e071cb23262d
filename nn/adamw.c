#include "nn/adamw.h"

#include <math.h>

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, double lr, double weight_decay,
                  const struct adamw_hparams *h, long t)
{
    const float b1 = (float)h->beta1, b2 = (float)h->beta2, eps = (float)h->eps;
    const float a1 = (float)(1.0 - h->beta1), a2 = (float)(1.0 - h->beta2);
    const double bc1 = 1.0 - pow(h->beta1, (double)t);
    const double bc2 = 1.0 - pow(h->beta2, (double)t);
    const float step_size = (float)(lr * sqrt(bc2) / bc1);
    const float decay = (float)(lr * weight_decay);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + a1 * g[i];
        v[i] = b2 * v[i] + a2 * g[i] * g[i];
        p[i] -= step_size * (m[i] / (sqrtf(v[i]) + eps));
        if (weight_decay > 0.0)
            p[i] -= decay * p[i];
    }
}

double lr_linear_warmup(double base, long s, long warmup, long total)
{
    if (s < warmup)
        return base * (double)s / (double)(warmup > 1 ? warmup : 1);
    double f = (double)(total - s) / (double)(total - warmup > 1 ? total - warmup : 1);
    return base * (f > 0.0 ? f : 0.0);
}

double sum_squares(const float *g, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return s;
}

float clip_factor(double norm, double max_norm)
{
    return norm > max_norm ? (float)(max_norm / (norm + 1e-6)) : 1.0f;
}

void scale_floats(float *g, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        g[i] *= s;
}
