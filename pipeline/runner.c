#include "pipeline/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "base/signals.h"
#include "mpi/agree.h"
#include "run/sweep.h"

#define REASON_UPSTREAM "an input stage runs first"

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
static int input_stage(const char *name)
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
            int up = input_stage(s.consumes[i].name);
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

/* The stages whose outputs `stage` reads, directly or through other stages. */
static unsigned ancestors_of(enum stage_id stage)
{
    unsigned set = 0;
    const char *names[4];
    int n = stage_inputs(stage, names, 4);
    for (int i = 0; i < n; i++) {
        int up = input_stage(names[i]);
        set |= (1u << up) | ancestors_of((enum stage_id)up);
    }
    return set;
}

int runner_plan(const struct config *cfg, const struct run_options *o, unsigned *mask,
                char reasons[STAGE_COUNT][512], struct err *e)
{
    *mask = 0;
    unsigned ancestors = o->only >= 0 ? ancestors_of((enum stage_id)o->only) : 0;
    for (int s = 0; s < STAGE_COUNT; s++) {
        reasons[s][0] = '\0';
        int wanted = o->only >= 0 ? (s == o->only || (ancestors & (1u << s)))
                                  : stage_in_pipeline(cfg, (enum stage_id)s);
        if (!wanted || (o->until >= 0 && s > o->until))
            continue;
        const char *names[4];
        int n_in = stage_inputs((enum stage_id)s, names, 4);
        int upstream_reruns = 0;
        for (int i = 0; i < n_in; i++)
            if (*mask & (1u << input_stage(names[i])))
                upstream_reruns = 1;
        int current = stage_check(cfg, cfg->run.dir, (enum stage_id)s, reasons[s], sizeof reasons[s]) == 0;
        if (o->force & (1u << s)) {
            snprintf(reasons[s], sizeof reasons[s], "forced");
            *mask |= 1u << s;
        } else if (upstream_reruns) {
            snprintf(reasons[s], sizeof reasons[s], "%s", REASON_UPSTREAM);
            *mask |= 1u << s;
        } else if (!current) {
            *mask |= 1u << s;
        }
    }
    if (o->only >= 0) {
        /* A stage subcommand runs its own stage only; the stages it reads from must be done. */
        for (int s = 0; s < STAGE_COUNT; s++) {
            if (!(ancestors & *mask & (1u << s)))
                continue;
            const char *only = stage_name((enum stage_id)o->only), *need = stage_name((enum stage_id)s);
            e->collective = 1;
            return err_set(e, "%s needs the %s stage first (%s): run `mixphm %s CONFIG` or `mixphm run CONFIG --until %s`",
                           only, need, reasons[s], need, only);
        }
        *mask &= 1u << o->only;
    }
    return 0;
}

int runner_write_config(const struct config *cfg, const struct logger *log, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (make_dirs(cfg->run.dir, e) != 0 || path_join(path, sizeof path, cfg->run.dir, "config.yaml", e) != 0)
        return -1;
    char *text = config_emit(cfg, "# mixphm: the resolved configuration of this run folder (written by mixphm)\n");
    char *old = NULL;
    size_t old_len = 0;
    struct err ignore;
    int same = read_file(path, &old, &old_len, &ignore) == 0 && strcmp(old, text) == 0;
    int rc = 0;
    if (!same) {
        if (old)
            log_msg(log, "the configuration of %s changed; stages whose settings changed will rerun", cfg->run.dir);
        rc = write_file_atomic(path, text, strlen(text), e);
    }
    free(old);
    free(text);
    return rc;
}

static int write_stamp(const struct config *cfg, const struct run *r, double seconds, struct err *e)
{
    struct stamp *s = xcalloc(1, sizeof *s);
    snprintf(s->stage, sizeof s->stage, "%s", stage_name(r->stage));
    hash_hex(config_stage_hash(cfg, r->stage), s->config_hash);
    stamp_new_id(s->stage, s->id);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(s->finished, sizeof s->finished, "%Y-%m-%dT%H:%M:%S", &tm);
    s->seconds = seconds;
    s->ranks = r->world->size;
    int rc = 0;
    for (int i = 0; i < r->n_outputs && rc == 0; i++) {
        char path[PATH_MAX_LEN];
        rc = path_join(path, sizeof path, r->dir, r->outputs[i], e);
        snprintf(s->outputs[i].path, sizeof s->outputs[i].path, "%s", r->outputs[i]);
        s->outputs[i].size = dir_exists(path) ? -1 : file_size(path);
        if (rc == 0 && s->outputs[i].size < 0 && !dir_exists(path))
            rc = err_set(e, "stage %s declared the output %s but did not write it", s->stage, r->outputs[i]);
        s->n_outputs++;
    }
    memcpy(s->provides, r->provides, sizeof s->provides);
    s->n_provides = r->n_provides;
    const char *names[4];
    int n_in = stage_inputs(r->stage, names, 4);
    for (int i = 0; i < n_in && rc == 0; i++) {
        char upath[PATH_MAX_LEN];
        struct stamp u;
        int up = input_stage(names[i]);
        if (stamp_path(r->dir, stage_name((enum stage_id)up), upath, sizeof upath, e) != 0 ||
            stamp_read(upath, &u, e) != 0) {
            rc = err_prefix(e, "stage %s finished but its input %s has no stamp", s->stage, names[i]);
            break;
        }
        const char *id = stamp_provided(&u, names[i]);
        snprintf(s->consumes[s->n_consumes].name, STAMP_NAME_MAX, "%s", names[i]);
        snprintf(s->consumes[s->n_consumes].id, HASH_HEX_LEN, "%s", id ? id : "");
        s->n_consumes++;
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

int runner_execute(const struct config *cfg, const struct run_options *o, const stage_fn stages[STAGE_COUNT],
                   struct world *w, struct err *e)
{
    struct run *r = xcalloc(1, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", cfg->run.dir);
    r->world = w;
    log_init(&r->log, stderr, w->rank == 0, "");
    unsigned mask = 0;
    char (*reasons)[512] = xcalloc(STAGE_COUNT, sizeof *reasons);
    int rc = 0;
    if (w->rank == 0) {
        rc = runner_write_config(cfg, &r->log, e);
        if (rc == 0)
            rc = runner_plan(cfg, o, &mask, reasons, e);
    }
    if ((rc = agree_root_result(w->comm, 0, rc, e)) != 0)
        goto out;
    world_bcast_bytes(w, &mask, (int)sizeof mask, 0);
    world_bcast_bytes(w, reasons, (int)(STAGE_COUNT * sizeof *reasons), 0);
    for (int s = 0; s < STAGE_COUNT; s++) {
        int wanted = o->only >= 0 ? s == o->only : stage_in_pipeline(cfg, (enum stage_id)s);
        if (!wanted || (o->until >= 0 && s > o->until))
            continue;
        if (!(mask & (1u << s))) {
            log_msg(&r->log, "%s: up to date, skipped", stage_name((enum stage_id)s));
            continue;
        }
        if (!stages[s]) {
            rc = err_set(e, "the %s stage is not built yet in this version of mixphm", stage_name((enum stage_id)s));
            e->collective = 1;
            goto out;
        }
        /* Planned only because an input stage was to run: that stage has run now, and what it provides
         * may be unchanged (the same image list for a new seed): then this stage is still up to date. */
        if (strcmp(reasons[s], REASON_UPSTREAM) == 0 && !(o->force & (1u << s))) {
            int current = 0;
            if (w->rank == 0)
                current = stage_check(cfg, r->dir, (enum stage_id)s, reasons[s], sizeof reasons[s]) == 0;
            world_bcast_bytes(w, &current, (int)sizeof current, 0);
            world_bcast_bytes(w, reasons[s], (int)sizeof reasons[s], 0);
            if (current) {
                log_msg(&r->log, "%s: up to date (its inputs were rerun with the same content), skipped",
                        stage_name((enum stage_id)s));
                continue;
            }
        }
        log_msg(&r->log, "%s: running (%s)", stage_name((enum stage_id)s), reasons[s]);
        char spath[PATH_MAX_LEN];
        if (w->rank == 0) {
            rc = stamp_path(r->dir, stage_name((enum stage_id)s), spath, sizeof spath, e);
            if (rc == 0)
                rc = remove_if_exists(spath, e);
        }
        if ((rc = agree_root_result(w->comm, 0, rc, e)) != 0)
            goto out;
        r->stage = (enum stage_id)s;
        r->n_outputs = r->n_provides = 0;
        r->slice = o->slice;
        r->slices = o->slices;
        r->stop_signal = r->incomplete = 0;
        err_clear(&r->err);
        double t0 = now_monotonic();
        rc = stages[s](cfg, r);
        if (rc != 0) {
            *e = r->err;
            err_prefix(e, "%s", stage_name((enum stage_id)s));
            goto out;
        }
        world_barrier(w);
        if (r->stop_signal) {
            rc = err_set(e, "%s: stopped by %s after saving its state; run it again to continue",
                         stage_name((enum stage_id)s), signals_name(r->stop_signal));
            e->collective = 1;
            e->exit_status = EXIT_STOPPED;
            goto out;
        }
        if (r->incomplete) {
            log_msg(&r->log, "%s: slice %d/%d done; the stage is complete once every slice is", stage_name((enum stage_id)s),
                    r->slice, r->slices);
            break;
        }
        double seconds = now_monotonic() - t0;
        if (w->rank == 0)
            rc = write_stamp(cfg, r, seconds, e);
        if ((rc = agree_root_result(w->comm, 0, rc, e)) != 0)
            goto out;
        char took[32];
        format_duration(seconds, took, sizeof took);
        log_msg(&r->log, "%s: done in %s", stage_name((enum stage_id)s), took);
    }
out:
    free(reasons);
    free(r);
    return rc;
}

int run_output(struct run *r, const char *relpath)
{
    if (r->n_outputs >= STAMP_MAX_ITEMS || strlen(relpath) >= STAMP_PATH_MAX)
        return err_set(&r->err, "too many outputs (or too long a name) for one stage: %s", relpath);
    snprintf(r->outputs[r->n_outputs++], STAMP_PATH_MAX, "%s", relpath);
    return 0;
}

int run_provide(struct run *r, const char *name, const char digest[HASH_HEX_LEN])
{
    if (r->n_provides >= STAMP_MAX_ITEMS || strlen(name) >= STAMP_NAME_MAX)
        return err_set(&r->err, "too many provides for one stage: %s", name);
    snprintf(r->provides[r->n_provides].name, STAMP_NAME_MAX, "%s", name);
    snprintf(r->provides[r->n_provides].id, HASH_HEX_LEN, "%s", digest);
    r->n_provides++;
    return 0;
}

int run_path(const struct run *r, const char *rel, char *out, size_t n)
{
    struct err e;
    return path_join(out, n, r->dir, rel, &e);
}
