#include "nn/activation.h"

#include <math.h>

#define GELU_C 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_A 0.044715f

void relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void gelu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(GELU_C * (v + GELU_A * v * v * v)));
    }
}

void gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float t = tanhf(GELU_C * (v + GELU_A * v * v * v));
        const float grad = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * v * v);
        dx[i] = dy[i] * grad;
    }
}

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

void gelu_erf_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + erf(v * INV_SQRT2)));
    }
}

void gelu_erf_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        const double grad = 0.5 * (1.0 + erf(v * INV_SQRT2)) + v * exp(-0.5 * v * v) * INV_SQRT_2PI;
        dx[i] = (float)(dy[i] * grad);
    }
}

void silu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

void silu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

void activation_forward(int kind, float *y, const float *x, size_t n)
{
    switch (kind) {
    case ACT_RELU: relu_forward(y, x, n); break;
    case ACT_GELU_TANH: gelu_forward(y, x, n); break;
    case ACT_GELU_ERF: gelu_erf_forward(y, x, n); break;
    default: silu_forward(y, x, n); break;
    }
}

void activation_backward(int kind, float *dx, const float *dy, const float *x, size_t n)
{
    switch (kind) {
    case ACT_RELU: relu_backward(dx, dy, x, n); break; /* x > 0 iff relu(x) > 0 */
    case ACT_GELU_TANH: gelu_backward(dx, dy, x, n); break;
    case ACT_GELU_ERF: gelu_erf_backward(dx, dy, x, n); break;
    default: silu_backward(dx, dy, x, n); break;
    }
}
