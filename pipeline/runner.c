#include "pipeline/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "base/signals.h"
#include "mpi/agree.h"
#include "run/lock.h"
#include "run/resume.h"

#define REASON_UPSTREAM "an input stage runs first"

/* The stages whose outputs `stage` reads, directly or through other stages. */
static unsigned ancestors_of(enum stage_id stage)
{
    unsigned set = 0;
    const char *names[4];
    int n = stage_inputs(stage, names, 4);
    for (int i = 0; i < n; i++) {
        int up = stage_input_stage(names[i]);
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
            if (*mask & (1u << stage_input_stage(names[i])))
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
            return err_set_all(e, "%s needs the %s stage first (%s): run `mixphm %s CONFIG` or `mixphm run CONFIG --until %s`",
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
    struct run_lock lock = {.fd = -1};
    if (w->rank == 0) {
        rc = make_dirs(cfg->run.dir, e);
        if (rc == 0)
            rc = run_lock_take(&lock, cfg->run.dir, o->command ? o->command : "mixphm", o->force_unlock, e);
        if (rc == 0)
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
            rc = err_set_all(e, "the %s stage is not built yet in this version of mixphm", stage_name((enum stage_id)s));
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
        r->pretrain_only = o->pretrain_only;
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
            rc = err_set_all(e, "%s: stopped by %s after saving its state; run it again to continue",
                             stage_name((enum stage_id)s), signals_name(r->stop_signal));
            e->exit_status = EXIT_STOPPED;
            goto out;
        }
        if (r->incomplete) {
            if (!r->pretrain_only)
                log_msg(&r->log, "%s: slice %d/%d done; the stage is complete once every slice is",
                        stage_name((enum stage_id)s), r->slice, r->slices);
            break;
        }
        double seconds = now_monotonic() - t0;
        if (w->rank == 0)
            rc = run_write_stamp(cfg, r, seconds, e);
        if ((rc = agree_root_result(w->comm, 0, rc, e)) != 0)
            goto out;
        char took[32];
        format_duration(seconds, took, sizeof took);
        log_msg(&r->log, "%s: done in %s", stage_name((enum stage_id)s), took);
    }
out:
    run_lock_release(&lock);
    free(reasons);
    free(r);
    return rc;
}

int runner_eval_file(const struct config *cfg, const char *weights, eval_file_fn fn, struct world *w, struct err *e)
{
    struct run *r = xcalloc(1, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", cfg->run.dir);
    r->world = w;
    r->stage = STAGE_EVAL;
    log_init(&r->log, stderr, w->rank == 0, "");
    int rc = 0;
    struct run_lock lock = {.fd = -1};
    if (w->rank == 0) {
        static const enum stage_id needs[] = {STAGE_PREPARE, STAGE_FEATURES};
        rc = make_dirs(cfg->run.dir, e);
        if (rc == 0)
            rc = run_lock_take(&lock, cfg->run.dir, "mixphm eval --weights", 0, e);
        for (size_t i = 0; i < sizeof needs / sizeof needs[0] && rc == 0; i++) {
            char reason[512];
            const char *need = stage_name(needs[i]);
            if (stage_check(cfg, cfg->run.dir, needs[i], reason, sizeof reason) != 0)
                rc = err_set(e, "eval --weights needs the %s stage first (%s): run `mixphm %s CONFIG`", need, reason,
                             need);
        }
    }
    if ((rc = agree_root_result(w->comm, 0, rc, e)) == 0) {
        log_msg(&r->log, "eval: %s (no stamp: not a run of the sweep)", weights);
        if ((rc = fn(cfg, r, weights)) != 0) {
            *e = r->err;
            err_prefix(e, "eval --weights");
        }
    }
    run_lock_release(&lock);
    free(r);
    return rc;
}
