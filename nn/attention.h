/* Multi-head scaled-dot-product attention as T5 does it: the logits are NOT scaled by 1/sqrt(d_head).
 *
 * For example b and head h (columns h*dk .. h*dk+dk-1 of q, k, v, out):
 *     S = Q K^T + bias[h]        (masked entries excluded)       [Tq, Tk]
 *     P = softmax_rows(S)                                        kept for backward
 *     Pd = dropout(P)            (T5's dropout on the attention weights)
 *     O = Pd V                                                   [Tq, dk]
 * Backward:
 *     dPd = dO V^T,  dV = Pd^T dO,  dP = dropout(dPd),  dS = P * (dP - rowsum(dP * P)),
 *     dQ = dS K,  dK = dS^T Q,  dbias[h] += sum over b of dS
 * Every product is a cblas_sgemm on strided head slices (no copies).  A query that sees no key gets
 * zero weights (T5 adds -1e4 instead; exp(-1e4) is 0 in float32, so the two agree). */
#ifndef MIXPHM_NN_ATTENTION_H
#define MIXPHM_NN_ATTENTION_H

#include <stdint.h>

#include "nn/dropout.h"

struct attention_dims {
    int B, H, Tq, Tk, dk;
    int k_stride; /* rows per example in k, v (and key_valid): Tk, or the cache length when decoding */
};

struct attention_mask {
    const unsigned char *key_valid; /* [B, k_stride]: 0 hides key j of example b; NULL: all visible */
    int causal;                     /* key j visible to query i only if j <= q0 + i */
    int q0;                         /* absolute position of query 0 (decoding with a cache) */
    const float *bias;              /* [H, Tq, Tk] added to the logits, or NULL */
};

/* Dropout on the attention weights: row id (h << 32 | q_ids[i]), column id k_ids[j]. */
struct attention_dropout {
    const struct dropout *d; /* NULL or p == 0: off */
    uint32_t site;
    uint64_t ex0;         /* global index of local example 0 */
    const int32_t *q_ids; /* [Tq] canonical query positions */
    const int32_t *k_ids; /* [Tk] canonical key positions */
};

/* Scratch floats attention_forward/backward need. */
long attention_scratch_floats(const struct attention_dims *a);

/* q [B, Tq, H*dk]; k, v [B, k_stride, H*dk]; out [B, Tq, H*dk]; probs [B, H, Tq, Tk] (written).
 * With dropout on, probs_drop [B, H, Tq, Tk] receives the dropped weights (kept for backward, which
 * then needs no random numbers); it may be NULL in a forward without backward. */
void attention_forward(float *out, float *probs, float *probs_drop, float *scratch, const float *q, const float *k,
                       const float *v, const struct attention_dims *a, const struct attention_mask *m,
                       const struct attention_dropout *dr);

/* dq [B, Tq, H*dk], dk and dv [B, k_stride, H*dk] (rows < Tk written, not accumulated); dbias
 * [H, Tq, Tk] accumulated; any of dq, dk, dv, dbias may be NULL.  Masked entries have P = 0 and so get
 * no gradient: the mask is not needed again.  With dropout on, probs_drop is the forward's; a kept weight
 * is nonzero there (P > 0), a dropped one is 0, so it also gives the dropout mask. */
void attention_backward(float *dq, float *dk, float *dv, float *dbias, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs, const float *probs_drop,
                        const struct attention_dims *a, const struct attention_dropout *dr);

#endif
