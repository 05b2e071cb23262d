#include "nn/xcorr.h"

#include <cblas.h>
#include <math.h>

/* out[m] = sum_j a[m, j] b[m, j] in double, for the n rows of a, b [n, d], each summed from j = 0 up as
 * one sequential chain (the products of two floats are exact in double: only the order of the sums
 * rounds).  Eight rows at a time: eight independent chains instead of one waiting on the adder's
 * latency, the same bits. */
static void row_dots(double *out, const float *a, const float *b, long n, int d)
{
    enum { ROWS = 8 };
    long m = 0;
    for (; m + ROWS <= n; m += ROWS) {
        double acc[ROWS] = {0};
        for (int j = 0; j < d; j++)
            for (int r = 0; r < ROWS; r++)
                acc[r] += (double)a[(m + r) * d + j] * b[(m + r) * d + j];
        for (int r = 0; r < ROWS; r++)
            out[m + r] = acc[r];
    }
    for (; m < n; m++) {
        double acc = 0.0;
        for (int j = 0; j < d; j++)
            acc += (double)a[m * d + j] * b[m * d + j];
        out[m] = acc;
    }
}

void rownorm_forward(float *y, float *norm, const float *x, int n, int d)
{
    enum { BLOCK = 64 };
    double s[BLOCK];
    for (long m0 = 0; m0 < n; m0 += BLOCK) {
        const long rows = n - m0 < BLOCK ? n - m0 : BLOCK;
        row_dots(s, x + m0 * d, x + m0 * d, rows, d);
        for (long m = m0; m < m0 + rows; m++) {
            const float *xr = x + m * d;
            const double nr = fmax(sqrt(s[m - m0]), ROWNORM_EPS);
            norm[m] = (float)nr;
            for (int j = 0; j < d; j++)
                y[m * d + j] = (float)(xr[j] / nr);
        }
    }
}

void rownorm_backward(float *dx, const float *dy, const float *y, const float *norm, int n, int d, int accumulate)
{
    enum { BLOCK = 64 };
    double yg[BLOCK];
    for (long m0 = 0; m0 < n; m0 += BLOCK) {
        const long rows = n - m0 < BLOCK ? n - m0 : BLOCK;
        row_dots(yg, y + m0 * d, dy + m0 * d, rows, d);
        for (long m = m0; m < m0 + rows; m++) {
            const float *yr = y + m * d, *gr = dy + m * d;
            float *out = dx + m * d;
            /* below eps the row was divided by the constant eps: no projection */
            const double p = norm[m] <= (float)ROWNORM_EPS ? 0.0 : yg[m - m0];
            for (int j = 0; j < d; j++) {
                const float v = (float)((gr[j] - yr[j] * p) / norm[m]);
                out[j] = accumulate ? out[j] + v : v;
            }
        }
    }
}

void xcorr_accumulate(float *C, const float *U, const float *R, int n, int d)
{
    if (n > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0f, U, d, R, d, 1.0f, C, d);
}

double offdiag_sq_loss(const float *C, float *dC, int d, double scale)
{
    double s = 0.0;
    for (long p = 0; p < d; p++)
        for (long q = 0; q < d; q++) {
            const double c = p == q ? 0.0 : C[p * d + q];
            s += c * c;
            if (dC)
                dC[p * d + q] = (float)(2.0 * scale * c);
        }
    return scale * s;
}

void xcorr_backward(float *dU, float *dR, const float *dC, const float *U, const float *R, int n, int d)
{
    if (n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, d, 1.0f, R, d, dC, d, 0.0f, dU, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, d, 1.0f, U, d, dC, d, 0.0f, dR, d);
}
