#include "nn/norm.h"

#include <math.h>

void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (long)n * d;
        float *yr = y + (long)n * d;
        double ss = 0.0;
        for (int j = 0; j < d; j++)
            ss += (double)xr[j] * xr[j];
        float var = (float)(ss / d);
        float r = 1.0f / sqrtf(var + eps);
        rstd[n] = r;
        for (int j = 0; j < d; j++)
            yr[j] = w[j] * (xr[j] * r);
    }
}

void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd, const float *w,
                      int N, int d, int accumulate_dx)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (long)n * d, *dyr = dy + (long)n * d;
        const float r = rstd[n];
        if (dw)
            for (int j = 0; j < d; j++)
                dw[j] += dyr[j] * xr[j] * r;
        if (!dx)
            continue;
        double gx = 0.0; /* sum_j w_j dy_j x_j */
        for (int j = 0; j < d; j++)
            gx += (double)w[j] * dyr[j] * xr[j];
        const float c = (float)(gx / d) * r * r * r;
        float *dxr = dx + (long)n * d;
        if (accumulate_dx)
            for (int j = 0; j < d; j++)
                dxr[j] += r * w[j] * dyr[j] - c * xr[j];
        else
            for (int j = 0; j < d; j++)
                dxr[j] = r * w[j] * dyr[j] - c * xr[j];
    }
}

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N,
                       int d, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (long)n * d;
        float *yr = y + (long)n * d;
        double s = 0.0;
        for (int j = 0; j < d; j++)
            s += xr[j];
        const float mu = (float)(s / d);
        double ss = 0.0;
        for (int j = 0; j < d; j++)
            ss += (double)(xr[j] - mu) * (xr[j] - mu);
        const float r = 1.0f / sqrtf((float)(ss / d) + eps);
        mean[n] = mu;
        rstd[n] = r;
        for (int j = 0; j < d; j++)
            yr[j] = (xr[j] - mu) * r * w[j] + (b ? b[j] : 0.0f);
    }
}

void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *w, int N, int d, int accumulate_dx)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (long)n * d, *dyr = dy + (long)n * d;
        const float mu = mean[n], r = rstd[n];
        double sg = 0.0, sgx = 0.0; /* sum g, sum g * xhat with g = w * dy */
        for (int j = 0; j < d; j++) {
            const float xhat = (xr[j] - mu) * r;
            const float g = w[j] * dyr[j];
            sg += g;
            sgx += (double)g * xhat;
            if (dw)
                dw[j] += dyr[j] * xhat;
            if (db)
                db[j] += dyr[j];
        }
        if (!dx)
            continue;
        const float mg = (float)(sg / d), mgx = (float)(sgx / d);
        float *dxr = dx + (long)n * d;
        for (int j = 0; j < d; j++) {
            const float xhat = (xr[j] - mu) * r;
            const float v = r * (w[j] * dyr[j] - mg - xhat * mgx);
            dxr[j] = accumulate_dx ? dxr[j] + v : v;
        }
    }
}
