/* The model's own loops over rows and examples, split over m->threads OpenMP threads.
 *
 * In bf16 the frozen products run on oneDNN's OpenMP threads, and what is left of a step (RMS norms,
 * attention's per-(example, head) products and softmax, dropout, residual adds, the loss over the
 * vocabulary) would otherwise run on one of them while the others wait.  m->threads is oneDNN's thread
 * count in bf16 and 1 in fp32, where OpenBLAS's own threads do the parallel work and OpenMP threads
 * spinning beside them would take their cores.
 *
 * Each thread takes a contiguous run of rows (or examples) and calls the same serial kernel on it as a
 * one-thread call would on the whole: every row is computed by the same arithmetic, so the result has
 * the same bits on any thread count.  Sums across rows (a norm weight's gradient, attention's position
 * bias gradient) would not: with one of those asked for, the call runs on one thread.  Work below a
 * threshold is not split either (waking a thread costs more). */
#ifndef MIXPHM_MODEL_VLT5_PARALLEL_H
#define MIXPHM_MODEL_VLT5_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/vlt5.h"
#include "nn/attention.h"

/* scratch: one attention kernel scratch per thread (m->threads times attention_scratch_floats; the
 * model's buffers are sized so at bind). */
void par_attention_forward(const struct vlt5 *m, float *out, float *probs, float *probs_drop, float *scratch,
                           const float *q, const float *k, const float *v, const struct attention_dims *a,
                           const struct attention_mask *am, const struct attention_dropout *dr);
void par_attention_backward(const struct vlt5 *m, float *dq, float *dk, float *dv, float *dbias, float *scratch,
                            const float *dout, const float *q, const float *k, const float *v, const float *probs,
                            const float *probs_drop, const struct attention_dims *a,
                            const struct attention_dropout *dr);

void par_rmsnorm_forward(const struct vlt5 *m, float *y, float *rstd, const float *x, const float *w, int N, int d,
                         float eps);
void par_rmsnorm_backward(const struct vlt5 *m, float *dx, float *dw, const float *dy, const float *x,
                          const float *rstd, const float *w, int N, int d, int accumulate_dx);
void par_dropout_apply(const struct vlt5 *m, float *x, int B, int R, int C, const struct dropout *d, uint32_t site,
                       uint64_t ex0, const int32_t *row_ids);
/* x[n] += y[n] */
void par_add(const struct vlt5 *m, float *x, const float *y, long n);
void par_relu_forward(const struct vlt5 *m, float *y, const float *x, long n);
/* dh[n] = dh * scale where h > 0, else +0: the backward of h = dropout(relu(pre)), whose kept active
 * units are exactly the positive ones. */
void par_relu_dropout_backward(const struct vlt5 *m, float *dh, const float *h, float scale, long n);
void par_xent_forward(const struct vlt5 *m, float *row_loss, float *lse, const float *z, const int32_t *target,
                      int N, int V);
void par_xent_backward(const struct vlt5 *m, float *z, const float *lse, const int32_t *target,
                       const float *row_weight, int N, int V);

#endif
