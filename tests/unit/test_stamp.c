/* Stamps and the resume decisions built on them (no MPI: the planner is rank-0 work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "run/config.h"
#include "pipeline/runner.h"
#include "run/stamp.h"
#include "tests/harness.h"

static struct config *load(struct test_ctx *t, const char *extra)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    const char *sets[] = {dir, extra ? extra : "log.interval=10"};
    CHECKF(t, config_load(cfg, NULL, sets, 2, &e) == 0, "%s", e.msg);
    return cfg;
}

/* Writes an output file and a stamp for `stage` as the runner would. */
static void finish_stage(struct test_ctx *t, const struct config *cfg, enum stage_id stage, const char *output,
                         const char *content)
{
    struct err e;
    struct stamp *s = xcalloc(1, sizeof *s);
    char path[PATH_MAX_LEN];
    snprintf(s->stage, sizeof s->stage, "%s", stage_name(stage));
    hash_hex(config_stage_hash(cfg, stage), s->config_hash);
    stamp_new_id(s->stage, s->id);
    snprintf(s->finished, sizeof s->finished, "2026-11-23T00:00:00");
    CHECK_INT(t, make_dirs(cfg->run.dir, &e), 0);
    snprintf(path, sizeof path, "%s/%s", cfg->run.dir, output);
    CHECK_INT(t, write_file_atomic(path, content, strlen(content), &e), 0);
    snprintf(s->outputs[0].path, sizeof s->outputs[0].path, "%s", output);
    s->outputs[0].size = (long long)strlen(content);
    s->n_outputs = 1;
    if (stage == STAGE_PREPARE) { /* prepare provides the digest of its image list: here, of its output */
        snprintf(s->provides[0].name, sizeof s->provides[0].name, "images");
        hash_hex(hash_str(HASH_INIT, content), s->provides[0].id);
        s->n_provides = 1;
    }
    const char *names[4];
    int n = stage_inputs(stage, names, 4);
    for (int i = 0; i < n; i++) {
        struct stamp u;
        char upath[PATH_MAX_LEN], up[64];
        snprintf(up, sizeof up, "%s", names[i]);
        up[strcspn(up, ".")] = '\0'; /* "prepare.images" is provided by prepare */
        CHECK_INT(t, stamp_path(cfg->run.dir, up, upath, sizeof upath, &e), 0);
        CHECKF(t, stamp_read(upath, &u, &e) == 0, "%s", e.msg);
        const char *id = stamp_provided(&u, names[i]);
        CHECKF(t, id != NULL, "%s provides no %s", up, names[i]);
        snprintf(s->consumes[i].name, sizeof s->consumes[i].name, "%s", names[i]);
        snprintf(s->consumes[i].id, sizeof s->consumes[i].id, "%s", id ? id : "");
        stamp_free(&u);
    }
    s->n_consumes = n;
    CHECK_INT(t, stamp_path(cfg->run.dir, s->stage, path, sizeof path, &e), 0);
    CHECKF(t, stamp_write(path, s, cfg, &e) == 0, "%s", e.msg);
    free(s);
}

static unsigned plan(struct test_ctx *t, const struct config *cfg, int until, unsigned force, int only,
                     char reasons[STAGE_COUNT][512])
{
    struct run_options o = {.until = until, .force = force, .only = only};
    unsigned mask = 0;
    struct err e;
    err_clear(&e);
    CHECKF(t, runner_plan(cfg, &o, &mask, reasons, &e) == 0, "%s", e.msg);
    return mask;
}

#define BIT(s) (1u << STAGE_##s)
#define PIPELINE (BIT(PREPARE) | BIT(FEATURES) | BIT(TRAIN) | BIT(EVAL) | BIT(AGGREGATE))

static void test_round_trip(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "12345");
    struct stamp s;
    struct err e;
    char path[PATH_MAX_LEN];
    stamp_path(cfg->run.dir, "prepare", path, sizeof path, &e);
    CHECK_INT(t, stamp_read(path, &s, &e), 0);
    CHECK_STR(t, s.stage, "prepare");
    CHECK_INT(t, s.n_outputs, 1);
    CHECK_STR(t, s.outputs[0].path, "prepared.h5");
    CHECK_INT(t, s.outputs[0].size, 5);
    CHECK_CONTAINS(t, s.settings, "data.dataset=synthetic\n");
    CHECK(t, !test_contains(s.settings, "train.epochs")); /* prepare does not read it */
    CHECK_STR(t, stamp_provided(&s, "prepare"), s.id);
    CHECK_STR(t, stamp_provided(&s, "prepare.images"), s.provides[0].id);
    CHECK(t, stamp_provided(&s, "prepare.answers") == NULL);
    stamp_free(&s);
    free(cfg);
}

static void test_malformed_stamp_is_stale_not_fatal(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    struct err e;
    char path[PATH_MAX_LEN], reason[512];
    stamp_path(cfg->run.dir, "prepare", path, sizeof path, &e);
    make_dirs(cfg->run.dir, &e);
    char dir[PATH_MAX_LEN];
    snprintf(dir, sizeof dir, "%s/stamps", cfg->run.dir);
    make_dirs(dir, &e);
    write_file_atomic(path, "{\"stage\": ", 10, &e);
    CHECK_INT(t, stage_check(cfg, cfg->run.dir, STAGE_PREPARE, reason, sizeof reason), -1);
    CHECK_CONTAINS(t, reason, "unreadable");
    write_file_atomic(path, "{\"stage\": 3}", 12, &e);
    CHECK_INT(t, stage_check(cfg, cfg->run.dir, STAGE_PREPARE, reason, sizeof reason), -1);
    CHECK_CONTAINS(t, reason, "malformed");
    free(cfg);
}

static void test_fresh_folder_runs_everything(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    char reasons[STAGE_COUNT][512];
    CHECK_INT(t, plan(t, cfg, -1, 0, -1, reasons), PIPELINE);
    CHECK_STR(t, reasons[STAGE_PREPARE], "not run yet");
    CHECK_INT(t, plan(t, cfg, STAGE_FEATURES, 0, -1, reasons), BIT(PREPARE) | BIT(FEATURES));
    free(cfg);
}

static void test_resume_after_partial_run(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    char reasons[STAGE_COUNT][512];
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "p");
    finish_stage(t, cfg, STAGE_FEATURES, "features.h5", "ff");
    /* As after a crash during train: the first two are skipped. */
    CHECK_INT(t, plan(t, cfg, -1, 0, -1, reasons), BIT(TRAIN) | BIT(EVAL) | BIT(AGGREGATE));
    CHECK_STR(t, reasons[STAGE_FEATURES], "up to date");
    finish_stage(t, cfg, STAGE_TRAIN, "runs", "x");
    finish_stage(t, cfg, STAGE_EVAL, "eval.json", "e");
    finish_stage(t, cfg, STAGE_AGGREGATE, "report.md", "r");
    /* A stage whose output is the run folders is done only when each sweep run's own stamp is. */
    CHECK_INT(t, plan(t, cfg, -1, 0, -1, reasons), BIT(TRAIN) | BIT(EVAL) | BIT(AGGREGATE));
    CHECK_CONTAINS(t, reasons[STAGE_TRAIN], "is not done");
    finish_stage(t, cfg, STAGE_TRAIN, "trained.txt", "x"); /* a stage with one output file */
    finish_stage(t, cfg, STAGE_EVAL, "eval.json", "e");
    finish_stage(t, cfg, STAGE_AGGREGATE, "report.md", "r");
    CHECK_INT(t, plan(t, cfg, -1, 0, -1, reasons), 0);
    free(cfg);
}

static void test_changed_setting_reruns_its_stage_and_after(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    char reasons[STAGE_COUNT][512];
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "p");
    finish_stage(t, cfg, STAGE_FEATURES, "features.h5", "ff");
    finish_stage(t, cfg, STAGE_TRAIN, "train.txt", "x");
    finish_stage(t, cfg, STAGE_EVAL, "eval.json", "e");
    finish_stage(t, cfg, STAGE_AGGREGATE, "report.md", "r");
    struct config *more = load(t, "train.epochs=40");
    CHECK_INT(t, plan(t, more, -1, 0, -1, reasons), BIT(TRAIN) | BIT(EVAL) | BIT(AGGREGATE));
    CHECK_STR(t, reasons[STAGE_TRAIN], "config changed: train.epochs 1000 -> 40");
    CHECK_STR(t, reasons[STAGE_EVAL], "an input stage runs first");
    struct config *metric = load(t, "eval.vqa_metric=official");
    CHECK_INT(t, plan(t, metric, -1, 0, -1, reasons), BIT(EVAL) | BIT(AGGREGATE));
    CHECK_CONTAINS(t, reasons[STAGE_AGGREGATE], "an input stage runs first");
    free(cfg);
    free(more);
    free(metric);
}

static void test_touched_output_or_rerun_upstream_is_stale(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    char reasons[STAGE_COUNT][512], path[PATH_MAX_LEN];
    struct err e;
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "p");
    finish_stage(t, cfg, STAGE_FEATURES, "features.h5", "ff");
    snprintf(path, sizeof path, "%s/features.h5", cfg->run.dir);
    write_file_atomic(path, "truncated", 9, &e);
    CHECK_INT(t, plan(t, cfg, STAGE_FEATURES, 0, -1, reasons), BIT(FEATURES));
    CHECK_CONTAINS(t, reasons[STAGE_FEATURES], "features.h5 changed size (9 bytes, was 2)");
    remove(path);
    CHECK_INT(t, plan(t, cfg, STAGE_FEATURES, 0, -1, reasons), BIT(FEATURES));
    CHECK_CONTAINS(t, reasons[STAGE_FEATURES], "output features.h5 is missing");
    finish_stage(t, cfg, STAGE_FEATURES, "features.h5", "ff");
    finish_stage(t, cfg, STAGE_TRAIN, "train.txt", "x");
    /* prepare rerun with the same image list: a new id, but features only reads the images digest. */
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "p");
    CHECK_INT(t, plan(t, cfg, STAGE_TRAIN, 0, -1, reasons), BIT(TRAIN));
    CHECK_STR(t, reasons[STAGE_FEATURES], "up to date");
    CHECK_CONTAINS(t, reasons[STAGE_TRAIN], "prepare was rerun after it");
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "q"); /* other images */
    CHECK_INT(t, plan(t, cfg, STAGE_FEATURES, 0, -1, reasons), BIT(FEATURES));
    CHECK_CONTAINS(t, reasons[STAGE_FEATURES], "prepare.images was rerun after it");
    free(cfg);
}

static void test_force_and_single_stage(struct test_ctx *t)
{
    struct config *cfg = load(t, NULL);
    char reasons[STAGE_COUNT][512];
    finish_stage(t, cfg, STAGE_PREPARE, "prepared.h5", "p");
    finish_stage(t, cfg, STAGE_FEATURES, "features.h5", "ff");
    CHECK_INT(t, plan(t, cfg, STAGE_FEATURES, BIT(PREPARE), -1, reasons), BIT(PREPARE) | BIT(FEATURES));
    CHECK_STR(t, reasons[STAGE_PREPARE], "forced");
    /* `mixphm features`: up to date, so nothing; forced, only itself. */
    CHECK_INT(t, plan(t, cfg, -1, 0, STAGE_FEATURES, reasons), 0);
    CHECK_INT(t, plan(t, cfg, -1, BIT(FEATURES), STAGE_FEATURES, reasons), BIT(FEATURES));
    CHECK_INT(t, plan(t, cfg, -1, 0, STAGE_TRAIN, reasons), BIT(TRAIN));
    /* `mixphm train` when features is stale refuses, naming what to run. */
    struct config *proj = load(t, "features.project=true");
    struct run_options o = {.until = -1, .force = 0, .only = STAGE_TRAIN};
    unsigned mask;
    struct err e;
    err_clear(&e);
    CHECK_INT(t, runner_plan(proj, &o, &mask, reasons, &e), -1);
    CHECK_CONTAINS(t, e.msg, "train needs the features stage first (config changed: features.project false -> true, "
                             "model.size (new) -> t5-base");
    CHECK_CONTAINS(t, e.msg, "mixphm features CONFIG");
    CHECK_INT(t, e.collective, 1);
    free(proj);
    free(cfg);
}

static void test_per_run_stamps(struct test_ctx *t)
{
    struct config *cfg = load(t, "data.seeds=[13]");
    struct err e;
    char path[PATH_MAX_LEN], why[300];
    CHECK_INT(t, stamp_run_state(cfg->run.dir, "mixphm-k16-s13", cfg, STAGE_TRAIN, why, sizeof why), RUN_NOT_DONE);
    struct stamp *s = xcalloc(1, sizeof *s);
    snprintf(s->stage, sizeof s->stage, "train");
    hash_hex(config_stage_hash(cfg, STAGE_TRAIN), s->config_hash);
    stamp_new_id("train", s->id);
    CHECK_INT(t, stamp_run_path(cfg->run.dir, "mixphm-k16-s13", STAGE_TRAIN, path, sizeof path, &e), 0);
    CHECKF(t, stamp_write(path, s, cfg, &e) == 0, "%s", e.msg);
    CHECK_INT(t, stamp_run_state(cfg->run.dir, "mixphm-k16-s13", cfg, STAGE_TRAIN, why, sizeof why), RUN_DONE);
    struct config *other = load(t, "train.batch_size=8");
    CHECK_INT(t, stamp_run_state(cfg->run.dir, "mixphm-k16-s13", other, STAGE_TRAIN, why, sizeof why), RUN_STALE);
    CHECK_CONTAINS(t, why, "train.batch_size 16 -> 8");
    free(s);
    free(other);
    free(cfg);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"a stamp reads back what was written", test_round_trip},
        {"a malformed stamp is stale, not fatal", test_malformed_stamp_is_stale_not_fatal},
        {"a fresh folder runs every stage (up to --until)", test_fresh_folder_runs_everything},
        {"after a crash only the unfinished stages run", test_resume_after_partial_run},
        {"a changed setting reruns its stage and the ones after", test_changed_setting_reruns_its_stage_and_after},
        {"a touched output or a rerun input makes a stage stale", test_touched_output_or_rerun_upstream_is_stale},
        {"--force, and single-stage commands", test_force_and_single_stage},
        {"per-run stamps of a sweep", test_per_run_stamps},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
