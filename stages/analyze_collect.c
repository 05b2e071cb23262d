/* The representations of the analyze stage: a teacher-forced forward pass (train = 0, the method's
 * inference form with merged experts) over this rank's contiguous block of the first N test examples,
 * pooled per example as MixPHM's regulariser pools them (model/peft/peft.h, peft_repr_pool and
 * peft_final_pool).  Every batch is padded to the longest question and the longest answer of all N
 * examples, so an example's pooled vectors do not depend on how the N are split over ranks or batches
 * (the regulariser's token choice and g's mean over positions depend on the padding).  The decoder is
 * fed the answer that training would draw for the example in its first epoch (docs/data.md, "Answer
 * targets"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/params_h5.h"
#include "mpi/agree.h"
#include "mpi/phdf5.h"
#include "stages/analyze.h"
#include "train/model.h"

const char *const analyze_stack_names[2] = {"encoder", "decoder"};
const char *const analyze_pair_names[ANALYZE_PAIRS] = {"ha_h", "ha_g"};

int analyze_block_load(struct analyze_block *b, struct train_data *d, MPI_Comm comm, long N, int batch, int d_model,
                       int layers, struct err *e)
{
    memset(b, 0, sizeof *b);
    b->batch = batch;
    b->d = d_model, b->layers[0] = b->layers[1] = layers;
    if (test_block_load(&b->blk, d, comm, N, batch, 1, e) != 0)
        return -1;
    const size_t slots = 2 * (1 + 2 * (size_t)layers);
    b->reps = xcalloc(slots * (size_t)(b->blk.n ? b->blk.n : 1) * (size_t)d_model, sizeof *b->reps);
    return 0;
}

void analyze_block_free(struct analyze_block *b)
{
    test_block_free(&b->blk);
    free(b->reps);
    memset(b, 0, sizeof *b);
}

static int forward_block(struct analyze_block *b, struct train_data *d, struct model_ctx *mc, uint64_t seed,
                         struct err *e)
{
    struct vlt5 *m = &mc->model;
    const int dm = b->d;
    for (long c0 = b->blk.lo; c0 < b->blk.lo + b->blk.n; c0 += b->batch) {
        const long c1 = c0 + b->batch < b->blk.lo + b->blk.n ? c0 + b->batch : b->blk.lo + b->blk.n;
        struct vlt5_batch vb;
        if (batch_vqa(&vb, &b->blk.buf, &d->p, &b->blk.cache, d->p.test, (int)b->blk.N, (int)c0, (int)c1, 1, seed, 0, e) != 0)
            return -1;
        vb.train = 0;
        if (vlt5_forward(m, &vb, e) != 0)
            return -1;
        const long at = (c0 - b->blk.lo) * dm; /* the batch's first row in this rank's block */
        for (int s = 0; s < 2; s++) {
            peft_final_pool(m, s, analyze_g(b, s) + at, dm);
            for (int l = 0; l < b->layers[s]; l++)
                peft_repr_pool(mc->peft, m, s, l, analyze_h(b, s, l) + at, analyze_ha(b, s, l) + at);
        }
    }
    return 0;
}

int analyze_collect(struct analyze_block *b, struct train_data *d, const struct config *run_cfg, const char *name,
                    MPI_Comm comm, struct err *e)
{
    char dir[PATH_MAX_LEN], weights[PATH_MAX_LEN + 32];
    if (train_run_dir(d, name, dir, sizeof dir, e) != 0)
        return agree_all_ok(comm, -1, e);
    snprintf(weights, sizeof weights, "%s/%s.h5", dir, run_cfg->analyze.weights ? "last" : "best");
    struct model_ctx mc;
    struct model_sizes sz = {b->batch, d->p.q_len, d->p.a_len, 1};
    int rc = model_setup(&mc, run_cfg, d->vocab, d->feat_dim, MODEL_OF_RUN, &sz, e);
    if (rc != 0)
        return agree_all_ok(comm, rc, e);
    const struct vlt5_dims *dims = &mc.model.dims;
    if (dims->d_model != b->d || dims->n_enc_layers != b->layers[0] || dims->n_dec_layers != b->layers[1])
        rc = err_set(e, "internal error: the model has d_model %d and %d+%d layers, the buffers %d and %d+%d",
                     dims->d_model, dims->n_enc_layers, dims->n_dec_layers, b->d, b->layers[0], b->layers[1]);
    if (rc == 0)
        rc = model_load_backbone(&mc, d->backbone, e);
    if (rc == 0)
        rc = params_load_h5_sel(&mc.params, weights, PARAM_ANY, 1, NULL, e);
    if (rc == 0) {
        peft_eval_prepare(mc.peft); /* the merged experts */
        rc = peft_repr_enable(mc.peft, e);
    }
    if (rc == 0)
        rc = forward_block(b, d, &mc, (uint64_t)run_cfg->data.seeds, e);
    model_teardown(&mc);
    return agree_all_ok(comm, rc, e);
}

/* One [N, d] dataset of `file` at `path`, this rank's rows written collectively. */
static int write_rows(hid_t file, const char *path, const float *x, const struct analyze_block *b, hid_t dxpl,
                      struct phdf5_io *io, struct err *e)
{
    hsize_t dims[2] = {(hsize_t)b->blk.N, (hsize_t)b->d};
    hid_t space = H5Screate_simple(2, dims, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE), ds;
    H5Pset_create_intermediate_group(lcpl, 1);
    H5E_BEGIN_TRY
    {
        ds = H5Dcreate2(file, path, H5T_NATIVE_FLOAT, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    }
    H5E_END_TRY;
    H5Sclose(space);
    H5Pclose(lcpl);
    if (ds < 0)
        return err_set(e, "representations.h5: cannot create %s", path);
    int rc = phdf5_write_rows(ds, H5T_NATIVE_FLOAT, b->blk.lo, b->blk.n, x, dxpl, io, e);
    H5Dclose(ds);
    return rc;
}

int analyze_save_representations(hid_t file, const struct analyze_block *b, const char *name, MPI_Comm comm,
                                 struct err *e)
{
    hid_t dxpl = phdf5_dxpl(1);
    struct phdf5_io io;
    phdf5_io_init(&io);
    int rc = 0;
    char path[SWEEP_NAME_MAX + 64];
    for (int s = 0; s < 2 && rc == 0; s++) {
        snprintf(path, sizeof path, "/%s/%s/g", name, analyze_stack_names[s]);
        rc = agree_all_ok(comm, write_rows(file, path, analyze_g(b, s), b, dxpl, &io, e), e);
        for (int l = 0; l < b->layers[s] && rc == 0; l++) {
            snprintf(path, sizeof path, "/%s/%s/layer_%d/h", name, analyze_stack_names[s], l);
            rc = agree_all_ok(comm, write_rows(file, path, analyze_h(b, s, l), b, dxpl, &io, e), e);
            snprintf(path, sizeof path, "/%s/%s/layer_%d/h_a", name, analyze_stack_names[s], l);
            if (rc == 0)
                rc = agree_all_ok(comm, write_rows(file, path, analyze_ha(b, s, l), b, dxpl, &io, e), e);
        }
    }
    H5Pclose(dxpl);
    return rc;
}
