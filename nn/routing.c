#include "nn/routing.h"

#include <string.h>

static double dot(const float *a, const float *b, int r)
{
    double s = 0.0;
    for (int i = 0; i < r; i++)
        s += (double)a[i] * b[i];
    return s;
}

static double sum(const float *a, int r)
{
    double s = 0.0;
    for (int i = 0; i < r; i++)
        s += a[i];
    return s;
}

void route_forward(int kind, float *g, const float *xt, const float *xv, int B, int T, int r)
{
    for (int b = 0; b < B; b++) {
        const float *v = xv + (long)b * r;
        for (int t = 0; t < T; t++) {
            const long row = ((long)b * T + t) * r;
            const float *x = xt + row;
            float *y = g + row;
            switch (kind) {
            case ROUTE_MUL:
                for (int i = 0; i < r; i++)
                    y[i] = x[i] * v[i];
                break;
            case ROUTE_ADD:
                for (int i = 0; i < r; i++)
                    y[i] = x[i] + v[i];
                break;
            case ROUTE_PROJ:
            case ROUTE_EXPAND: {
                const float s = (float)(kind == ROUTE_PROJ ? dot(x, v, r) : sum(x, r));
                for (int i = 0; i < r; i++)
                    y[i] = s * v[i];
                break;
            }
            default: memcpy(y, x, sizeof(float) * (size_t)r); break;
            }
        }
    }
}

void route_backward(int kind, float *dxt, float *dxv, const float *dg, const float *xt, const float *xv, int B, int T,
                    int r)
{
    memset(dxv, 0, sizeof(float) * (size_t)B * r);
    for (int b = 0; b < B; b++) {
        const float *v = xv + (long)b * r;
        float *dv = dxv + (long)b * r;
        for (int t = 0; t < T; t++) {
            const long row = ((long)b * T + t) * r;
            const float *x = xt + row, *d = dg + row;
            float *dx = dxt + row;
            switch (kind) {
            case ROUTE_MUL:
                for (int i = 0; i < r; i++) {
                    dx[i] = d[i] * v[i];
                    dv[i] += d[i] * x[i];
                }
                break;
            case ROUTE_ADD:
                for (int i = 0; i < r; i++) {
                    dx[i] = d[i];
                    dv[i] += d[i];
                }
                break;
            case ROUTE_PROJ: {
                const float dv_dot = (float)dot(d, v, r), xv_dot = (float)dot(x, v, r);
                for (int i = 0; i < r; i++) {
                    dx[i] = dv_dot * v[i];
                    dv[i] += dv_dot * x[i] + xv_dot * d[i];
                }
                break;
            }
            case ROUTE_EXPAND: {
                const float dv_dot = (float)dot(d, v, r), xs = (float)sum(x, r);
                for (int i = 0; i < r; i++) {
                    dx[i] = dv_dot;
                    dv[i] += xs * d[i];
                }
                break;
            }
            default: memcpy(dx, d, sizeof(float) * (size_t)r); break;
            }
        }
    }
}
