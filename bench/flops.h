/* Matrix-product FLOPs of one VL-T5 training step and one greedy decoding batch (bench only): 2 m n k
 * per product; element-wise work is not counted.  The training step has a frozen backbone with the
 * gradient taken down to the encoder input (what an adapter in the first block needs): every linear's
 * backward is one input-gradient product, attention's backward four products. */
#ifndef MIXPHM_BENCH_FLOPS_H
#define MIXPHM_BENCH_FLOPS_H

#include "model/vlt5.h"

static inline double gemm_flops(double m, double n, double k)
{
    return 2.0 * m * n * k;
}

/* Forward FLOPs of the linears of one decoder step or of a teacher-forced decoder over Ld positions. */
static inline double vlt5_train_flops(const struct vlt5_dims *d, int B, int Lt, int Ld)
{
    const double T = Lt + d->n_regions, N = (double)B * T, Nd = (double)B * Ld, dm = d->d_model;
    const double in = (double)d->n_heads * d->d_kv, ff = d->d_ff, H = d->n_heads, dk = d->d_kv;
    double lin = 0, attn = 0, lin_back = 0;
    /* encoder */
    lin += d->n_enc_layers * (4 * gemm_flops(N, in, dm) + 2 * gemm_flops(N, ff, dm));
    attn += d->n_enc_layers * 2 * B * H * gemm_flops(T, T, dk);
    /* decoder: self, cross (k and v over the encoder rows), FFN */
    lin += d->n_dec_layers * (4 * gemm_flops(Nd, in, dm) + 2 * gemm_flops(Nd, in, dm) + 2 * gemm_flops(N, in, dm) +
                              2 * gemm_flops(Nd, ff, dm));
    attn += d->n_dec_layers * 2 * B * H * (gemm_flops(Ld, Ld, dk) + gemm_flops(Ld, T, dk));
    const double head = gemm_flops(Nd, d->vocab, dm);
    const double visual = gemm_flops((double)B * d->n_regions, dm, d->feat_dim);
    lin_back = lin; /* one input-gradient product per linear */
    return visual + lin + attn + head + lin_back + 2 * attn + head;
}

static inline double vlt5_decode_flops(const struct vlt5_dims *d, int B, int Lt, int steps)
{
    const double T = Lt + d->n_regions, N = (double)B * T, dm = d->d_model;
    const double in = (double)d->n_heads * d->d_kv, ff = d->d_ff, H = d->n_heads, dk = d->d_kv;
    double f = gemm_flops((double)B * d->n_regions, dm, d->feat_dim);
    f += d->n_enc_layers * (4 * gemm_flops(N, in, dm) + 2 * gemm_flops(N, ff, dm) + 2 * B * H * gemm_flops(T, T, dk));
    f += d->n_dec_layers * 2 * gemm_flops(N, in, dm); /* cross-attention keys and values, once */
    for (int t = 0; t < steps; t++)
        f += d->n_dec_layers * (6 * gemm_flops(B, in, dm) + 2 * gemm_flops(B, ff, dm) +
                                2 * B * H * (gemm_flops(1, t + 1, dk) + gemm_flops(1, T, dk))) +
             gemm_flops(B, d->vocab, dm);
    return f;
}

#endif
