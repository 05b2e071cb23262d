#include "train/pretrain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json_file.h"
#include "mpi/agree.h"
#include "train/run.h"

/* pretrain.json: the mean loss of every epoch (the pretraining curve) and what made it. */
static int write_curve(const char *path, const struct config *cfg, const struct train_state *st, long per_epoch,
                       long pairs, long params, struct err *e)
{
    json_t *o = json_object(), *loss = json_array();
    json_object_set_new(o, "pairs", json_integer(pairs));
    json_object_set_new(o, "epoch_pairs", json_integer(per_epoch));
    json_object_set_new(o, "batch_size", json_integer(cfg->pretrain.batch_size));
    json_object_set_new(o, "epochs", json_integer(st->epoch));
    json_object_set_new(o, "steps", json_integer(st->step));
    json_object_set_new(o, "params", json_integer(params));
    json_object_set_new(o, "train_seconds", json_real(st->seconds));
    for (long i = 0; i < st->n_loss; i++)
        json_array_append_new(loss, json_real(st->loss[i]));
    json_object_set_new(o, "loss", loss);
    return json_write_file(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9), path, e);
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
    char dir[PATH_MAX_LEN], ckpt[PATH_MAX_LEN + 32], backbone[PATH_MAX_LEN + 32], curve[PATH_MAX_LEN + 32];
    if (train_run_dir(d, PRETRAIN_RUN, dir, sizeof dir, e) != 0)
        return -1;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", dir);
    snprintf(backbone, sizeof backbone, "%s/backbone.h5", dir);
    snprintf(curve, sizeof curve, "%s/pretrain.json", dir);
    const long per_epoch = cfg->pretrain.epoch_pairs > 0 && cfg->pretrain.epoch_pairs < d->p.n_pretrain
                               ? cfg->pretrain.epoch_pairs
                               : d->p.n_pretrain;
    int rc = rank == 0 ? make_dirs(dir, e) : 0;
    if (agree_root_result(comm, 0, rc, e) != 0)
        return -1;
    struct image_cache cache;
    struct batch_buf buf = {0};
    struct model_ctx mc;
    rc = image_cache_load(&cache, &d->features, d->p.pt_image, d->p.n_pretrain, d->p.n_images, e);
    int share = chunk_share_max((int)cfg->pretrain.batch_size, (int)cfg->train.chunk_examples, size);
    struct model_sizes sz = {share, d->p.pt_in_len, d->p.pt_out_len, (int)cfg->eval.max_new_tokens};
    int built = 0;
    if (rc == 0)
        rc = model_setup(&mc, cfg, d->vocab, d->feat_dim, MODEL_FULL, &sz, e);
    if (rc == 0) {
        built = 1;
        vlt5_init_random(&mc.model, (uint64_t)cfg->run.seed);
        batch_buf_alloc(&buf, share, d->p.pt_in_len, d->p.pt_out_len, &cache);
    }
    if (agree_all_ok(comm, rc, e) != 0) {
        if (built)
            model_teardown(&mc);
        image_cache_free(&cache);
        return err_prefix(e, "pretraining the synthetic backbone");
    }
    struct trainer tr;
    trainer_init(&tr, &mc, comm, (int)cfg->pretrain.batch_size, cfg->train.bucket_mb, cfg->train.weight_decay,
                 cfg->train.adam_eps, cfg->train.clip_norm);
    rc = trainer_fixed_order(&tr, (int)cfg->train.chunk_examples, (int)cfg->pretrain.batch_size,
                             cfg->train.chunk_keep_activations, train_room_per_rank(d, cfg), e);
    if (agree_all_ok(comm, rc, e) != 0) {
        trainer_free(&tr);
        model_teardown(&mc);
        image_cache_free(&cache);
        batch_buf_free(&buf);
        return err_prefix(e, "pretraining the synthetic backbone");
    }
    tr.nan_step = cfg->debug.nan_gradient_step;
    struct train_job j = {.tr = &tr,
                          .name = PRETRAIN_RUN,
                          .checkpoint = ckpt,
                          .seed = (uint64_t)cfg->run.seed,
                          .n_examples = per_epoch,
                          .batch = cfg->pretrain.batch_size,
                          .epochs = cfg->pretrain.epochs,
                          .lr = cfg->pretrain.lr,
                          .warmup_ratio = cfg->pretrain.warmup_ratio,
                          .checkpoint_steps = cfg->train.checkpoint_steps,
                          .p = &d->p,
                          .cache = &cache,
                          .buf = &buf,
                          .log = log,
                          .stop_after_steps = cfg->debug.stop_after_steps,
                          .log_interval = d->log_interval};
    pretrain_hash(cfg, j.run_hash);
    struct train_state st;
    rc = train_loop(&j, &st, stop_signal, e);
    if (rc == 0 && !*stop_signal) {
        if (rank == 0) {
            static const char *const outputs[] = {"backbone.h5", "pretrain.json"};
            rc = vlt5_save(&mc.model, backbone, e);
            if (rc == 0)
                rc = write_curve(curve, cfg, &st, per_epoch, d->p.n_pretrain,
                                 (long)params_count(&mc.params, -1, PARAM_BACKBONE), e);
            if (rc == 0)
                rc = train_run_stamp(d, cfg, PRETRAIN_RUN, j.run_hash, outputs, 2, NULL, st.seconds, size, e);
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
    image_cache_free(&cache);
    batch_buf_free(&buf);
    return rc;
}
