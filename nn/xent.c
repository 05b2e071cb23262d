#include "nn/xent.h"

#include <math.h>
#include <string.h>

void xent_forward(float *row_loss, float *lse, const float *z, const int32_t *target, int N, int V)
{
    for (int n = 0; n < N; n++) {
        const float *row = z + (long)n * V;
        if (target[n] < 0) {
            row_loss[n] = 0.0f;
            lse[n] = 0.0f;
            continue;
        }
        float mx = row[0];
        for (int j = 1; j < V; j++)
            if (row[j] > mx)
                mx = row[j];
        double sum = 0.0;
        for (int j = 0; j < V; j++)
            sum += exp((double)(row[j] - mx));
        const double l = (double)mx + log(sum);
        lse[n] = (float)l;
        row_loss[n] = (float)(l - (double)row[target[n]]);
    }
}

void xent_backward(float *z, const float *lse, const int32_t *target, const float *row_weight, int N, int V)
{
    for (int n = 0; n < N; n++) {
        float *row = z + (long)n * V;
        if (target[n] < 0 || row_weight[n] == 0.0f) {
            memset(row, 0, sizeof(float) * (size_t)V);
            continue;
        }
        const float l = lse[n], w = row_weight[n];
        for (int j = 0; j < V; j++)
            row[j] = w * expf(row[j] - l);
        row[target[n]] -= w;
    }
}
