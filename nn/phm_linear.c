#include "nn/phm_linear.h"

#include <cblas.h>
#include <string.h>

#include "nn/linear.h"

size_t phm_cache_floats(int N, const struct phm_dims *p)
{
    return 2 * (size_t)N * p->n * p->n * p->r;
}

size_t phm_scratch_floats(int N, const struct phm_dims *p)
{
    return phm_cache_floats(N, p);
}

long phm_param_count(const struct phm_dims *p)
{
    return (long)p->r * (p->in + p->out) + p->out;
}

/* R[(m,c), i*r+j] = sum_a S_i[a,c] P[(m,a), i*r+j] for all rows m. */
static void mix_rows(float *R, const float *P, const float *S, int N, int n, int r)
{
    const int nr = n * r;
    for (long m = 0; m < N; m++) {
        const float *Pm = P + m * n * nr;
        float *Rm = R + m * n * nr;
        memset(Rm, 0, sizeof(float) * (size_t)n * nr);
        for (int i = 0; i < n; i++)
            for (int a = 0; a < n; a++)
                for (int c = 0; c < n; c++) {
                    const float s = S[(i * n + a) * n + c];
                    const float *src = Pm + (long)a * nr + i * r;
                    float *dst = Rm + (long)c * nr + i * r;
                    for (int j = 0; j < r; j++)
                        dst[j] += s * src[j];
                }
    }
}

void phm_linear_forward(float *y, const float *x, const float *S, const float *T, const float *U, const float *b,
                        int N, const struct phm_dims *p, float *cache)
{
    if (N <= 0)
        return;
    const int n = p->n, r = p->r, nr = n * r, kin = p->in / n, kout = p->out / n, rows = N * n;
    float *P = cache, *R = cache + (size_t)rows * nr; /* [N*n, n*r] each */
    for (int i = 0; i < n; i++) /* P[:, i-block] = x_resh T_i */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, r, kin, 1.0f, x, kin, T + (long)i * kin * r, r,
                    0.0f, P + i * r, nr);
    mix_rows(R, P, S, N, n, r);
    /* y_resh [N*n, out/n] = R U */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kout, nr, 1.0f, R, nr, U, kout, 0.0f, y, kout);
    if (b)
        for (long m = 0; m < N; m++)
            for (int o = 0; o < p->out; o++)
                y[m * p->out + o] += b[o];
}

void phm_linear_backward(float *dx, float *dS, float *dT, float *dU, float *db, const float *dy, const float *x,
                         const float *S, const float *T, const float *U, int N, const struct phm_dims *p,
                         const float *cache, float *scratch, int accumulate_dx)
{
    if (N <= 0)
        return;
    const int n = p->n, r = p->r, nr = n * r, kin = p->in / n, kout = p->out / n, rows = N * n;
    const float *P = cache, *R = cache + (size_t)rows * nr;
    float *dR = scratch, *dP = scratch + (size_t)rows * nr;
    if (db)
        bias_backward(db, dy, N, p->out);
    if (dU) /* dU [n*r, out/n] += R^T dy_resh */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nr, kout, rows, 1.0f, R, nr, dy, kout, 1.0f, dU, kout);
    if (!dS && !dT && !dx)
        return;
    /* dR = dy_resh U^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nr, kout, 1.0f, dy, kout, U, kout, 0.0f, dR, nr);
    for (long m = 0; m < N; m++) {
        const float *Pm = P + m * n * nr, *dRm = dR + m * n * nr;
        float *dPm = dP + m * n * nr;
        memset(dPm, 0, sizeof(float) * (size_t)n * nr);
        for (int i = 0; i < n; i++)
            for (int a = 0; a < n; a++)
                for (int c = 0; c < n; c++) {
                    const float *g = dRm + (long)c * nr + i * r, *pa = Pm + (long)a * nr + i * r;
                    float *gp = dPm + (long)a * nr + i * r;
                    const float s = S[(i * n + a) * n + c];
                    float acc = 0.0f;
                    for (int j = 0; j < r; j++) {
                        acc += g[j] * pa[j];
                        gp[j] += s * g[j];
                    }
                    if (dS)
                        dS[(i * n + a) * n + c] += acc;
                }
    }
    for (int i = 0; i < n; i++) {
        const float *Ti = T + (long)i * kin * r;
        if (dT) /* dT_i [in/n, r] += x_resh^T dP_i */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kin, r, rows, 1.0f, x, kin, dP + i * r, nr, 1.0f,
                        dT + (long)i * kin * r, r);
        if (dx) /* dx_resh [N*n, in/n] (+)= dP_i T_i^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kin, r, 1.0f, dP + i * r, nr, Ti, r,
                        (i > 0 || accumulate_dx) ? 1.0f : 0.0f, dx, kin);
    }
}

void phm_weight(float *H, const float *S, const float *T, const float *U, const struct phm_dims *p)
{
    const int n = p->n, r = p->r, kin = p->in / n, kout = p->out / n;
    memset(H, 0, sizeof(float) * (size_t)p->in * p->out);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < kin; k++)
            for (int q = 0; q < kout; q++) {
                double w = 0.0; /* W_i[k, q] = (T_i U_i)[k, q] */
                for (int j = 0; j < r; j++)
                    w += (double)T[((long)i * kin + k) * r + j] * U[((long)i * r + j) * kout + q];
                for (int a = 0; a < n; a++)
                    for (int c = 0; c < n; c++)
                        H[((long)a * kin + k) * p->out + c * kout + q] += (float)(S[(i * n + a) * n + c] * w);
            }
}
