#include "nn/linear.h"

#include <cblas.h>

void linear_forward(float *y, const float *x, const float *W, const float *b, int N, int in, int out,
                    int accumulate)
{
    if (N <= 0 || out <= 0)
        return;
    if (b) {
        for (int n = 0; n < N; n++) {
            float *row = y + (long)n * out;
            if (accumulate)
                for (int o = 0; o < out; o++)
                    row[o] += b[o];
            else
                for (int o = 0; o < out; o++)
                    row[o] = b[o];
        }
        accumulate = 1;
    }
    /* y[N, out] = x[N, in] * W^T, W stored [out, in] row-major. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, accumulate ? 1.0f : 0.0f,
                y, out);
}

void bias_backward(float *db, const float *dy, int N, int out)
{
    for (int n = 0; n < N; n++) {
        const float *row = dy + (long)n * out;
        for (int o = 0; o < out; o++)
            db[o] += row[o];
    }
}

void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N,
                     int in, int out, int accumulate_dx)
{
    if (N <= 0)
        return;
    if (dx) /* dx[N, in] = dy[N, out] * W[out, in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in,
                    accumulate_dx ? 1.0f : 0.0f, dx, in);
    if (dW) /* dW[out, in] += dy^T[out, N] * x[N, in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (db)
        bias_backward(db, dy, N, out);
}
