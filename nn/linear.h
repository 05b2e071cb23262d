/* Linear layers in PyTorch's layout: W [out, in], y = x W^T (+ b).
 *
 * Every product is one cblas_sgemm with the transpose flags doing the work (no copies).  Backward
 * takes NULL for what is not wanted: a frozen weight passes dW = NULL and no weight-gradient GEMM
 * runs; the lowest layer of a stack passes dx = NULL. */
#ifndef MIXPHM_NN_LINEAR_H
#define MIXPHM_NN_LINEAR_H

/* y[N, out] = x[N, in] W[out, in]^T + b[out]  (b may be NULL).  accumulate: y += instead of y =. */
void linear_forward(float *y, const float *x, const float *W, const float *b, int N, int in, int out,
                    int accumulate);

/* Given dy[N, out]:
 *   dx[N, in]   (+)= dy W          (accumulate_dx: add to dx instead of overwriting)
 *   dW[out, in]  += dy^T x
 *   db[out]      += sum over rows of dy
 * Any of dx, dW, db may be NULL. */
void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N,
                     int in, int out, int accumulate_dx);

/* Row sums into db[out] += sum_n dy[n, :] (the bias gradient on its own). */
void bias_backward(float *db, const float *dy, int N, int out);

#endif
