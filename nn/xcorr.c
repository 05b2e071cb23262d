#include "nn/xcorr.h"

#include <cblas.h>
#include <math.h>

void rownorm_forward(float *y, float *norm, const float *x, int n, int d)
{
    for (long m = 0; m < n; m++) {
        const float *xr = x + m * d;
        double s = 0.0;
        for (int j = 0; j < d; j++)
            s += (double)xr[j] * xr[j];
        const double nr = fmax(sqrt(s), ROWNORM_EPS);
        norm[m] = (float)nr;
        for (int j = 0; j < d; j++)
            y[m * d + j] = (float)(xr[j] / nr);
    }
}

void rownorm_backward(float *dx, const float *dy, const float *y, const float *norm, int n, int d, int accumulate)
{
    for (long m = 0; m < n; m++) {
        const float *yr = y + m * d, *gr = dy + m * d;
        float *out = dx + m * d;
        /* below eps the row was divided by the constant eps: no projection */
        const int tiny = norm[m] <= (float)ROWNORM_EPS;
        double yg = 0.0;
        for (int j = 0; !tiny && j < d; j++)
            yg += (double)yr[j] * gr[j];
        for (int j = 0; j < d; j++) {
            const float v = (float)((gr[j] - yr[j] * yg) / norm[m]);
            out[j] = accumulate ? out[j] + v : v;
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
