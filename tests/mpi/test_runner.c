/* The runner end to end under MPI, with test stages that write small outputs and count their runs:
 * resume skips finished stages, changed settings and --force rerun the right ones, a failing stage
 * leaves no stamp and stops the pipeline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "pipeline/runner.h"
#include "tests/harness.h"

static int counter_bump(const struct run *r, const char *name)
{
    char path[PATH_MAX_LEN + 64], *text = NULL;
    size_t n;
    struct err e;
    snprintf(path, sizeof path, "%s/counts-%s", r->dir, name);
    int count = read_file(path, &text, &n, &e) == 0 ? atoi(text) : 0;
    free(text);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", count + 1);
    return write_file_atomic(path, buf, strlen(buf), &e);
}

static int counter(const char *dir, const char *name)
{
    char path[PATH_MAX_LEN + 64], *text = NULL;
    size_t n;
    struct err e;
    snprintf(path, sizeof path, "%s/counts-%s", dir, name);
    int count = read_file(path, &text, &n, &e) == 0 ? atoi(text) : 0;
    free(text);
    return count;
}

/* Every test stage: a collective call, rank 0 writes STAGE.txt and bumps its counter. */
static int write_stage_output(const struct config *cfg, struct run *r)
{
    const char *name = stage_name(r->stage);
    int ranks = 0, one = 1;
    MPI_Allreduce(&one, &ranks, 1, MPI_INT, MPI_SUM, r->world->comm);
    char fail_flag[PATH_MAX_LEN + 64];
    snprintf(fail_flag, sizeof fail_flag, "%s/fail-%s", r->dir, name);
    if (file_exists(fail_flag)) {
        return err_set_all(&r->err, "refusing on purpose (%s exists)", fail_flag);
    }
    char out[64];
    snprintf(out, sizeof out, "%s.txt", name);
    if (r->world->rank == 0) {
        char path[PATH_MAX_LEN + 64], body[128];
        snprintf(path, sizeof path, "%s/%s", r->dir, out);
        snprintf(body, sizeof body, "%s on %d ranks, epochs %ld\n", name, ranks, cfg->train.epochs);
        if (write_file_atomic(path, body, strlen(body), &r->err) != 0 || counter_bump(r, name) != 0)
            return -1;
    }
    if (r->stage == STAGE_PREPARE) { /* the digest of "its images": RUN/images, or a fixed one */
        char path[PATH_MAX_LEN + 64], *text = NULL, digest[HASH_HEX_LEN] = "0000000000000001";
        size_t n;
        struct err e;
        snprintf(path, sizeof path, "%s/images", r->dir);
        if (read_file(path, &text, &n, &e) == 0)
            snprintf(digest, sizeof digest, "%.16s", text);
        free(text);
        if (run_provide(r, "images", digest) != 0)
            return -1;
    }
    return run_output(r, out);
}

/* A train stage that stops on a signal (flag file "stop") or does one slice of several. */
static int train_like(const struct config *cfg, struct run *r)
{
    char flag[PATH_MAX_LEN + 64];
    snprintf(flag, sizeof flag, "%s/stop", r->dir);
    if (r->stage == STAGE_TRAIN && file_exists(flag)) {
        r->stop_signal = SIGUSR1;
        return 0;
    }
    int rc = write_stage_output(cfg, r);
    if (r->stage == STAGE_TRAIN && r->slices > 0 && r->slice < r->slices - 1)
        r->incomplete = 1;
    return rc;
}

static int forget_output(const struct config *cfg, struct run *r)
{
    (void)cfg;
    return run_output(r, "never-written.h5");
}

static struct config *config_for(struct test_ctx *t, const char *extra)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    const char *sets[] = {dir, extra ? extra : "log.interval=10"};
    CHECKF(t, config_load(cfg, NULL, sets, 2, &e) == 0, "%s", e.msg);
    return cfg;
}

static int execute(struct test_ctx *t, const struct config *cfg, int until, unsigned force, int only, struct err *e)
{
    stage_fn table[STAGE_COUNT];
    for (int s = 0; s < STAGE_COUNT; s++)
        table[s] = write_stage_output;
    struct run_options o = {.until = until, .force = force, .only = only};
    err_clear(e);
    return runner_execute(cfg, &o, table, t->world, e);
}

#define COUNTS(dir)                                                                                    \
    counter(dir, "prepare"), counter(dir, "features"), counter(dir, "train"), counter(dir, "eval"),    \
        counter(dir, "aggregate")

static void expect_counts(struct test_ctx *t, const char *dir, int p, int f, int tr, int ev, int ag)
{
    int got[5] = {COUNTS(dir)}, want[5] = {p, f, tr, ev, ag};
    for (int i = 0; i < 5; i++)
        CHECKF(t, got[i] == want[i], "stage %s ran %d times, expected %d", stage_name((enum stage_id)i), got[i],
               want[i]);
}

static void test_run_then_rerun_skips(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    CHECKF(t, execute(t, cfg, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 1, 1, 1, 1);
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/config.yaml", cfg->run.dir);
    CHECK(t, file_exists(path));
    snprintf(path, sizeof path, "%s/stamps/aggregate.json", cfg->run.dir);
    CHECK(t, file_exists(path));
    CHECKF(t, execute(t, cfg, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 1, 1, 1, 1);
    free(cfg);
}

static void test_changes_and_force(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    CHECKF(t, execute(t, cfg, STAGE_TRAIN, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 1, 1, 0, 0);
    struct config *more = config_for(t, "train.epochs=40");
    CHECKF(t, execute(t, more, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 1, 2, 1, 1);
    CHECKF(t, execute(t, more, -1, 1u << STAGE_FEATURES, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 2, 3, 2, 2);
    /* `mixphm eval --force`: eval alone. */
    CHECKF(t, execute(t, more, -1, 1u << STAGE_EVAL, STAGE_EVAL, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 2, 3, 3, 2);
    free(cfg);
    free(more);
}

static void test_failing_stage_stops_and_leaves_no_stamp(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    char flag[PATH_MAX_LEN], stamp[PATH_MAX_LEN];
    CHECKF(t, execute(t, cfg, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    snprintf(flag, sizeof flag, "%s/fail-train", cfg->run.dir);
    if (t->rank == 0)
        write_file_atomic(flag, "", 0, &e);
    world_barrier(t->world);
    struct config *more = config_for(t, "train.epochs=2");
    CHECK_INT(t, execute(t, more, -1, 0, -1, &e), -1);
    CHECK_INT(t, e.collective, 1);
    CHECK_CONTAINS(t, e.msg, "train: refusing on purpose");
    snprintf(stamp, sizeof stamp, "%s/stamps/train.json", cfg->run.dir);
    CHECK(t, !file_exists(stamp)); /* the old stamp went when the stage started */
    expect_counts(t, cfg->run.dir, 1, 1, 1, 1, 1);
    world_barrier(t->world);
    if (t->rank == 0)
        remove(flag);
    world_barrier(t->world);
    CHECKF(t, execute(t, more, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 1, 2, 2, 2);
    free(cfg);
    free(more);
}

/* features reads only prepare's images digest: prepare rerun with the same images leaves it alone. */
static void test_same_digest_skips_its_consumer(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    CHECKF(t, execute(t, cfg, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    CHECKF(t, execute(t, cfg, -1, 1u << STAGE_PREPARE, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 2, 1, 2, 2, 2);
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/images", cfg->run.dir);
    if (t->rank == 0)
        write_file_atomic(path, "00000000000000ff", 16, &e);
    world_barrier(t->world);
    CHECKF(t, execute(t, cfg, -1, 1u << STAGE_PREPARE, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 3, 2, 3, 3, 3);
    CHECKF(t, execute(t, cfg, -1, 0, -1, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 3, 2, 3, 3, 3);
    free(cfg);
}

static void test_missing_declared_output_is_an_error(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    stage_fn table[STAGE_COUNT] = {forget_output};
    struct run_options o = {.until = STAGE_PREPARE, .force = 0, .only = -1};
    err_clear(&e);
    CHECK_INT(t, runner_execute(cfg, &o, table, t->world, &e), -1);
    CHECK_CONTAINS(t, e.msg, "declared the output never-written.h5 but did not write it");
    free(cfg);
}

static void test_unbuilt_stage_is_refused(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    stage_fn table[STAGE_COUNT] = {write_stage_output, NULL};
    struct run_options o = {.until = -1, .force = 0, .only = -1};
    err_clear(&e);
    CHECK_INT(t, runner_execute(cfg, &o, table, t->world, &e), -1);
    CHECK_CONTAINS(t, e.msg, "the features stage is not built yet");
    world_barrier(t->world);
    expect_counts(t, cfg->run.dir, 1, 0, 0, 0, 0);
    free(cfg);
}

static void test_stop_signal_and_slices(struct test_ctx *t)
{
    struct config *cfg = config_for(t, NULL);
    struct err e;
    stage_fn table[STAGE_COUNT];
    for (int s = 0; s < STAGE_COUNT; s++)
        table[s] = train_like;
    char flag[PATH_MAX_LEN + 64], stamp[PATH_MAX_LEN + 64];
    snprintf(flag, sizeof flag, "%s/stop", cfg->run.dir);
    snprintf(stamp, sizeof stamp, "%s/stamps/train.json", cfg->run.dir);
    struct run_options o = {.until = -1, .force = 0, .only = -1};
    CHECKF(t, runner_execute(cfg, &o, table, t->world, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    if (t->rank == 0)
        write_file_atomic(flag, "", 0, &e);
    world_barrier(t->world);
    /* Stopped on a signal: status 75, no stamp, nothing after it runs. */
    struct run_options forced = {.until = -1, .force = 1u << STAGE_TRAIN, .only = -1};
    err_clear(&e);
    CHECK_INT(t, runner_execute(cfg, &forced, table, t->world, &e), -1);
    CHECK_INT(t, e.exit_status, EXIT_STOPPED);
    CHECK_INT(t, e.collective, 1);
    CHECK_CONTAINS(t, e.msg, "train: stopped by SIGUSR1 after saving its state");
    CHECK(t, !file_exists(stamp));
    expect_counts(t, cfg->run.dir, 1, 1, 1, 1, 1);
    world_barrier(t->world);
    if (t->rank == 0)
        remove(flag);
    world_barrier(t->world);
    /* Slice 0 of 2 is not the whole stage: no stamp; slice 1 (the last here) completes it. */
    struct run_options slice0 = {.until = -1, .force = 0, .only = STAGE_TRAIN, .slice = 0, .slices = 2};
    CHECKF(t, runner_execute(cfg, &slice0, table, t->world, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    CHECK(t, !file_exists(stamp));
    struct run_options slice1 = {.until = -1, .force = 0, .only = STAGE_TRAIN, .slice = 1, .slices = 2};
    CHECKF(t, runner_execute(cfg, &slice1, table, t->world, &e) == 0, "%s", e.msg);
    world_barrier(t->world);
    CHECK(t, file_exists(stamp));
    expect_counts(t, cfg->run.dir, 1, 1, 3, 1, 1);
    free(cfg);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"a rerun skips every finished stage", test_run_then_rerun_skips},
        {"changed settings and --force rerun the right stages", test_changes_and_force},
        {"a failing stage stops the run and leaves no stamp", test_failing_stage_stops_and_leaves_no_stamp},
        {"an input rerun with the same digest skips its consumer", test_same_digest_skips_its_consumer},
        {"an output declared but not written is an error", test_missing_declared_output_is_an_error},
        {"a stage that is not built is refused", test_unbuilt_stage_is_refused},
        {"a stop signal exits 75 without a stamp; a slice stamps only the last", test_stop_signal_and_slices},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
