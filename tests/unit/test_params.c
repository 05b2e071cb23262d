/* The parameter registry and the HDF5 weight files: layout, round trips, and every way a weights file
 * can be wrong (each error must name the file and the tensor). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "model/checkpoint.h"
#include "base/h5io.h"
#include "model/optimizer.h"
#include "model/params_h5.h"
#include "model/vlt5.h"
#include "tests/harness.h"

static void test_registry_layout(struct test_ctx *t)
{
    struct params p;
    struct err e;
    params_init(&p);
    const int s1[2] = {3, 5}, s2[1] = {7}, s3[2] = {2, 2};
    CHECK_INT(t, params_add(&p, "a.weight", 2, s1, PARAM_BACKBONE, 0, &e), 0);
    CHECK_INT(t, params_add(&p, "b.bias", 1, s2, PARAM_PEFT, 1, &e), 1);
    CHECK_INT(t, params_add(&p, "c.weight", 2, s3, PARAM_BACKBONE, 0, &e), 2);
    CHECK_INT(t, params_add(&p, "a.weight", 1, s2, PARAM_PEFT, 1, &e), -1);
    CHECK_CONTAINS(t, e.msg, "'a.weight' is registered twice");
    CHECK_INT(t, params_add(&p, "x/y", 1, s2, PARAM_PEFT, 1, &e), -1);
    CHECK_CONTAINS(t, e.msg, "without '/'");
    const int bad[1] = {0};
    CHECK_INT(t, params_add(&p, "z", 1, bad, PARAM_PEFT, 1, &e), -1);
    CHECK_INT(t, params_set_trainable(&p, "c.", PARAM_BACKBONE, 1), 1);
    CHECK_INT(t, params_set_trainable(&p, "", PARAM_PEFT, 1), 0); /* already trainable */
    params_alloc(&p);
    CHECK_INT(t, params_add(&p, "late", 1, s2, PARAM_PEFT, 1, &e), -1);
    CHECK_INT(t, params_find(&p, "c.weight"), 2);
    CHECK_INT(t, params_find(&p, "nope"), -1);
    /* frozen: a (15 values, padded to 16); trainable: b (7 -> 16), then c at offset 16 */
    CHECK_INT(t, p.n_frozen, 16);
    CHECK_INT(t, p.n_train, 32);
    CHECK(t, params_data(&p, 0) == p.frozen);
    CHECK(t, params_data(&p, 1) == p.train && params_grad(&p, 1) == p.grad);
    CHECK(t, params_data(&p, 2) == p.train + 16 && params_grad(&p, 2) == p.grad + 16);
    CHECK(t, params_grad(&p, 0) == NULL);
    CHECK_INT(t, params_count(&p, 1, PARAM_ANY), 11);
    CHECK_INT(t, params_count(&p, 0, PARAM_ANY), 15);
    CHECK_INT(t, params_count(&p, -1, PARAM_BACKBONE), 19);
    char shape[32];
    params_shape_str(&p.t[0], shape, sizeof shape);
    CHECK_STR(t, shape, "[3, 5]");
    params_free(&p);
}

/* Two tensors with known values; returns the registry. */
static void make_pair(struct params *p, const int *shape_b)
{
    struct err e;
    params_init(p);
    const int sa[2] = {2, 3};
    params_add(p, "enc.w", 2, sa, PARAM_BACKBONE, 0, &e);
    params_add(p, "enc.b", 1, shape_b, PARAM_BACKBONE, 0, &e);
    params_alloc(p);
    for (int i = 0; i < 6; i++)
        params_data(p, 0)[i] = (float)i + 0.5f;
    for (int i = 0; i < shape_b[0]; i++)
        params_data(p, 1)[i] = -(float)i;
}

static void test_weights_round_trip(struct test_ctx *t)
{
    struct params p, q;
    struct err e;
    char path[600], tmp[610];
    snprintf(path, sizeof path, "%s/w.h5", t->tmpdir);
    const int sb[1] = {4};
    make_pair(&p, sb);
    const struct weights_attr attrs[] = {{"d_model", 3}};
    CHECKF(t, params_save_h5(&p, path, PARAM_ANY, attrs, 1, &e) == 0, "%s", e.msg);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(t, file_exists(path) && !file_exists(tmp));
    long v = 0;
    CHECKF(t, weights_read_attr(path, "d_model", &v, &e) == 0 && v == 3, "%s", e.msg);
    CHECK_INT(t, weights_read_attr(path, "n_heads", &v, &e), -1);
    CHECK_CONTAINS(t, e.msg, "missing attribute 'n_heads'");
    make_pair(&q, sb);
    memset(q.frozen, 0, sizeof(float) * q.n_frozen);
    CHECKF(t, params_load_h5(&q, path, PARAM_ANY, NULL, &e) == 0, "%s", e.msg);
    CHECK(t, memcmp(p.frozen, q.frozen, sizeof(float) * p.n_frozen) == 0);
    params_free(&p), params_free(&q);
}

static void expect_load_error(struct test_ctx *t, const char *path, const char *what, ...)
{
    struct params q;
    struct err e;
    const int sb[1] = {4};
    make_pair(&q, sb);
    int rc = params_load_h5(&q, path, PARAM_ANY, NULL, &e);
    CHECKF(t, rc == -1, "%s: expected an error", what);
    if (rc == -1) {
        CHECK_CONTAINS(t, e.msg, path);
        va_list ap;
        va_start(ap, what);
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
            CHECKF(t, strstr(e.msg, s) != NULL, "%s: expected \"%s\" in \"%s\"", what, s, e.msg);
        va_end(ap);
    }
    params_free(&q);
}

static void test_weights_errors(struct test_ctx *t)
{
    struct params p;
    struct err e;
    char path[600];
    /* a tensor of another shape, and one the model does not have */
    const int sb5[1] = {5};
    make_pair(&p, sb5);
    snprintf(path, sizeof path, "%s/shape.h5", t->tmpdir);
    params_save_h5(&p, path, PARAM_ANY, NULL, 0, &e);
    expect_load_error(t, path, "wrong shape", "wrong shapes: enc.b is [5], expected [4]", NULL);
    params_free(&p);
    /* a missing tensor and an unexpected one */
    params_init(&p);
    const int s6[2] = {2, 3}, s1[1] = {1};
    params_add(&p, "enc.w", 2, s6, PARAM_BACKBONE, 0, &e);
    params_add(&p, "enc.extra", 1, s1, PARAM_BACKBONE, 0, &e);
    params_alloc(&p);
    snprintf(path, sizeof path, "%s/missing.h5", t->tmpdir);
    params_save_h5(&p, path, PARAM_ANY, NULL, 0, &e);
    expect_load_error(t, path, "missing", "missing tensors: enc.b", "tensors the model does not have: enc.extra", NULL);
    params_free(&p);
    /* a missing file, a file that is not HDF5, an HDF5 file that is not a weights file */
    snprintf(path, sizeof path, "%s/nothing.h5", t->tmpdir);
    expect_load_error(t, path, "no file", "cannot open", NULL);
    char text[600];
    test_write_file(t, "text.h5", "not hdf5 at all\n", text, sizeof text);
    expect_load_error(t, text, "not hdf5", "not an HDF5 file", NULL);
    snprintf(path, sizeof path, "%s/plain.h5", t->tmpdir);
    hid_t f = h5io_create(path, &e);
    hsize_t dims[1] = {4};
    float zeros[4] = {0};
    h5io_write_f32(f, "enc.b", 1, dims, zeros, &e);
    h5io_close_quiet(f);
    expect_load_error(t, path, "no format", "not a mixphm weights file", NULL);
    /* a weights file whose tensor is stored as integers */
    snprintf(path, sizeof path, "%s/ints.h5", t->tmpdir);
    f = h5io_create(path, &e);
    h5io_attr_str(f, "format", WEIGHTS_FORMAT, &e);
    h5io_attr_i64(f, "format_version", WEIGHTS_FORMAT_VERSION, &e);
    hsize_t d2[2] = {2, 3};
    int32_t ints[6] = {0};
    h5io_write_i32(f, "enc.w", 2, d2, ints, &e);
    h5io_write_f32(f, "enc.b", 1, dims, zeros, &e);
    h5io_close_quiet(f);
    expect_load_error(t, path, "integers", "'enc.w' is not floating point", NULL);
    /* a truncated file: the first 1000 bytes of a valid one */
    const int sb[1] = {4};
    make_pair(&p, sb);
    char good[600];
    snprintf(good, sizeof good, "%s/good.h5", t->tmpdir);
    params_save_h5(&p, good, PARAM_ANY, NULL, 0, &e);
    params_free(&p);
    char *data;
    size_t n;
    if (read_file(good, &data, &n, &e) == 0) {
        snprintf(path, sizeof path, "%s/truncated.h5", t->tmpdir);
        write_file_atomic(path, data, n / 2, &e);
        free(data);
        struct params q;
        make_pair(&q, sb);
        CHECK_INT(t, params_load_h5(&q, path, PARAM_ANY, NULL, &e), -1);
        CHECK_CONTAINS(t, e.msg, path);
        params_free(&q);
    }
    /* an unwritable destination leaves nothing behind */
    make_pair(&p, sb);
    snprintf(path, sizeof path, "%s/no/such/dir/w.h5", t->tmpdir);
    CHECK_INT(t, params_save_h5(&p, path, PARAM_ANY, NULL, 0, &e), -1);
    CHECK_CONTAINS(t, e.msg, "cannot create");
    params_free(&p);
}

/* vlt5_save / vlt5_load / vlt5_dims_from_weights on a tiny model, and the FewVLM biases being ignored. */
static void test_vlt5_weights_file(struct test_ctx *t)
{
    struct vlt5_dims d;
    vlt5_preset("tiny", &d);
    d.vocab = 60, d.feat_dim = 8;
    struct err e;
    char path[600];
    snprintf(path, sizeof path, "%s/tiny.h5", t->tmpdir);
    struct params p[2];
    struct vlt5 m[2];
    for (int i = 0; i < 2; i++) {
        struct vlt5_options o = {.visual_bias = 1 - i, .max_batch = 1, .max_text = 2, .max_target = 2, .max_generate = 2};
        CHECKF(t, vlt5_build(&m[i], &p[i], &d, &o, &e) == 0, "%s", e.msg);
    }
    vlt5_init_random(&m[0], 5);
    CHECKF(t, vlt5_save(&m[0], path, &e) == 0, "%s", e.msg);
    CHECKF(t, vlt5_load(&m[1], path, &e) == 0, "%s", e.msg); /* no visual biases: they are skipped */
    CHECK(t, memcmp(m[0].shared.w, m[1].shared.w, sizeof(float) * (size_t)d.vocab * d.d_model) == 0);
    CHECK(t, memcmp(m[0].dec_w[1].ffn.wo.w, m[1].dec_w[1].ffn.wo.w, sizeof(float) * (size_t)d.d_model * d.d_ff) == 0);
    struct vlt5_dims back;
    CHECKF(t, vlt5_dims_from_weights(path, &back, &e) == 0, "%s", e.msg);
    CHECK(t, back.d_model == d.d_model && back.n_heads == d.n_heads && back.d_kv == d.d_kv && back.d_ff == d.d_ff &&
                 back.n_enc_layers == 2 && back.vocab == 60 && back.feat_dim == 8 && back.n_regions == 36);
    /* the other way: a model with visual biases cannot load a file without them */
    snprintf(path, sizeof path, "%s/nobias.h5", t->tmpdir);
    vlt5_save(&m[1], path, &e);
    CHECK_INT(t, vlt5_load(&m[0], path, &e), -1);
    CHECK_CONTAINS(t, e.msg, "missing tensors: encoder.visual_embedding.feat_embedding.0.bias");
    CHECK_CONTAINS(t, e.msg, "loading the VL-T5 backbone");
    for (int i = 0; i < 2; i++)
        vlt5_free(&m[i]), params_free(&p[i]);
}

static void test_param_counts(struct test_ctx *t)
{
    /* VL-T5-base without the FewVLM biases has 224,538,624 parameters, with them 224,540,160 (docs/vlt5.md) */
    struct vlt5_dims d;
    vlt5_preset("t5-base", &d);
    CHECK_INT(t, vlt5_param_count(&d, 0), 224538624L);
    CHECK_INT(t, vlt5_param_count(&d, 1), 224540160L);
    /* and the registry agrees with the formula on a small model */
    vlt5_preset("tiny", &d);
    struct params p;
    struct vlt5 m;
    struct err e;
    struct vlt5_options o = {.max_batch = 1, .max_text = 1, .max_target = 1, .max_generate = 1};
    params_init(&p);
    CHECKF(t, vlt5_register(&m, &p, &d, &o, &e) == 0, "%s", e.msg);
    CHECK_INT(t, (long)params_count(&p, -1, PARAM_BACKBONE), vlt5_param_count(&d, 0));
    CHECK_INT(t, (long)params_count(&p, 1, PARAM_ANY), 0);
    vlt5_free(&m);
    params_free(&p);
}

/* A tensor without a gradient in a step (an expert not drawn) is skipped as HF AdamW skips a .grad of
 * None: weights, moments and its own step count stay; its next update uses its own bias correction.
 * The counts survive a checkpoint. */
static void test_adamw_skips_unused(struct test_ctx *t)
{
    struct params p, q;
    struct err e;
    params_init(&p);
    const int shape[1] = {3};
    CHECK(t, params_add(&p, "a.w", 1, shape, PARAM_PEFT, 1, &e) == 0);
    CHECK(t, params_add(&p, "frozen", 1, shape, PARAM_BACKBONE, 0, &e) == 1);
    CHECK(t, params_add(&p, "b.w", 1, shape, PARAM_PEFT, 1, &e) == 2);
    params_alloc(&p);
    const struct adamw_hparams h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    float *a = params_data(&p, 0), *b = params_data(&p, 2);
    float b_ref[3], m_ref[3], v_ref[3];
    for (int i = 0; i < 3; i++)
        a[i] = b[i] = b_ref[i] = 1.0f + (float)i, m_ref[i] = v_ref[i] = 0;
    const unsigned char only_a[3] = {1, 0, 0}, both[3] = {1, 0, 1};
    for (int s = 0; s < 3; s++) { /* b gets no gradient for three steps */
        for (int i = 0; i < 3; i++)
            params_grad(&p, 0)[i] = 0.5f, params_grad(&p, 2)[i] = 0.0f;
        params_adamw_step(&p, 1e-2, 0.01, &h, only_a);
    }
    const float *mb = p.adam_m + p.t[2].offset;
    CHECK(t, p.adam_step[0] == 3 && p.adam_step[2] == 0);
    CHECK(t, memcmp(b, b_ref, sizeof b_ref) == 0 && mb[0] == 0.0f);
    for (int i = 0; i < 3; i++)
        params_grad(&p, 0)[i] = params_grad(&p, 2)[i] = 0.25f;
    params_adamw_step(&p, 1e-2, 0.01, &h, both);
    const float g[3] = {0.25f, 0.25f, 0.25f};
    adamw_update(b_ref, g, m_ref, v_ref, 3, 1e-2, 0.01, &h, 1); /* b's first step */
    CHECK(t, p.adam_step[0] == 4 && p.adam_step[2] == 1);
    CHECK(t, memcmp(b, b_ref, sizeof b_ref) == 0);

    char path[600];
    snprintf(path, sizeof path, "%s/ckpt.h5", t->tmpdir);
    struct train_state st, back;
    train_state_init(&st);
    st.step = 4; /* the loop's count: no tensor can have taken more AdamW steps (checkpoint_load checks) */
    const char hash[HASH_HEX_LEN] = "0123456789abcdef";
    CHECKF(t, checkpoint_save(&p, path, hash, &st, &e) == 0, "%s", e.msg);
    params_init(&q);
    CHECK(t, params_add(&q, "a.w", 1, shape, PARAM_PEFT, 1, &e) == 0);
    CHECK(t, params_add(&q, "frozen", 1, shape, PARAM_BACKBONE, 0, &e) == 1);
    CHECK(t, params_add(&q, "b.w", 1, shape, PARAM_PEFT, 1, &e) == 2);
    params_alloc(&q);
    CHECKF(t, checkpoint_load(&q, path, hash, &back, &e) == 0, "%s", e.msg);
    CHECK(t, q.adam_step[0] == 4 && q.adam_step[1] == 0 && q.adam_step[2] == 1);
    train_state_free(&st);
    train_state_free(&back);
    params_free(&p);
    params_free(&q);
}

/* A detached frozen tensor lives outside `frozen`, loads like any other, and once released has no
 * values: saving or loading it is refused by name.  A trainable tensor ignores the flag. */
static void test_detached(struct test_ctx *t)
{
    struct params p, q;
    struct err e;
    char path[600];
    snprintf(path, sizeof path, "%s/d.h5", t->tmpdir);
    const int sb[1] = {4};
    make_pair(&p, sb);
    CHECKF(t, params_save_h5(&p, path, PARAM_ANY, NULL, 0, &e) == 0, "%s", e.msg);
    params_init(&q);
    const int sa[2] = {2, 3}, s3[1] = {3};
    params_add(&q, "enc.w", 2, sa, PARAM_BACKBONE, 0, &e);
    params_add(&q, "enc.b", 1, sb, PARAM_BACKBONE, 0, &e);
    params_add(&q, "head.w", 1, s3, PARAM_PEFT, 1, &e);
    params_set_detached(&q, 0);
    params_set_detached(&q, 2); /* trainable: stays in `train` */
    params_alloc(&q);
    CHECK_INT(t, q.n_frozen, 16); /* only enc.b */
    CHECK(t, params_data(&q, 0) != NULL && params_data(&q, 0) != q.frozen);
    CHECK(t, params_data(&q, 1) == q.frozen);
    CHECK(t, params_data(&q, 2) == q.train && !q.t[2].detached);
    CHECKF(t, params_load_h5_sel(&q, path, PARAM_BACKBONE, -1, NULL, &e) == 0, "%s", e.msg);
    CHECK(t, memcmp(params_data(&q, 0), params_data(&p, 0), 6 * sizeof(float)) == 0);
    params_release(&q, 0);
    params_release(&q, 1); /* not detached: kept */
    CHECK(t, params_data(&q, 0) == NULL && params_data(&q, 1) == q.frozen);
    CHECK_INT(t, params_save_h5(&q, path, PARAM_BACKBONE, NULL, 0, &e), -1);
    CHECK_CONTAINS(t, e.msg, "enc.w: its float32 values were released");
    CHECK_INT(t, params_load_h5_sel(&q, path, PARAM_BACKBONE, -1, NULL, &e), -1);
    CHECK_CONTAINS(t, e.msg, "enc.w was released once converted");
    params_free(&p), params_free(&q);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"registry_layout", test_registry_layout},
        {"weights_round_trip", test_weights_round_trip},
        {"weights_errors", test_weights_errors},
        {"vlt5_weights_file", test_vlt5_weights_file},
        {"param_counts", test_param_counts},
        {"adamw_skips_unused", test_adamw_skips_unused},
        {"detached", test_detached},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
