#include "nn/jsd_mi.h"

#include <cblas.h>
#include <math.h>

static double softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

double jsd_mi(const float *u, const int *own, const float *g, int n, int B, int d, double w_pos, double w_neg,
              float *du, float *dg, float *scratch)
{
    if (n <= 0)
        return 0.0;
    float *s = scratch; /* [n, B] scores, then their gradients */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, B, d, 1.0f, u, d, g, d, 0.0f, s, B);
    const double log2 = log(2.0);
    double loss = 0.0;
    for (long m = 0; m < n; m++)
        for (int j = 0; j < B; j++) {
            const double v = s[m * B + j];
            if (j == own[m]) { /* -(log 2 - sp(-v)) */
                loss -= w_pos * (log2 - softplus(-v));
                s[m * B + j] = (float)(-w_pos * sigmoid(-v));
            } else {
                loss += w_neg * (softplus(v) - log2);
                s[m * B + j] = (float)(w_neg * sigmoid(v));
            }
        }
    if (du) /* du += dS g */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, B, 1.0f, s, B, g, d, 1.0f, du, d);
    if (dg) /* dg += dS^T u */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, B, d, n, 1.0f, s, B, u, d, 1.0f, dg, d);
    return loss;
}
