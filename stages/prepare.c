/* The prepare stage: reads the configured dataset (or writes the synthetic benchmark under RUN/synthetic
 * and reads it back through the same readers), tokenizes it, draws the k-shot splits and writes
 * RUN/prepared.h5 (docs/data.md).  Rank 0 does the work; the other ranks wait for its result.  It
 * provides "images", the digest of the image list and the detector files, which is all the features
 * stage depends on: adding a seed or a size does not recompute features. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/mem.h"
#include "data/load.h"
#include "data/prepared.h"
#include "data/splits.h"
#include "data/synth.h"
#include "mpi/agree.h"
#include "stages/stages.h"

#define SYNTH_DIR "synthetic"

static const char *const synth_files[] = {"vocab.txt", "questions_train.json", "annotations_train.json",
                                          "train.json", "questions_test.json", "annotations_test.json",
                                          "test.json", "pretrain.json", "detector.h5"};

static void synth_config_of(const struct config *cfg, struct synth_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = (uint64_t)cfg->run.seed;
    c->train_images = cfg->data.synthetic.train_images;
    c->test_images = cfg->data.synthetic.test_images;
    c->pool_questions = cfg->data.synthetic.pool_questions;
    c->test_questions = cfg->data.synthetic.test_questions;
    c->pretrain_pairs = cfg->data.synthetic.pretrain_pairs;
    c->pretrain_images = cfg->data.synthetic.pretrain_images;
    c->image_text_match = cfg->data.synthetic.image_text_match;
    c->language = cfg->data.synthetic.language;
    c->language_pairs = cfg->data.synthetic.language_pairs;
    c->language_thing_order = cfg->data.synthetic.language_thing_order;
    c->feature_dim = (int)cfg->data.synthetic.feature_dim;
    c->feature_noise = cfg->data.synthetic.feature_noise;
    c->annotator_error = cfg->data.synthetic.annotator_error;
    c->variant_rate = cfg->data.synthetic.variant_rate;
}

/* Writes the synthetic benchmark and describes its files like a real dataset's. */
static int synthetic_spec(const struct config *cfg, struct run *run, struct data_spec *s, struct err *e)
{
    struct synth_config c;
    synth_config_of(cfg, &c);
    /* VQA-style question ids hold the question's number on its image in the last three digits. */
    if (c.pool_questions > 1000 * c.train_images || c.test_questions > 1000 * c.test_images)
        return err_set(e, "data.synthetic: at most 1000 questions per image (pool_questions %ld for %ld train_images, "
                       "test_questions %ld for %ld test_images)", c.pool_questions, c.train_images, c.test_questions,
                       c.test_images);
    if (c.language_pairs > 0 && !c.language)
        return err_set(e, "data.synthetic.language_pairs is %ld but data.synthetic.language is false: the language "
                       "corpus's words must be in the vocabulary", c.language_pairs);
    char dir[PATH_MAX_LEN], abs[PATH_MAX];
    if (run_path(run, SYNTH_DIR, dir, sizeof dir) != 0 || make_dirs(dir, e) != 0)
        return -1;
    if (!realpath(dir, abs))
        return err_set(e, "cannot resolve '%s'", dir);
    log_msg(&run->log, "prepare: writing the synthetic benchmark to %s (%ld + %ld images, %ld + %ld questions, "
            "%ld pretraining pairs, features of %d)", dir, c.train_images, c.test_images, c.pool_questions,
            c.test_questions, c.pretrain_pairs, c.feature_dim);
    if (synth_write(&c, abs, e) != 0)
        return -1;
    snprintf(s->name, sizeof s->name, "synthetic");
    s->answer_max_len = ANSWER_MAX_TOKENS;
    s->tokenizer_kind = TOK_WORDS;
    int rc = data_spec_add_files(&s->pool, abs, "train.json", "synthetic", e);
    if (rc == 0)
        rc = data_spec_add_files(&s->test, abs, "test.json", "synthetic", e);
    if (rc == 0)
        rc = data_spec_add_files(&s->annotations, abs, "annotations_train.json,annotations_test.json", "synthetic", e);
    if (rc == 0)
        rc = data_spec_add_files(&s->questions, abs, "questions_train.json,questions_test.json", "synthetic", e);
    if (rc == 0)
        rc = data_spec_path(s->pretrain, sizeof s->pretrain, abs, "pretrain.json", e);
    if (rc == 0)
        rc = data_spec_path(s->pool_features, sizeof s->pool_features, abs, "detector.h5", e);
    if (rc == 0)
        rc = data_spec_path(s->test_features, sizeof s->test_features, abs, "detector.h5", e);
    if (rc == 0)
        rc = data_spec_path(s->tokenizer, sizeof s->tokenizer, abs, "vocab.txt", e);
    return rc;
}

/* The files of a real dataset, from data.root, data.tokenizer and data.<dataset>.*. */
static int real_spec(const struct config *cfg, struct data_spec *s, struct err *e)
{
    const char *root = cfg->data.root, *pool, *test, *annotations = "", *questions = "", *pf, *tf;
    int ds = cfg->data.dataset;
    snprintf(s->name, sizeof s->name, "%s", config_enum_name("data.dataset", ds));
    if (ds == DATASET_GQA) {
        pool = cfg->data.gqa.pool;
        test = cfg->data.gqa.test;
        pf = cfg->data.gqa.pool_features;
        tf = cfg->data.gqa.test_features;
        s->ids_are_strings = 1;
        s->answer_max_len = 0; /* GQA answers are not truncated */
    } else {
        const __typeof__(cfg->data.vqav2) *v = ds == DATASET_VQAV2 ? &cfg->data.vqav2 : &cfg->data.okvqa;
        pool = v->pool;
        test = v->test;
        annotations = v->annotations;
        questions = v->questions;
        pf = v->pool_features;
        tf = v->test_features;
        s->answer_max_len = ANSWER_MAX_TOKENS;
    }
    char key[64];
    s->tokenizer_kind = TOK_SENTENCEPIECE;
    snprintf(key, sizeof key, "data.%s.pool", s->name);
    int rc = data_spec_add_files(&s->pool, root, pool, key, e);
    snprintf(key, sizeof key, "data.%s.test", s->name);
    if (rc == 0)
        rc = data_spec_add_files(&s->test, root, test, key, e);
    snprintf(key, sizeof key, "data.%s.annotations", s->name);
    if (rc == 0 && annotations[0])
        rc = data_spec_add_files(&s->annotations, root, annotations, key, e);
    snprintf(key, sizeof key, "data.%s.questions", s->name);
    if (rc == 0 && questions[0])
        rc = data_spec_add_files(&s->questions, root, questions, key, e);
    if (rc == 0)
        rc = data_spec_path(s->pool_features, sizeof s->pool_features, root, pf, e);
    if (rc == 0)
        rc = data_spec_path(s->test_features, sizeof s->test_features, root, tf, e);
    if (rc == 0)
        rc = data_spec_path(s->tokenizer, sizeof s->tokenizer, root, cfg->data.tokenizer, e);
    /* prepared.h5 keeps the detector files' paths for the features stage: absolute ones, so that it may run
     * from another folder (a missing file keeps its name for the error message). */
    char abs[PATH_MAX];
    if (rc == 0 && realpath(s->pool_features, abs) && strlen(abs) < sizeof s->pool_features)
        strcpy(s->pool_features, abs);
    if (rc == 0 && realpath(s->test_features, abs) && strlen(abs) < sizeof s->test_features)
        strcpy(s->test_features, abs);
    if (rc == 0 && (!pool[0] || !test[0] || !pf[0] || !tf[0] || !cfg->data.tokenizer[0]))
        rc = err_set(e, "data.%s: pool, test, pool_features, test_features and data.tokenizer must name files",
                     s->name);
    return rc;
}

/* What the features stage depends on: the image list and the detector files (for the synthetic
 * benchmark the settings that make them; for real files their path, size and modification time). */
static void images_digest(const struct config *cfg, const struct vqa_data *ds, char out[HASH_HEX_LEN])
{
    uint64_t h = HASH_INIT;
    h = hash_bytes(h, ds->image_id.chars, ds->image_id.len);
    h = hash_bytes(h, ds->image_file, (size_t)dataset_n_images(ds) * sizeof *ds->image_file);
    if (cfg->data.dataset == DATASET_SYNTHETIC) {
        char s[256];
        snprintf(s, sizeof s, "synthetic %ld %ld %ld %ld %.17g %ld", cfg->run.seed, cfg->data.synthetic.train_images,
                 cfg->data.synthetic.test_images, cfg->data.synthetic.feature_dim, cfg->data.synthetic.feature_noise,
                 cfg->data.synthetic.pretrain_images);
        h = hash_str(h, s);
    } else {
        for (long f = 0; f < ds->files.n; f++) {
            struct stat st;
            char s[128] = "missing";
            if (stat(strtab_get(&ds->files, f), &st) == 0)
                snprintf(s, sizeof s, "%lld %lld.%09ld", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec);
            h = hash_str(hash_str(h, strtab_get(&ds->files, f)), s);
        }
    }
    hash_hex(h, out);
}

static int prepare_rank0(const struct config *cfg, struct run *run, char digest[HASH_HEX_LEN], struct err *e)
{
    struct data_spec spec;
    memset(&spec, 0, sizeof spec);
    struct vqa_data ds;
    memset(&ds, 0, sizeof ds);
    struct tokenizer tok;
    memset(&tok, 0, sizeof tok);
    struct split_set splits;
    memset(&splits, 0, sizeof splits);
    int8_t *layout = NULL;
    int rc = cfg->data.dataset == DATASET_SYNTHETIC ? synthetic_spec(cfg, run, &spec, e) : real_spec(cfg, &spec, e);
    if (rc == 0)
        rc = tokenizer_load_file(&tok, spec.tokenizer_kind, spec.tokenizer, e);
    if (rc == 0) {
        log_msg(&run->log, "prepare: reading %s", spec.name);
        rc = dataset_load(&spec, &ds, e);
    }
    if (rc == 0) {
        log_msg(&run->log, "prepare: %ld pool and %ld test questions on %ld images, %ld answers", ds.n_pool,
                ds.n_test, dataset_n_images(&ds), ds.answers.n);
        layout = xcalloc((size_t)(ds.files.n ? ds.files.n : 1), 1);
        rc = dataset_check_images(&ds, layout, e);
    }
    if (rc == 0) {
        union cfg_value sv[CFG_MAX_SWEEP], kv[CFG_MAX_SWEEP];
        int ns = config_values(cfg, "data.seeds", sv, CFG_MAX_SWEEP), nk = config_values(cfg, "data.sizes", kv, CFG_MAX_SWEEP);
        int64_t seeds[CFG_MAX_SWEEP];
        long sizes[CFG_MAX_SWEEP];
        for (int i = 0; i < ns; i++)
            seeds[i] = sv[i].i;
        for (int i = 0; i < nk; i++)
            sizes[i] = kv[i].i;
        rc = split_set_build(&splits, &ds, seeds, ns, sizes, nk, e);
        if (rc != 0)
            err_prefix(e, "data.sizes");
    }
    if (rc == 0) {
        images_digest(cfg, &ds, digest);
        char path[PATH_MAX_LEN];
        _Static_assert(PROMPT_COUNT == 2, "data.prompt's names follow enum prompt_kind");
        struct prepared_input in = {.ds = &ds, .tok = &tok, .answer_max_len = spec.answer_max_len,
                                    .prompt = cfg->data.prompt, .splits = &splits, .file_layout = layout,
                                    .images_digest = digest};
        rc = run_path(run, "prepared.h5", path, sizeof path);
        if (rc == 0)
            rc = prepared_write(path, &in, e);
        if (rc == 0)
            log_msg(&run->log, "prepare: wrote %s (%d k-shot splits)", path, splits.n_sets);
    }
    free(layout);
    split_set_free(&splits);
    tokenizer_free(&tok);
    dataset_free(&ds);
    data_spec_free(&spec);
    return rc;
}

/* Outputs of an earlier run go first: a failed prepare leaves none under their final names. */
static int remove_outputs(struct run *run, struct err *e)
{
    char path[PATH_MAX_LEN], dir[PATH_MAX_LEN];
    if (path_join(path, sizeof path, run->dir, "prepared.h5", e) != 0 || remove_if_exists(path, e) != 0 ||
        path_join(dir, sizeof dir, run->dir, SYNTH_DIR, e) != 0)
        return -1;
    if (!dir_exists(dir))
        return 0;
    for (size_t i = 0; i < sizeof synth_files / sizeof synth_files[0]; i++)
        if (path_join(path, sizeof path, dir, synth_files[i], e) != 0 || remove_if_exists(path, e) != 0)
            return -1;
    rmdir(dir);
    return 0;
}

int stage_prepare(const struct config *cfg, struct run *run)
{
    char digest[HASH_HEX_LEN] = "";
    int rc = 0;
    if (run->world->rank == 0) {
        rc = remove_outputs(run, &run->err);
        if (rc == 0)
            rc = prepare_rank0(cfg, run, digest, &run->err);
        struct err cleanup;
        if (rc != 0 && remove_outputs(run, &cleanup) != 0)
            log_warn(&run->log, "%s", cleanup.msg); /* the stage's own error is the one it returns */
    }
    if (agree_root_result(run->world->comm, 0, rc, &run->err) != 0)
        return -1;
    world_bcast_bytes(run->world, digest, (int)sizeof digest, 0);
    if (run_output(run, "prepared.h5") != 0 || run_provide(run, "images", digest) != 0)
        return -1;
    if (cfg->data.dataset == DATASET_SYNTHETIC && run_output(run, SYNTH_DIR) != 0)
        return -1;
    return 0;
}
