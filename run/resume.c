#include "run/resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "run/sweep.h"

/* What each stage reads from the stages before it: a stage's whole output ("prepare"), or only a digest
 * it provides ("prepare.images": features reads prepare's image list, so a new seed in prepare's splits
 * does not recompute features). */
static const char *const inputs[STAGE_COUNT][4] = {
    [STAGE_PREPARE] = {NULL},
    [STAGE_FEATURES] = {"prepare.images", NULL},
    [STAGE_TRAIN] = {"prepare", "features", NULL},
    [STAGE_EVAL] = {"prepare", "features", "train", NULL},
    [STAGE_AGGREGATE] = {"eval", NULL},
    [STAGE_ANALYZE] = {"prepare", "features", "train", NULL},
};

int stage_inputs(enum stage_id stage, const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < 4 && inputs[stage][i] && n < max; i++)
        names[n++] = inputs[stage][i];
    return n;
}

int stage_in_pipeline(const struct config *cfg, enum stage_id stage)
{
    /* The redundancy analysis is opt-in (analyze.enabled); `mixphm analyze` runs it on demand. */
    return stage != STAGE_ANALYZE || cfg->analyze.enabled;
}

/* The stage part of an input name: "prepare.images" -> prepare. */
int stage_input_stage(const char *name)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = '\0';
    return stage_from_name(buf);
}

/* A stage whose output is the sweep's run folders (train, eval) keeps a stamp per run: it is current
 * only while every run's stamp matches that run's settings and outputs (a removed run folder, or a
 * run whose settings hash changed, makes the stage run again; it then does only those runs). */
static int runs_current(const struct config *cfg, const char *run_dir, enum stage_id stage, const struct stamp *s,
                        char *reason, size_t n)
{
    int per_run = 0;
    for (int i = 0; i < s->n_outputs; i++)
        per_run |= strcmp(s->outputs[i].path, "runs") == 0;
    if (!per_run)
        return 0;
    struct config *run_cfg = xmalloc(sizeof *run_cfg);
    struct err e;
    int rc = 0, count = sweep_count(cfg);
    for (int i = 0; i < count && rc == 0; i++) {
        char name[SWEEP_NAME_MAX], why[256];
        if (sweep_run_config(cfg, i, run_cfg, &e) != 0) {
            snprintf(reason, n, "%s", e.msg);
            rc = -1;
            break;
        }
        sweep_run_name(cfg, run_cfg, name, sizeof name);
        enum run_state st = stamp_run_state(run_dir, name, run_cfg, stage, why, sizeof why);
        if (st != RUN_DONE) {
            snprintf(reason, n, "run %s %s%s%s", name, st == RUN_NOT_DONE ? "is not done" : "is stale",
                     why[0] ? ": " : "", why);
            rc = -1;
        }
    }
    free(run_cfg);
    return rc;
}

int stage_check(const struct config *cfg, const char *run_dir, enum stage_id stage, char *reason, size_t n)
{
    char path[PATH_MAX_LEN];
    struct err e;
    struct stamp s;
    if (stamp_path(run_dir, stage_name(stage), path, sizeof path, &e) != 0) {
        snprintf(reason, n, "%s", e.msg);
        return -1;
    }
    if (stamp_read(path, &s, &e) != 0) {
        snprintf(reason, n, "%s", strcmp(e.msg, "no stamp") == 0 ? "not run yet" : e.msg);
        return -1;
    }
    int rc = 0;
    char want[HASH_HEX_LEN];
    hash_hex(config_stage_hash(cfg, stage), want);
    if (strcmp(want, s.config_hash) != 0) {
        char *now = stamp_settings_text(cfg, stage);
        char diff[400];
        stamp_settings_diff(s.settings, now, diff, sizeof diff);
        free(now);
        snprintf(reason, n, "config changed: %s", diff);
        rc = -1;
    } else if (stamp_outputs_intact(&s, run_dir, reason, n) != 0) {
        rc = -1;
    } else {
        for (int i = 0; i < s.n_consumes && rc == 0; i++) {
            int up = stage_input_stage(s.consumes[i].name);
            struct stamp u;
            char upath[PATH_MAX_LEN];
            if (up < 0 || stamp_path(run_dir, stage_name((enum stage_id)up), upath, sizeof upath, &e) != 0 ||
                stamp_read(upath, &u, &e) != 0) {
                snprintf(reason, n, "its input %s is gone", s.consumes[i].name);
                rc = -1;
                break;
            }
            const char *id = stamp_provided(&u, s.consumes[i].name);
            if (!id || strcmp(id, s.consumes[i].id) != 0) {
                snprintf(reason, n, "%s was rerun after it", s.consumes[i].name);
                rc = -1;
            }
            stamp_free(&u);
        }
    }
    if (rc == 0)
        rc = runs_current(cfg, run_dir, stage, &s, reason, n);
    stamp_free(&s);
    if (rc == 0)
        snprintf(reason, n, "up to date");
    return rc;
}

int run_write_stamp(const struct config *cfg, const struct run *r, double seconds, struct err *e)
{
    const char *outputs[STAMP_MAX_ITEMS];
    for (int i = 0; i < r->n_outputs; i++)
        outputs[i] = r->outputs[i];
    struct stamp *s = xmalloc(sizeof *s);
    char hash[HASH_HEX_LEN];
    hash_hex(config_stage_hash(cfg, r->stage), hash);
    int rc = stamp_build(s, stage_name(r->stage), hash, seconds, r->world->size, r->dir, outputs, r->n_outputs, e);
    memcpy(s->provides, r->provides, sizeof s->provides);
    s->n_provides = r->n_provides;
    const char *names[4];
    int n_in = stage_inputs(r->stage, names, 4);
    for (int i = 0; i < n_in && rc == 0; i++) {
        char upath[PATH_MAX_LEN];
        struct stamp u;
        int up = stage_input_stage(names[i]);
        if (stamp_path(r->dir, stage_name((enum stage_id)up), upath, sizeof upath, e) != 0 ||
            stamp_read(upath, &u, e) != 0) {
            rc = err_prefix(e, "stage %s finished but its input %s has no stamp", s->stage, names[i]);
            break;
        }
        rc = stamp_add_consume(s, names[i], stamp_provided(&u, names[i]), e);
        stamp_free(&u);
    }
    char path[PATH_MAX_LEN];
    if (rc == 0)
        rc = stamp_path(r->dir, s->stage, path, sizeof path, e);
    if (rc == 0)
        rc = stamp_write(path, s, cfg, e);
    free(s);
    return rc;
}
