#include "stages/train_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "model/params_h5.h"
#include "model/vlt5.h"
#include "mpi/agree.h"
#include "pipeline/stamp.h"
#include "stages/train_loop.h"
#include "stages/train_validate.h"

int train_data_open(struct train_data *d, const char *run_dir, int parts, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (path_join(path, sizeof path, run_dir, "prepared.h5", e) != 0 || prepared_open(&d->p, path, parts, e) != 0)
        return -1;
    if (prepared_tokenizer(&d->p, &d->tok, e) != 0)
        return -1;
    if (path_join(path, sizeof path, run_dir, "features.h5", e) != 0 ||
        features_open(&d->features, path, H5P_DEFAULT, e) != 0)
        return -1;
    d->vocab = d->p.vocab_size;
    d->feat_dim = d->features.dim;
    if (d->features.projected) {
        /* The file holds visual tokens (d_model wide); the model keeps the raw size of the backbone that
         * projected them (model.checkpoint, which projection requires). */
        struct vlt5_dims w;
        if (!d->cfg->model.checkpoint[0] || vlt5_dims_from_weights(d->cfg->model.checkpoint, &w, e) != 0)
            return err_set(e, "%s holds projected features: model.checkpoint must name the backbone that projected them",
                           path);
        d->feat_dim = w.feat_dim;
    }
    return 0;
}

void train_data_close(struct train_data *d)
{
    if (d->features.file > 0)
        features_close(&d->features);
    prepared_close(&d->p);
}

int sweep_backbone(struct train_data *d, struct err *e)
{
    const struct config *cfg = d->cfg;
    if (cfg->model.checkpoint[0]) {
        long long size = file_size(cfg->model.checkpoint);
        if (size < 0)
            return err_set(e, "model.checkpoint: no weights file at '%s'", cfg->model.checkpoint);
        snprintf(d->backbone, sizeof d->backbone, "%s", cfg->model.checkpoint);
        uint64_t h = hash_str(HASH_INIT, cfg->model.checkpoint);
        hash_hex(hash_bytes(h, &size, sizeof size), d->backbone_id);
        return 0;
    }
    if (cfg->data.dataset != DATASET_SYNTHETIC)
        return err_set(e, "model.checkpoint is empty: %s needs the pretrained VL-T5 backbone (convert FewVLM's "
                          "Epoch30_base.pth with tools/convert_vlt5.py)",
                       config_enum_name("data.dataset", cfg->data.dataset));
    if (pretrain_done(d, d->backbone_id) != 0)
        return err_set(e, "the synthetic backbone is not pretrained yet (RUN/runs/%s)", PRETRAIN_RUN);
    if (train_run_dir(d, PRETRAIN_RUN, d->backbone, sizeof d->backbone, e) != 0)
        return -1;
    size_t len = strlen(d->backbone);
    snprintf(d->backbone + len, sizeof d->backbone - len, "/backbone.h5");
    return 0;
}

int train_run_dir(const struct train_data *d, const char *name, char *out, size_t n, struct err *e)
{
    int len = snprintf(out, n, "%s/runs/%s", d->run_dir, name);
    if (len < 0 || (size_t)len >= n)
        return err_set(e, "path too long: '%s/runs/%s'", d->run_dir, name);
    return 0;
}

/* 0 when the stamp consumed `want` as `what`. */
static int stamp_consumed(const char *path, const char *what, const char *want)
{
    struct stamp s;
    struct err e;
    if (stamp_read(path, &s, &e) != 0)
        return -1;
    int rc = -1;
    for (int i = 0; i < s.n_consumes; i++)
        if (strcmp(s.consumes[i].name, what) == 0 && strcmp(s.consumes[i].id, want) == 0)
            rc = 0;
    stamp_free(&s);
    return rc;
}

int train_run_done(const struct train_data *d, const struct config *run_cfg, const char *name)
{
    char why[256], path[PATH_MAX_LEN];
    struct err e;
    if (stamp_run_state(d->run_dir, name, run_cfg, STAGE_TRAIN, why, sizeof why) != RUN_DONE ||
        stamp_run_path(d->run_dir, name, STAGE_TRAIN, path, sizeof path, &e) != 0)
        return 0;
    return stamp_consumed(path, "backbone", d->backbone_id) == 0;
}

/* Writes a run's stamp (outputs relative to the run's folder). */
static int write_run_stamp(const struct train_data *d, const struct config *run_cfg, const char *name,
                           const char *config_hash, const char *const *outputs, int n_out, const char *backbone_id,
                           double seconds, int ranks, char id_out[HASH_HEX_LEN], struct err *e)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    if (train_run_dir(d, name, dir, sizeof dir, e) != 0 ||
        stamp_run_path(d->run_dir, name, STAGE_TRAIN, path, sizeof path, e) != 0)
        return -1;
    struct stamp *s = xcalloc(1, sizeof *s);
    snprintf(s->stage, sizeof s->stage, "train");
    snprintf(s->config_hash, sizeof s->config_hash, "%s", config_hash);
    stamp_new_id("train", s->id);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(s->finished, sizeof s->finished, "%Y-%m-%dT%H:%M:%S", &tm);
    s->seconds = seconds;
    s->ranks = ranks;
    for (int i = 0; i < n_out; i++) {
        char file[PATH_MAX_LEN + 64];
        snprintf(file, sizeof file, "%s/%s", dir, outputs[i]);
        snprintf(s->outputs[i].path, sizeof s->outputs[i].path, "%s", outputs[i]);
        s->outputs[i].size = file_size(file);
    }
    s->n_outputs = n_out;
    if (backbone_id) {
        snprintf(s->consumes[0].name, STAMP_NAME_MAX, "backbone");
        snprintf(s->consumes[0].id, HASH_HEX_LEN, "%s", backbone_id);
        s->n_consumes = 1;
    }
    int rc = stamp_write(path, s, run_cfg, e);
    if (id_out)
        snprintf(id_out, HASH_HEX_LEN, "%s", s->id);
    free(s);
    return rc;
}

/* ---- a k-shot run ---------------------------------------------------------------------------- */

struct finetune {
    struct train_data *d;
    MPI_Comm comm;
    uint64_t seed;
    struct model_ctx mc;
    struct image_cache cache;
    struct batch_buf train_buf, decode_buf;
    int32_t *train_rows, *dev_rows; /* [k] question rows */
    long k;
    int decode_batch, max_new;
    char best_path[PATH_MAX_LEN + 16];
};

static int save_trainable(struct model_ctx *mc, const char *path, long step, struct err *e)
{
    const struct weights_attr attrs[] = {{"step", step}};
    return params_save_h5_sel(&mc->params, path, PARAM_ANY, 1, attrs, 1, e);
}

static int finetune_batch(void *ctx, const int32_t *idx, int Bg, int lo, int hi, long epoch, struct vlt5_batch *b,
                          struct err *e)
{
    struct finetune *f = ctx;
    int32_t *rows = xmalloc((size_t)Bg * sizeof *rows); /* [Bg] question rows of the global batch */
    for (int i = 0; i < Bg; i++)
        rows[i] = f->train_rows[idx[i]];
    int rc = batch_vqa(b, &f->train_buf, &f->d->p, &f->cache, rows, Bg, lo, hi, 1, f->seed, epoch, e);
    free(rows);
    return rc;
}

static int finetune_validate(void *ctx, double *score, struct err *e)
{
    struct finetune *f = ctx;
    return validate_dev(&f->mc, f->comm, &f->d->p, &f->d->tok, &f->cache, &f->decode_buf, f->dev_rows, f->k,
                        f->decode_batch, f->max_new, score, e);
}

static int finetune_save_best(void *ctx, long step, struct err *e)
{
    struct finetune *f = ctx;
    return save_trainable(&f->mc, f->best_path, step, e);
}

/* The papers' early-stopping patience for the dataset (formats.md 6.6). */
static long patience_for(const struct config *cfg)
{
    if (cfg->train.patience >= 0)
        return cfg->train.patience;
    switch (cfg->data.dataset) {
    case DATASET_VQAV2: return 20;
    case DATASET_OKVQA: return 10;
    default: return 0; /* GQA's 1000 never triggers; the synthetic benchmark follows it */
    }
}

static int write_train_json(const char *path, const char *name, const struct config *run_cfg, const struct train_state *st,
                            long trainable, long backbone, int ranks, struct err *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "run", json_string(name));
    json_object_set_new(o, "method", json_string(config_enum_name("peft.method", run_cfg->peft.method)));
    json_object_set_new(o, "routing", json_string(config_enum_name("peft.routing", run_cfg->peft.routing)));
    json_object_set_new(o, "k", json_integer(run_cfg->data.sizes));
    json_object_set_new(o, "seed", json_integer(run_cfg->data.seeds));
    json_object_set_new(o, "steps", json_integer(st->step));
    json_object_set_new(o, "epochs", json_integer(st->epoch));
    json_object_set_new(o, "stopped_early", json_boolean(st->stopped_early));
    json_object_set_new(o, "best_dev", st->best_score >= 0 ? json_real(st->best_score) : json_null());
    json_object_set_new(o, "best_epoch", json_integer(st->best_epoch));
    json_t *dev = json_array(), *loss = json_array();
    for (long i = 0; i < st->n_dev; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "epoch", json_integer(st->dev_epoch[i]));
        json_object_set_new(v, "score", json_real(st->dev_score[i]));
        json_array_append_new(dev, v);
    }
    for (long i = 0; i < st->n_loss; i++)
        json_array_append_new(loss, json_real(st->loss[i]));
    json_object_set_new(o, "dev", dev);
    json_object_set_new(o, "loss", loss);
    json_object_set_new(o, "train_seconds", json_real(st->seconds));
    json_object_set_new(o, "ranks", json_integer(ranks));
    json_object_set_new(o, "trainable_params", json_integer(trainable));
    json_object_set_new(o, "backbone_params", json_integer(backbone));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    size_t len = strlen(text);
    text[len] = '\n';
    int rc = write_file_atomic(path, text, len + 1, e);
    free(text);
    return rc;
}

/* Reads the rows and images of a run and builds its model; the caller frees with finetune_free. */
static int finetune_setup(struct finetune *f, struct train_data *d, const struct config *rc_cfg, MPI_Comm comm,
                          struct err *e)
{
    memset(f, 0, sizeof *f);
    f->d = d;
    f->comm = comm;
    f->seed = (uint64_t)rc_cfg->data.seeds;
    int comm_size;
    MPI_Comm_size(comm, &comm_size);
    long n_dev;
    if (prepared_split(&d->p, rc_cfg->data.seeds, rc_cfg->data.sizes, SPLIT_TRAIN, &f->train_rows, &f->k, e) != 0 ||
        prepared_split(&d->p, rc_cfg->data.seeds, rc_cfg->data.sizes, SPLIT_DEV, &f->dev_rows, &n_dev, e) != 0)
        return -1;
    int32_t *images = xmalloc((size_t)(2 * f->k) * sizeof *images); /* [2k] */
    for (long i = 0; i < f->k; i++) {
        images[i] = d->p.q_image[f->train_rows[i]];
        images[f->k + i] = d->p.q_image[f->dev_rows[i]];
    }
    int rc = image_cache_load(&f->cache, &d->features, images, 2 * f->k, d->p.n_images, e);
    free(images);
    if (rc != 0)
        return -1;
    int share = (int)((rc_cfg->train.batch_size + comm_size - 1) / comm_size);
    f->decode_batch = (int)rc_cfg->eval.batch_size;
    f->max_new = (int)rc_cfg->eval.max_new_tokens;
    struct model_sizes sz = {.max_batch = share > f->decode_batch ? share : f->decode_batch,
                             .max_text = d->p.q_len,
                             .max_target = d->p.a_len,
                             .max_generate = f->max_new};
    if (model_setup(&f->mc, rc_cfg, d->vocab, d->feat_dim, 0, &sz, e) != 0 ||
        model_load_backbone(&f->mc, d->backbone, e) != 0)
        return -1;
    peft_init(f->mc.peft, (uint64_t)rc_cfg->data.seeds);
    batch_buf_alloc(&f->train_buf, share, d->p.q_len, d->p.a_len, &f->cache);
    batch_buf_alloc(&f->decode_buf, f->decode_batch, d->p.q_len, 0, &f->cache);
    return 0;
}

static void finetune_free(struct finetune *f)
{
    if (f->mc.peft || f->mc.params.n)
        model_teardown(&f->mc);
    image_cache_free(&f->cache);
    batch_buf_free(&f->train_buf);
    batch_buf_free(&f->decode_buf);
    free(f->train_rows);
    free(f->dev_rows);
}

int train_run(struct train_data *d, const struct config *run_cfg, const char *name, MPI_Comm comm,
              const struct logger *log, int *stop_signal, struct err *e)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *stop_signal = 0;
    char dir[PATH_MAX_LEN], ckpt[PATH_MAX_LEN + 32], last[PATH_MAX_LEN + 32], json[PATH_MAX_LEN + 32];
    if (train_run_dir(d, name, dir, sizeof dir, e) != 0)
        return -1;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", dir);
    snprintf(last, sizeof last, "%s/last.h5", dir);
    snprintf(json, sizeof json, "%s/train.json", dir);
    int rc = rank == 0 ? make_dirs(dir, e) : 0;
    if (agree_root_result(comm, 0, rc, e) != 0)
        return -1;
    struct finetune *f = xcalloc(1, sizeof *f);
    rc = finetune_setup(f, d, run_cfg, comm, e);
    if (agree_all_ok(comm, rc, e) != 0) {
        finetune_free(f);
        free(f);
        return err_prefix(e, "%s", name);
    }
    snprintf(f->best_path, sizeof f->best_path, "%s/best.h5", dir);
    struct trainer tr;
    trainer_init(&tr, &f->mc, comm, (int)run_cfg->train.batch_size, run_cfg->train.bucket_mb,
                 run_cfg->train.weight_decay, run_cfg->train.adam_eps, run_cfg->train.clip_norm);
    struct train_job job, *j = &job;
    *j = (struct train_job){.tr = &tr,
                            .name = name,
                            .checkpoint = ckpt,
                            .seed = (uint64_t)run_cfg->data.seeds,
                            .n_examples = f->k,
                            .batch = run_cfg->train.batch_size,
                            .epochs = run_cfg->train.epochs,
                            .lr = run_cfg->train.lr,
                            .warmup_ratio = run_cfg->train.warmup_ratio,
                            .checkpoint_steps = run_cfg->train.checkpoint_steps,
                            .val_interval = run_cfg->train.val_interval,
                            .patience = patience_for(run_cfg),
                            .min_delta = run_cfg->train.min_delta,
                            .make_batch = finetune_batch,
                            .validate = finetune_validate,
                            .save_best = finetune_save_best,
                            .ctx = f,
                            .log = log,
                            .log_interval = d->log_interval};
    char cfg_hash[HASH_HEX_LEN];
    hash_hex(config_stage_hash(run_cfg, STAGE_TRAIN), cfg_hash);
    hash_hex(hash_str(hash_str(HASH_INIT, cfg_hash), d->backbone_id), j->run_hash);
    struct train_state st;
    rc = train_loop(j, &st, stop_signal, e);
    if (rc == 0 && !*stop_signal) {
        long trainable = (long)params_count(&f->mc.params, 1, PARAM_ANY);
        long backbone = (long)params_count(&f->mc.params, -1, PARAM_BACKBONE);
        if (rank == 0) {
            static const char *const outputs[] = {"last.h5", "best.h5", "train.json"};
            rc = save_trainable(&f->mc, last, st.step, e);
            if (rc == 0)
                rc = write_train_json(json, name, run_cfg, &st, trainable, backbone, size, e);
            if (rc == 0)
                rc = write_run_stamp(d, run_cfg, name, cfg_hash, outputs, 3, d->backbone_id, st.seconds, size, NULL, e);
            if (rc == 0)
                remove(ckpt); /* the run is done: its outputs and stamp replace the checkpoint */
        }
        rc = agree_root_result(comm, 0, rc, e);
        if (rc == 0)
            log_msg(log, "%s: done in %ld steps, best dev %.2f at epoch %ld", name, st.step, st.best_score,
                    st.best_epoch);
    }
    train_state_free(&st);
    trainer_free(&tr);
    finetune_free(f);
    free(f);
    return rc;
}

/* ---- the synthetic backbone's pretraining ----------------------------------------------------- */

struct pretrain {
    struct train_data *d;
    struct image_cache cache;
    struct batch_buf buf;
};

static int pretrain_batch(void *ctx, const int32_t *idx, int Bg, int lo, int hi, long epoch, struct vlt5_batch *b,
                          struct err *e)
{
    (void)epoch;
    struct pretrain *pt = ctx;
    return batch_pretrain(b, &pt->buf, &pt->d->p, &pt->cache, idx, Bg, lo, hi, e);
}

void pretrain_hash(const struct config *cfg, char out[HASH_HEX_LEN])
{
    static const char *const keys[] = {"run.seed", "data.dataset", "data.synthetic.", "model.", "pretrain.",
                                       "train.weight_decay", "train.adam_eps", "train.clip_norm", NULL};
    /* Pretraining runs in fp32 whatever model.precision says: fp32 and bf16 runs share the backbone. */
    struct config *c = xmalloc(sizeof *c);
    *c = *cfg;
    c->model.precision = PRECISION_FP32;
    hash_hex(config_prefix_hash(c, keys), out);
    free(c);
}

int pretrain_done(const struct train_data *d, char id[HASH_HEX_LEN])
{
    char path[PATH_MAX_LEN], want[HASH_HEX_LEN], why[256];
    struct err e;
    struct stamp s;
    pretrain_hash(d->cfg, want);
    if (stamp_run_path(d->run_dir, PRETRAIN_RUN, STAGE_TRAIN, path, sizeof path, &e) != 0 || stamp_read(path, &s, &e) != 0)
        return -1;
    char dir[PATH_MAX_LEN];
    int ok = strcmp(s.config_hash, want) == 0 && train_run_dir(d, PRETRAIN_RUN, dir, sizeof dir, &e) == 0 &&
             stamp_outputs_intact(&s, dir, why, sizeof why) == 0;
    if (ok)
        snprintf(id, HASH_HEX_LEN, "%s", s.id);
    stamp_free(&s);
    return ok ? 0 : -1;
}

int train_pretrain(struct train_data *d, MPI_Comm comm, const struct logger *log, int *stop_signal, struct err *e)
{
    const struct config *cfg = d->cfg;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *stop_signal = 0;
    if (d->p.n_pretrain < 1)
        return err_set(e, "%s has no pretraining pairs: the synthetic backbone cannot be pretrained", d->p.path);
    char dir[PATH_MAX_LEN], ckpt[PATH_MAX_LEN + 32], backbone[PATH_MAX_LEN + 32];
    if (train_run_dir(d, PRETRAIN_RUN, dir, sizeof dir, e) != 0)
        return -1;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", dir);
    snprintf(backbone, sizeof backbone, "%s/backbone.h5", dir);
    int rc = rank == 0 ? make_dirs(dir, e) : 0;
    if (agree_root_result(comm, 0, rc, e) != 0)
        return -1;
    struct pretrain pt = {.d = d};
    struct model_ctx mc;
    rc = image_cache_load(&pt.cache, &d->features, d->p.pt_image, d->p.n_pretrain, d->p.n_images, e);
    int share = (int)((cfg->pretrain.batch_size + size - 1) / size);
    struct model_sizes sz = {share, d->p.pt_in_len, d->p.pt_out_len, (int)cfg->eval.max_new_tokens};
    int built = 0;
    if (rc == 0)
        rc = model_setup(&mc, cfg, d->vocab, d->feat_dim, 1, &sz, e);
    if (rc == 0) {
        built = 1;
        vlt5_init_random(&mc.model, (uint64_t)cfg->run.seed);
        batch_buf_alloc(&pt.buf, share, d->p.pt_in_len, d->p.pt_out_len, &pt.cache);
    }
    if (agree_all_ok(comm, rc, e) != 0) {
        if (built)
            model_teardown(&mc);
        image_cache_free(&pt.cache);
        return err_prefix(e, "pretraining the synthetic backbone");
    }
    struct trainer tr;
    trainer_init(&tr, &mc, comm, (int)cfg->pretrain.batch_size, cfg->train.bucket_mb, cfg->train.weight_decay,
                 cfg->train.adam_eps, cfg->train.clip_norm);
    struct train_job j = {.tr = &tr,
                          .name = PRETRAIN_RUN,
                          .checkpoint = ckpt,
                          .seed = (uint64_t)cfg->run.seed,
                          .n_examples = d->p.n_pretrain,
                          .batch = cfg->pretrain.batch_size,
                          .epochs = cfg->pretrain.epochs,
                          .lr = cfg->pretrain.lr,
                          .warmup_ratio = cfg->pretrain.warmup_ratio,
                          .checkpoint_steps = cfg->train.checkpoint_steps,
                          .val_interval = -1,
                          .make_batch = pretrain_batch,
                          .ctx = &pt,
                          .log = log,
                          .log_interval = d->log_interval};
    pretrain_hash(cfg, j.run_hash);
    struct train_state st;
    rc = train_loop(&j, &st, stop_signal, e);
    if (rc == 0 && !*stop_signal) {
        if (rank == 0) {
            static const char *const outputs[] = {"backbone.h5"};
            rc = vlt5_save(&mc.model, backbone, e);
            if (rc == 0)
                rc = write_run_stamp(d, cfg, PRETRAIN_RUN, j.run_hash, outputs, 1, NULL, st.seconds, size, NULL, e);
            if (rc == 0)
                remove(ckpt);
        }
        rc = agree_root_result(comm, 0, rc, e);
        if (rc == 0)
            log_msg(log, "pretrain: done in %ld steps, final loss %.4f", st.step,
                    st.n_loss ? st.loss[st.n_loss - 1] : 0.0);
    }
    train_state_free(&st);
    trainer_free(&tr);
    model_teardown(&mc);
    image_cache_free(&pt.cache);
    batch_buf_free(&pt.buf);
    return rc;
}
