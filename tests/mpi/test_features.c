/* The features stage under mpirun -np 1, 2 and 4: every row equals the detector's data read serially,
 * HDF5 reports every transfer as collective (not silently independent), ranks without images take part,
 * float16 and deflate, the reader API (any rows, a rank's block, independent or collective), and data
 * errors that stop every rank with one message and leave no features.h5. */
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
#include "mpi/phdf5.h"
#include "pipeline/runner.h"
#include "stages/stages.h"
#include "tests/harness.h"

/* Loads tests/data/NAME.yaml with run.dir in the test's folder and `extra` settings. */
static struct config *config_for(struct test_ctx *t, const char *name, const char *extra1, const char *extra2)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700], file[128];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    snprintf(file, sizeof file, "tests/data/%s.yaml", name);
    const char *sets[] = {dir, extra1 ? extra1 : "log.interval=10", extra2 ? extra2 : "log.interval=10"};
    CHECKF(t, config_load(cfg, file, sets, 3, &e) == 0, "%s", e.msg);
    return cfg;
}

static int run_until_features(struct test_ctx *t, const struct config *cfg, struct err *e)
{
    stage_fn table[STAGE_COUNT];
    stages_table(table);
    struct run_options o = {.until = STAGE_FEATURES, .force = 1u << STAGE_FEATURES, .only = -1};
    err_clear(e);
    int rc = runner_execute(cfg, &o, table, t->world, e);
    world_barrier(t->world);
    return rc;
}

/* Every row of features.h5 against the detector file read serially (boxes normalised as docs/data.md says). */
static void check_rows(struct test_ctx *t, const char *run_dir, int half)
{
    char path[PATH_MAX_LEN + 64];
    struct err e;
    snprintf(path, sizeof path, "%s/prepared.h5", run_dir);
    struct prepared p;
    CHECKF(t, prepared_open(&p, path, PREPARED_IMAGES, &e) == 0, "%s", e.msg);
    snprintf(path, sizeof path, "%s/features.h5", run_dir);
    struct features_file f;
    CHECKF(t, features_open(&f, path, H5P_DEFAULT, &e) == 0, "%s", e.msg);
    CHECK_INT(t, f.n_images, p.n_images);
    CHECK_INT(t, f.half, half);
    int dim = f.dim;
    float *got = xmalloc((size_t)p.n_images * 36 * dim * sizeof *got), *gb = xmalloc((size_t)p.n_images * 144 * 4);
    CHECKF(t, features_read_block(&f, 0, p.n_images, H5P_DEFAULT, got, gb, &e) == 0, "%s", e.msg);
    float *want = xmalloc(36 * (size_t)dim * sizeof *want), wb[144];
    for (long i = 0; i < p.n_images; i++) {
        struct detector_file d;
        int fi = p.image_file[i];
        CHECK_INT(t, detector_open(&d, strtab_get(&p.files, fi), p.file_layout[fi], &e), 0);
        CHECKF(t, detector_read(&d, strtab_get(&p.image_id, i), dim, want, wb, NULL, &e) == 0, "%s", e.msg);
        detector_close(&d);
        int bad = 0;
        for (int j = 0; j < 36 * dim; j++)
            bad += got[i * 36 * dim + j] != (half ? half_to_float(half_from_float(want[j])) : want[j]);
        CHECKF(t, bad == 0, "image %ld: %d feature values differ", i, bad);
        CHECK(t, memcmp(gb + i * 144, wb, sizeof wb) == 0);
    }
    struct strtab ids;
    CHECK_INT(t, features_image_ids(&f, &ids, &e), 0);
    for (long i = 0; i < p.n_images && i < ids.n; i++)
        CHECK_STR(t, strtab_get(&ids, i), strtab_get(&p.image_id, i));
    strtab_free(&ids);
    char transfer[128] = "";
    CHECK_INT(t, h5io_read_attr_str(f.file, "transfer", transfer, sizeof transfer, &e), 0);
    CHECK_STR(t, transfer, "collective");
    free(want);
    free(got);
    free(gb);
    features_close(&f);
    prepared_close(&p);
}

static void test_vqa_rows_and_collective(struct test_ctx *t)
{
    struct config *cfg = config_for(t, "vqa", NULL, NULL);
    struct err e;
    CHECKF(t, run_until_features(t, cfg, &e) == 0, "%s", e.msg);
    check_rows(t, cfg->run.dir, 0);
    free(cfg);
}

/* GQA's 3 images in chunks of one: under -np 4 one rank has no image and joins with empty selections. */
static void test_float16_deflate_and_idle_ranks(struct test_ctx *t)
{
    struct config *cfg = config_for(t, "gqa", "features.dtype=float16", "features.deflate=4");
    struct err e;
    CHECKF(t, run_until_features(t, cfg, &e) == 0, "%s", e.msg);
    check_rows(t, cfg->run.dir, 1);
    free(cfg);
}

/* The reader: unsorted rows with repeats, and each rank's block, independent and collective. */
static void test_reader(struct test_ctx *t)
{
    struct config *cfg = config_for(t, "vqa", NULL, NULL);
    struct err e;
    CHECKF(t, run_until_features(t, cfg, &e) == 0, "%s", e.msg);
    char path[PATH_MAX_LEN + 64];
    snprintf(path, sizeof path, "%s/features.h5", cfg->run.dir);
    struct features_file serial, par;
    CHECK_INT(t, features_open(&serial, path, H5P_DEFAULT, &e), 0);
    hid_t fapl = phdf5_fapl(t->world->comm);
    CHECKF(t, features_open(&par, path, fapl, &e) == 0, "%s", e.msg);
    H5Pclose(fapl);
    long n = serial.n_images;
    int dim = serial.dim;
    size_t per = 36 * (size_t)dim;
    float *all = xmalloc((size_t)n * per * sizeof *all), *allb = xmalloc((size_t)n * 144 * sizeof *allb);
    CHECK_INT(t, features_read_block(&serial, 0, n, H5P_DEFAULT, all, allb, &e), 0);
    int64_t rows[] = {7, 2, 7, 0, 11, 3, 2};
    float *f = xmalloc(7 * per * sizeof *f), *b = xmalloc(7 * 144 * sizeof *b);
    for (int collective = 0; collective < 2; collective++) {
        hid_t dxpl = phdf5_dxpl(collective);
        memset(f, 0, 7 * per * sizeof *f);
        /* Ranks ask for different numbers of rows; the last rank asks for none. */
        long mine = t->rank == t->size - 1 && t->size > 1 ? 0 : 7 - t->rank;
        CHECKF(t, features_read_rows(&par, rows, mine, dxpl, f, b, &e) == 0, "%s", e.msg);
        for (long i = 0; i < mine; i++) {
            CHECK(t, memcmp(f + i * per, all + rows[i] * per, per * sizeof *f) == 0);
            CHECK(t, memcmp(b + i * 144, allb + rows[i] * 144, 144 * sizeof *b) == 0);
        }
        long start, count;
        features_block_of(n, t->rank, t->size, &start, &count);
        float *blk = xmalloc((size_t)(count ? count : 1) * per * sizeof *blk);
        CHECKF(t, features_read_block(&par, start, count, dxpl, blk, NULL, &e) == 0, "%s", e.msg);
        CHECK(t, count == 0 || memcmp(blk, all + start * per, (size_t)count * per * sizeof *blk) == 0);
        free(blk);
        H5Pclose(dxpl);
    }
    int64_t outside = n;
    CHECK_INT(t, features_read_rows(&serial, &outside, 1, H5P_DEFAULT, f, b, &e), -1);
    CHECK_CONTAINS(t, e.msg, "outside the 12 images");
    /* Blocks cover every row once. */
    long covered = 0;
    for (int r = 0; r < 5; r++) {
        long s, c;
        features_block_of(12, r, 5, &s, &c);
        CHECK_INT(t, s, covered);
        covered += c;
    }
    CHECK_INT(t, covered, 12);
    free(f);
    free(b);
    free(all);
    free(allb);
    features_close(&par);
    features_close(&serial);
    free(cfg);
}

/* A detector file with one image of the wrong shape: every rank stops with the message of the rank
 * that read it, and no features.h5 (nor its .tmp) is left. */
static void test_bad_feature_file(struct test_ctx *t)
{
    struct config *cfg = config_for(t, "vqa", "data.vqav2.pool_features=\"bad/features_wrong_shape.h5\"", NULL);
    struct err e;
    CHECK_INT(t, run_until_features(t, cfg, &e), -1);
    CHECK_INT(t, e.collective, 1);
    CHECK_CONTAINS(t, e.msg, "features_wrong_shape.h5: image 'COCO_train2014_000000000064': 'features' should be [36, 8]");
    char path[PATH_MAX_LEN + 64];
    snprintf(path, sizeof path, "%s/features.h5", cfg->run.dir);
    CHECK(t, !file_exists(path));
    snprintf(path, sizeof path, "%s/features.h5.tmp", cfg->run.dir);
    CHECK(t, !file_exists(path));
    free(cfg);
    cfg = config_for(t, "vqa", "features.project=true", NULL);
    CHECK_INT(t, run_until_features(t, cfg, &e), -1);
    CHECK_CONTAINS(t, e.msg, "features.project: true needs model.checkpoint");
    snprintf(path, sizeof path, "%s/features.h5", cfg->run.dir);
    CHECK(t, !file_exists(path));
    free(cfg);
}

/* What parallel HDF5 1.10 does with a filtered dataset (docs/data.md): collective writes work even when
 * ranks share chunks or have nothing to write; an independent write, or one that needs a datatype
 * conversion, is refused. */
static void test_parallel_hdf5_facts(struct test_ctx *t)
{
    struct err e;
    char path[PATH_MAX_LEN + 64];
    snprintf(path, sizeof path, "%s/facts.h5", t->tmpdir);
    hid_t f = phdf5_create(path, t->world->comm, &e);
    CHECKF(t, f >= 0, "%s", e.msg);
    hsize_t dims[2] = {10, 16}, chunk[2] = {3, 16};
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_fletcher32(dcpl);
    H5Pset_deflate(dcpl, 1);
    hid_t d = H5Dcreate2(f, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    /* Rows split across the ranks without regard to the chunks of 3 (ranks share chunks); the last of 4
     * ranks gets none. */
    static const long cuts[5][5] = {{0}, {0, 10}, {0, 5, 10}, {0, 4, 7, 10}, {0, 4, 7, 10, 10}};
    const long *cut = cuts[t->size <= 4 ? t->size : 4];
    long start = t->rank < 4 ? cut[t->rank] : 10, end = t->rank < 4 ? cut[t->rank + 1] : 10;
    float buf[10 * 16];
    double dbuf[10 * 16];
    for (int i = 0; i < 160; i++)
        buf[i] = (float)(start * 16 + i), dbuf[i] = buf[i];
    struct phdf5_io io;
    phdf5_io_init(&io);
    hid_t coll = phdf5_dxpl(1), ind = phdf5_dxpl(0);
    CHECKF(t, phdf5_write_rows(d, H5T_NATIVE_FLOAT, start, end - start, buf, coll, &io, &e) == 0, "%s", e.msg);
    phdf5_io_reduce(t->world->comm, &io);
    CHECK_INT(t, io.all_collective, 1);
    CHECK_INT(t, io.causes, 0);
    phdf5_io_init(&io);
    CHECK_INT(t, phdf5_write_rows(d, H5T_NATIVE_DOUBLE, start, end - start, dbuf, coll, &io, &e), -1);
    CHECK(t, io.causes & H5D_MPIO_DATATYPE_CONVERSION);
    CHECK_CONTAINS(t, e.msg, "datatype conversion");
    phdf5_io_init(&io);
    CHECK_INT(t, phdf5_write_rows(d, H5T_NATIVE_FLOAT, start, end - start, buf, ind, &io, &e), -1);
    CHECK_INT(t, io.all_collective, 0);
    H5Pclose(coll);
    H5Pclose(ind);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
    world_barrier(t->world);
    /* The collective write is intact (and passes its checksums). */
    hid_t r = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), x = H5Dopen2(r, "x", H5P_DEFAULT);
    float back[160];
    CHECK(t, H5Dread(x, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    for (int i = 0; i < 160; i++)
        CHECK(t, back[i] == (float)i);
    H5Dclose(x);
    H5Fclose(r);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"rows equal the detector's, every transfer collective", test_vqa_rows_and_collective},
        {"float16, deflate, and ranks without images", test_float16_deflate_and_idle_ranks},
        {"reader: any rows, a rank's block, independent and collective", test_reader},
        {"a bad feature file stops every rank and leaves no output", test_bad_feature_file},
        {"parallel HDF5: filtered writes collective only, no conversion", test_parallel_hdf5_facts},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
