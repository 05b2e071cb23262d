/* Normalisation layers, forward and backward.
 *
 * T5's RMS norm ("T5LayerNorm"): no mean, no bias,
 *     var = mean_j x_j^2,   r = 1 / sqrt(var + eps),   y = w * (x * r)
 * computed as PyTorch's T5 does it in float32 (the sum of squares is accumulated in double here, which
 * only makes it closer to the exact value).  Backward, with g = w * dy:
 *     dx = r * g - x * r^3 * mean_j(g_j x_j),     dw += sum over rows of dy * x * r
 *
 * LayerNorm (for adapters): y = w * (x - mu) * r + b with r = 1 / sqrt(var + eps), biased variance.
 *     dx = r * (g - mean(g) - xhat * mean(g * xhat)),  dw += sum dy * xhat,  db += sum dy */
#ifndef MIXPHM_NN_NORM_H
#define MIXPHM_NN_NORM_H

#define T5_NORM_EPS 1e-6f

/* y[N, d], rstd[N] (kept for backward), x[N, d], w[d].  y may equal x. */
void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps);
/* dx[N, d] (accumulate_dx: +=), dw[d] += (may be NULL). */
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd, const float *w,
                      int N, int d, int accumulate_dx);

/* y[N, d]; mean[N] and rstd[N] kept for backward; b may be NULL.  y may not alias x. */
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N,
                       int d, float eps);
void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *w, int N, int d, int accumulate_dx);

#endif
