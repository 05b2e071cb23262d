#include "train/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/sysmem.h"
#include "mpi/agree.h"
#include "model/vlt5.h"
#include "run/stamp.h"

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
        /* Its path and its bytes: a backbone rebuilt in place (the same size, other bits) makes every
         * run trained from the old one stale. */
        uint64_t h = hash_str(HASH_INIT, cfg->model.checkpoint);
        if (hash_file(&h, cfg->model.checkpoint, e) != 0)
            return err_prefix(e, "model.checkpoint");
        hash_hex(hash_bytes(h, &size, sizeof size), d->backbone_id);
        return 0;
    }
    if (cfg->data.dataset != DATASET_SYNTHETIC)
        return err_set(e, "model.checkpoint is empty: %s needs the pretrained VL-T5 backbone (convert FewVLM's "
                          "Epoch30_base.pth with tools/convert_vlt5.py)",
                       config_enum_name("data.dataset", cfg->data.dataset));
    char why[512];
    if (pretrain_done(d, d->backbone_id, why, sizeof why) != 0)
        return err_set(e, "the synthetic backbone is not pretrained yet (RUN/runs/%s%s%s)", PRETRAIN_RUN,
                       why[0] ? ": " : "", why);
    if (train_run_dir(d, PRETRAIN_RUN, d->backbone, sizeof d->backbone, e) != 0)
        return -1;
    size_t len = strlen(d->backbone);
    snprintf(d->backbone + len, sizeof d->backbone - len, "/backbone.h5");
    return 0;
}

int sweep_backbone_shared(struct train_data *d, MPI_Comm comm, struct err *e)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int rc = rank == 0 ? sweep_backbone(d, e) : 0;
    if (agree_root_result(comm, 0, rc, e) != 0)
        return -1;
    MPI_Bcast(d->backbone, (int)sizeof d->backbone, MPI_CHAR, 0, comm);
    MPI_Bcast(d->backbone_id, HASH_HEX_LEN, MPI_CHAR, 0, comm);
    return 0;
}

int train_run_dir(const struct train_data *d, const char *name, char *out, size_t n, struct err *e)
{
    int len = snprintf(out, n, "%s/runs/%s", d->run_dir, name);
    if (len < 0 || (size_t)len >= n)
        return err_set(e, "path too long: '%s/runs/%s'", d->run_dir, name);
    return 0;
}

int train_run_done(const struct train_data *d, const struct config *run_cfg, const char *name, char *why, size_t n)
{
    struct stamp s;
    if (stamp_run_current(d->run_dir, name, run_cfg, STAGE_TRAIN, &s, why, n) != RUN_DONE)
        return 0;
    int same_backbone = 0;
    for (int i = 0; i < s.n_consumes; i++)
        if (strcmp(s.consumes[i].name, "backbone") == 0 && strcmp(s.consumes[i].id, d->backbone_id) == 0)
            same_backbone = 1;
    stamp_free(&s);
    if (!same_backbone)
        snprintf(why, n, "it was trained from another backbone");
    return same_backbone;
}

int train_run_stamp(const struct train_data *d, const struct config *run_cfg, const char *name,
                           const char *config_hash, const char *const *outputs, int n_out, const char *backbone_id,
                           double seconds, int ranks, struct err *e)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    if (train_run_dir(d, name, dir, sizeof dir, e) != 0 ||
        stamp_run_path(d->run_dir, name, STAGE_TRAIN, path, sizeof path, e) != 0)
        return -1;
    struct stamp *s = xmalloc(sizeof *s);
    int rc = stamp_build(s, "train", config_hash, seconds, ranks, dir, outputs, n_out, e);
    if (rc == 0 && backbone_id)
        rc = stamp_add_consume(s, "backbone", backbone_id, e);
    if (rc == 0)
        rc = stamp_write(path, s, run_cfg, e);
    free(s);
    return rc;
}

void pretrain_hash(const struct config *cfg, char out[HASH_HEX_LEN])
{
    static const char *const keys[] = {"run.seed", "data.dataset", "data.synthetic.", "model.", "pretrain.",
                                       "train.weight_decay", "train.adam_eps", "train.clip_norm", NULL};
    /* Pretraining runs in fp32 whatever model.precision says: fp32 and bf16 runs share the backbone. */
    struct config *c = xmalloc(sizeof *c);
    *c = *cfg;
    c->model.precision = PRECISION_FP32;
    uint64_t h = config_prefix_hash(c, keys);
    if (c->train.chunk_examples > 0) { /* hashed only when on: the released backbone keeps its hash */
        char chunk[64];
        snprintf(chunk, sizeof chunk, "\ntrain.chunk_examples=%ld", c->train.chunk_examples);
        h = hash_str(h, chunk);
    }
    hash_hex(h, out);
    free(c);
}

int pretrain_done(const struct train_data *d, char id[HASH_HEX_LEN], char *why, size_t n)
{
    char path[PATH_MAX_LEN], want[HASH_HEX_LEN], dir[PATH_MAX_LEN];
    struct err e;
    struct stamp s;
    why[0] = '\0';
    pretrain_hash(d->cfg, want);
    if (stamp_run_path(d->run_dir, PRETRAIN_RUN, STAGE_TRAIN, path, sizeof path, &e) != 0 ||
        train_run_dir(d, PRETRAIN_RUN, dir, sizeof dir, &e) != 0 || stamp_read(path, &s, &e) != 0) {
        if (strcmp(e.msg, "no stamp") != 0)
            snprintf(why, n, "%s", e.msg);
        return -1;
    }
    int ok = strcmp(s.config_hash, want) == 0;
    if (!ok)
        snprintf(why, n, "its settings changed");
    else
        ok = stamp_outputs_intact(&s, dir, why, n) == 0;
    if (ok)
        snprintf(id, HASH_HEX_LEN, "%s", s.id);
    stamp_free(&s);
    return ok ? 0 : -1;
}

int test_block_load(struct test_block *b, const struct train_data *d, MPI_Comm comm, long N, int batch,
                    int with_answers, struct err *e)
{
    memset(b, 0, sizeof *b);
    int rank, size, lo, hi;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    batch_share((int)N, rank, size, &lo, &hi);
    b->N = N;
    b->lo = lo;
    b->n = hi - lo;
    b->rows = xmalloc((size_t)(b->n ? b->n : 1) * sizeof *b->rows);
    int32_t *images = xmalloc((size_t)(b->n ? b->n : 1) * sizeof *images); /* [n] */
    for (long i = 0; i < b->n; i++) {
        b->rows[i] = d->p.test[lo + i];
        images[i] = d->p.q_image[b->rows[i]];
    }
    int rc = image_cache_load(&b->cache, &d->features, images, b->n, d->p.n_images, e);
    free(images);
    if (rc == 0)
        batch_buf_alloc(&b->buf, batch, d->p.q_len, with_answers ? d->p.a_len : 0, &b->cache);
    return rc;
}

void test_block_free(struct test_block *b)
{
    free(b->rows);
    image_cache_free(&b->cache);
    batch_buf_free(&b->buf);
    memset(b, 0, sizeof *b);
}

long long train_room_per_rank(const struct train_data *d, const struct config *cfg)
{
    const long long node = cfg->train.memory_per_node_mb > 0 ? cfg->train.memory_per_node_mb * 1048576LL
                                                             : sysmem_available();
    return node < 0 ? -1 : node / (d->node_ranks > 0 ? d->node_ranks : 1);
}
