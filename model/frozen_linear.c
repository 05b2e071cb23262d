#include "model/frozen_linear.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "nn/linear.h"

int frozen_linears_create(struct frozen_linears **out, int precision, struct err *e)
{
    *out = NULL;
    if (precision == FROZEN_FP32)
        return 0;
    struct frozen_linears *f = xcalloc(1, sizeof *f);
    if (bf16_ctx_create(&f->ctx, e) != 0) {
        free(f);
        return -1;
    }
    *out = f;
    return 0;
}

void frozen_linears_free(struct frozen_linears *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        bf16_weight_free(f->w[i]);
    free(f->w);
    bf16_ctx_free(f->ctx);
    free(f);
}

int frozen_linears_pack(struct frozen_linears *f, struct params *p, int h, struct err *e)
{
    if (h < 0 || p->t[h].trainable)
        return 0;
    if (f->n < p->n) { /* the registry is complete once allocated: one slot per tensor */
        f->w = xrealloc(f->w, sizeof *f->w * (size_t)p->n);
        for (int i = f->n; i < p->n; i++)
            f->w[i] = NULL;
        f->n = p->n;
    }
    if (f->w[h])
        return 0;
    const struct param_tensor *t = &p->t[h];
    const float *W = params_data(p, h);
    if (t->ndim != 2 || !W)
        return err_set(e, "%s: expected a [out, in] weight with its float32 values to pack into bf16", t->name);
    if (bf16_weight_pack(f->ctx, W, t->shape[0], t->shape[1], &f->w[h], e) != 0)
        return err_prefix(e, "%s", t->name);
    f->bf16_bytes += bf16_weight_bytes(f->w[h]);
    if (t->detached) {
        f->fp32_released += t->numel * sizeof(float);
        params_release(p, h);
    }
    return 0;
}

static struct bf16_weight *packed(const struct frozen_linears *f, int h)
{
    return f && h >= 0 && h < f->n ? f->w[h] : NULL;
}

void frozen_linear_forward(const struct frozen_linears *f, int h, const float *W32, const float *b, float *y,
                           const float *x, int n, int in, int out)
{
    const struct bf16_weight *w = packed(f, h);
    if (!w) {
        linear_forward(y, x, W32, b, n, in, out, 0);
        return;
    }
    if (b) /* as linear_forward: the bias first, the product added to it */
        for (int r = 0; r < n; r++)
            for (int o = 0; o < out; o++)
                y[(long)r * out + o] = b[o];
    bf16_linear_forward(f->ctx, w, y, x, n, b != NULL);
}

void frozen_linear_backward(const struct frozen_linears *f, int h, const float *W32, float *dW, float *db,
                            const float *dy, const float *x, float *dx, int n, int in, int out, int accumulate_dx)
{
    struct bf16_weight *w = packed(f, h);
    if (!w) {
        linear_backward(dx, dW, db, dy, x, W32, n, in, out, accumulate_dx);
        return;
    }
    if (dW) { /* a packed weight is frozen: a gradient for it would be a bug in the caller */
        fprintf(stderr, "mixphm: internal error: a weight gradient asked for a frozen bf16 weight\n");
        abort();
    }
    if (dx && n > 0) /* makes the weight's second layout at its first backward */
        bf16_linear_backward_dx(f->ctx, w, dx, dy, n, accumulate_dx);
    if (db && n > 0)
        bias_backward(db, dy, n, out);
}

void frozen_linears_describe(const struct frozen_linears *f, char *out, size_t n)
{
    if (!f) {
        snprintf(out, n, "fp32");
        return;
    }
    char ctx[256];
    bf16_ctx_describe(f->ctx, ctx, sizeof ctx);
    snprintf(out, n, "bf16: %s; frozen weights %.0f MB in bf16 (as much again for the backward), %.0f MB of "
                     "float32 released", ctx,
             (double)f->bf16_bytes / 1e6, (double)f->fp32_released / 1e6);
}
