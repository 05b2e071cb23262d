/* Activations, forward and backward.
 *   ReLU:               y = max(0, x);               dx = dy * [y > 0]
 *   GELU, tanh form ("gelu_new" in HF transformers):
 *     y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
 *     dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
 *   GELU, erf form (HF "gelu", AdaMix's adapters):  y = 0.5 x (1 + erf(x / sqrt 2)),
 *     dy/dx = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)
 *   SiLU ("swish", Houlsby's adapters):  y = x sigmoid(x),  dy/dx = s (1 + x (1 - s)),  s = sigmoid(x)
 * ReLU's backward reads its output (the input is not kept); the others read their input.
 * activation_forward/backward dispatch on enum activation and always take the input (for ReLU
 * x > 0 is the same test as y > 0). */
#ifndef MIXPHM_NN_ACTIVATION_H
#define MIXPHM_NN_ACTIVATION_H

#include <stddef.h>

/* In place is fine (y == x). */
void relu_forward(float *y, const float *x, size_t n);
/* dx = dy where y > 0, else 0; dx may equal dy. */
void relu_backward(float *dx, const float *dy, const float *y, size_t n);

void gelu_forward(float *y, const float *x, size_t n);
/* dx may equal dy; x is the forward input. */
void gelu_backward(float *dx, const float *dy, const float *x, size_t n);

void gelu_erf_forward(float *y, const float *x, size_t n);
void gelu_erf_backward(float *dx, const float *dy, const float *x, size_t n);
void silu_forward(float *y, const float *x, size_t n);
void silu_backward(float *dx, const float *dy, const float *x, size_t n);

enum activation { ACT_RELU, ACT_GELU_TANH, ACT_GELU_ERF, ACT_SILU };
/* y may equal x; dx may equal dy; x is the forward input. */
void activation_forward(int kind, float *y, const float *x, size_t n);
void activation_backward(int kind, float *dx, const float *dy, const float *x, size_t n);

#endif
