/* The configuration: a typed struct that stages read, filled from three layers in order:
 *   1. configs/defaults.yaml (compiled into the binary; it holds every key, its default and a comment),
 *   2. the user's YAML file,
 *   3. --set key.path=value options (the value is read as YAML).
 * Every key is described once in the schema (config_schema.c): its type, range, whether it may be a
 * sweep list, and which stages' outputs depend on it (for the stage stamps).  Unknown keys, wrong types
 * and out-of-range values are refused with the key path, the file and the line.
 *
 * Sweep keys (peft.method, peft.routing, data.sizes, data.seeds, ...) take one value or a list; a list
 * is stored as an axis and the scalar field holds its first value.  sweep.h expands the axes into one
 * scalar config per training run. */
#ifndef MIXPHM_RUN_CONFIG_H
#define MIXPHM_RUN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/peft/methods.h"

#define CFG_STR_MAX 1024
#define CFG_MAX_AXES 8
#define CFG_MAX_SWEEP 64
#define CFG_SOURCE_MAX 512
#define CFG_MAX_KEYS 256

/* Stages in pipeline order.  Bit (1 << STAGE_x) is used in the schema's `affects` masks. */
enum stage_id {
    STAGE_PREPARE,
    STAGE_FEATURES,
    STAGE_TRAIN,
    STAGE_EVAL,
    STAGE_AGGREGATE,
    STAGE_ANALYZE,
    STAGE_COUNT
};
const char *stage_name(enum stage_id s);
/* Returns -1 for an unknown name. */
int stage_from_name(const char *name);

enum dataset { DATASET_SYNTHETIC, DATASET_VQAV2, DATASET_GQA, DATASET_OKVQA };
enum model_size { MODEL_TINY, MODEL_T5_SMALL, MODEL_T5_BASE, MODEL_CUSTOM };
enum model_precision { PRECISION_FP32, PRECISION_BF16 }; /* the order of enum vlt5_precision */
enum vqa_metric { METRIC_VLT5, METRIC_OFFICIAL2016, METRIC_OFFICIAL };
enum job_launcher { LAUNCHER_SRUN, LAUNCHER_MPIRUN };
enum feature_dtype { FEATURE_FLOAT32, FEATURE_FLOAT16 };

union cfg_value {
    long i;   /* CFG_INT, CFG_BOOL, CFG_ENUM */
    double f; /* CFG_FLOAT */
};

/* One sweep axis: a key given as a list of two or more values. */
struct cfg_axis {
    int key; /* index into the schema */
    int n;
    union cfg_value v[CFG_MAX_SWEEP];
};

struct config {
    struct {
        char dir[CFG_STR_MAX];
        long seed;
    } run;
    struct {
        int dataset;
        long sizes; /* sweep */
        long seeds; /* sweep */
        char root[CFG_STR_MAX];      /* relative dataset file names are resolved against it */
        char tokenizer[CFG_STR_MAX]; /* SentencePiece model of the real datasets */
        int prompt;                  /* enum prompt_kind (data/prompt.h) */
        struct {
            char pool[CFG_STR_MAX], test[CFG_STR_MAX], annotations[CFG_STR_MAX], questions[CFG_STR_MAX];
            char pool_features[CFG_STR_MAX], test_features[CFG_STR_MAX];
        } vqav2, okvqa;
        struct {
            char pool[CFG_STR_MAX], test[CFG_STR_MAX];
            char pool_features[CFG_STR_MAX], test_features[CFG_STR_MAX];
        } gqa;
        struct {
            long train_images, test_images, pool_questions, test_questions, pretrain_pairs, pretrain_images, feature_dim;
            long language_pairs;
            double feature_noise, annotator_error, variant_rate;
            int image_text_match, language, language_thing_order;
        } synthetic;
    } data;
    struct {
        int size;
        char checkpoint[CFG_STR_MAX];
        /* dimensions: 0 keeps the size preset's value; model.size custom needs all of them */
        long d_model, n_heads, d_kv, d_ff, n_layers; /* n_layers: encoder and decoder each */
        double dropout;
        int visual_bias;
        int precision; /* enum model_precision */
    } model;
    struct {
        int method;  /* sweep */
        int routing; /* sweep */
        double consistency;
        char routed_methods[CFG_STR_MAX]; /* methods a routing function applies to, comma-separated ("": all) */
        long width_reference; /* the d_model the widths below are written for; 0: take them as written */
        struct {
            long r;
            double alpha, dropout;
        } lora;
        struct {
            long bottleneck;
        } adapter;
        struct {
            long bottleneck, phm_dim, rank;
            double phm_init_std;
        } compacter;
        struct {
            long bottleneck, experts;
            int share_up, share_down;
        } adamix;
        struct {
            long bottleneck, phm_dim, rank, experts;
            int share_down, share_up;
            double dropout, alpha, phm_init_std, red_weight, mi_weight, red_lambda;
            int regularizer; /* 0: red_weight and mi_weight are not used (the ablation without L_Ra) */
        } mixphm;
    } peft;
    struct {
        long ranks_per_run;
        long batch_size;
        long epochs;
        double lr, weight_decay, adam_eps, warmup_ratio, clip_norm;
        long val_interval;
        long patience;
        double min_delta;
        long checkpoint_steps;
        double bucket_mb;
        long chunk_examples; /* 0: off; > 0: fixed-order sums over chunks of this many examples */
        int chunk_keep_activations; /* a rank's chunks keep their activations (no second forward) */
        long memory_per_node_mb; /* 0: what the node reports; the budget of start-up memory checks */
    } train;
    struct {
        long epochs;
        long epoch_pairs; /* pairs per epoch (0: all) */
        long batch_size;
        double lr;
        double warmup_ratio;
    } pretrain;
    struct {
        int project;
        int dtype; /* enum feature_dtype */
        long chunk_images;
        long deflate;
        int fletcher32;
        int nonfinite; /* 0 refuse detector features that are NaN or infinite, 1 replace them by 0 */
    } features;
    struct {
        int vqa_metric;
        int weights; /* 0 best, 1 last */
        long batch_size;
        long max_new_tokens;
        int zero_shot; /* also evaluate the backbone without training (RUN/runs/zero-shot) */
        int baselines; /* also score the constant answer and the answer-type priors (RUN/baselines.json) */
        int select_lr; /* with train.lr a list: the reports keep each (method, k, seed)'s best-dev lr */
    } eval;
    struct {
        int enabled;              /* `mixphm run` runs the stage (`mixphm analyze` always does) */
        long examples;            /* N: the first N test examples (capped at the test split) */
        int weights;              /* 0 best, 1 last */
        long block;               /* block size of the block-cyclic layout */
        int save_representations; /* also write analysis/representations.h5 */
    } analyze;
    struct {
        double interval;
    } log;
    struct {
        long stop_after_steps;  /* 0: off; else a run stops (checkpoint, exit 75) after this many steps */
        long nan_gradient_step; /* 0: off; else the optimizer step whose gradient is made NaN */
    } debug;
    struct {
        int launcher;
        long nodes;
        long tasks_per_node;
        char partition[CFG_STR_MAX];
        char account[CFG_STR_MAX];
        char time[CFG_STR_MAX];
        char train_time[CFG_STR_MAX];
        char eval_time[CFG_STR_MAX];
        long signal_seconds;
        long train_array;
        char setup[CFG_STR_MAX];
        char directives[CFG_STR_MAX];
        char mpirun_args[CFG_STR_MAX];
        char binary[CFG_STR_MAX];
    } jobs;

    /* Not settable keys: bookkeeping of the loader. */
    int n_axes;
    struct cfg_axis axes[CFG_MAX_AXES];
    /* Where each key got its value, for messages: source index and line (0 when none). */
    unsigned char origin_source[CFG_MAX_KEYS];
    int origin_line[CFG_MAX_KEYS];
    unsigned char is_set[CFG_MAX_KEYS];
    int n_sources;
    char sources[4][CFG_SOURCE_MAX];
};

enum cfg_type { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STRING, CFG_ENUM };

struct cfg_key {
    const char *path;
    enum cfg_type type;
    size_t offset;
    double min, max;          /* inclusive range for CFG_INT and CFG_FLOAT */
    const char *const *names; /* CFG_ENUM: the accepted values, NULL-terminated; index = stored value */
    int sweep;                /* 1: may be a list, one training run per value */
    unsigned affects;         /* bit (1 << stage): that stage's outputs depend on this key */
    /* For the stages in `cond_stages`, the key matters only while the bool key `only_if` is true (the
     * model's settings change features.h5 only when the features stage projects them). */
    unsigned cond_stages;
    const char *only_if;
};

/* The schema, in the order of configs/defaults.yaml (keys sharing a section are contiguous). */
const struct cfg_key *config_schema(int *count);
/* Index of a key path in the schema, or -1. */
int config_key_index(const char *path);
/* Name of enum value `v` of key `path` ("?" when out of range). */
const char *config_enum_name(const char *path, long v);
/* Whether `method` has a low-rank bottleneck that a routing function can act on. */
/* Whether `method` reads key `path`: the keys of a method's own section (peft.lora.*, peft.adapter.*
 * for houlsby and pfeiffer, peft.compacter.*, peft.adamix.*, peft.mixphm.*) are read by it alone,
 * every other key by all.  A sweep over such a key varies only that method's runs. */
int config_method_reads_key(int method, const char *path);

/* Loads defaults, then `path` (may be NULL), then each "key.path=value" in `sets`; then validates. */
int config_load(struct config *cfg, const char *path, const char *const *sets, int n_sets, struct err *e);
/* The same with explicit defaults text (tests and the fuzz harness use it). */
int config_load_with_defaults(struct config *cfg, const char *defaults, size_t defaults_len,
                              const char *path, const char *const *sets, int n_sets, struct err *e);
/* One layer from YAML text; `source` names it in messages (a file name). */
int config_apply_yaml(struct config *cfg, const char *text, size_t len, const char *source,
                      struct err *e);
/* One --set option, "key.path=value" with a YAML value. */
int config_apply_set(struct config *cfg, const char *assignment, struct err *e);
/* Rules that involve several keys; also checks that every schema key has a value. */
int config_validate(const struct config *cfg, struct err *e);
/* "file:line" (or "--set ...", or "defaults") where `path` got its value. */
void config_origin(const struct config *cfg, const char *path, char *out, size_t n);

/* The resolved configuration as YAML, in schema order, with sweep lists as flow sequences.  Loading
 * the result gives back the same config.  Caller frees. */
char *config_emit(const struct config *cfg, const char *header_comment);
/* Whether key `i` matters to `stage` in this config (its `affects` mask and its condition). */
int config_key_affects(const struct config *cfg, int i, enum stage_id stage);
/* Hash of the keys that affect `stage` (config_key_affects), with their resolved values. */
uint64_t config_stage_hash(const struct config *cfg, enum stage_id stage);
/* Hash of the keys whose path starts with one of `prefixes` (NULL-terminated), for things that depend on
 * a few keys of several stages (the synthetic backbone's pretraining). */
uint64_t config_prefix_hash(const struct config *cfg, const char *const *prefixes);
/* Formats the value of key `k` as canonical YAML (used by emit, hashing and run names). */
void config_format_value(const struct cfg_key *k, union cfg_value v, const char *str, char *out,
                         size_t n);

/* The resolved value of key `i` as YAML: a scalar, or a flow list for a sweep axis. */
void config_format_key(const struct config *cfg, int i, char *out, size_t n);

/* The values of a key: its axis when it is a sweep list, else its single value.  Returns the count. */
int config_values(const struct config *cfg, const char *path, union cfg_value *out, int max);

/* Raw access by schema index (the loader, emitter and sweep expansion use these). */
union cfg_value config_get(const struct config *cfg, int key);
void config_put(struct config *cfg, int key, union cfg_value v);
const char *config_get_str(const struct config *cfg, int key);

#endif
