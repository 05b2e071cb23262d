#include "pipeline/status.h"

#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "pipeline/runner.h"
#include "run/sweep.h"

static void print_stages(const struct config *cfg, FILE *out)
{
    fprintf(out, "%-10s %-8s %s\n", "stage", "state", "detail");
    for (int s = 0; s < STAGE_COUNT; s++) {
        char reason[512];
        int ok = stage_check(cfg, cfg->run.dir, (enum stage_id)s, reason, sizeof reason) == 0;
        const char *state = ok ? "done" : strcmp(reason, "not run yet") == 0 ? "-" : "stale";
        if (!ok && strcmp(state, "-") == 0 && !stage_in_pipeline(cfg, (enum stage_id)s))
            snprintf(reason, sizeof reason, "not part of `mixphm run`; run `mixphm %s`", stage_name((enum stage_id)s));
        fprintf(out, "%-10s %-8s %s\n", stage_name((enum stage_id)s), state, ok ? "" : reason);
    }
}

static const char *state_word(enum run_state st)
{
    return st == RUN_DONE ? "done" : st == RUN_STALE ? "stale" : "-";
}

static int print_runs(const struct config *cfg, FILE *out, struct err *e)
{
    int n = sweep_count(cfg);
    int done_train = 0, done_eval = 0;
    struct config *run_cfg = xmalloc(sizeof *run_cfg);
    fprintf(out, "\nsweep: %d run%s\n", n, n == 1 ? "" : "s");
    fprintf(out, "%-40s %-8s %-8s %s\n", "run", "train", "eval", "detail");
    for (int i = 0; i < n; i++) {
        if (sweep_run_config(cfg, i, run_cfg, e) != 0) {
            free(run_cfg);
            return -1;
        }
        char name[SWEEP_NAME_MAX], why_t[300], why_e[300];
        sweep_run_name(cfg, run_cfg, name, sizeof name);
        enum run_state t = stamp_run_state(cfg->run.dir, name, run_cfg, STAGE_TRAIN, why_t, sizeof why_t);
        enum run_state v = stamp_run_state(cfg->run.dir, name, run_cfg, STAGE_EVAL, why_e, sizeof why_e);
        done_train += t == RUN_DONE;
        done_eval += v == RUN_DONE;
        fprintf(out, "%-40s %-8s %-8s %s\n", name, state_word(t), state_word(v), why_t[0] ? why_t : why_e);
    }
    fprintf(out, "\n%d of %d runs trained, %d evaluated\n", done_train, n, done_eval);
    free(run_cfg);
    return 0;
}

int status_print(const char *run_dir, FILE *out, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (path_join(path, sizeof path, run_dir, "config.yaml", e) != 0)
        return -1;
    if (!dir_exists(run_dir))
        return err_set(e, "no run folder at '%s'", run_dir);
    if (!file_exists(path))
        return err_set(e, "'%s' is not a mixphm run folder: it has no config.yaml", run_dir);
    struct config *cfg = xmalloc(sizeof *cfg);
    if (config_load(cfg, path, NULL, 0, e) != 0) {
        free(cfg);
        return err_prefix(e, "the resolved config of '%s'", run_dir);
    }
    /* The folder may have been moved since it was written: describe the folder we were given. */
    snprintf(cfg->run.dir, sizeof cfg->run.dir, "%s", run_dir);
    fprintf(out, "run folder %s\n\n", run_dir);
    print_stages(cfg, out);
    int rc = print_runs(cfg, out, e);
    free(cfg);
    return rc;
}
