/* The train stage (docs/training.md): the sweep's runs, each trained data parallel by a group of
 * train.ranks_per_run ranks; groups take the next unfinished run from a shared queue.  Before the
 * sweep, the synthetic benchmark's backbone is pretrained (all ranks together) unless model.checkpoint
 * names one.  Finished runs are skipped; a stop signal checkpoints every group's current run and ends
 * the stage with exit status 75; with --slice I/N only runs I, I+N, ... are trained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/agree.h"
#include "mpi/run_queue.h"
#include "run/sweep.h"
#include "stages/stages.h"
#include "train/pretrain.h"
#include "train/run.h"

/* The backbone the sweep's runs start from: model.checkpoint, or the pretrained synthetic one. */
static int find_backbone(struct train_data *d, struct run *run, int *stop, struct err *e)
{
    const struct config *cfg = d->cfg;
    struct world *w = run->world;
    if (cfg->model.checkpoint[0] || cfg->data.dataset != DATASET_SYNTHETIC)
        return sweep_backbone_shared(d, w->comm, e);
    char why[512] = "";
    int done = w->rank == 0 ? pretrain_done(d, d->backbone_id, why, sizeof why) == 0 : 0;
    MPI_Bcast(&done, 1, MPI_INT, 0, w->comm);
    if (!done) {
        if (why[0])
            log_msg(&run->log, "pretrain: the backbone is redone: %s", why);
        log_msg(&run->log, "pretrain: training the synthetic backbone (%ld epochs over %ld pairs)",
                cfg->pretrain.epochs, d->p.n_pretrain);
        if (train_pretrain(d, w->comm, &run->log, stop, e) != 0 || *stop)
            return *stop ? 0 : -1;
    }
    return sweep_backbone_shared(d, w->comm, e);
}

/* The sweep indices this process trains (all, or one slice). */
static int *slice_runs(int n, int slice, int slices, int *count)
{
    int *list = xmalloc((size_t)(n ? n : 1) * sizeof *list);
    *count = 0;
    for (int i = 0; i < n; i++)
        if (slices < 1 || i % slices == slice)
            list[(*count)++] = i;
    return list;
}

/* Trains this group's share of the runs; *stop gets a stop signal.  Errors are the group's. */
static int train_sweep(struct train_data *d, struct run *run, const struct group *g, int *stop, struct err *e)
{
    const struct config *cfg = d->cfg;
    struct logger glog;
    char prefix[16] = "";
    if (g->count > 1)
        snprintf(prefix, sizeof prefix, "g%d", g->index);
    log_init(&glog, stderr, g->rank == 0, prefix);
    int n_list, n = sweep_count(cfg);
    int *list = slice_runs(n, run->slice, run->slices, &n_list);
    struct run_queue q;
    run_queue_create(&q, run->world, g->comm, e);
    if (run_queue_is_static(&q) && g->count > 1)
        log_msg(&glog, "no one-sided MPI on this network: the %d groups take the runs in turn", g->count);
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    int rc = 0;
    for (long i; rc == 0 && !*stop && (i = run_queue_next(&q, n_list)) >= 0;) {
        char name[SWEEP_NAME_MAX];
        rc = sweep_run_config(cfg, list[i], rc_cfg, e);
        if (rc != 0)
            break;
        sweep_run_name(cfg, rc_cfg, name, sizeof name);
        char why[512] = "";
        int done = g->rank == 0 ? train_run_done(d, rc_cfg, name, why, sizeof why) : 0;
        MPI_Bcast(&done, 1, MPI_INT, 0, g->comm);
        if (done) {
            log_msg(&glog, "%s: trained already, skipped", name);
            continue;
        }
        if (why[0]) /* the group's rank 0 knows why; only it logs */
            log_msg(&glog, "%s: trained again: %s", name, why);
        log_msg(&glog, "%s: training (%ld epochs, k %ld, seed %ld, %d rank%s)", name, rc_cfg->train.epochs,
                rc_cfg->data.sizes, rc_cfg->data.seeds, g->size, g->size > 1 ? "s" : "");
        rc = train_run(d, rc_cfg, name, g->comm, &glog, stop, e);
    }
    /* Other groups may still be taking runs: a group that stopped early drains nothing more, but the
     * window is freed collectively by everyone at the end. */
    free(rc_cfg);
    free(list);
    if (rc != 0 && g->count > 1)
        world_abort(run->world, "%s", e->msg); /* the other groups are still training */
    run_queue_free(&q);
    return rc;
}

/* Whether every run of the sweep is trained (rank-0 work): 1 or 0, or -1 with e set. */
static int sweep_complete(struct train_data *d, struct err *e)
{
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    int n = sweep_count(d->cfg), all = 1;
    for (int i = 0; i < n && all == 1; i++) {
        char name[SWEEP_NAME_MAX], why[512];
        if (sweep_run_config(d->cfg, i, rc_cfg, e) != 0) {
            all = -1;
            break;
        }
        sweep_run_name(d->cfg, rc_cfg, name, sizeof name);
        all = train_run_done(d, rc_cfg, name, why, sizeof why);
    }
    free(rc_cfg);
    return all;
}

int stage_train(const struct config *cfg, struct run *run)
{
    struct world *w = run->world;
    struct err *e = &run->err;
    struct train_data *d = xcalloc(1, sizeof *d);
    d->cfg = cfg;
    d->run_dir = run->dir;
    d->log_interval = cfg->log.interval;
    d->node_ranks = w->local_size;
    int stop = 0, rc = train_data_open(d, run->dir, PREPARED_QUESTIONS | PREPARED_IMAGES | PREPARED_PRETRAIN, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    if (run->pretrain_only && (cfg->model.checkpoint[0] || cfg->data.dataset != DATASET_SYNTHETIC)) {
        rc = err_set_all(e, "mixphm pretrain makes the synthetic benchmark's backbone: it needs data.dataset: "
                            "synthetic and an empty model.checkpoint (this config uses %s)",
                         cfg->model.checkpoint[0] ? cfg->model.checkpoint : "another dataset");
        goto out;
    }
    if ((rc = find_backbone(d, run, &stop, e)) != 0 || stop)
        goto out;
    if (run->pretrain_only) { /* no sweep: the train stage is not done, so it writes no stamp */
        log_msg(&run->log, "pretrain: the backbone is %s", d->backbone);
        run->incomplete = 1;
        goto out;
    }
    struct group g;
    if ((rc = world_split_groups(w, (int)cfg->train.ranks_per_run, &g, e)) != 0)
        goto out;
    if (g.count > 1 && w->rank == 0)
        log_msg(&run->log, "%d groups of %d rank%s train the sweep side by side", g.count, g.size,
                g.size > 1 ? "s" : "");
    rc = train_sweep(d, run, &g, &stop, e);
    group_free(&g);
    if (rc != 0)
        goto out;
    MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, w->comm);
    if (!stop) {
        int complete = w->rank == 0 ? sweep_complete(d, e) : 0;
        if ((rc = agree_root_result(w->comm, 0, complete < 0 ? -1 : 0, e)) != 0)
            goto out;
        MPI_Bcast(&complete, 1, MPI_INT, 0, w->comm);
        run->incomplete = !complete;
        rc = run_output(run, "runs");
    }
out:
    run->stop_signal = stop;
    train_data_close(d);
    free(d);
    return w->size == 1 ? err_mark_all(e, rc) : rc; /* one rank: nobody else to stop */
}
