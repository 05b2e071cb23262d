/* The frozen backbone's linear layers in the run's precision (model.precision).
 *
 *   fp32  every product is nn/linear.h's cblas_sgemm on the registry's float32 values, unchanged.
 *   bf16  once the weights are in place, every frozen weight of a linear layer is packed into
 *         oneDNN's bf16 layout (nn/bf16_matmul.h) and its products run there: the input is rounded to
 *         bf16, the sums are fp32, the output is fp32.  A weight the model reads nowhere else was
 *         registered detached (params_set_detached), and its float32 values are released once packed,
 *         so the frozen weights take half the memory (both layouts once the backward has run).
 *
 * Biases (BitFit's, FewVLM's visual ones) stay fp32 and are added as nn/linear.h adds them.  A weight
 * that trains (full fine-tuning) is never packed: its products stay fp32 with their weight gradient.
 * The table is indexed by the params handle, so call sites pass the tensor they already hold. */
#ifndef MIXPHM_MODEL_FROZEN_LINEAR_H
#define MIXPHM_MODEL_FROZEN_LINEAR_H

#include <stddef.h>

#include "base/err.h"
#include "model/params.h"
#include "nn/bf16_matmul.h"

enum frozen_precision { FROZEN_FP32 = 0, FROZEN_BF16 = 1 };

struct frozen_linears {
    struct bf16_ctx *ctx;   /* oneDNN's engine and primitives */
    struct bf16_weight **w; /* [n] the packed weight of params handle h, NULL: fp32 products */
    int n;
    int packed;             /* frozen_linears_pack has run */
    size_t bf16_bytes;      /* packed layouts (forward) */
    size_t fp32_released;   /* bytes of float32 values given back */
};

/* NULL for fp32.  bf16: the oneDNN context, refused by name without oneDNN or on a CPU oneDNN has no
 * bf16 matmul for. */
int frozen_linears_create(struct frozen_linears **out, int precision, struct err *e);
void frozen_linears_free(struct frozen_linears *f);

/* Packs tensor h (frozen, [out, in]) of p; releases its float32 values when it is detached.  A
 * trainable or absent (h < 0) tensor is left alone.  After params_alloc, once its values are set. */
int frozen_linears_pack(struct frozen_linears *f, struct params *p, int h, struct err *e);

/* y[n, out] = x[n, in] W^T + b (b may be NULL): W is tensor h with float32 values W32 (NULL once
 * released).  f may be NULL (fp32). */
void frozen_linear_forward(const struct frozen_linears *f, int h, const float *W32, const float *b, float *y,
                           const float *x, int n, int in, int out);
/* linear_backward's contract (dx (+)= dy W, dW += dy^T x, db += row sums); dW is NULL for a packed
 * weight, which is frozen. */
void frozen_linear_backward(const struct frozen_linears *f, int h, const float *W32, float *dW, float *db,
                            const float *dy, const float *x, float *dx, int n, int in, int out, int accumulate_dx);

/* "bf16: oneDNN 2.6.3, ISA ..., frozen weights 112 MB bf16, 201 MB of float32 released"; "fp32" for NULL. */
void frozen_linears_describe(const struct frozen_linears *f, char *out, size_t n);

#endif
