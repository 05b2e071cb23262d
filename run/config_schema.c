/* The schema: every configuration key, its type, range, and the stages that read it.
 *
 * `affects` lists the stages that read a key directly.  A stage reruns when one of its keys changes;
 * stages below it rerun because they consumed its outputs (see stamp.h), so a key read only by `eval`
 * (eval.vqa_metric) never retrains anything. */
#include <stddef.h>
#include <string.h>

#include "run/config.h"

#define OFF(member) offsetof(struct config, member)
#define ST(s) (1u << STAGE_##s)
#define ALL_STAGES ((1u << STAGE_COUNT) - 1u)
#define UNBOUNDED 1e300
/* The stages that build the backbone (the visual embedding runs in features). */
#define MODEL_STAGES (ST(FEATURES) | ST(TRAIN) | ST(EVAL) | ST(ANALYZE))
/* The features stage reads the model only to project the features (features.project). */
#define IF_PROJECTED , ST(FEATURES), "features.project"
/* The stages whose results depend on the PEFT method's settings. */
#define PEFT_STAGES (ST(TRAIN) | ST(EVAL) | ST(AGGREGATE) | ST(ANALYZE))

static const char *const dataset_names[] = {"synthetic", "vqav2", "gqa", "okvqa", NULL};
static const char *const model_size_names[] = {"tiny", "t5-small", "t5-base", "custom", NULL};
static const char *const metric_names[] = {"vlt5", "official2016", "official", NULL};
static const char *const launcher_names[] = {"srun", "mpirun", NULL};
static const char *const weights_names[] = {"best", "last", NULL};
static const char *const dtype_names[] = {"float32", "float16", NULL};
static const char *const nonfinite_names[] = {"refuse", "zero", NULL};
static const char *const precision_names[] = {"fp32", "bf16", NULL};
static const char *const prompt_names[] = {"vlt5", "fewvlm", NULL}; /* data/prompt.h's order */

/* Rows leave the trailing condition fields out when a key has no condition (they are then zero). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
/* clang-format off */
static const struct cfg_key schema[] = {
    {"run.dir",             CFG_STRING, OFF(run.dir),             0, 0, NULL, 0, 0},
    {"run.seed",            CFG_INT,    OFF(run.seed),            0, 2147483647, NULL, 0, ST(PREPARE) | ST(TRAIN)},

    {"data.dataset",        CFG_ENUM,   OFF(data.dataset),        0, 0, dataset_names, 0, ALL_STAGES},
    {"data.sizes",          CFG_INT,    OFF(data.sizes),          1, 100000000, NULL, 1,
        ST(PREPARE) | ST(TRAIN) | ST(EVAL) | ST(AGGREGATE) | ST(ANALYZE)},
    {"data.seeds",          CFG_INT,    OFF(data.seeds),          0, 4294967295.0, NULL, 1,
        ST(PREPARE) | ST(TRAIN) | ST(EVAL) | ST(AGGREGATE) | ST(ANALYZE)},
    /* The dataset files are read by prepare only: features depends on prepare's image list. */
    {"data.root",           CFG_STRING, OFF(data.root),           0, 0, NULL, 0, ST(PREPARE)},
    {"data.tokenizer",      CFG_STRING, OFF(data.tokenizer),      0, 0, NULL, 0, ST(PREPARE)},
    {"data.prompt",         CFG_ENUM,   OFF(data.prompt),         0, 0, prompt_names, 0, ST(PREPARE)},
    {"data.vqav2.pool",     CFG_STRING, OFF(data.vqav2.pool),     0, 0, NULL, 0, ST(PREPARE)},
    {"data.vqav2.test",     CFG_STRING, OFF(data.vqav2.test),     0, 0, NULL, 0, ST(PREPARE)},
    {"data.vqav2.annotations", CFG_STRING, OFF(data.vqav2.annotations), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.vqav2.questions", CFG_STRING, OFF(data.vqav2.questions), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.vqav2.pool_features", CFG_STRING, OFF(data.vqav2.pool_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.vqav2.test_features", CFG_STRING, OFF(data.vqav2.test_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.gqa.pool",       CFG_STRING, OFF(data.gqa.pool),       0, 0, NULL, 0, ST(PREPARE)},
    {"data.gqa.test",       CFG_STRING, OFF(data.gqa.test),       0, 0, NULL, 0, ST(PREPARE)},
    {"data.gqa.pool_features", CFG_STRING, OFF(data.gqa.pool_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.gqa.test_features", CFG_STRING, OFF(data.gqa.test_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.pool",     CFG_STRING, OFF(data.okvqa.pool),     0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.test",     CFG_STRING, OFF(data.okvqa.test),     0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.annotations", CFG_STRING, OFF(data.okvqa.annotations), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.questions", CFG_STRING, OFF(data.okvqa.questions), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.pool_features", CFG_STRING, OFF(data.okvqa.pool_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.okvqa.test_features", CFG_STRING, OFF(data.okvqa.test_features), 0, 0, NULL, 0, ST(PREPARE)},
    {"data.synthetic.train_images",   CFG_INT,   OFF(data.synthetic.train_images),   1, 10000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.test_images",    CFG_INT,   OFF(data.synthetic.test_images),    1, 10000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.pool_questions", CFG_INT,   OFF(data.synthetic.pool_questions), 2, 100000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.test_questions", CFG_INT,   OFF(data.synthetic.test_questions), 1, 100000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.pretrain_pairs", CFG_INT,   OFF(data.synthetic.pretrain_pairs), 0, 100000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.pretrain_images", CFG_INT,  OFF(data.synthetic.pretrain_images), 0, 10000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.image_text_match", CFG_BOOL, OFF(data.synthetic.image_text_match), 0, 1, NULL, 0, ST(PREPARE)},
    {"data.synthetic.language",       CFG_BOOL,  OFF(data.synthetic.language),       0, 1, NULL, 0, ST(PREPARE)},
    {"data.synthetic.language_pairs", CFG_INT,   OFF(data.synthetic.language_pairs), 0, 100000000, NULL, 0, ST(PREPARE)},
    {"data.synthetic.language_thing_order", CFG_BOOL, OFF(data.synthetic.language_thing_order), 0, 1, NULL, 0, ST(PREPARE)},
    {"data.synthetic.feature_dim",    CFG_INT,   OFF(data.synthetic.feature_dim),    1, 65536, NULL, 0, ST(PREPARE)},
    {"data.synthetic.feature_noise",  CFG_FLOAT, OFF(data.synthetic.feature_noise),  0, 100, NULL, 0, ST(PREPARE)},
    {"data.synthetic.annotator_error", CFG_FLOAT, OFF(data.synthetic.annotator_error), 0, 1, NULL, 0, ST(PREPARE)},
    {"data.synthetic.variant_rate",   CFG_FLOAT, OFF(data.synthetic.variant_rate),   0, 1, NULL, 0, ST(PREPARE)},

    {"model.size",          CFG_ENUM,   OFF(model.size),          0, 0, model_size_names, 0,
        MODEL_STAGES IF_PROJECTED},
    {"model.checkpoint",    CFG_STRING, OFF(model.checkpoint),    0, 0, NULL, 0,
        MODEL_STAGES IF_PROJECTED},
    {"model.d_model",       CFG_INT,    OFF(model.d_model),       0, 65536, NULL, 0, MODEL_STAGES IF_PROJECTED},
    {"model.n_heads",       CFG_INT,    OFF(model.n_heads),       0, 1024, NULL, 0, MODEL_STAGES IF_PROJECTED},
    {"model.d_kv",          CFG_INT,    OFF(model.d_kv),          0, 65536, NULL, 0, MODEL_STAGES IF_PROJECTED},
    {"model.d_ff",          CFG_INT,    OFF(model.d_ff),          0, 1048576, NULL, 0, MODEL_STAGES IF_PROJECTED},
    {"model.n_layers",      CFG_INT,    OFF(model.n_layers),      0, 64, NULL, 0, MODEL_STAGES IF_PROJECTED},
    {"model.dropout",       CFG_FLOAT,  OFF(model.dropout),       0, 0.99, NULL, 0, ST(TRAIN)},
    {"model.visual_bias",   CFG_BOOL,   OFF(model.visual_bias),   0, 1, NULL, 0, MODEL_STAGES IF_PROJECTED},
    /* The features stage projects in fp32 whatever it says; the backbone's pretraining is fp32 too. */
    {"model.precision",     CFG_ENUM,   OFF(model.precision),     0, 0, precision_names, 0,
        ST(TRAIN) | ST(EVAL) | ST(ANALYZE)},

    {"peft.method",         CFG_ENUM,   OFF(peft.method),         0, 0, peft_method_names, 1,
        ST(TRAIN) | ST(EVAL) | ST(AGGREGATE) | ST(ANALYZE)},
    {"peft.routing",        CFG_ENUM,   OFF(peft.routing),        0, 0, peft_routing_names, 1,
        ST(TRAIN) | ST(EVAL) | ST(AGGREGATE) | ST(ANALYZE)},
    {"peft.consistency",    CFG_FLOAT,  OFF(peft.consistency),    0, 1e6, NULL, 0, PEFT_STAGES},
    /* Which runs a sweep makes, not what a run computes: in no settings hash. */
    {"peft.routed_methods", CFG_STRING, OFF(peft.routed_methods), 0, 0, NULL, 0, 0},
    {"peft.width_reference", CFG_INT,   OFF(peft.width_reference), 0, 65536, NULL, 0, PEFT_STAGES},
    {"peft.lora.r",         CFG_INT,    OFF(peft.lora.r),         1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.lora.alpha",     CFG_FLOAT,  OFF(peft.lora.alpha),     0, 1e6, NULL, 0, PEFT_STAGES},
    {"peft.lora.dropout",   CFG_FLOAT,  OFF(peft.lora.dropout),   0, 0.99, NULL, 0, PEFT_STAGES},
    {"peft.adapter.bottleneck", CFG_INT, OFF(peft.adapter.bottleneck), 1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.compacter.bottleneck", CFG_INT, OFF(peft.compacter.bottleneck), 1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.compacter.phm_dim", CFG_INT, OFF(peft.compacter.phm_dim), 1, 64, NULL, 0, PEFT_STAGES},
    {"peft.compacter.rank", CFG_INT,    OFF(peft.compacter.rank), 1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.compacter.phm_init_std", CFG_FLOAT, OFF(peft.compacter.phm_init_std), 0, 100, NULL, 0, PEFT_STAGES},
    {"peft.adamix.bottleneck", CFG_INT, OFF(peft.adamix.bottleneck), 1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.adamix.experts", CFG_INT,    OFF(peft.adamix.experts), 1, 16, NULL, 0, PEFT_STAGES},
    {"peft.adamix.share_up", CFG_BOOL,  OFF(peft.adamix.share_up), 0, 1, NULL, 0, PEFT_STAGES},
    {"peft.adamix.share_down", CFG_BOOL, OFF(peft.adamix.share_down), 0, 1, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.bottleneck", CFG_INT, OFF(peft.mixphm.bottleneck), 1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.phm_dim", CFG_INT,    OFF(peft.mixphm.phm_dim), 1, 64, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.rank",    CFG_INT,    OFF(peft.mixphm.rank),    1, 65536, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.experts", CFG_INT,    OFF(peft.mixphm.experts), 1, 16, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.share_down", CFG_BOOL, OFF(peft.mixphm.share_down), 0, 1, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.share_up", CFG_BOOL,  OFF(peft.mixphm.share_up), 0, 1, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.dropout", CFG_FLOAT,  OFF(peft.mixphm.dropout), 0, 0.99, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.alpha",   CFG_FLOAT,  OFF(peft.mixphm.alpha),   -1e6, 1e6, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.phm_init_std", CFG_FLOAT, OFF(peft.mixphm.phm_init_std), 0, 100, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.regularizer", CFG_BOOL, OFF(peft.mixphm.regularizer), 0, 1, NULL, 1, PEFT_STAGES},
    {"peft.mixphm.red_weight", CFG_FLOAT, OFF(peft.mixphm.red_weight), 0, 1e6, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.mi_weight", CFG_FLOAT, OFF(peft.mixphm.mi_weight), 0, 1e6, NULL, 0, PEFT_STAGES},
    {"peft.mixphm.red_lambda", CFG_FLOAT, OFF(peft.mixphm.red_lambda), 0, 1e6, NULL, 0, PEFT_STAGES},

    {"train.ranks_per_run", CFG_INT,    OFF(train.ranks_per_run), 1, 1000000, NULL, 0, 0},
    {"train.batch_size",    CFG_INT,    OFF(train.batch_size),    1, 65536, NULL, 0, ST(TRAIN)},
    {"train.epochs",        CFG_INT,    OFF(train.epochs),        1, 1000000, NULL, 0, ST(TRAIN)},
    {"train.lr",            CFG_FLOAT,  OFF(train.lr),            0, 10, NULL, 1, ST(TRAIN)},
    {"train.weight_decay",  CFG_FLOAT,  OFF(train.weight_decay),  0, 1, NULL, 0, ST(TRAIN)},
    {"train.adam_eps",      CFG_FLOAT,  OFF(train.adam_eps),      1e-12, 1, NULL, 0, ST(TRAIN)},
    {"train.warmup_ratio",  CFG_FLOAT,  OFF(train.warmup_ratio),  0, 1, NULL, 0, ST(TRAIN)},
    {"train.clip_norm",     CFG_FLOAT,  OFF(train.clip_norm),     0, 1e6, NULL, 0, ST(TRAIN)},
    {"train.val_interval",  CFG_INT,    OFF(train.val_interval),  0, 1000000, NULL, 0, ST(TRAIN)},
    {"train.patience",      CFG_INT,    OFF(train.patience),      -1, 1000000, NULL, 0, ST(TRAIN)},
    {"train.min_delta",     CFG_FLOAT,  OFF(train.min_delta),     0, 100, NULL, 0, ST(TRAIN)},
    /* When to checkpoint changes nothing a run computes (resume is bit-identical). */
    {"train.checkpoint_steps", CFG_INT, OFF(train.checkpoint_steps), 0, 1000000000, NULL, 0, 0},
    {"train.bucket_mb",     CFG_FLOAT,  OFF(train.bucket_mb),     0.001, 65536, NULL, 0, 0},
    /* Changes the rounding of every step; hashed only when on, so that runs made before it existed
     * keep their settings' hash. */
    {"train.chunk_examples", CFG_INT,   OFF(train.chunk_examples), 0, 65536, NULL, 0, ST(TRAIN), ST(TRAIN),
        "train.chunk_examples"},
    /* The same bits either way: only memory and time. */
    {"train.chunk_keep_activations", CFG_BOOL, OFF(train.chunk_keep_activations), 0, 1, NULL, 0, 0},
    {"train.memory_per_node_mb", CFG_INT, OFF(train.memory_per_node_mb), 0, 1e12, NULL, 0, 0},

    {"pretrain.epochs",     CFG_INT,    OFF(pretrain.epochs),     1, 1000000, NULL, 0, ST(TRAIN)},
    {"pretrain.epoch_pairs", CFG_INT,   OFF(pretrain.epoch_pairs), 0, 100000000, NULL, 0, ST(TRAIN)},
    {"pretrain.batch_size", CFG_INT,    OFF(pretrain.batch_size), 1, 65536, NULL, 0, ST(TRAIN)},
    {"pretrain.lr",         CFG_FLOAT,  OFF(pretrain.lr),         0, 10, NULL, 0, ST(TRAIN)},
    {"pretrain.warmup_ratio", CFG_FLOAT, OFF(pretrain.warmup_ratio), 0, 1, NULL, 0, ST(TRAIN)},

    {"features.project",    CFG_BOOL,   OFF(features.project),    0, 1, NULL, 0, ST(FEATURES)},
    {"features.dtype",      CFG_ENUM,   OFF(features.dtype),      0, 0, dtype_names, 0, ST(FEATURES)},
    {"features.chunk_images", CFG_INT,  OFF(features.chunk_images), 0, 1000000, NULL, 0, ST(FEATURES)},
    {"features.deflate",    CFG_INT,    OFF(features.deflate),    0, 9, NULL, 0, ST(FEATURES)},
    {"features.fletcher32", CFG_BOOL,   OFF(features.fletcher32), 0, 1, NULL, 0, ST(FEATURES)},
    {"features.nonfinite",  CFG_ENUM,   OFF(features.nonfinite),  0, 0, nonfinite_names, 0, ST(FEATURES)},

    {"eval.vqa_metric",     CFG_ENUM,   OFF(eval.vqa_metric),     0, 0, metric_names, 0,
        ST(EVAL) | ST(AGGREGATE)},
    {"eval.weights",        CFG_ENUM,   OFF(eval.weights),        0, 0, weights_names, 0, ST(EVAL) | ST(AGGREGATE)},
    {"eval.batch_size",     CFG_INT,    OFF(eval.batch_size),     1, 65536, NULL, 0, 0},
    {"eval.max_new_tokens", CFG_INT,    OFF(eval.max_new_tokens), 1, 512, NULL, 0, ST(TRAIN) | ST(EVAL)},
    {"eval.zero_shot",      CFG_BOOL,   OFF(eval.zero_shot),      0, 1, NULL, 0, ST(EVAL) | ST(AGGREGATE)},
    {"eval.baselines",      CFG_BOOL,   OFF(eval.baselines),      0, 1, NULL, 0, ST(EVAL) | ST(AGGREGATE)},
    {"eval.select_lr",      CFG_BOOL,   OFF(eval.select_lr),      0, 1, NULL, 0, ST(AGGREGATE)},

    /* Whether `mixphm run` includes the stage changes nothing it computes. */
    /* The report links the analysis when it is part of the pipeline. */
    {"analyze.enabled",     CFG_BOOL,   OFF(analyze.enabled),     0, 1, NULL, 0, ST(AGGREGATE)},
    {"analyze.examples",    CFG_INT,    OFF(analyze.examples),    2, 100000000, NULL, 0, ST(ANALYZE)},
    {"analyze.weights",     CFG_ENUM,   OFF(analyze.weights),     0, 0, weights_names, 0, ST(ANALYZE)},
    {"analyze.block",       CFG_INT,    OFF(analyze.block),       1, 4096, NULL, 0, ST(ANALYZE)},
    {"analyze.save_representations", CFG_BOOL, OFF(analyze.save_representations), 0, 1, NULL, 0, ST(ANALYZE)},

    {"log.interval",        CFG_FLOAT,  OFF(log.interval),        0, 86400, NULL, 0, 0},
    /* Fault injection for the tests; a run it breaks writes no stamp, so it is in no settings hash. */
    {"debug.nan_gradient_step", CFG_INT, OFF(debug.nan_gradient_step), 0, 1000000000, NULL, 0, 0},
    {"debug.stop_after_steps", CFG_INT, OFF(debug.stop_after_steps), 0, 1000000000, NULL, 0, 0},

    /* Job scripts change how stages are scheduled, never what they compute. */
    {"jobs.launcher",       CFG_ENUM,   OFF(jobs.launcher),       0, 0, launcher_names, 0, 0},
    {"jobs.nodes",          CFG_INT,    OFF(jobs.nodes),          1, 100000, NULL, 0, 0},
    {"jobs.tasks_per_node", CFG_INT,    OFF(jobs.tasks_per_node), 1, 100000, NULL, 0, 0},
    {"jobs.partition",      CFG_STRING, OFF(jobs.partition),      0, 0, NULL, 0, 0},
    {"jobs.account",        CFG_STRING, OFF(jobs.account),        0, 0, NULL, 0, 0},
    {"jobs.time",           CFG_STRING, OFF(jobs.time),           0, 0, NULL, 0, 0},
    {"jobs.train_time",     CFG_STRING, OFF(jobs.train_time),     0, 0, NULL, 0, 0},
    {"jobs.eval_time",      CFG_STRING, OFF(jobs.eval_time),      0, 0, NULL, 0, 0},
    {"jobs.signal_seconds", CFG_INT,    OFF(jobs.signal_seconds), 10, 86400, NULL, 0, 0},
    {"jobs.train_array",    CFG_INT,    OFF(jobs.train_array),    0, 100000, NULL, 0, 0},
    {"jobs.setup",          CFG_STRING, OFF(jobs.setup),          0, 0, NULL, 0, 0},
    {"jobs.directives",     CFG_STRING, OFF(jobs.directives),     0, 0, NULL, 0, 0},
    {"jobs.mpirun_args",    CFG_STRING, OFF(jobs.mpirun_args),    0, 0, NULL, 0, 0},
    {"jobs.binary",         CFG_STRING, OFF(jobs.binary),         0, 0, NULL, 0, 0},
};
#pragma GCC diagnostic pop
/* clang-format on */

const struct cfg_key *config_schema(int *count)
{
    *count = (int)(sizeof schema / sizeof schema[0]);
    return schema;
}

int config_key_index(const char *path)
{
    int n;
    const struct cfg_key *k = config_schema(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(k[i].path, path) == 0)
            return i;
    return -1;
}

const char *config_enum_name(const char *path, long v)
{
    int i = config_key_index(path);
    if (i < 0 || schema[i].type != CFG_ENUM || v < 0)
        return "?";
    for (long j = 0; schema[i].names[j]; j++)
        if (j == v)
            return schema[i].names[j];
    return "?";
}

int config_key_affects(const struct config *cfg, int i, enum stage_id stage)
{
    const struct cfg_key *k = &schema[i];
    if (!(k->affects & (1u << stage)))
        return 0;
    if (k->only_if && (k->cond_stages & (1u << stage))) {
        int cond = config_key_index(k->only_if);
        return cond >= 0 && config_get(cfg, cond).i != 0;
    }
    /* One method (a run, or a config without a method list): another method's keys change nothing. */
    int method_key = config_key_index("peft.method"), method_listed = 0;
    for (int a = 0; a < cfg->n_axes; a++)
        method_listed |= cfg->axes[a].key == method_key;
    if (!method_listed && !config_method_reads_key(cfg->peft.method, k->path))
        return 0;
    return 1;
}

int config_method_reads_key(int method, const char *path)
{
    static const struct {
        const char *prefix;
        int a, b; /* the methods that read it (b = a when one) */
    } sections[] = {{"peft.lora.", PEFT_LORA, PEFT_LORA},
                    {"peft.adapter.", PEFT_HOULSBY, PEFT_PFEIFFER},
                    {"peft.compacter.", PEFT_COMPACTER, PEFT_COMPACTERPP},
                    {"peft.adamix.", PEFT_ADAMIX, PEFT_ADAMIX},
                    {"peft.mixphm.", PEFT_MIXPHM, PEFT_MIXPHM}};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strncmp(path, sections[i].prefix, strlen(sections[i].prefix)) == 0)
            return method == sections[i].a || method == sections[i].b;
    return 1;
}

static const char *const stage_names[STAGE_COUNT] = {"prepare", "features",  "train",
                                                     "eval",    "aggregate", "analyze"};

const char *stage_name(enum stage_id s)
{
    return (s >= 0 && s < STAGE_COUNT) ? stage_names[s] : "?";
}

int stage_from_name(const char *name)
{
    for (int i = 0; i < STAGE_COUNT; i++)
        if (strcmp(stage_names[i], name) == 0)
            return i;
    return -1;
}
