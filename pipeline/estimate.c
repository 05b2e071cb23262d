#include "pipeline/estimate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json_file.h"
#include "base/log.h"
#include "base/mem.h"
#include "data/prepared.h"
#include "nn/blas_env.h"
#include "run/sweep.h"
#include "train/model.h"
#include "train/random_batch.h"
#include "train/step.h"

#define TEXT_LEN 20      /* question ids with </s>: the prompt's limit */
#define ANSWER_LEN 4     /* a typical answer: a word or two, </s> (and the fewvlm sentinel) */
#define DECODE_TOKENS 4  /* greedy steps until a typical answer ends */
#define MAX_LABELS 64

/* The test and dev questions, vocabulary and region features of the configured data: read from the
 * run folder's prepared.h5 when prepare ran, else the datasets' known sizes. */
struct workload {
    long n_test;
    int vocab, feat_dim;
    char source[64];
};

static void workload_of(const struct config *cfg, struct workload *w)
{
    static const long test_questions[] = {[DATASET_VQAV2] = 214354, [DATASET_GQA] = 12578, [DATASET_OKVQA] = 5046};
    char path[PATH_MAX_LEN];
    struct prepared p;
    struct err e;
    if (path_join(path, sizeof path, cfg->run.dir, "prepared.h5", &e) == 0 && file_exists(path) &&
        prepared_open(&p, path, PREPARED_QUESTIONS, &e) == 0) {
        w->n_test = p.n_test;
        w->vocab = p.vocab_size;
        w->feat_dim = cfg->data.dataset == DATASET_SYNTHETIC ? (int)cfg->data.synthetic.feature_dim : 2048;
        snprintf(w->source, sizeof w->source, "prepared.h5");
        prepared_close(&p);
        return;
    }
    if (cfg->data.dataset == DATASET_SYNTHETIC) {
        w->n_test = cfg->data.synthetic.test_questions;
        w->vocab = 300; /* the synthetic word list and the sentinels */
        w->feat_dim = (int)cfg->data.synthetic.feature_dim;
    } else {
        w->n_test = test_questions[cfg->data.dataset];
        w->vocab = 32200;
        w->feat_dim = 2048;
    }
    snprintf(w->source, sizeof w->source, "the dataset's size");
}

struct method_cost {
    char label[SWEEP_NAME_MAX];
    double step_s;    /* one training step of the global batch on one rank */
    double decode_qps;
    long runs;
    double train_core_s, val_core_s, eval_core_s;
};

/* Times training steps and a decoding batch of the run's method on random weights (one rank). */
static int calibrate(const struct config *rc_cfg, const struct workload *wl, int repeats, struct method_cost *m,
                     struct err *e)
{
    const int Bt = (int)rc_cfg->train.batch_size, Be = (int)rc_cfg->eval.batch_size;
    struct model_sizes sz = {Bt > Be ? Bt : Be, TEXT_LEN, ANSWER_LEN, DECODE_TOKENS};
    struct model_ctx mc;
    if (model_setup(&mc, rc_cfg, wl->vocab, wl->feat_dim, MODEL_OF_RUN, &sz, e) != 0)
        return -1;
    vlt5_init_random(&mc.model, 1);
    peft_init(mc.peft, 1);
    struct trainer t;
    trainer_init(&t, &mc, MPI_COMM_SELF, Bt, rc_cfg->train.bucket_mb, rc_cfg->train.weight_decay,
                 rc_cfg->train.adam_eps, rc_cfg->train.clip_norm);
    /* one rank holds every chunk; unchecked */
    trainer_fixed_order(&t, (int)rc_cfg->train.chunk_examples, Bt, rc_cfg->train.chunk_keep_activations, -1, e);
    const int R = mc.model.dims.n_regions;
    struct random_share s;
    random_share_fill(&s, 0, sz.max_batch, TEXT_LEN, ANSWER_LEN, R, wl->feat_dim, wl->vocab);
    struct vlt5_batch b = random_share_batch(&s, 0, Bt, Bt, TEXT_LEN, ANSWER_LEN);
    double best = 1e300, loss, norm;
    int rc = 0;
    for (int r = -1; r < repeats && rc == 0; r++) { /* r = -1: warm-up */
        b.step = (uint64_t)(r + 2);
        double t0 = now_monotonic();
        rc = trainer_step(&t, &b, 1e-4, r + 2, &loss, &norm, e);
        if (r >= 0 && now_monotonic() - t0 < best)
            best = now_monotonic() - t0;
    }
    m->step_s = best;
    if (rc == 0) {
        peft_eval_prepare(mc.peft);
        struct vlt5_batch d = random_share_batch(&s, 0, Be, Be, TEXT_LEN, ANSWER_LEN);
        d.train = 0;
        int32_t *out = xmalloc(sizeof(int32_t) * (size_t)Be * DECODE_TOKENS); /* [Be, DECODE_TOKENS] */
        int *len = xmalloc(sizeof(int) * (size_t)Be);                          /* [Be] */
        best = 1e300;
        for (int r = -1; r < 2 && rc == 0; r++) {
            double t0 = now_monotonic();
            rc = vlt5_generate(&mc.model, &d, DECODE_TOKENS, out, len, e);
            if (r >= 0 && now_monotonic() - t0 < best)
                best = now_monotonic() - t0;
        }
        m->decode_qps = Be / best;
        free(out);
        free(len);
    }
    random_share_free(&s);
    trainer_free(&t);
    model_teardown(&mc);
    return rc;
}

static void cpu_description(char *model, size_t n, char *isa, size_t ni)
{
    snprintf(model, n, "?");
    snprintf(isa, ni, "?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int got_model = 0, got_flags = 0;
    while (f && fgets(line, sizeof line, f) && !(got_model && got_flags)) {
        if (!got_model && !strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, n, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            got_model = 1;
        } else if (!got_flags && !strncmp(line, "flags", 5)) {
            static const char *const levels[] = {" amx_bf16", " avx512_bf16", " avx512f", " avx2"};
            static const char *const names[] = {"AMX", "AVX-512 BF16", "AVX-512", "AVX2"};
            for (size_t i = 0; i < 4; i++)
                if (strstr(line, levels[i])) {
                    snprintf(isa, ni, "%s", names[i]);
                    break;
                }
            got_flags = 1;
        }
    }
    if (f)
        fclose(f);
}

/* The settings a calibration's timings depend on, as text: its field, the config key, the value of
 * `cfg`, and the value a calibration without the field was made with (NULL: the field is required). */
struct calibration_setting {
    const char *field, *key;
    char value[32];
    const char *before;
};

static int calibration_settings(const struct config *cfg, struct calibration_setting *s)
{
    int n = 0;
    s[n] = (struct calibration_setting){"model", "model.size", "", NULL};
    snprintf(s[n++].value, sizeof s->value, "%s", config_enum_name("model.size", cfg->model.size));
    s[n] = (struct calibration_setting){"precision", "model.precision", "", "fp32"};
    snprintf(s[n++].value, sizeof s->value, "%s", config_enum_name("model.precision", cfg->model.precision));
    s[n] = (struct calibration_setting){"chunk_examples", "train.chunk_examples", "", "0"};
    snprintf(s[n++].value, sizeof s->value, "%ld", cfg->train.chunk_examples);
    s[n] = (struct calibration_setting){"train_batch", "train.batch_size", "", NULL};
    snprintf(s[n++].value, sizeof s->value, "%ld", cfg->train.batch_size);
    s[n] = (struct calibration_setting){"eval_batch", "eval.batch_size", "", NULL};
    snprintf(s[n++].value, sizeof s->value, "%ld", cfg->eval.batch_size);
    return n;
}

/* Reads a saved calibration into the costs of the same labels; -1 with a reason when it was made with
 * other settings (calibration_settings) or lacks a method. */
static int load_calibration(const char *path, const struct config *cfg, struct method_cost *m, int n, struct err *e)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return err_set(e, "%s: %s", path, je.text);
    int rc = 0;
    struct calibration_setting set[8];
    const int n_set = calibration_settings(cfg, set);
    for (int i = 0; i < n_set && rc == 0; i++) {
        const json_t *v = json_object_get(o, set[i].field);
        char saved[32];
        if (json_is_string(v))
            snprintf(saved, sizeof saved, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(saved, sizeof saved, "%lld", (long long)json_integer_value(v));
        else
            snprintf(saved, sizeof saved, "%s", v || !set[i].before ? "?" : set[i].before);
        if (strcmp(saved, set[i].value) != 0)
            rc = err_set(e, "%s: a calibration with %s = %s, the config has %s (measure again without --calibration)",
                         path, set[i].key, saved, set[i].value);
    }
    json_t *methods = json_object_get(o, "methods");
    for (int i = 0; i < n && rc == 0; i++) {
        json_t *v = json_object_get(methods, m[i].label);
        if (!json_is_object(v))
            rc = err_set(e, "%s: no calibration of %s (measure again without --calibration)", path, m[i].label);
        else {
            m[i].step_s = json_number_value(json_object_get(v, "step_s"));
            m[i].decode_qps = json_number_value(json_object_get(v, "decode_qps"));
        }
    }
    json_decref(o);
    return rc;
}

static int save_calibration(const char *path, const struct config *cfg, const struct method_cost *m, int n,
                            const char *cpu, const char *isa, struct err *e)
{
    json_t *o = json_object(), *methods = json_object();
    json_object_set_new(o, "model", json_string(config_enum_name("model.size", cfg->model.size)));
    json_object_set_new(o, "precision", json_string(config_enum_name("model.precision", cfg->model.precision)));
    json_object_set_new(o, "chunk_examples", json_integer(cfg->train.chunk_examples));
    json_object_set_new(o, "cpu", json_string(cpu));
    json_object_set_new(o, "isa", json_string(isa));
    json_object_set_new(o, "blas_threads", json_integer(blas_threads()));
    json_object_set_new(o, "train_batch", json_integer(cfg->train.batch_size));
    json_object_set_new(o, "eval_batch", json_integer(cfg->eval.batch_size));
    for (int i = 0; i < n; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "step_s", json_real(m[i].step_s));
        json_object_set_new(v, "decode_qps", json_real(m[i].decode_qps));
        json_object_set_new(methods, m[i].label, v);
    }
    json_object_set_new(o, "methods", methods);
    return json_write_file(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER, path, e);
}

static void hours(double core_s, char *out, size_t n)
{
    double h = core_s / 3600.0;
    snprintf(out, n, h < 10 ? "%.2f" : h < 1000 ? "%.1f" : "%.0f", h);
}

int estimate_command(const struct config *cfg, const struct estimate_options *o, FILE *out, struct err *e)
{
    struct workload wl;
    workload_of(cfg, &wl);
    struct method_cost m[MAX_LABELS];
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg), *reps = xmalloc(MAX_LABELS * sizeof *reps);
    int n_labels = 0, rc = 0, n = sweep_count(cfg);
    memset(m, 0, sizeof m);
    /* Per method label: one representative run config, and the work of every run. */
    for (int i = 0; i < n && rc == 0; i++) {
        char label[SWEEP_NAME_MAX];
        if ((rc = sweep_run_config(cfg, i, rc_cfg, e)) != 0)
            break;
        sweep_run_label(cfg, rc_cfg, label, sizeof label);
        int j = 0;
        while (j < n_labels && strcmp(m[j].label, label) != 0)
            j++;
        if (j == n_labels) {
            if (n_labels == MAX_LABELS) {
                rc = err_set(e, "more than %d methods in the sweep", MAX_LABELS);
                break;
            }
            snprintf(m[j].label, sizeof m[j].label, "%s", label);
            reps[j] = *rc_cfg;
            n_labels++;
        }
        m[j].runs++;
    }
    char cpu[256], isa[64];
    cpu_description(cpu, sizeof cpu, isa, sizeof isa);
    /* As a rank of a job runs: one BLAS thread (mpi/world.h's policy for several ranks per node). */
    blas_set_threads(1);
    if (rc == 0 && o->calibration && file_exists(o->calibration)) {
        rc = load_calibration(o->calibration, cfg, m, n_labels, e);
        fprintf(out, "calibration: %s\n", o->calibration);
    } else if (rc == 0) {
        fprintf(out, "calibrating on this machine (%s, %s, %d BLAS thread%s): %d steps and a decoding batch per method\n",
                cpu, isa, blas_threads(), blas_threads() > 1 ? "s" : "", o->repeats);
        for (int j = 0; j < n_labels && rc == 0; j++)
            rc = calibrate(&reps[j], &wl, o->repeats, &m[j], e);
        char path[PATH_MAX_LEN];
        if (rc == 0 && !o->calibration)
            rc = path_join(path, sizeof path, cfg->run.dir, "calibration.json", e) == 0 && make_dirs(cfg->run.dir, e) == 0
                     ? 0
                     : -1;
        if (rc == 0)
            rc = save_calibration(o->calibration ? o->calibration : path, cfg, m, n_labels, cpu, isa, e);
        if (rc == 0)
            fprintf(out, "calibration saved to %s (reuse it with --calibration)\n", o->calibration ? o->calibration : path);
    }
    if (rc != 0) {
        free(rc_cfg);
        free(reps);
        return rc;
    }
    /* The work: every run's steps, validations and test evaluations, in core-seconds of this machine. */
    const double threads = blas_threads() > 0 ? blas_threads() : 1;
    double longest = 0, total_train = 0, total_val = 0, total_eval = 0;
    for (int i = 0; i < n; i++) {
        char label[SWEEP_NAME_MAX];
        if (sweep_run_config(cfg, i, rc_cfg, e) != 0) {
            free(rc_cfg);
            free(reps);
            return -1;
        }
        sweep_run_label(cfg, rc_cfg, label, sizeof label);
        int j = 0;
        while (strcmp(m[j].label, label) != 0)
            j++;
        const long k = rc_cfg->data.sizes, E = rc_cfg->train.epochs, B = rc_cfg->train.batch_size;
        const long steps = (k + B - 1) / B * E, vi = rc_cfg->train.val_interval;
        const long validations = vi > 0 ? E / vi + (E % vi != 0) : 1;
        const double train = (double)steps * m[j].step_s * threads;
        const double val = (double)validations * (double)k / m[j].decode_qps * threads;
        const double ev = 2.0 * (double)wl.n_test / m[j].decode_qps * threads;
        m[j].train_core_s += train, m[j].val_core_s += val, m[j].eval_core_s += ev;
        total_train += train, total_val += val, total_eval += ev;
        longest = train + val > longest ? train + val : longest;
    }
    if (cfg->eval.zero_shot && n_labels)
        total_eval += (double)wl.n_test / m[0].decode_qps * threads;
    fprintf(out, "\n%s, %s: %d runs; %ld test questions (%s); every epoch of the schedule counted (early stopping only "
                 "shortens it)\n\n", config_enum_name("data.dataset", cfg->data.dataset),
            config_enum_name("model.size", cfg->model.size), n, wl.n_test, wl.source);
    fprintf(out, "| method | runs | s/step | decoded q/s | train core-h | validation core-h | eval core-h |\n");
    fprintf(out, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (int j = 0; j < n_labels; j++) {
        char a[32], b[32], c[32];
        hours(m[j].train_core_s, a, sizeof a), hours(m[j].val_core_s, b, sizeof b), hours(m[j].eval_core_s, c, sizeof c);
        fprintf(out, "| %s | %ld | %.4f | %.1f | %s | %s | %s |\n", m[j].label, m[j].runs, m[j].step_s, m[j].decode_qps,
                a, b, c);
    }
    const double total = total_train + total_val + total_eval, target = o->hours > 0 ? o->hours : 24;
    const long per_node = cfg->jobs.tasks_per_node;
    char th[32], vh[32], eh[32], all[32], lh[32];
    hours(total_train, th, sizeof th), hours(total_val, vh, sizeof vh), hours(total_eval, eh, sizeof eh);
    hours(total, all, sizeof all), hours(longest, lh, sizeof lh);
    fprintf(out, "\ntotal: %s core-hours (train %s, validation %s, eval %s; eval includes the zero-shot answers)\n", all,
            th, vh, eh);
    const long nodes = (long)ceil(total / 3600.0 / (target * (double)per_node));
    fprintf(out, "in %g hours: %ld node%s of %ld cores (jobs.tasks_per_node), e.g. a train job array "
                 "(jobs.train_array) of %ld; the longest run alone takes %s core-hours\n",
            target, nodes, nodes == 1 ? "" : "s", per_node, nodes * per_node < n ? nodes * per_node : n, lh);
    free(rc_cfg);
    free(reps);
    return 0;
}
