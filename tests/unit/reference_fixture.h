/* Reading the PyTorch fixtures of tests/reference/ and comparing with them (tests only): the inputs and
 * dimensions of a fixture file, float and int datasets, and the comparison every reference test uses,
 *     max |c - ref| <= REL_TOL * max |ref|
 * (MIXPHM_SHOW_ERRORS=1 prints each comparison's error). */
#ifndef MIXPHM_TESTS_UNIT_REFERENCE_FIXTURE_H
#define MIXPHM_TESTS_UNIT_REFERENCE_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "model/vlt5.h"
#include "tests/harness.h"

#define FIXTURES "tests/reference/fixtures/"
#define REL_TOL 2e-5

struct fixture {
    char path[256];
    hid_t f;
    struct vlt5_dims dims;
    long visual_bias, seed, global_batch;
    int B, Lt, Ld;
    int32_t *text, *labels;
    float *feats, *boxes, *weights;
};

static inline long attr(struct test_ctx *t, struct fixture *fx, const char *name)
{
    struct err e;
    long v = 0;
    CHECKF(t, h5io_read_attr_i64(fx->f, name, &v, &e) == 0, "%s", e.msg);
    return v;
}

/* Reads a float dataset of n values; NULL (and a failed check) when it is missing or another size. */
static inline float *read_floats(struct test_ctx *t, struct fixture *fx, const char *name, long n)
{
    struct err e;
    float *x = xmalloc(sizeof(float) * (size_t)(n ? n : 1));
    if (h5io_load_f32(fx->f, name, x, n, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        free(x);
        return NULL;
    }
    return x;
}

static inline int32_t *read_ints(struct test_ctx *t, struct fixture *fx, const char *name, long n)
{
    struct err e;
    int32_t *x = xmalloc(sizeof(int32_t) * (size_t)n);
    if (h5io_load_i32(fx->f, name, x, n, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        free(x);
        return NULL;
    }
    return x;
}

static inline int fixture_open(struct test_ctx *t, const char *name, struct fixture *fx)
{
    struct err e;
    memset(fx, 0, sizeof *fx);
    snprintf(fx->path, sizeof fx->path, FIXTURES "%s", name);
    fx->f = h5io_open(fx->path, &e);
    if (fx->f < 0) {
        CHECKF(t, 0, "%s (run the tests from the repository root)", e.msg);
        return -1;
    }
    vlt5_preset("tiny", &fx->dims);
    struct vlt5_dims *d = &fx->dims;
    d->d_model = (int)attr(t, fx, "d_model"), d->n_heads = (int)attr(t, fx, "n_heads");
    d->d_kv = (int)attr(t, fx, "d_kv"), d->d_ff = (int)attr(t, fx, "d_ff");
    d->n_enc_layers = (int)attr(t, fx, "n_enc_layers"), d->n_dec_layers = (int)attr(t, fx, "n_dec_layers");
    d->vocab = (int)attr(t, fx, "vocab"), d->feat_dim = (int)attr(t, fx, "feat_dim");
    if (H5Aexists(fx->f, "n_regions") > 0) /* weights files leave it out: VL-T5 has 36 */
        d->n_regions = (int)attr(t, fx, "n_regions");
    fx->visual_bias = attr(t, fx, "visual_bias");
    if (!h5io_exists(fx->f, "text"))
        return 0; /* a weights-only fixture */
    fx->seed = attr(t, fx, "weight_seed"), fx->global_batch = attr(t, fx, "global_batch");
    int nd;
    long tdims[H5IO_MAX_DIMS], ldims[H5IO_MAX_DIMS];
    if (h5io_shape(fx->f, "text", &nd, tdims, &e) || h5io_shape(fx->f, "labels", &nd, ldims, &e)) {
        CHECKF(t, 0, "%s", e.msg);
        return -1;
    }
    fx->B = (int)tdims[0], fx->Lt = (int)tdims[1], fx->Ld = (int)ldims[1];
    const long R = d->n_regions;
    fx->text = read_ints(t, fx, "text", (long)fx->B * fx->Lt);
    fx->labels = read_ints(t, fx, "labels", (long)fx->B * fx->Ld);
    fx->feats = read_floats(t, fx, "feats", fx->B * R * d->feat_dim);
    fx->boxes = read_floats(t, fx, "boxes", fx->B * R * 4);
    fx->weights = read_floats(t, fx, "weights", fx->B);
    return fx->text && fx->labels && fx->feats && fx->boxes && fx->weights ? 0 : -1;
}

static inline void fixture_close(struct fixture *fx)
{
    h5io_close_quiet(fx->f);
    free(fx->text), free(fx->labels), free(fx->feats), free(fx->boxes), free(fx->weights);
}

/* max |c - ref| <= REL_TOL * max |ref| */
static inline void compare(struct test_ctx *t, const char *what, const float *c, const float *ref, long n)
{
    double max_ref = 0.0, max_err = 0.0;
    long worst = 0;
    for (long i = 0; i < n; i++) {
        max_ref = fmax(max_ref, fabs(ref[i]));
        if (!(fabs((double)c[i] - ref[i]) <= max_err)) { /* also catches NaN */
            max_err = isnan(c[i]) ? INFINITY : fabs((double)c[i] - ref[i]);
            worst = i;
        }
    }
    if (getenv("MIXPHM_SHOW_ERRORS"))
        fprintf(stderr, "%-60s max error %.3g = %.3g of max |ref| %.4g\n", what, max_err, max_err / max_ref, max_ref);
    CHECKF(t, max_err <= REL_TOL * max_ref && max_ref > 0, "%s: max error %.3g (at %ld: %.7g vs %.7g), %.2g of max |ref| %.4g",
           what, max_err, worst, c[worst], ref[worst], max_err / (max_ref > 0 ? max_ref : 1), max_ref);
}

static inline void compare_dataset(struct test_ctx *t, struct fixture *fx, const char *name, const float *c, long n)
{
    float *ref = read_floats(t, fx, name, n);
    if (ref)
        compare(t, name, c, ref, n);
    free(ref);
}

#endif
