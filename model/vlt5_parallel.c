#include "model/vlt5_parallel.h"

#include <string.h>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/norm.h"
#include "nn/xent.h"

/* Below this many floats of work a loop stays on one thread: a parallel region costs a few
 * microseconds, and a sleeping thread's wake-up more. */
#define PAR_MIN_WORK 32768L

/* Threads for `units` independent pieces (rows, examples) of `work` floats in all (for attention:
 * multiply-adds, and each (example, head) block's two or four small products count for more than their
 * size, so a decoding step's one-query attention is split too). */
static int parts_for(const struct vlt5 *m, long units, long work)
{
    if (m->threads <= 1 || work < PAR_MIN_WORK || units < 2)
        return 1;
    return units < m->threads ? (int)units : m->threads;
}

/* Piece t of n units in `parts` contiguous runs: [lo, hi). */
static void part_range(long n, int parts, int t, long *lo, long *hi)
{
    *lo = n * t / parts;
    *hi = n * (t + 1) / parts;
}

/* Piece t of n elements of an element-wise loop: runs of whole 16-float blocks, the rest to the last. */
static void element_range(long n, int parts, int t, long *lo, long *hi)
{
    part_range(n / 16, parts, t, lo, hi);
    *lo *= 16;
    *hi = t == parts - 1 ? n : *hi * 16;
}

/* Multiply-adds of one attention call, with a floor per (example, head) block for its calls' overhead. */
static long attention_work(const struct attention_dims *a)
{
    const long per_block = (long)a->Tq * a->Tk * a->dk / 8;
    return (long)a->B * a->H * (per_block > 1024 ? per_block : 1024);
}

/* The attention of examples [b0, b1) of a: the same kernel on a batch that starts at example b0. */
static void attention_slice(long b0, long b1, const struct attention_dims *a, const struct attention_mask *am,
                            const struct attention_dropout *dr, struct attention_dims *sa, struct attention_mask *sm,
                            struct attention_dropout *sd)
{
    *sa = *a;
    sa->B = (int)(b1 - b0);
    *sm = *am;
    if (am->key_valid)
        sm->key_valid = am->key_valid + b0 * a->k_stride;
    if (dr) {
        *sd = *dr;
        sd->ex0 = dr->ex0 + (uint64_t)b0;
    }
}

void par_attention_forward(const struct vlt5 *m, float *out, float *probs, float *probs_drop, float *scratch,
                           const float *q, const float *k, const float *v, const struct attention_dims *a,
                           const struct attention_mask *am, const struct attention_dropout *dr)
{
    const long ld = (long)a->H * a->dk, blk = (long)a->Tq * a->Tk;
    const int parts = parts_for(m, a->B, attention_work(a));
    if (parts == 1) {
        attention_forward(out, probs, probs_drop, scratch, q, k, v, a, am, dr);
        return;
    }
    const long per_scratch = attention_scratch_floats(a);
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int t = 0; t < parts; t++) {
        long b0, b1;
        part_range(a->B, parts, t, &b0, &b1);
        struct attention_dims sa;
        struct attention_mask sm;
        struct attention_dropout sd;
        attention_slice(b0, b1, a, am, dr, &sa, &sm, &sd);
        attention_forward(out + b0 * a->Tq * ld, probs + b0 * a->H * blk, probs_drop ? probs_drop + b0 * a->H * blk : NULL,
                          scratch + t * per_scratch, q + b0 * a->Tq * ld, k + b0 * a->k_stride * ld,
                          v + b0 * a->k_stride * ld, &sa, &sm, dr ? &sd : NULL);
    }
}

void par_attention_backward(const struct vlt5 *m, float *dq, float *dk, float *dv, float *dbias, float *scratch,
                            const float *dout, const float *q, const float *k, const float *v, const float *probs,
                            const float *probs_drop, const struct attention_dims *a,
                            const struct attention_dropout *dr)
{
    const long ld = (long)a->H * a->dk, blk = (long)a->Tq * a->Tk;
    /* dbias sums over the examples, in their order: one thread */
    const int parts = dbias ? 1 : parts_for(m, a->B, attention_work(a));
    if (parts == 1) {
        attention_backward(dq, dk, dv, dbias, scratch, dout, q, k, v, probs, probs_drop, a, dr);
        return;
    }
    const long per_scratch = attention_scratch_floats(a);
    const struct attention_mask none = {0};
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int t = 0; t < parts; t++) {
        long b0, b1;
        part_range(a->B, parts, t, &b0, &b1);
        struct attention_dims sa;
        struct attention_mask sm;
        struct attention_dropout sd;
        attention_slice(b0, b1, a, &none, dr, &sa, &sm, &sd);
        const long qo = b0 * a->Tq * ld, ko = b0 * a->k_stride * ld;
        attention_backward(dq ? dq + qo : NULL, dk ? dk + ko : NULL, dv ? dv + ko : NULL, NULL,
                           scratch + t * per_scratch, dout + qo, q + qo, k + ko, v + ko, probs + b0 * a->H * blk,
                           probs_drop ? probs_drop + b0 * a->H * blk : NULL, &sa, dr ? &sd : NULL);
    }
}

void par_rmsnorm_forward(const struct vlt5 *m, float *y, float *rstd, const float *x, const float *w, int N, int d,
                         float eps)
{
    const int parts = parts_for(m, N, (long)N * d);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        part_range(N, parts, t, &lo, &hi);
        rmsnorm_forward(y + lo * d, rstd + lo, x + lo * d, w, (int)(hi - lo), d, eps);
    }
}

void par_rmsnorm_backward(const struct vlt5 *m, float *dx, float *dw, const float *dy, const float *x,
                          const float *rstd, const float *w, int N, int d, int accumulate_dx)
{
    const int parts = dw ? 1 : parts_for(m, N, (long)N * d); /* dw sums over the rows, in their order */
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        part_range(N, parts, t, &lo, &hi);
        rmsnorm_backward(dx ? dx + lo * d : NULL, dw, dy + lo * d, x + lo * d, rstd + lo, w, (int)(hi - lo), d,
                         accumulate_dx);
    }
}

void par_dropout_apply(const struct vlt5 *m, float *x, int B, int R, int C, const struct dropout *d, uint32_t site,
                       uint64_t ex0, const int32_t *row_ids)
{
    if (!dropout_on(d))
        return;
    const long per = (long)R * C;
    const int parts = parts_for(m, B, B * per);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        part_range(B, parts, t, &lo, &hi);
        dropout_apply(x + lo * per, (int)(hi - lo), R, C, d, site, ex0 + (uint64_t)lo, row_ids);
    }
}

void par_add(const struct vlt5 *m, float *x, const float *y, long n)
{
    const int parts = parts_for(m, n / 16, n);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        element_range(n, parts, t, &lo, &hi);
        for (long i = lo; i < hi; i++)
            x[i] += y[i];
    }
}

void par_relu_forward(const struct vlt5 *m, float *y, const float *x, long n)
{
    const int parts = parts_for(m, n / 16, n);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        element_range(n, parts, t, &lo, &hi);
        relu_forward(y + lo, x + lo, (size_t)(hi - lo));
    }
}

/* dh * scale or +0 as a bit mask, not a branch: the compiler vectorises it, and a branch on a coin flip
 * would be mispredicted half the time. */
static void relu_dropout_backward(float *restrict dh, const float *restrict h, float scale, long n)
{
    for (long i = 0; i < n; i++) {
        const float g = dh[i] * scale;
        uint32_t bits;
        memcpy(&bits, &g, sizeof bits);
        bits &= -(uint32_t)(h[i] > 0.0f);
        memcpy(&dh[i], &bits, sizeof bits);
    }
}

void par_relu_dropout_backward(const struct vlt5 *m, float *dh, const float *h, float scale, long n)
{
    const int parts = parts_for(m, n / 16, n);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        element_range(n, parts, t, &lo, &hi);
        relu_dropout_backward(dh + lo, h + lo, scale, hi - lo);
    }
}

void par_xent_forward(const struct vlt5 *m, float *row_loss, float *lse, const float *z, const int32_t *target,
                      int N, int V)
{
    const int parts = parts_for(m, N, (long)N * V);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        part_range(N, parts, t, &lo, &hi);
        xent_forward(row_loss + lo, lse + lo, z + lo * V, target + lo, (int)(hi - lo), V);
    }
}

void par_xent_backward(const struct vlt5 *m, float *z, const float *lse, const int32_t *target,
                       const float *row_weight, int N, int V)
{
    const int parts = parts_for(m, N, (long)N * V);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        long lo, hi;
        part_range(N, parts, t, &lo, &hi);
        xent_backward(z + lo * V, lse + lo, target + lo, row_weight + lo, (int)(hi - lo), V);
    }
}
