/* The config loader: defaults, layering, every kind of bad input, the resolved config and its hashes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "run/config.h"
#include "train/config_model.h"
#include "tests/harness.h"

/* Loads YAML `text` (written to a file in the test folder) plus `sets`; returns the rc. */
static int load_text(struct test_ctx *t, struct config *cfg, const char *text, const char *const *sets,
                     int n_sets, struct err *e, char *path_out)
{
    char path[700];
    test_write_file(t, "user.yaml", text, path, sizeof path);
    if (path_out)
        strcpy(path_out, path);
    return config_load(cfg, path, sets, n_sets, e);
}

/* Expects loading to fail with a message containing each of the NULL-terminated fragments. */
static void expect_error(struct test_ctx *t, const char *text, const char *const *sets, int n_sets, ...)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char path[700];
    int rc = load_text(t, cfg, text, sets, n_sets, &e, path);
    CHECKF(t, rc == -1, "expected an error for:\n%s", text);
    if (rc == -1) {
        va_list ap;
        va_start(ap, n_sets);
        for (const char *frag = va_arg(ap, const char *); frag; frag = va_arg(ap, const char *)) {
            if (strcmp(frag, "@FILE") == 0)
                frag = path;
            CHECKF(t, strstr(e.msg, frag) != NULL, "expected \"%s\" in \"%s\"", frag, e.msg);
        }
        va_end(ap);
    }
    free(cfg);
}

static void test_defaults(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, config_load(cfg, NULL, NULL, 0, &e), 0);
    CHECK_STR(t, cfg->run.dir, "runs/default");
    CHECK_INT(t, cfg->train.batch_size, 16);
    CHECK_INT(t, cfg->train.epochs, 1000);
    CHECK_INT(t, cfg->peft.method, PEFT_MIXPHM);
    CHECK_INT(t, cfg->peft.routing, ROUTING_NONE);
    CHECK_INT(t, cfg->data.dataset, DATASET_SYNTHETIC);
    CHECK_INT(t, cfg->eval.vqa_metric, METRIC_VLT5);
    CHECK_INT(t, cfg->model.size, MODEL_T5_BASE);
    union cfg_value v[CFG_MAX_SWEEP];
    int n = config_values(cfg, "data.sizes", v, CFG_MAX_SWEEP);
    long sizes[] = {16, 32, 64, 100, 500, 1000};
    CHECK_INT(t, n, 6);
    for (int i = 0; i < n && i < 6; i++)
        CHECK_INT(t, v[i].i, sizes[i]);
    n = config_values(cfg, "data.seeds", v, CFG_MAX_SWEEP);
    CHECK_INT(t, n, 5);
    CHECK_INT(t, v[4].i, 100);
    CHECK_INT(t, cfg->data.sizes, 16); /* the scalar is the first value */
    free(cfg);
}

static void test_schema_is_consistent(struct test_ctx *t)
{
    int n;
    const struct cfg_key *k = config_schema(&n);
    CHECK(t, n <= CFG_MAX_KEYS);
    for (int i = 0; i < n; i++) {
        CHECKF(t, !(k[i].sweep && k[i].type == CFG_STRING), "%s: string keys cannot be sweep lists", k[i].path);
        CHECKF(t, config_key_index(k[i].path) == i, "%s appears twice", k[i].path);
        /* Keys of one section are contiguous, so the resolved config has each section once. */
        const char *dot = strrchr(k[i].path, '.');
        size_t sec = dot ? (size_t)(dot - k[i].path) : 0;
        for (int j = i + 2; j < n && sec; j++) {
            if (strncmp(k[j].path, k[i].path, sec) == 0 && k[j].path[sec] == '.')
                CHECKF(t, strncmp(k[j - 1].path, k[i].path, sec) == 0, "section of %s is split by %s", k[j].path,
                       k[j - 1].path);
        }
    }
}

static void test_layers_override_in_order(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    const char *sets[] = {"train.epochs=7", "data.sizes=[16, 64]", "peft={method: lora, routing: add}"};
    int rc = load_text(t, cfg, "train:\n  epochs: 3\n  batch_size: 8\npeft:\n  method: [mixphm, full]\n", sets, 3,
                       &e, NULL);
    CHECKF(t, rc == 0, "%s", e.msg);
    CHECK_INT(t, cfg->train.epochs, 7);     /* --set beats the file */
    CHECK_INT(t, cfg->train.batch_size, 8); /* the file beats the defaults */
    CHECK_INT(t, cfg->peft.method, PEFT_LORA);
    CHECK_INT(t, cfg->peft.routing, ROUTING_ADD);
    union cfg_value v[CFG_MAX_SWEEP];
    CHECK_INT(t, config_values(cfg, "peft.method", v, CFG_MAX_SWEEP), 1); /* a scalar replaced the list */
    CHECK_INT(t, config_values(cfg, "data.sizes", v, CFG_MAX_SWEEP), 2);
    CHECK_INT(t, v[1].i, 64);
    char o[600];
    config_origin(cfg, "train.batch_size", o, sizeof o);
    CHECK_CONTAINS(t, o, "user.yaml:3");
    config_origin(cfg, "train.epochs", o, sizeof o);
    CHECK_STR(t, o, "--set");
    config_origin(cfg, "log.interval", o, sizeof o);
    CHECK_CONTAINS(t, o, "configs/defaults.yaml:");
    free(cfg);
}

static void test_single_item_list_is_a_scalar(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, load_text(t, cfg, "data:\n  seeds: [42]\n", NULL, 0, &e, NULL), 0);
    union cfg_value v[CFG_MAX_SWEEP];
    CHECK_INT(t, config_values(cfg, "data.seeds", v, CFG_MAX_SWEEP), 1);
    CHECK_INT(t, cfg->data.seeds, 42);
    CHECK_INT(t, cfg->n_axes, 1); /* only data.sizes from the defaults remains a list */
    free(cfg);
}

static void test_bad_types(struct test_ctx *t)
{
    expect_error(t, "train:\n  batch_size: sixteen\n", NULL, 0, "@FILE", ":2:", "train.batch_size",
                 "expected an integer", "\"sixteen\"", NULL);
    expect_error(t, "train:\n  batch_size: \"16\"\n", NULL, 0, ":2:", "quoted", NULL);
    expect_error(t, "train:\n  batch_size: 1.5\n", NULL, 0, "train.batch_size", "1.5", NULL);
    expect_error(t, "train:\n  batch_size: [8, 16]\n", NULL, 0, ":2:", "takes one value, not a list", NULL);
    expect_error(t, "train:\n  batch_size:\n    value: 8\n", NULL, 0, ":3:", "got a mapping", NULL);
    expect_error(t, "train:\n  batch_size:\n", NULL, 0, "train.batch_size", "has no value", NULL);
    expect_error(t, "features:\n  project: yes\n", NULL, 0, "features.project", "true or false", NULL);
    expect_error(t, "peft:\n  method: mixphn\n", NULL, 0, ":2:", "peft.method", "one of: full", "mixphm", NULL);
    expect_error(t, "log:\n  interval: .inf\n", NULL, 0, "log.interval", "expected a number", NULL);
    expect_error(t, "log:\n  interval: 0x10\n", NULL, 0, "log.interval", NULL);
    expect_error(t, "model:\n  checkpoint: [a, b]\n", NULL, 0, "model.checkpoint", "not a list", NULL);
    expect_error(t, "train: 5\n", NULL, 0, ":1:", "train: is a section", NULL);
    expect_error(t, "- a\n- b\n", NULL, 0, "a mapping of configuration keys at the top level", NULL);
    expect_error(t, "model:\n  checkpoint: \"a\\0b\"\n", NULL, 0, "NUL byte", NULL);
}

static void test_out_of_range(struct test_ctx *t)
{
    expect_error(t, "train:\n  batch_size: 0\n", NULL, 0, ":2:", "train.batch_size", "0 is out of range",
                 "between 1 and 65536", NULL);
    expect_error(t, "train:\n  batch_size: 99999999999999999999999\n", NULL, 0, "expected an integer", NULL);
    expect_error(t, "log:\n  interval: -1\n", NULL, 0, "log.interval", "out of range", NULL);
    expect_error(t, "data:\n  seeds: [13, -1]\n", NULL, 0, ":2:", "data.seeds", "-1 is out of range", NULL);
    char big[CFG_STR_MAX + 64];
    snprintf(big, sizeof big, "model:\n  checkpoint: %0*d\n", CFG_STR_MAX, 7);
    expect_error(t, big, NULL, 0, "model.checkpoint", "at most 1023", NULL);
}

static void test_unknown_keys(struct test_ctx *t)
{
    expect_error(t, "run:\n  dir: x\ntrain:\n  batchsize: 8\n", NULL, 0, "@FILE", ":4:",
                 "unknown key 'train.batchsize'", "did you mean 'train.batch_size'", NULL);
    expect_error(t, "batch_size: 8\n", NULL, 0, ":1:", "unknown key 'batch_size'", "train.batch_size", NULL);
    expect_error(t, "trian:\n  epochs: 3\n", NULL, 0, ":1:", "unknown key 'trian'", NULL);
    expect_error(t, "completely_unrelated_thing: 1\n", NULL, 0, "unknown key", "configs/defaults.yaml", NULL);
    const char *sets[] = {"train.epochs_max=3"};
    expect_error(t, "", sets, 1, "--set train.epochs_max=3", "unknown key 'train.epochs_max'", NULL);
}

static void test_malformed_yaml(struct test_ctx *t)
{
    expect_error(t, "train:\n  epochs: [1, 2\n", NULL, 0, "@FILE", "malformed YAML", NULL);
    expect_error(t, "train:\n\tepochs: 3\n", NULL, 0, ":2:", "malformed YAML", NULL);
    expect_error(t, "run: {dir: a\n", NULL, 0, "malformed YAML", NULL);
    expect_error(t, "train:\n  epochs: 3\n---\ntrain:\n  epochs: 4\n", NULL, 0, ":4:", "second YAML document", NULL);
    expect_error(t, "train:\n  epochs: 3\n  epochs: 4\n", NULL, 0, ":3:", "appears twice", "first on line 2", NULL);
    expect_error(t, "data:\n  sizes: []\n", NULL, 0, ":2:", "the list is empty", NULL);
    expect_error(t, "data:\n  sizes: [16, 32, 16]\n", NULL, 0, "data.sizes", "16 appears twice", NULL);
    expect_error(t, "? [a, b]\n: 1\n", NULL, 0, "keys must be plain names", NULL);
}

static void test_bad_set_options(struct test_ctx *t)
{
    const char *s1[] = {"data.sizes=[16,x]"};
    expect_error(t, "", s1, 1, "--set data.sizes=[16,x]", "data.sizes", "\"x\"", NULL);
    const char *s2[] = {"train.epochs=[1,"};
    expect_error(t, "", s2, 1, "--set train.epochs=[1,", "malformed YAML", NULL);
    const char *s3[] = {"=3"};
    expect_error(t, "", s3, 1, "expected key.path=value", NULL);
    const char *s4[] = {"train=3"};
    expect_error(t, "", s4, 1, "train: is a section", NULL);
    const char *s5[] = {"model.checkpoint="};
    expect_error(t, "", s5, 1, "model.checkpoint", "has no value", NULL);
}

static void test_missing_file(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, config_load(cfg, "/nonexistent/dir/my.yaml", NULL, 0, &e), -1);
    CHECK_CONTAINS(t, e.msg, "/nonexistent/dir/my.yaml");
    CHECK_CONTAINS(t, e.msg, "No such file");
    free(cfg);
}

static void test_empty_file_is_all_defaults(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, load_text(t, cfg, "# only a comment\n", NULL, 0, &e, NULL), 0);
    CHECK_INT(t, cfg->train.batch_size, 16);
    free(cfg);
}

static void test_routing_needs_a_bottleneck(struct test_ctx *t)
{
    expect_error(t, "peft:\n  method: bitfit\n  routing: mul\n", NULL, 0, "peft.routing", "bottleneck", ":3", NULL);
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    /* In a sweep the impossible pairs are left out, and the config is fine. */
    CHECK_INT(t, load_text(t, cfg, "peft:\n  method: [bitfit, lora]\n  routing: [none, mul]\n", NULL, 0, &e, NULL), 0);
    free(cfg);
}

static void test_projected_features_exclude_full(struct test_ctx *t)
{
    expect_error(t, "features:\n  project: true\npeft:\n  method: [lora, full]\n", NULL, 0, ":2",
                 "full fine-tuning trains the visual embedding", NULL);
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, load_text(t, cfg, "features:\n  project: true\npeft:\n  method: [lora, bitfit]\n", NULL, 0, &e, NULL), 0);
    free(cfg);
}

static void test_emit_round_trip(struct test_ctx *t)
{
    struct config *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
    struct err e;
    const char *sets[] = {"model.checkpoint=\"we\\\"ird \\\\ path\\n\"", "log.interval=0.1"};
    CHECKF(t, load_text(t, a, "data:\n  sizes: [16, 64]\npeft:\n  method: [mixphm, compacter++]\n", sets, 2, &e, NULL) == 0,
           "%s", e.msg);
    char *text = config_emit(a, "# header\n");
    CHECK_CONTAINS(t, text, "# header\nrun:\n  dir: \"runs/default\"\n");
    CHECK_CONTAINS(t, text, "  sizes: [16, 64]\n");
    CHECK_CONTAINS(t, text, "  method: [mixphm, compacter++]\n");
    CHECK_CONTAINS(t, text, "  interval: 0.1\n");
    CHECK_CONTAINS(t, text, "  checkpoint: \"we\\\"ird \\\\ path\\n\"\n");
    char path[700];
    test_write_file(t, "resolved.yaml", text, path, sizeof path);
    CHECKF(t, config_load(b, path, NULL, 0, &e) == 0, "%s", e.msg);
    char *again = config_emit(b, "# header\n");
    CHECK_STR(t, again, text);
    CHECK_STR(t, b->model.checkpoint, "we\"ird \\ path\n");
    for (int s = 0; s < STAGE_COUNT; s++)
        CHECK(t, config_stage_hash(a, (enum stage_id)s) == config_stage_hash(b, (enum stage_id)s));
    free(text);
    free(again);
    free(a);
    free(b);
}

static void test_unicode_line_breaks_round_trip(struct test_ctx *t)
{
    /* YAML folds U+0085, U+2028 and U+2029 inside double quotes: they must be written escaped
     * (found by the fuzzer).  A C1 control, a BOM and characters outside the BMP likewise. */
    struct config *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
    struct err e;
    const char *sets[] = {"run.dir=\"a\\Nb\\Lc\\Pd\\x80e\\uFEFFf\\U0001F600g caf\\u00e9\""};
    CHECKF(t, config_load(a, NULL, sets, 1, &e) == 0, "%s", e.msg);
    char *text = config_emit(a, NULL);
    CHECK_CONTAINS(t, text, "dir: \"a\\x85b\\u2028c\\u2029d\\x80e\\ufefff\xf0\x9f\x98\x80g caf\xc3\xa9\"\n");
    char path[700];
    test_write_file(t, "resolved.yaml", text, path, sizeof path);
    CHECKF(t, config_load(b, path, NULL, 0, &e) == 0, "%s", e.msg);
    CHECK_STR(t, b->run.dir, a->run.dir);
    free(text);
    free(a);
    free(b);
}

/* Which stage hashes change when one key changes. */
static unsigned changed_stages(struct test_ctx *t, const char *set)
{
    struct config *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
    struct err e;
    const char *sets[] = {set};
    CHECK_INT(t, config_load(a, NULL, NULL, 0, &e), 0);
    CHECKF(t, config_load(b, NULL, sets, 1, &e) == 0, "%s", e.msg);
    unsigned mask = 0;
    for (int s = 0; s < STAGE_COUNT; s++)
        if (config_stage_hash(a, (enum stage_id)s) != config_stage_hash(b, (enum stage_id)s))
            mask |= 1u << s;
    free(a);
    free(b);
    return mask;
}

static void test_stage_hashes_follow_readers(struct test_ctx *t)
{
    CHECK_INT(t, changed_stages(t, "eval.vqa_metric=official"), (1u << STAGE_EVAL) | (1u << STAGE_AGGREGATE));
    CHECK_INT(t, changed_stages(t, "train.epochs=5"), 1u << STAGE_TRAIN);
    CHECK_INT(t, changed_stages(t, "features.project=true"), 1u << STAGE_FEATURES);
    CHECK_INT(t, changed_stages(t, "log.interval=1"), 0);
    CHECK_INT(t, changed_stages(t, "run.dir=elsewhere"), 0);
    CHECK_INT(t, changed_stages(t, "train.ranks_per_run=4"), 0);
    CHECK(t, changed_stages(t, "data.sizes=[16]") & (1u << STAGE_PREPARE));
    CHECK(t, !(changed_stages(t, "data.sizes=[16]") & (1u << STAGE_FEATURES)));
    CHECK_INT(t, changed_stages(t, "data.dataset=gqa"), (1u << STAGE_COUNT) - 1);
    /* The model changes features.h5 only when the features stage projects them. */
    unsigned model_readers = (1u << STAGE_TRAIN) | (1u << STAGE_EVAL) | (1u << STAGE_ANALYZE);
    CHECK_INT(t, changed_stages(t, "model.size=tiny"), model_readers);
    CHECK_INT(t, changed_stages(t, "model.checkpoint=\"b.h5\""), model_readers);
    struct config *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
    struct err e;
    const char *pa[] = {"features.project=true"}, *pb[] = {"features.project=true", "model.size=tiny"};
    CHECK_INT(t, config_load(a, NULL, pa, 1, &e), 0);
    CHECK_INT(t, config_load(b, NULL, pb, 2, &e), 0);
    CHECK(t, config_stage_hash(a, STAGE_FEATURES) != config_stage_hash(b, STAGE_FEATURES));
    free(a);
    free(b);
}

static void test_model_and_optimizer_keys(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECK_INT(t, config_load(cfg, NULL, NULL, 0, &e), 0);
    CHECK_NEAR(t, cfg->train.lr, 5e-3, 0, 0);
    CHECK_NEAR(t, cfg->train.weight_decay, 0.01, 0, 0);
    CHECK_NEAR(t, cfg->train.adam_eps, 1e-6, 0, 0);
    CHECK_NEAR(t, cfg->train.warmup_ratio, 0.05, 0, 0);
    CHECK_NEAR(t, cfg->train.clip_norm, 5, 0, 0);
    CHECK_NEAR(t, cfg->model.dropout, 0.1, 0, 0);
    CHECK_INT(t, cfg->model.visual_bias, 0);
    struct vlt5_dims d;
    CHECKF(t, config_vlt5_dims(cfg, 32200, 2048, &d, &e) == 0, "%s", e.msg);
    CHECK(t, d.d_model == 768 && d.n_heads == 12 && d.d_kv == 64 && d.d_ff == 3072 && d.n_enc_layers == 12 &&
                 d.n_dec_layers == 12 && d.vocab == 32200 && d.feat_dim == 2048 && d.n_regions == 36);
    struct vlt5_options o;
    config_vlt5_options(cfg, &o);
    CHECK(t, o.train_backbone == 0 && o.linear_bias == 0 && o.visual_bias == 0 && fabsf(o.dropout - 0.1f) < 1e-7f);
    /* a preset with an override */
    const char *sets[] = {"model.size=tiny", "model.n_layers=3", "peft.method=full", "model.visual_bias=true"};
    CHECK_INT(t, config_load(cfg, NULL, sets, 4, &e), 0);
    CHECKF(t, config_vlt5_dims(cfg, 300, 16, &d, &e) == 0, "%s", e.msg);
    CHECK(t, d.d_model == 64 && d.n_heads == 4 && d.d_kv == 16 && d.d_ff == 128 && d.n_enc_layers == 3 &&
                 d.n_dec_layers == 3 && d.vocab == 300);
    config_vlt5_options(cfg, &o);
    CHECK(t, o.train_backbone == 1 && o.visual_bias == 1);
    CHECK_INT(t, config_vlt5_dims(cfg, 20, 16, &d, &e), -1); /* too small a vocabulary for 36 regions */
    CHECK_CONTAINS(t, e.msg, "model.size tiny: model vocabulary of 20 tokens");
    free(cfg);
    /* custom needs every dimension */
    expect_error(t, "model:\n  size: custom\n  d_model: 32\n", NULL, 0, "model.size: custom needs every dimension",
                 "model.n_heads is 0", NULL);
    expect_error(t, "train:\n  adam_eps: 0\n", NULL, 0, "train.adam_eps", "out of range", NULL);
    expect_error(t, "model:\n  dropout: 1\n", NULL, 0, "model.dropout", "out of range", NULL);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"defaults hold every key", test_defaults},
        {"schema is consistent", test_schema_is_consistent},
        {"file overrides defaults, --set overrides the file", test_layers_override_in_order},
        {"a one-item list is a scalar", test_single_item_list_is_a_scalar},
        {"wrong types are refused with key, file and line", test_bad_types},
        {"out-of-range values are refused", test_out_of_range},
        {"unknown keys are refused, with a suggestion", test_unknown_keys},
        {"malformed YAML is refused with its line", test_malformed_yaml},
        {"bad --set options are refused", test_bad_set_options},
        {"a missing config file is named", test_missing_file},
        {"an empty file gives the defaults", test_empty_file_is_all_defaults},
        {"routing functions need a bottleneck method", test_routing_needs_a_bottleneck},
        {"projected features exclude full fine-tuning", test_projected_features_exclude_full},
        {"the resolved config loads back to the same config", test_emit_round_trip},
        {"unicode line breaks in strings survive the round trip", test_unicode_line_breaks_round_trip},
        {"stage hashes change only for stages that read the key", test_stage_hashes_follow_readers},
        {"model dimensions and optimizer keys", test_model_and_optimizer_keys},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
