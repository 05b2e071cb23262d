/* The features stage: every rank takes a contiguous block of images (whole chunks), reads their
 * detector outputs, normalises the boxes (docs/data.md) and writes its rows of RUN/features.h5 with
 * collective parallel HDF5 transfers, in rounds that every rank joins (with an empty selection once its
 * block is done).  Layout: data/features.h, docs/data.md.  It reads only prepare's image list. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/detector.h"
#include "data/features.h"
#include "base/h5io.h"
#include "data/half.h"
#include "data/prepared.h"
#include "mpi/agree.h"
#include "model/vlt5.h"
#include "mpi/phdf5.h"
#include "stages/stages.h"

#define ROUND_BYTES (32L << 20) /* feature bytes a rank holds per round */
#define PROJECT_BATCH 16        /* images per visual-embedding call when projecting */

struct writer {
    const struct prepared *p;
    struct features_layout layout;
    long chunk;                /* images per chunk */
    long start, count;         /* this rank's block */
    long round;                /* images per round (whole chunks) */
    struct detector_file *det; /* [p->files.n], opened on first use */
    float *feat;               /* [round, 36, dim]: what is written */
    float *raw;                /* [round, 36, raw_dim] detector features when projecting, else = feat */
    int raw_dim;
    struct params proj_params; /* the backbone whose frozen visual embedding projects (features.project) */
    struct vlt5 proj;
    int projecting;
    uint16_t *feat16;          /* [round, 36, dim] when stored as float16 */
    float *boxes;              /* [round, 36, 4] */
    int32_t *hw;               /* [round, 2] */
    int zero_nonfinite;        /* features.nonfinite: zero */
    long n_zeroed;             /* values replaced so far */
    hid_t ds[4];               /* features, boxes, image_ids, image_hw */
    hid_t dxpl;
    struct phdf5_io io;
};

/* phdf5_collective_ok, with the free space said when it ran out (MPI-IO loses the reason). */
static int io_ok(const struct world *w, const char *tmp, int rc, struct err *e)
{
    long long free_bytes = rc != 0 ? fs_free_bytes(tmp) : -1;
    if (rc != 0 && free_bytes >= 0 && free_bytes < (1 << 20) && !strstr(e->msg, "no space"))
        err_prefix(e, "no space left on the device (%lld KiB free): %s", free_bytes / 1024, tmp);
    return phdf5_collective_ok(w, rc, e);
}

/* The block of whole chunks that `rank` writes. */
static void chunk_block(long n_images, long chunk, int rank, int size, long *start, long *count)
{
    long n_chunks = (n_images + chunk - 1) / chunk, c0, nc;
    features_block_of(n_chunks, rank, size, &c0, &nc);
    *start = c0 * chunk;
    long end = (c0 + nc) * chunk;
    *count = (end > n_images ? n_images : end) - *start;
    if (*count < 0)
        *count = 0;
}

/* Reads images start .. start + n - 1 (of this rank's block) into the round buffers. */
static int read_images(struct writer *w, long start, long n, struct err *e)
{
    const struct prepared *p = w->p;
    int dim = w->layout.dim;
    for (long i = 0; i < n; i++) {
        long img = start + i;
        int f = p->image_file[img];
        struct detector_file *d = &w->det[f];
        if (d->file < 0 && detector_open(d, strtab_get(&p->files, f), p->file_layout[f], e) != 0)
            return -1;
        int64_t hw[2];
        if (detector_read(d, strtab_get(&p->image_id, img), w->raw_dim, w->raw + i * N_REGIONS * w->raw_dim,
                          w->boxes + i * N_REGIONS * 4, hw, e) != 0)
            return -1;
        w->hw[2 * i] = (int32_t)hw[0];
        w->hw[2 * i + 1] = (int32_t)hw[1];
        float *x = w->raw + i * N_REGIONS * w->raw_dim; /* [36, raw_dim] */
        for (long v = 0; v < (long)N_REGIONS * w->raw_dim; v++) {
            if (isfinite(x[v]))
                continue;
            if (!w->zero_nonfinite)
                return err_set(e, "%s: image %s, region %ld: feature %ld is %g (set features.nonfinite: zero to "
                                  "replace such values by 0)", strtab_get(&p->files, f), strtab_get(&p->image_id, img),
                               v / w->raw_dim, v % w->raw_dim, x[v]);
            x[v] = 0;
            w->n_zeroed++;
        }
    }
    /* features.project: the visual tokens [36, d_model] of VL-T5's frozen visual embedding instead. */
    for (long i = 0; w->projecting && i < n; i += PROJECT_BATCH) {
        int B = (int)(n - i < PROJECT_BATCH ? n - i : PROJECT_BATCH);
        if (vlt5_visual_embed(&w->proj, w->raw + i * N_REGIONS * w->raw_dim, w->boxes + i * N_REGIONS * 4, B,
                              w->feat + i * N_REGIONS * dim, e) != 0)
            return -1;
    }
    return 0;
}

/* The backbone of model.checkpoint, to project with its frozen visual embedding (every rank). */
static int projector_open(struct writer *w, const struct config *cfg, struct err *e)
{
    if (!cfg->model.checkpoint[0])
        return err_set(e, "features.project: true needs model.checkpoint (the backbone whose visual embedding "
                          "projects the features; the synthetic benchmark's own backbone is pretrained after this "
                          "stage, so it cannot be used here)");
    struct vlt5_dims dims;
    if (vlt5_dims_from_weights(cfg->model.checkpoint, &dims, e) != 0)
        return err_prefix(e, "model.checkpoint");
    if (dims.feat_dim != w->raw_dim)
        return err_set(e, "model.checkpoint %s takes region features of %d, the detector files have %d",
                       cfg->model.checkpoint, dims.feat_dim, w->raw_dim);
    struct vlt5_options o = {.visual_bias = cfg->model.visual_bias, .max_batch = PROJECT_BATCH, .max_text = 1,
                             .max_target = 1, .max_generate = 1};
    if (vlt5_build(&w->proj, &w->proj_params, &dims, &o, e) != 0)
        return -1;
    w->projecting = 1;
    return vlt5_load(&w->proj, cfg->model.checkpoint, e);
}

static int write_round(struct writer *w, long start, long n, struct err *e)
{
    int dim = w->layout.dim;
    hid_t ftype = features_file_type(w->layout.half);
    const void *fbuf = w->feat;
    if (w->layout.half) { /* converted here: HDF5 converting would make the transfer independent */
        half_from_floats(w->feat, w->feat16, (size_t)n * N_REGIONS * (size_t)dim);
        fbuf = w->feat16;
    }
    int rc = phdf5_write_rows(w->ds[0], w->layout.half ? ftype : H5T_NATIVE_FLOAT, start, n, fbuf, w->dxpl, &w->io, e);
    if (rc == 0)
        rc = phdf5_write_rows(w->ds[1], H5T_NATIVE_FLOAT, start, n, w->boxes, w->dxpl, &w->io, e);
    if (rc == 0)
        rc = phdf5_write_rows(w->ds[3], H5T_NATIVE_INT32, start, n, w->hw, w->dxpl, &w->io, e);
    H5Tclose(ftype);
    return rc;
}

/* Rank 0 writes every image id; the others join the collective call with nothing. */
static int write_ids(struct writer *w, int rank, int id_len, struct err *e)
{
    const struct prepared *p = w->p;
    long n = rank == 0 ? p->n_images : 0;
    char *buf = xcalloc((size_t)(n ? n : 1), (size_t)id_len);
    for (long i = 0; i < n; i++)
        snprintf(buf + i * id_len, (size_t)id_len, "%s", strtab_get(&p->image_id, i));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, (size_t)id_len);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = phdf5_write_rows(w->ds[2], t, 0, n, buf, w->dxpl, &w->io, e);
    H5Tclose(t);
    free(buf);
    return rc;
}

/* The feature size of the first image (rank 0 looks, everybody learns it). */
static int probe_dim(const struct run *run, const struct prepared *p, int *dim, struct err *e)
{
    int rc = 0;
    *dim = 0;
    if (run->world->rank == 0) {
        struct detector_file d;
        int f = p->image_file[0];
        rc = detector_open(&d, strtab_get(&p->files, f), p->file_layout[f], e);
        if (rc == 0) {
            rc = detector_feature_dim(&d, strtab_get(&p->image_id, 0), dim, e);
            detector_close(&d);
        }
    }
    rc = agree_root_result(run->world->comm, 0, rc, e);
    world_bcast_bytes(run->world, dim, (int)sizeof *dim, 0);
    return rc;
}

static int write_all(struct writer *w, const struct run *run, const char *tmp, struct err *e)
{
    const struct world *world = run->world;
    long rounds = 0; /* the most any rank needs: the same number on every rank */
    for (int r = 0; r < world->size; r++) {
        long s, c;
        chunk_block(w->p->n_images, w->chunk, r, world->size, &s, &c);
        long need = (c + w->round - 1) / w->round;
        rounds = need > rounds ? need : rounds;
    }
    struct progress prog;
    progress_start(&prog, &run->log, "features: images", w->p->n_images, run->log.enabled ? 10.0 : 1e9);
    long done = 0;
    for (long r = 0; r < rounds; r++) {
        long start = w->start + r * w->round, n = w->count - r * w->round;
        n = n < 0 ? 0 : n > w->round ? w->round : n;
        int rc = read_images(w, start, n, e);
        if (agree_all_ok(world->comm, rc, e) != 0)
            return -1;
        rc = io_ok(world, tmp, write_round(w, start, n, e), e);
        long all = 0;
        MPI_Allreduce(&n, &all, 1, MPI_LONG, MPI_SUM, world->comm);
        done += all;
        progress_update(&prog, done, NULL);
    }
    return 0;
}

static int run_writer(struct writer *w, const struct config *cfg, struct run *run, const char *tmp, struct err *e)
{
    const struct prepared *p = w->p;
    const struct world *world = run->world;
    int dim;
    if (probe_dim(run, p, &w->raw_dim, e) != 0)
        return -1;
    if (cfg->features.project && agree_all_ok(world->comm, projector_open(w, cfg, e), e) != 0)
        return -1;
    dim = w->projecting ? w->proj.dims.d_model : w->raw_dim;
    w->layout = (struct features_layout){.n_images = p->n_images, .dim = dim, .half = cfg->features.dtype == FEATURE_FLOAT16,
                                         .chunk_images = cfg->features.chunk_images, .deflate = (int)cfg->features.deflate,
                                         .fletcher32 = cfg->features.fletcher32, .projected = w->projecting};
    w->chunk = features_chunk_images(&w->layout);
    chunk_block(p->n_images, w->chunk, world->rank, world->size, &w->start, &w->count);
    long per_image = (long)N_REGIONS * dim * 4;
    w->round = ROUND_BYTES / per_image / w->chunk * w->chunk;
    if (w->round < w->chunk)
        w->round = w->chunk;
    w->feat = xmalloc((size_t)w->round * (size_t)per_image);
    w->raw = w->projecting ? xmalloc((size_t)w->round * N_REGIONS * (size_t)w->raw_dim * sizeof *w->raw) : w->feat;
    w->feat16 = w->layout.half ? xmalloc((size_t)w->round * (size_t)per_image / 2) : NULL;
    w->boxes = xmalloc((size_t)w->round * N_REGIONS * 4 * sizeof *w->boxes);
    w->hw = xmalloc((size_t)w->round * 2 * sizeof *w->hw);
    int id_len = 2;
    for (long i = 0; i < p->n_images; i++)
        if ((int)strlen(strtab_get(&p->image_id, i)) + 1 > id_len)
            id_len = (int)strlen(strtab_get(&p->image_id, i)) + 1;
    log_msg(&run->log, "features: %ld images x 36 regions x %d%s (%s, chunks of %ld images%s%s) on %d ranks",
            p->n_images, dim, w->projecting ? " (projected by the frozen visual embedding)" : "",
            w->layout.half ? "float16" : "float32", w->chunk, w->layout.fletcher32 ? ", fletcher32" : "",
            w->layout.deflate ? ", deflate" : "", world->size);
    /* A full disk is said before the collective writes start (a write that fails inside them ends the
     * job through the abort path). */
    long long need = (long long)p->n_images * N_REGIONS * (dim * (w->layout.half ? 2 : 4) + 4 * 4) +
                     (long long)p->n_images * (id_len + 8) + (1 << 20), have = -1;
    if (world->rank == 0)
        have = fs_free_bytes(tmp);
    MPI_Bcast(&have, 1, MPI_LONG_LONG, 0, world->comm);
    if (have >= 0 && have < need && !w->layout.deflate)
        return err_set_all(e, "no space left for %s: it needs about %.1f MiB, the file system has %.1f MiB free", tmp,
                           (double)need / 1048576.0, (double)have / 1048576.0);
    hid_t file = phdf5_create(tmp, world->comm, e);
    int rc = agree_all_ok(world->comm, file < 0 ? -1 : 0, e);
    if (rc != 0) {
        if (file >= 0)
            H5Fclose(file);
        return -1;
    }
    rc = io_ok(world, tmp, features_create(file, &w->layout, id_len, p->images_digest, w->ds, e), e);
    if (rc == 0)
        rc = io_ok(world, tmp, write_ids(w, world->rank, id_len, e), e);
    if (rc == 0)
        rc = write_all(w, run, tmp, e);
    phdf5_io_reduce(world->comm, &w->io);
    char how[256];
    phdf5_io_describe(&w->io, how, sizeof how);
    if (rc == 0) {
        /* Recorded in the file, and said aloud: HDF5 may fall back to independent I/O silently. */
        rc = io_ok(world, tmp, h5io_attr_str(file, "transfer", how, e), e);
        if (!w->io.all_collective)
            log_warn(&run->log, "features: HDF5 did not write collectively: %s", how);
        else
            log_msg(&run->log, "features: every transfer was collective");
    }
    for (int i = 0; i < 4; i++)
        if (w->ds[i] >= 0)
            H5Dclose(w->ds[i]);
    herr_t closed;
    H5E_BEGIN_TRY
    {
        closed = H5Fclose(file);
    }
    H5E_END_TRY;
    int reason = errno;
    if (rc == 0)
        rc = io_ok(world, tmp, closed < 0 ? err_set(e, "cannot finish writing '%s'%s", tmp,
                                                             reason == ENOSPC ? ": no space left on the device" : "")
                                                   : 0, e);
    return rc;
}

int stage_features(const struct config *cfg, struct run *run)
{
    struct err *e = &run->err;
    char final[PATH_MAX_LEN], tmp[PATH_MAX_LEN], prep[PATH_MAX_LEN];
    if (run_path(run, "features.h5", final, sizeof final) != 0 || tmp_path_for(final, tmp, sizeof tmp, e) != 0 ||
        run_path(run, "prepared.h5", prep, sizeof prep) != 0) {
        return err_set_all(e, "run folder path too long");
    }
    int rc = 0;
    if (run->world->rank == 0) /* an old output goes first: a failed run leaves none */
        rc = remove_if_exists(final, e);
    if (agree_root_result(run->world->comm, 0, rc, e) != 0)
        return -1;
    struct prepared p;
    rc = prepared_open(&p, prep, PREPARED_IMAGES, e);
    if (rc == 0 && p.n_images == 0)
        rc = err_set(e, "%s lists no images", prep);
    if (agree_all_ok(run->world->comm, rc, e) != 0) {
        if (rc == 0)
            prepared_close(&p);
        return -1;
    }
    struct writer w;
    memset(&w, 0, sizeof w);
    w.p = &p;
    w.zero_nonfinite = cfg->features.nonfinite == 1;
    w.ds[0] = w.ds[1] = w.ds[2] = w.ds[3] = -1;
    w.dxpl = phdf5_dxpl(1);
    phdf5_io_init(&w.io);
    w.det = xcalloc((size_t)p.files.n, sizeof *w.det);
    for (long f = 0; f < p.files.n; f++)
        w.det[f].file = -1;
    rc = run_writer(&w, cfg, run, tmp, e);
    if (rc == 0 && w.zero_nonfinite) {
        long zeroed = 0;
        MPI_Allreduce(&w.n_zeroed, &zeroed, 1, MPI_LONG, MPI_SUM, run->world->comm);
        if (zeroed)
            log_warn(&run->log, "features: %ld NaN or infinite detector values replaced by 0 (features.nonfinite: zero)",
                     zeroed);
    }
    for (long f = 0; f < p.files.n; f++)
        detector_close(&w.det[f]);
    free(w.det);
    if (w.raw != w.feat)
        free(w.raw);
    free(w.feat);
    free(w.feat16);
    if (w.projecting)
        vlt5_free(&w.proj);
    if (w.proj_params.n)
        params_free(&w.proj_params);
    free(w.boxes);
    free(w.hw);
    H5Pclose(w.dxpl);
    prepared_close(&p);
    if (run->world->rank == 0) {
        if (rc == 0)
            rc = commit_tmp(tmp, final, e);
        if (rc != 0)
            remove(tmp);
    }
    if (agree_root_result(run->world->comm, 0, rc, e) != 0)
        return -1;
    return run_output(run, "features.h5");
}
