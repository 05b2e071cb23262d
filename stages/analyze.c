/* The analyze stage (stages/analyze.h, docs/analysis.md): which runs are analysed, the statistics of
 * each on a BLACS grid over every rank of the world, and the outputs.  The representations stay
 * distributed in contiguous row blocks (no rank ever holds all N rows); the engine lays them out
 * block-cyclically itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/signals.h"
#include "mpi/agree.h"
#include "mpi/phdf5.h"
#include "train/config_model.h"
#include "stages/analyze.h"
#include "stages/stages.h"

/* What happens to sweep run i: analysed, or skipped and why. */
enum run_plan { PLAN_ANALYZE, PLAN_NO_ADAPTER, PLAN_NOT_TRAINED };

/* Why a method is not analysed: it has no adapter after the FFN (docs/analysis.md). */
static const char *skip_reason(int method)
{
    if (method == PEFT_LORA)
        return "lora changes the attention's q and v projections and has no adapter after the FFN whose output "
               "would be h_a: skipped";
    return method == PEFT_FULL ? "full fine-tuning has no adapter (no h_a to compare): skipped"
                                    : "bitfit has no adapter (no h_a to compare): skipped";
}

/* The plan of every sweep run (rank 0 reads the stamps, every rank gets the result). */
static int plan_runs(struct train_data *d, const struct config *cfg, int *plan, int n, MPI_Comm comm,
                     const struct logger *log, struct err *e)
{
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    int rank, rc = 0;
    MPI_Comm_rank(comm, &rank);
    for (int i = 0; i < n && rc == 0; i++) {
        char name[SWEEP_NAME_MAX], why[512] = "";
        rc = sweep_run_config(cfg, i, rc_cfg, e);
        if (rc != 0)
            break;
        sweep_run_name(cfg, rc_cfg, name, sizeof name);
        plan[i] = PLAN_ANALYZE;
        if (!peft_has_ffn_adapter(rc_cfg->peft.method))
            plan[i] = PLAN_NO_ADAPTER;
        else if (rank == 0 && !train_run_done(d, rc_cfg, name, why, sizeof why))
            plan[i] = PLAN_NOT_TRAINED;
        MPI_Bcast(&plan[i], 1, MPI_INT, 0, comm);
        if (plan[i] == PLAN_NO_ADAPTER)
            log_msg(log, "%s: %s", name, skip_reason(rc_cfg->peft.method));
        else if (plan[i] == PLAN_NOT_TRAINED)
            log_msg(log, "%s: not trained with the current settings%s%s, skipped", name, why[0] ? ": " : "", why);
    }
    free(rc_cfg);
    return rc;
}

/* The statistics of one run's collected representations, every layer of both stacks. */
static int run_statistics(const struct analyze_block *b, const struct blacs_grid *grid, int block,
                          struct analyze_result *res, struct err *e)
{
    const int nl = (int)b->blk.n;
    for (int s = 0; s < 2; s++) {
        struct redundancy_rep g;
        if (redundancy_rep_init(&g, grid, analyze_g(b, s), nl, b->d, block, e) != 0)
            return err_prefix(e, "%s %s output g", res->name, analyze_stack_names[s]);
        for (int l = 0; l < b->layers[s]; l++) {
            struct redundancy_rep ha, h;
            if (redundancy_rep_init(&ha, grid, analyze_ha(b, s, l), nl, b->d, block, e) != 0) {
                redundancy_rep_free(&g);
                return err_prefix(e, "%s %s layer %d h_a", res->name, analyze_stack_names[s], l);
            }
            if (redundancy_rep_init(&h, grid, analyze_h(b, s, l), nl, b->d, block, e) != 0) {
                redundancy_rep_free(&ha), redundancy_rep_free(&g);
                return err_prefix(e, "%s %s layer %d h", res->name, analyze_stack_names[s], l);
            }
            int rc = redundancy_pair(&ha, &h, analyze_stats_at(res, s, l, 0), e);
            if (rc == 0)
                rc = redundancy_pair(&ha, &g, analyze_stats_at(res, s, l, 1), e);
            redundancy_rep_free(&h), redundancy_rep_free(&ha);
            if (rc != 0) {
                redundancy_rep_free(&g);
                return err_prefix(e, "%s %s layer %d", res->name, analyze_stack_names[s], l);
            }
        }
        redundancy_rep_free(&g);
    }
    return 0;
}

/* One line per run in the log: the statistics averaged over each stack's layers. */
static void log_run(const struct logger *log, const struct analyze_result *r, double seconds)
{
    char text[512] = "";
    for (int s = 0; s < 2; s++) {
        double sum[ANALYZE_PAIRS] = {0};
        for (int l = 0; l < r->layers[s]; l++)
            for (int p = 0; p < ANALYZE_PAIRS; p++)
                sum[p] += analyze_stats_at(r, s, l, p)->cka_linear;
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s%s linear CKA (h_a, h) %.3f, (h_a, g) %.3f", s ? "; " : "",
                 analyze_stack_names[s], sum[0] / r->layers[s], sum[1] / r->layers[s]);
    }
    log_msg(log, "%s: analysed in %.1f s; mean over layers: %s", r->name, seconds, text);
}

struct outputs {
    char dir[PATH_MAX_LEN], h5[PATH_MAX_LEN], md[PATH_MAX_LEN], reps[PATH_MAX_LEN], reps_tmp[PATH_MAX_LEN];
};

/* Rank 0: redundancy.h5, the plots and redundancy.md. */
static int write_outputs(const struct outputs *o, const struct config *cfg, const struct analyze_result *res,
                         int n_res, long N, const struct logger *log, struct err *e)
{
    const char *weights = config_enum_name("analyze.weights", cfg->analyze.weights);
    if (analyze_write_h5(o->h5, res, n_res, N, (int)cfg->analyze.block, weights, e) != 0)
        return -1;
    char note[ERR_MSG_MAX + 64] = "";
    struct err pe;
    if (analyze_plot(o->dir, res, n_res, N, &pe) != 0) {
        log_warn(log, "%s", pe.msg);
        snprintf(note, sizeof note, "(No plots: %s)", pe.msg);
    }
    return analyze_write_markdown(o->md, res, n_res, N, weights, note, e);
}

static int outputs_paths(struct run *run, struct outputs *o, struct err *e)
{
    if (run_path(run, "analysis", o->dir, sizeof o->dir) != 0 ||
        run_path(run, "analysis/redundancy.h5", o->h5, sizeof o->h5) != 0 ||
        run_path(run, "analysis/redundancy.md", o->md, sizeof o->md) != 0 ||
        run_path(run, "analysis/representations.h5", o->reps, sizeof o->reps) != 0 ||
        tmp_path_for(o->reps, o->reps_tmp, sizeof o->reps_tmp, e) != 0)
        return err_set(e, "run folder path too long: %s", run->dir);
    return 0;
}

/* Rank 0: the folder, without the outputs of an earlier analysis (a failed run leaves none). */
static int outputs_clear(const struct outputs *o, struct err *e)
{
    if (make_dirs(o->dir, e) != 0 || remove_if_exists(o->h5, e) != 0 || remove_if_exists(o->md, e) != 0 ||
        remove_if_exists(o->reps, e) != 0)
        return -1;
    return 0;
}

/* Collects, saves and compares every planned run; results in res (n_res of them). */
static int analyze_runs(struct train_data *d, const struct config *cfg, const int *plan, int n, struct analyze_block *b,
                        hid_t reps_file, struct analyze_result *res, int *n_res, struct run *run, struct err *e)
{
    const MPI_Comm comm = run->world->comm;
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    struct blacs_grid grid;
    int rc = blacs_grid_init(&grid, comm, 0, 0, e);
    if (rc != 0) {
        free(rc_cfg);
        return agree_all_ok(comm, rc, e);
    }
    log_msg(&run->log, "analyze: %ld test examples on a %d x %d BLACS grid, blocks of %ld", b->blk.N, grid.nprow,
            grid.npcol, cfg->analyze.block);
    for (int i = 0; i < n && rc == 0; i++) {
        if (plan[i] != PLAN_ANALYZE)
            continue;
        /* A stop signal ends the stage between runs (nothing of a run half done is kept): exit 75. */
        if ((run->stop_signal = world_poll_stop(comm)) != 0) {
            log_msg(&run->log, "analyze: %s: stopping before %s", signals_name(run->stop_signal), "the next run");
            break;
        }
        struct analyze_result *r = &res[(*n_res)++];
        rc = sweep_run_config(cfg, i, rc_cfg, e);
        if (rc != 0)
            break;
        sweep_run_name(cfg, rc_cfg, r->name, sizeof r->name);
        sweep_run_label(cfg, rc_cfg, r->method, sizeof r->method); /* the report's row: its variant too */
        r->k = rc_cfg->data.sizes, r->seed = rc_cfg->data.seeds;
        r->layers[0] = b->layers[0], r->layers[1] = b->layers[1];
        r->layers_max = b->layers[0] > b->layers[1] ? b->layers[0] : b->layers[1]; /* custom sizes may differ */
        r->stats = xcalloc((size_t)2 * r->layers_max * ANALYZE_PAIRS, sizeof *r->stats);
        double t0 = now_monotonic();
        rc = analyze_collect(b, d, rc_cfg, r->name, comm, e);
        if (rc == 0 && reps_file >= 0)
            rc = analyze_save_representations(reps_file, b, r->name, comm, e);
        if (rc == 0)
            rc = run_statistics(b, &grid, (int)cfg->analyze.block, r, e);
        if (rc == 0)
            log_run(&run->log, r, now_monotonic() - t0);
        else
            err_prefix(e, "%s", r->name);
    }
    blacs_grid_free(&grid);
    blacs_exit();
    free(rc_cfg);
    return rc;
}

int stage_analyze(const struct config *cfg, struct run *run)
{
    struct world *w = run->world;
    struct err *e = &run->err;
    struct outputs o;
    int rc = outputs_paths(run, &o, e);
    if (rc == 0 && w->rank == 0)
        rc = outputs_clear(&o, e);
    if (agree_root_result(w->comm, 0, rc, e) != 0)
        return -1;
    struct train_data *d = xcalloc(1, sizeof *d);
    d->cfg = cfg;
    d->run_dir = run->dir;
    const int n = sweep_count(cfg);
    int *plan = xcalloc((size_t)n, sizeof *plan);
    struct analyze_result *res = xcalloc((size_t)n, sizeof *res);
    struct analyze_block b = {0};
    int n_res = 0, n_todo = 0;
    hid_t reps_file = H5I_INVALID_HID;
    rc = train_data_open(d, run->dir, PREPARED_QUESTIONS | PREPARED_IMAGES, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0 || (rc = sweep_backbone_shared(d, w->comm, e)) != 0)
        goto out;
    struct vlt5_dims dims;
    rc = config_vlt5_dims(cfg, d->vocab, d->feat_dim, &dims, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    if ((rc = plan_runs(d, cfg, plan, n, w->comm, &run->log, e)) != 0)
        goto out;
    for (int i = 0; i < n; i++)
        n_todo += plan[i] == PLAN_ANALYZE;
    long N = cfg->analyze.examples < d->p.n_test ? cfg->analyze.examples : d->p.n_test;
    if (n_todo == 0) {
        rc = err_set_all(e, "no trained run of the sweep has an adapter to analyse (methods houlsby, pfeiffer, compacter, "
                        "compacter++, adamix, mixphm; run the train stage first)");
        goto out;
    }
    if (N < 2) {
        rc = err_set_all(e, "the test split has %ld example%s; the analysis needs at least 2", (long)d->p.n_test,
                         d->p.n_test == 1 ? "" : "s");
        goto out;
    }
    if (N < cfg->analyze.examples)
        log_msg(&run->log, "analyze: analyze.examples %ld is more than the test split has: using all %ld", cfg->analyze.examples, N);
    rc = analyze_block_load(&b, d, w->comm, N, (int)cfg->eval.batch_size, dims.d_model, dims.n_enc_layers, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    if (cfg->analyze.save_representations) {
        reps_file = phdf5_create(o.reps_tmp, w->comm, e);
        if ((rc = agree_all_ok(w->comm, reps_file < 0 ? -1 : 0, e)) != 0)
            goto out;
    }
    rc = analyze_runs(d, cfg, plan, n, &b, reps_file, res, &n_res, run, e);
    if (rc == 0 && run->stop_signal) { /* stopped between runs: no partial outputs; rerun to analyse again */
        if (reps_file >= 0) {
            H5Fclose(reps_file);
            if (w->rank == 0)
                remove(o.reps_tmp);
        }
        goto out;
    }
    if (reps_file >= 0) {
        herr_t closed = H5Fclose(reps_file);
        int crc = agree_all_ok(w->comm, closed < 0 ? err_set(e, "cannot finish writing '%s'", o.reps_tmp) : 0, e);
        rc = rc ? rc : crc;
        if (w->rank == 0 && rc == 0)
            rc = commit_tmp(o.reps_tmp, o.reps, e);
        if (w->rank == 0 && rc != 0)
            remove(o.reps_tmp);
        rc = agree_root_result(w->comm, 0, rc, e);
    }
    if (rc == 0 && w->rank == 0)
        rc = write_outputs(&o, cfg, res, n_res, N, &run->log, e);
    if (rc == 0)
        rc = agree_root_result(w->comm, 0, rc, e);
    if (rc == 0)
        rc = run_output(run, "analysis/redundancy.h5");
    if (rc == 0)
        rc = run_output(run, "analysis/redundancy.md");
    if (rc == 0 && cfg->analyze.save_representations)
        rc = run_output(run, "analysis/representations.h5");
out:
    for (int i = 0; i < n_res; i++)
        free(res[i].stats);
    free(res);
    free(plan);
    analyze_block_free(&b);
    train_data_close(d);
    free(d);
    return rc;
}
