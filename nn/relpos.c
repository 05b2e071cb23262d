#include "nn/relpos.h"

#include <math.h>

int relpos_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance)
{
    int bucket = 0;
    int n = relative_position;
    if (bidirectional) {
        num_buckets /= 2;
        if (n > 0)
            bucket += num_buckets;
        n = n < 0 ? -n : n;
    } else {
        n = n < 0 ? -n : 0;
    }
    const int max_exact = num_buckets / 2;
    if (n < max_exact)
        return bucket + n;
    /* float32 throughout, as torch computes it: log(float(n) / max_exact) / log(max_dist / max_exact) */
    const float ratio = (float)n / (float)max_exact;
    const float denom = (float)log((double)max_distance / (double)max_exact);
    const float v = logf(ratio) / denom * (float)(num_buckets - max_exact);
    int large = max_exact + (int)v;
    if (large > num_buckets - 1)
        large = num_buckets - 1;
    return bucket + large;
}

void relpos_bias_forward(float *bias, const float *table, int H, int Tq, int Tk, int nq, int nk, int q0,
                         int bidirectional, int num_buckets, int max_distance)
{
    for (int i = 0; i < Tq; i++)
        for (int j = 0; j < Tk; j++) {
            const int in_block = i < nq && j < nk;
            const int b = in_block ? relpos_bucket(j - (q0 + i), bidirectional, num_buckets, max_distance) : 0;
            for (int h = 0; h < H; h++)
                bias[((long)h * Tq + i) * Tk + j] = in_block ? table[b * H + h] : 0.0f;
        }
}

void relpos_bias_backward(float *dtable, const float *dbias, int H, int Tq, int Tk, int nq, int nk, int q0,
                          int bidirectional, int num_buckets, int max_distance)
{
    for (int i = 0; i < nq && i < Tq; i++)
        for (int j = 0; j < nk && j < Tk; j++) {
            const int b = relpos_bucket(j - (q0 + i), bidirectional, num_buckets, max_distance);
            for (int h = 0; h < H; h++)
                dtable[b * H + h] += dbias[((long)h * Tq + i) * Tk + j];
        }
}
