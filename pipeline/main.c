/* mixphm: the driver.  Parses the command line, then either runs pipeline stages under MPI or a tool
 * command that needs no MPI (status, params, score, submit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/signals.h"
#include "mpi/world.h"
#include "nn/bf16_matmul.h"
#include "nn/blas_env.h"
#include "pipeline/cli.h"
#include "pipeline/estimate.h"
#include "run/config.h"
#include "pipeline/params_cmd.h"
#include "pipeline/runner.h"
#include "pipeline/score_cmd.h"
#include "pipeline/status.h"
#include "pipeline/submit.h"
#include "stages/stages.h"

#ifndef MIXPHM_VERSION
#define MIXPHM_VERSION "unknown"
#endif

/* Creates the (empty) file that environment variable `var` names, when it names one. */
static void touch_env_file(const char *var)
{
    const char *path = getenv(var);
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (!f || fclose(f) != 0)
        fprintf(stderr, "mixphm: warning: cannot write %s '%s'\n", var, path);
}

static int run_stages(const struct cli *c, int *argc, char ***argv)
{
    struct world w;
    struct err e;
    err_clear(&e);
    /* Stop signals from the batch system are recorded and polled by the stages at safe points
     * (base/signals.h). */
    if (signals_catch_stop() != 0) {
        fprintf(stderr, "mixphm: error: cannot install the stop-signal handler\n");
        return 1;
    }
    if (world_init(&w, argc, argv, &e) != 0) {
        fprintf(stderr, "mixphm: error: %s\n", e.msg);
        return 1;
    }
    char warning[512];
    if (w.rank == 0 && blas_core_warning(warning, sizeof warning))
        fprintf(stderr, "mixphm: warning: %s\n", warning);

    struct config *cfg = xmalloc(sizeof *cfg);
    if (err_mark_all(&e, config_load(cfg, c->config, c->sets, c->n_sets, &e)) != 0) { /* every rank read the same files */
        world_fail(&w, &e);
    }
    /* bf16 is refused here, before any stage, when the build or this CPU cannot run it (each rank
     * checks its own node); rank 0 logs what oneDNN dispatches to. */
    if (cfg->model.precision == PRECISION_BF16) {
        struct bf16_ctx *bc;
        if (bf16_ctx_create(&bc, &e) != 0) {
            if (!bf16_built())
                err_mark_all(&e, -1); /* a build without oneDNN: every rank refuses alike */
            world_fail(&w, &e);
        }
        char what[512];
        bf16_ctx_describe(bc, what, sizeof what);
        const int native = bf16_ctx_native(bc);
        bf16_ctx_free(bc);
        struct logger lg;
        log_init(&lg, stdout, w.rank == 0, "");
        log_msg(&lg, "model.precision bf16: %s", what);
        if (!native && w.rank == 0)
            log_warn(&lg, "this CPU has no bf16 instructions (avx512_bf16, amx_bf16): oneDNN emulates them, "
                          "more slowly than fp32 runs");
    }
    char command[1024] = "mixphm";
    for (int i = 1; i < *argc; i++) { /* named in the run folder's lock: who holds it */
        size_t len = strlen(command);
        snprintf(command + len, sizeof command - len, " %s", (*argv)[i]);
    }
    struct run_options o = {.until = c->until,
                            .force = c->force,
                            .only = c->command == CMD_STAGE ? c->stage : -1,
                            .slice = c->slice,
                            .slices = c->slices,
                            .command = command,
                            .force_unlock = c->force_unlock,
                            .pretrain_only = c->pretrain_only};
    stage_fn table[STAGE_COUNT];
    stages_table(table);
    if (c->weights ? runner_eval_file(cfg, c->weights, eval_weights_file, &w, &e)
                   : runner_execute(cfg, &o, table, &w, &e)) {
        /* A stage that saved its state on a stop signal says so in a file as well as by exit status 75:
         * a launcher may rewrite the status (mpirun exits 1 after a SIGTERM of its own). */
        if (e.exit_status == EXIT_STOPPED && w.rank == 0)
            touch_env_file("MIXPHM_STOPPED_FILE");
        world_fail(&w, &e);
    }
    free(cfg);
    /* The job scripts ask for proof that the stage ran to its end: a launcher may report success for a
     * step that never started (srun does when the step launch fails). */
    if (w.rank == 0)
        touch_env_file("MIXPHM_DONE_FILE");
    world_finalize(&w);
    return 0;
}

/* `mixphm estimate`: MPI is started for the trainer it calibrates (one process is enough). */
static int run_estimate(const struct cli *c, int *argc, char ***argv)
{
    struct world w;
    struct err e;
    err_clear(&e);
    if (world_init(&w, argc, argv, &e) != 0) {
        fprintf(stderr, "mixphm estimate: error: %s\n", e.msg);
        return 1;
    }
    struct config *cfg = xmalloc(sizeof *cfg);
    int rc = config_load(cfg, c->config, c->sets, c->n_sets, &e);
    struct estimate_options o = {.calibration = c->calibration, .hours = c->hours, .repeats = 3};
    if (rc == 0 && w.rank == 0)
        rc = estimate_command(cfg, &o, stdout, &e);
    if (rc != 0 && w.rank == 0)
        fprintf(stderr, "mixphm estimate: error: %s\n", e.msg);
    free(cfg);
    world_finalize(&w);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct cli c;
    int rc = cli_parse(argc, argv, &c, stderr);
    if (rc != 0)
        return rc;
    struct err e;
    err_clear(&e);
    switch (c.command) {
    case CMD_HELP:
        if (cli_help(c.help_topic, stdout) != 0) {
            fprintf(stderr, "mixphm: no help for '%s': it is not a command (see `mixphm --help`)\n", c.help_topic);
            return 2;
        }
        return 0;
    case CMD_VERSION:
        printf("mixphm %s\n", MIXPHM_VERSION);
        return 0;
    case CMD_STATUS:
        if (status_print(c.config, stdout, &e) != 0) {
            fprintf(stderr, "mixphm status: error: %s\n", e.msg);
            return 1;
        }
        return 0;
    case CMD_SUBMIT:
        if (submit_command(c.config, c.sets, c.n_sets, c.scheduler, c.from, c.whole, c.dry_run, stdout, &e) != 0) {
            fprintf(stderr, "mixphm submit: error: %s\n", e.msg);
            return 1;
        }
        return 0;
    case CMD_SCORE:
        if (score_command(&c, stdout, &e) != 0) {
            fprintf(stderr, "mixphm score: error: %s\n", e.msg);
            return 1;
        }
        return 0;
    case CMD_PARAMS:
        if (params_command(c.config, c.sets, c.n_sets, stdout, &e) != 0) {
            fprintf(stderr, "mixphm params: error: %s\n", e.msg);
            return 1;
        }
        return 0;
    case CMD_RUN:
    case CMD_STAGE:
        return run_stages(&c, &argc, &argv);
    case CMD_ESTIMATE:
        return run_estimate(&c, &argc, &argv);
    }
    return 1;
}
