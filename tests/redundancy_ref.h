/* The redundancy statistics computed the plain way, in double, on one process, straight from their
 * definitions (docs/analysis.md): full N x N matrices, the centring matrix H = I - 11^T/N multiplied
 * out, HSIC as a literal trace, the median by sorting every distance.  The tests compare the
 * distributed engine (mpi/redundancy_stats) and its local kernels (nn/gram_sums) to this.  Nothing
 * here shares code with them. */
#ifndef MIXPHM_TESTS_REDUNDANCY_REF_H
#define MIXPHM_TESTS_REDUNDANCY_REF_H

#include <math.h>
#include <stdlib.h>

#include "base/mem.h"

struct ref_stats {
    double rsa, cka_linear, cka_rbf;
    double hsic_linear[3], hsic_rbf[3]; /* (X,Y), (X,X), (Y,Y) */
    double sigma_x, sigma_y;
};

/* S_ij = x_i . x_j / (|x_i| |x_j|), rows scaled by 1/max(|x_i|, 1e-12) as F.normalize does. */
static inline void ref_cosine(const double *x, int n, int d, double *s /* [n*n] */)
{
    double *inv = xmalloc((size_t)n * sizeof *inv);
    for (int i = 0; i < n; i++) {
        double q = 0;
        for (int k = 0; k < d; k++)
            q += x[i * d + k] * x[i * d + k];
        inv[i] = 1.0 / fmax(sqrt(q), 1e-12);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double q = 0;
            for (int k = 0; k < d; k++)
                q += x[i * d + k] * x[j * d + k];
            s[i * n + j] = q * inv[i] * inv[j];
        }
    free(inv);
}

static inline double ref_dist2(const double *x, int d, int i, int j)
{
    double q = 0;
    for (int k = 0; k < d; k++)
        q += (x[i * d + k] - x[j * d + k]) * (x[i * d + k] - x[j * d + k]);
    return q;
}

static inline int ref_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of |x_i - x_j| over i < j, the mean of the two middle ones when their number is even */
static inline double ref_median_distance(const double *x, int n, int d)
{
    size_t m = (size_t)n * (size_t)(n - 1) / 2, p = 0;
    double *v = xmalloc(m * sizeof *v);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            v[p++] = sqrt(ref_dist2(x, d, i, j));
    qsort(v, m, sizeof *v, ref_cmp_double);
    double med = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
    free(v);
    return med;
}

/* K_ij = x_i . x_j (sigma == 0) or exp(-|x_i - x_j|^2 / (2 sigma^2)) */
static inline void ref_kernel(const double *x, int n, int d, double sigma, double *kern /* [n*n] */)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double q = 0;
            if (sigma == 0)
                for (int k = 0; k < d; k++)
                    q += x[i * d + k] * x[j * d + k];
            else
                q = exp(-ref_dist2(x, d, i, j) / (2 * sigma * sigma));
            kern[i * n + j] = q;
        }
}

/* out = a b, all [n, n] */
static inline void ref_matmul(const double *a, const double *b, int n, double *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double q = 0;
            for (int k = 0; k < n; k++)
                q += a[i * n + k] * b[k * n + j];
            out[i * n + j] = q;
        }
}

/* kh = K H with H = I - 11^T/n, multiplied out */
static inline void ref_times_h(const double *kern, int n, double *kh)
{
    double *h = xmalloc((size_t)n * n * sizeof *h);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            h[i * n + j] = (i == j) - 1.0 / n;
    ref_matmul(kern, h, n, kh);
    free(h);
}

/* HSIC(K, L) = tr(K H L H) / (n - 1)^2 from KH and LH */
static inline double ref_hsic(const double *kh, const double *lh, int n)
{
    double tr = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            tr += kh[i * n + j] * lh[j * n + i];
    return tr / ((n - 1.0) * (n - 1.0));
}

/* hsic[3] and the CKA of two kernels */
static inline double ref_cka(const double *k, const double *l, int n, double hsic[3])
{
    double *kh = xmalloc((size_t)n * n * sizeof *kh), *lh = xmalloc((size_t)n * n * sizeof *lh);
    ref_times_h(k, n, kh);
    ref_times_h(l, n, lh);
    hsic[0] = ref_hsic(kh, lh, n);
    hsic[1] = ref_hsic(kh, kh, n);
    hsic[2] = ref_hsic(lh, lh, n);
    free(kh);
    free(lh);
    return hsic[0] / sqrt(hsic[1] * hsic[2]);
}

/* Pearson correlation of the upper triangles, diagonal included (torch.triu_indices(n, n)) */
static inline double ref_rsa(const double *s, const double *t, int n)
{
    double m = n * (n + 1.0) / 2, ms = 0, mt = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            ms += s[i * n + j];
            mt += t[i * n + j];
        }
    ms /= m;
    mt /= m;
    double sst = 0, sss = 0, stt = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            sst += (s[i * n + j] - ms) * (t[i * n + j] - mt);
            sss += (s[i * n + j] - ms) * (s[i * n + j] - ms);
            stt += (t[i * n + j] - mt) * (t[i * n + j] - mt);
        }
    return sst / sqrt(sss * stt);
}

/* Every statistic of X [n, dx] and Y [n, dy]. */
static inline void ref_redundancy(const double *x, int dx, const double *y, int dy, int n, struct ref_stats *r)
{
    double *a = xmalloc((size_t)n * n * sizeof *a), *b = xmalloc((size_t)n * n * sizeof *b);
    ref_cosine(x, n, dx, a);
    ref_cosine(y, n, dy, b);
    r->rsa = ref_rsa(a, b, n);
    ref_kernel(x, n, dx, 0, a);
    ref_kernel(y, n, dy, 0, b);
    r->cka_linear = ref_cka(a, b, n, r->hsic_linear);
    r->sigma_x = ref_median_distance(x, n, dx);
    r->sigma_y = ref_median_distance(y, n, dy);
    ref_kernel(x, n, dx, r->sigma_x, a);
    ref_kernel(y, n, dy, r->sigma_y, b);
    r->cka_rbf = ref_cka(a, b, n, r->hsic_rbf);
    free(a);
    free(b);
}

#endif
