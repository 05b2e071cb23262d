/* The machine's SGEMM rate with the BLAS mixphm links (the peak the other benchmarks compare to):
 * row-major C = A B^T for square 2048 and for the t5-base shapes of a training step, each timed for
 * about a second.  Prints one JSON object with the best rate. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/mem.h"
#include "nn/blas_env.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rate(int M, int N, int K)
{
    float *a = xaligned_calloc((size_t)M * K, sizeof(float)), *b = xaligned_calloc((size_t)N * K, sizeof(float));
    float *c = xaligned_calloc((size_t)M * N, sizeof(float));
    for (long i = 0; i < (long)M * K; i++)
        a[i] = 1e-3f * (float)(i % 13);
    for (long i = 0; i < (long)N * K; i++)
        b[i] = 1e-3f * (float)(i % 7);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    int it = 0;
    const double t0 = now();
    double t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        it++;
        t = now() - t0;
    } while (t < 1.0);
    free(a), free(b), free(c);
    return 2.0 * M * N * K * it / t * 1e-9;
}

int main(void)
{
    const int shapes[][3] = {{2048, 2048, 2048}, {896, 768, 768}, {896, 3072, 768}, {896, 768, 3072}};
    double best = 0;
    printf("{\"threads\": %d, \"blas_core\": \"%s\"", blas_threads(), blas_core_name());
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double r = rate(shapes[i][0], shapes[i][1], shapes[i][2]);
        best = r > best ? r : best;
        printf(", \"%dx%dx%d\": %.1f", shapes[i][0], shapes[i][1], shapes[i][2], r);
    }
    printf(", \"peak_gflops\": %.1f}\n", best);
    return 0;
}
