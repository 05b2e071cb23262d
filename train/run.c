#include "train/run.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json_file.h"
#include "base/mem.h"
#include "base/signals.h"
#include "model/params_h5.h"
#include "model/vlt5.h"
#include "mpi/agree.h"
#include "mpi/world.h"

/* ---- the epoch loop -------------------------------------------------------------------------- */

/* Writes the checkpoint on the group's rank 0; every rank learns the outcome. */
static int save_checkpoint(struct train_job *j, const struct train_state *st, struct err *e)
{
    int rc = 0;
    if (j->tr->rank == 0)
        rc = checkpoint_save(&j->tr->mc->params, j->checkpoint, j->run_hash, st, e);
    return agree_root_result(j->tr->comm, 0, rc, e);
}

/* Continues from the run's checkpoint when there is one for these settings. */
/* A checkpoint written with other settings (a key the user changed after the run stopped) is set
 * aside as checkpoint.stale-HASH.h5 and the run starts over (rank-0 work; -1 with e set when the
 * rename fails). */
static int set_aside_stale(const struct train_job *j, int *have, struct err *e)
{
    char hash[HASH_HEX_LEN] = "", stale[PATH_MAX_LEN];
    struct err unreadable;
    if (checkpoint_read_hash(j->checkpoint, hash, &unreadable) != 0 || strcmp(hash, j->run_hash) == 0)
        return 0; /* the same settings; a damaged file is reported by checkpoint_load */
    const char *slash = strrchr(j->checkpoint, '/');
    int dir_len = slash ? (int)(slash - j->checkpoint) + 1 : 0;
    if (snprintf(stale, sizeof stale, "%.*scheckpoint.stale-%s.h5", dir_len, j->checkpoint, hash) >= (int)sizeof stale)
        return err_set(e, "path too long: %s", j->checkpoint);
    if (rename(j->checkpoint, stale) != 0)
        return err_errno(e, errno, "cannot set the stale checkpoint %s aside as %s", j->checkpoint, stale);
    log_msg(j->log, "%s: the settings changed since %s was written; kept as %s, the run starts over", j->name,
            j->checkpoint, stale);
    *have = 0;
    return 0;
}

static int resume(struct train_job *j, struct train_state *st, struct err *e)
{
    train_state_init(st);
    int have = 0, rc = 0;
    if (j->tr->rank == 0 && (have = file_exists(j->checkpoint)))
        rc = set_aside_stale(j, &have, e);
    if (agree_root_result(j->tr->comm, 0, rc, e) != 0)
        return err_prefix(e, "%s", j->name);
    MPI_Bcast(&have, 1, MPI_INT, 0, j->tr->comm); /* one view of the file system */
    if (!have)
        return 0;
    rc = checkpoint_load(&j->tr->mc->params, j->checkpoint, j->run_hash, st, e);
    if (agree_all_ok(j->tr->comm, rc, e) != 0)
        return err_prefix(e, "resuming %s (remove the checkpoint to start over)", j->name);
    /* The state must fit this run's schedule: a damaged or foreign checkpoint must not steer the loop. */
    const long per_epoch = (j->n_examples + j->batch - 1) / j->batch, into = st->step - st->epoch * per_epoch;
    /* (A checkpoint after an epoch's last step, before the epoch is counted, has into == per_epoch.) */
    if (st->epoch > j->epochs || into < 0 || into > per_epoch || (st->epoch == j->epochs && into != 0)) {
        train_state_free(st);
        return err_set_all(e, "%s: damaged or foreign file %s: step %ld of epoch %ld does not fit %ld epochs of %ld "
                              "steps (remove it to start over)", j->name, j->checkpoint, st->step, st->epoch, j->epochs,
                           per_epoch);
    }
    log_msg(j->log, "%s: resuming at step %ld (epoch %ld) from %s", j->name, st->step, st->epoch, j->checkpoint);
    return 0;
}

/* The validation after epoch `epoch` (1-based count of epochs done), best weights and early stopping. */
static int validate(struct train_job *j, struct train_state *st, long epoch, struct err *e)
{
    double score;
    const struct dev_set *dev = j->dev;
    if (validate_dev(j->tr->mc, j->tr->comm, j->p, dev->tok, j->cache, dev->buf, dev->rows, dev->n, dev->batch,
                     dev->max_new, &score, e) != 0)
        return -1;
    train_state_add_dev(st, epoch, score);
    int best = score >= st->best_score; /* a tie goes to the later epoch */
    if (best) {
        st->best_score = score;
        st->best_epoch = epoch;
        int rc = j->tr->rank == 0 ? save_trainable(j->tr->mc, j->best_path, st->step, e) : 0;
        if (agree_root_result(j->tr->comm, 0, rc, e) != 0)
            return -1;
    }
    st->dev_total += score;
    if (j->patience > 0 && st->dev_total > 0) {
        if (st->es_best < 0 || score > st->es_best + j->min_delta) {
            st->es_best = score;
            st->es_bad = 0;
        } else if (++st->es_bad >= j->patience) {
            st->stopped_early = 1;
        }
    }
    log_msg(j->log, "%s: epoch %ld: dev score %.2f%s%s", j->name, epoch, score, best ? " (best so far)" : "",
            st->stopped_early ? "; stopping early" : "");
    return 0;
}

/* This rank's share [lo, hi) of the global batch of examples idx[0..Bg) (indices into the job's
 * examples) in `epoch`. */
static int job_batch(const struct train_job *j, const int32_t *idx, int Bg, int lo, int hi, long epoch,
                     struct vlt5_batch *b, struct err *e)
{
    int32_t *rows = xmalloc((size_t)Bg * sizeof *rows); /* [Bg] question or pair rows of the global batch */
    const long n_pairs = j->p->n_pretrain, first = j->rows ? 0 : (epoch * j->n_examples) % (n_pairs ? n_pairs : 1);
    for (int i = 0; i < Bg; i++)
        rows[i] = j->rows ? j->rows[idx[i]] : (int32_t)((first + idx[i]) % n_pairs);
    int rc = j->rows ? batch_vqa(b, j->buf, j->p, j->cache, rows, Bg, lo, hi, 1, j->seed, epoch, e)
                     : batch_pretrain(b, j->buf, j->p, j->cache, rows, Bg, lo, hi, e);
    free(rows);
    return rc;
}

static int validation_due(const struct train_job *j, long epoch_done)
{
    if (!j->dev)
        return 0;
    return epoch_done == j->epochs || (j->val_interval > 0 && epoch_done % j->val_interval == 0);
}

int train_loop(struct train_job *j, struct train_state *st, int *stop_signal, struct err *e)
{
    *stop_signal = 0;
    if (resume(j, st, e) != 0)
        return -1;
    const long per_epoch = (j->n_examples + j->batch - 1) / j->batch;
    const long total = per_epoch * j->epochs;
    const long warmup = (long)((double)total * j->warmup_ratio); /* HF: int(total * ratio) */
    int32_t *order = xmalloc((size_t)(j->n_examples ? j->n_examples : 1) * sizeof *order); /* [n] */
    struct progress prog;
    char what[200];
    snprintf(what, sizeof what, "%s: step", j->name);
    progress_start(&prog, j->log, what, total, j->log_interval);
    double t0 = now_monotonic(), seconds0 = st->seconds;
    int rc = 0;
    for (long epoch = st->epoch; epoch < j->epochs && !st->stopped_early && rc == 0; epoch++) {
        epoch_order(j->seed, epoch, j->n_examples, order);
        for (long s = st->step - epoch * per_epoch; s < per_epoch && rc == 0; s++) {
            int sig = world_poll_stop(j->tr->comm);
            /* debug.stop_after_steps stops the run here as a stop signal would (SIGUSR1: exit 75). */
            const int debug_stop = !sig && j->stop_after_steps > 0 && st->step >= j->stop_after_steps;
            if (sig || debug_stop) {
                st->seconds = seconds0 + now_monotonic() - t0;
                rc = save_checkpoint(j, st, e);
                if (rc == 0) {
                    *stop_signal = sig ? sig : SIGUSR1;
                    log_msg(j->log, "%s: %s at step %ld: checkpoint written", j->name,
                            debug_stop ? "debug.stop_after_steps" : signals_name(sig), st->step);
                }
                free(order);
                return rc;
            }
            long first = s * j->batch;
            int Bg = (int)(j->n_examples - first < j->batch ? j->n_examples - first : j->batch);
            int lo, hi;
            trainer_share(j->tr, Bg, &lo, &hi);
            struct vlt5_batch b;
            double loss, norm;
            rc = job_batch(j, order + first, Bg, lo, hi, epoch, &b, e);
            if ((rc = agree_all_ok(j->tr->comm, rc, e)) != 0)
                break;
            b.seed = j->seed;
            b.step = (uint64_t)st->step;
            b.train = 1;
            double lr = lr_linear_warmup(j->lr, st->step, warmup, total);
            rc = trainer_step(j->tr, &b, lr, st->step + 1, &loss, &norm, e);
            if (rc != 0)
                break;
            st->step++;
            st->epoch_loss += loss;
            char extra[96];
            snprintf(extra, sizeof extra, "epoch %ld/%ld  loss %.4f", epoch + 1, j->epochs, loss);
            progress_update(&prog, st->step, extra);
            if (j->checkpoint_steps > 0 && st->step % j->checkpoint_steps == 0 && st->step < total) {
                st->seconds = seconds0 + now_monotonic() - t0;
                rc = save_checkpoint(j, st, e);
            }
        }
        if (rc != 0)
            break;
        train_state_add_loss(st, st->epoch_loss / (double)per_epoch);
        st->epoch_loss = 0;
        st->epoch = epoch + 1;
        if (validation_due(j, epoch + 1))
            rc = validate(j, st, epoch + 1, e);
    }
    st->seconds = seconds0 + now_monotonic() - t0;
    free(order);
    if (rc != 0)
        return err_prefix(e, "%s", j->name);
    return 0;
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
    struct dev_set dev;
};

int save_trainable(struct model_ctx *mc, const char *path, long step, struct err *e)
{
    const struct weights_attr attrs[] = {{"step", step}};
    return params_save_h5_sel(&mc->params, path, PARAM_ANY, 1, attrs, 1, e);
}

/* The papers' early-stopping patience for the dataset (docs/training.md, "The papers' schedule"). */
static long patience_for(const struct config *cfg)
{
    if (cfg->train.patience >= 0)
        return cfg->train.patience;
    switch (cfg->data.dataset) {
    case DATASET_VQAV2: return 20;
    case DATASET_OKVQA: return 10;
    case DATASET_SYNTHETIC: return 20; /* a VQA-v2-like benchmark: its script's patience */
    default: return 0;                 /* GQA's 1000 never triggers */
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
    return json_write_file(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17), path, e);
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
    int share = chunk_share_max((int)rc_cfg->train.batch_size, (int)rc_cfg->train.chunk_examples, comm_size);
    f->decode_batch = (int)rc_cfg->eval.batch_size;
    f->max_new = (int)rc_cfg->eval.max_new_tokens;
    struct model_sizes sz = {.max_batch = share > f->decode_batch ? share : f->decode_batch,
                             .max_text = d->p.q_len,
                             .max_target = d->p.a_len,
                             .max_generate = f->max_new};
    if (model_setup(&f->mc, rc_cfg, d->vocab, d->feat_dim, MODEL_OF_RUN, &sz, e) != 0 ||
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
    f->dev = (struct dev_set){.tok = &d->tok, .rows = f->dev_rows, .n = f->k, .buf = &f->decode_buf,
                              .batch = f->decode_batch, .max_new = f->max_new};
    struct trainer tr;
    trainer_init(&tr, &f->mc, comm, (int)run_cfg->train.batch_size, run_cfg->train.bucket_mb,
                 run_cfg->train.weight_decay, run_cfg->train.adam_eps, run_cfg->train.clip_norm);
    rc = trainer_fixed_order(&tr, (int)run_cfg->train.chunk_examples, (int)run_cfg->train.batch_size,
                             run_cfg->train.chunk_keep_activations, train_room_per_rank(d, run_cfg), e);
    if (agree_all_ok(comm, rc, e) != 0) {
        trainer_free(&tr);
        finetune_free(f);
        free(f);
        return err_prefix(e, "%s", name);
    }
    if (tr.sets)
        log_msg(log, "%s: a rank's %d chunks per step keep their activations between forward and backward", name,
                tr.sets);
    tr.nan_step = run_cfg->debug.nan_gradient_step;
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
                            .p = &d->p,
                            .cache = &f->cache,
                            .buf = &f->train_buf,
                            .rows = f->train_rows,
                            .dev = &f->dev,
                            .stop_after_steps = run_cfg->debug.stop_after_steps,
                            .best_path = f->best_path,
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
                rc = train_run_stamp(d, run_cfg, name, cfg_hash, outputs, 3, d->backbone_id, st.seconds, size, e);
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
