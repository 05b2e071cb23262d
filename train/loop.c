#include "train/loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "base/signals.h"
#include "mpi/agree.h"
#include "mpi/world.h"
#include "train/batch.h"

/* Writes the checkpoint on the group's rank 0; every rank learns the outcome. */
static int save_checkpoint(struct train_job *j, const struct train_state *st, struct err *e)
{
    int rc = 0;
    if (j->tr->rank == 0)
        rc = checkpoint_save(&j->tr->mc->params, j->checkpoint, j->run_hash, st, e);
    return agree_root_result(j->tr->comm, 0, rc, e);
}

/* Continues from the run's checkpoint when there is one for these settings. */
static int resume(struct train_job *j, struct train_state *st, struct err *e)
{
    train_state_init(st);
    int have = file_exists(j->checkpoint);
    MPI_Bcast(&have, 1, MPI_INT, 0, j->tr->comm); /* one view of the file system */
    if (!have)
        return 0;
    int rc = checkpoint_load(&j->tr->mc->params, j->checkpoint, j->run_hash, st, e);
    if (agree_all_ok(j->tr->comm, rc, e) != 0)
        return err_prefix(e, "resuming %s (remove the checkpoint to start over)", j->name);
    log_msg(j->log, "%s: resuming at step %ld (epoch %ld) from %s", j->name, st->step, st->epoch, j->checkpoint);
    return 0;
}

/* The validation after epoch `epoch` (1-based count of epochs done), best weights and early stopping. */
static int validate(struct train_job *j, struct train_state *st, long epoch, struct err *e)
{
    double score;
    if (j->validate(j->ctx, &score, e) != 0)
        return -1;
    train_state_add_dev(st, epoch, score);
    int best = score >= st->best_score; /* a tie goes to the later epoch */
    if (best) {
        st->best_score = score;
        st->best_epoch = epoch;
        int rc = j->tr->rank == 0 ? j->save_best(j->ctx, st->step, e) : 0;
        if (agree_root_result(j->tr->comm, 0, rc, e) != 0)
            return -1;
    }
    st->dev_total += score;
    if (j->patience > 0 && st->dev_total > 0) {
        if (st->es_best < 0 || score > st->es_best + j->min_delta) {
            st->es_best = score;
            st->es_bad = 0;
        } else if (++st->es_bad >= j->patience) {
            st->stopped_early = 1;
        }
    }
    log_msg(j->log, "%s: epoch %ld: dev score %.2f%s%s", j->name, epoch, score, best ? " (best so far)" : "",
            st->stopped_early ? "; stopping early" : "");
    return 0;
}

static int validation_due(const struct train_job *j, long epoch_done)
{
    if (j->val_interval < 0)
        return 0;
    return epoch_done == j->epochs || (j->val_interval > 0 && epoch_done % j->val_interval == 0);
}

int train_loop(struct train_job *j, struct train_state *st, int *stop_signal, struct err *e)
{
    *stop_signal = 0;
    if (resume(j, st, e) != 0)
        return -1;
    const long per_epoch = (j->n_examples + j->batch - 1) / j->batch;
    const long total = per_epoch * j->epochs;
    const long warmup = (long)((double)total * j->warmup_ratio); /* HF: int(total * ratio) */
    int32_t *order = xmalloc((size_t)(j->n_examples ? j->n_examples : 1) * sizeof *order); /* [n] */
    struct progress prog;
    char what[200];
    snprintf(what, sizeof what, "%s: step", j->name);
    progress_start(&prog, j->log, what, total, j->log_interval);
    double t0 = now_monotonic(), seconds0 = st->seconds;
    int rc = 0;
    for (long epoch = st->epoch; epoch < j->epochs && !st->stopped_early && rc == 0; epoch++) {
        epoch_order(j->seed, epoch, j->n_examples, order);
        for (long s = st->step - epoch * per_epoch; s < per_epoch && rc == 0; s++) {
            int sig = world_poll_stop(j->tr->comm);
            if (sig) {
                st->seconds = seconds0 + now_monotonic() - t0;
                rc = save_checkpoint(j, st, e);
                if (rc == 0) {
                    *stop_signal = sig;
                    log_msg(j->log, "%s: %s at step %ld: checkpoint written", j->name, signals_name(sig), st->step);
                }
                free(order);
                return rc;
            }
            long first = s * j->batch;
            int Bg = (int)(j->n_examples - first < j->batch ? j->n_examples - first : j->batch);
            int lo, hi;
            batch_share(Bg, j->tr->rank, j->tr->size, &lo, &hi);
            struct vlt5_batch b;
            double loss, norm;
            rc = j->make_batch(j->ctx, order + first, Bg, lo, hi, epoch, &b, e);
            if (agree_all_ok(j->tr->comm, rc, e) != 0)
                break;
            b.seed = j->seed;
            b.step = (uint64_t)st->step;
            b.train = 1;
            double lr = lr_linear_warmup(j->lr, st->step, warmup, total);
            rc = trainer_step(j->tr, &b, lr, st->step + 1, &loss, &norm, e);
            if (rc != 0)
                break;
            st->step++;
            st->epoch_loss += loss;
            char extra[96];
            snprintf(extra, sizeof extra, "epoch %ld/%ld  loss %.4f", epoch + 1, j->epochs, loss);
            progress_update(&prog, st->step, extra);
            if (j->checkpoint_steps > 0 && st->step % j->checkpoint_steps == 0 && st->step < total) {
                st->seconds = seconds0 + now_monotonic() - t0;
                rc = save_checkpoint(j, st, e);
            }
        }
        if (rc != 0)
            break;
        train_state_add_loss(st, st->epoch_loss / (double)per_epoch);
        st->epoch_loss = 0;
        st->epoch = epoch + 1;
        if (validation_due(j, epoch + 1))
            rc = validate(j, st, epoch + 1, e);
    }
    st->seconds = seconds0 + now_monotonic() - t0;
    free(order);
    if (rc != 0)
        return err_prefix(e, "%s", j->name);
    return 0;
}
