#include "train/step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/optimizer.h"
#include "mpi/agree.h"
#include "mpi/grad_allreduce.h"
#include "train/batch.h"

int trainer_init(struct trainer *t, struct model_ctx *mc, MPI_Comm comm, int max_global_batch, double bucket_mb,
                 double weight_decay, double adam_eps, double clip_norm)
{
    memset(t, 0, sizeof *t);
    t->mc = mc;
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    t->bucket_floats = (size_t)(bucket_mb * 1048576.0 / sizeof(float));
    if (t->bucket_floats < 1)
        t->bucket_floats = 1;
    t->hp = (struct adamw_hparams){.beta1 = 0.9, .beta2 = 0.999, .eps = adam_eps};
    t->weight_decay = weight_decay;
    t->clip_norm = clip_norm;
    peft_reg_sizes(mc->peft, &t->stats_len, &t->pooled_w);
    if (t->stats_len || t->pooled_w) {
        size_t w = t->pooled_w ? t->pooled_w : 1;
        t->stats = xcalloc(t->stats_len ? t->stats_len : 1, sizeof *t->stats);
        t->pooled_local = xcalloc((size_t)mc->model.opts.max_batch * w, sizeof *t->pooled_local);
        t->pooled_all = xcalloc((size_t)max_global_batch * w, sizeof *t->pooled_all);
        t->dpooled = xcalloc((size_t)max_global_batch * w, sizeof *t->dpooled);
        t->counts = xcalloc((size_t)t->size, sizeof *t->counts);
        t->displs = xcalloc((size_t)t->size, sizeof *t->displs);
    }
    if (mc->peft->opts.consistency > 0) {
        const struct vlt5 *m = &mc->model;
        size_t n = (size_t)m->opts.max_batch * (size_t)m->opts.max_target * (size_t)m->dims.vocab;
        t->logits_a = xmalloc(n * sizeof *t->logits_a);
        t->logits_b = xmalloc(n * sizeof *t->logits_b);
    }
    return 0;
}

void trainer_free(struct trainer *t)
{
    free(t->stats);
    free(t->pooled_local);
    free(t->pooled_all);
    free(t->dpooled);
    free(t->counts);
    free(t->displs);
    free(t->logits_a);
    free(t->logits_b);
    tree_sum_free(&t->grad_tree); /* zeroed by trainer_init when the key is off: nothing to free */
    tree_sum_free(&t->stats_tree);
    tree_sum_free(&t->dpooled_tree);
    free(t->chunk_loss);
    free(t->dpooled_scratch);
    free(t->kept); /* the activation sets go with the model and its method (vlt5_free, peft_free) */
    memset(t, 0, sizeof *t);
}

/* The chunks of this rank's largest share. */
static int local_chunks(const struct trainer *t, int chunk, int max_global_batch)
{
    return (chunk_share_max(max_global_batch, chunk, t->size) + chunk - 1) / chunk;
}

/* The activation sets step_chunked keeps: one per chunk of the largest share, when asked for and
 * worth it (a regulariser, several chunks) and the method can (not with the consistency loss, whose
 * passes run a backward inside the forward); 0: each chunk is forwarded again. */
static int sets_wanted(const struct trainer *t, int chunk, int max_global_batch, int keep_sets)
{
    const int K = local_chunks(t, chunk, max_global_batch);
    const int reg = t->stats_len || t->pooled_w;
    if (!keep_sets || !reg || K < 2 || t->logits_a || peft_set_bytes(t->mc->peft, chunk) == 0)
        return 0;
    return K;
}

size_t trainer_fixed_order_bytes(const struct trainer *t, int chunk, int max_global_batch, int keep_sets)
{
    if (chunk <= 0)
        return 0;
    const int n = (max_global_batch + chunk - 1) / chunk;
    const size_t pooled = (size_t)max_global_batch * t->pooled_w;
    const int sets = sets_wanted(t, chunk, max_global_batch, keep_sets);
    const size_t set_bytes = vlt5_set_bytes(&t->mc->model, chunk) + peft_set_bytes(t->mc->peft, chunk);
    return tree_sum_bytes(t->size, n, t->mc->params.n_train, t->bucket_floats) +
           tree_sum_bytes(t->size, n, t->stats_len, t->bucket_floats) +
           tree_sum_bytes(t->size, n, pooled, t->bucket_floats) + (size_t)n * sizeof(double) + pooled * sizeof(float) +
           (size_t)local_chunks(t, chunk, max_global_batch) * peft_reg_keep_size(t->mc->peft, chunk) * sizeof(float) +
           (sets > 1 ? (size_t)(sets - 1) * set_bytes : 0);
}

/* "1.25 GiB" or "3.4 MiB" */
static const char *bytes_text(double bytes, char *out, size_t n)
{
    const double MiB = 1048576.0, GiB = 1024.0 * MiB;
    if (bytes >= GiB)
        snprintf(out, n, "%.2f GiB", bytes / GiB);
    else
        snprintf(out, n, "%.1f MiB", bytes / MiB);
    return out;
}

int trainer_fixed_order(struct trainer *t, int chunk, int max_global_batch, int keep_sets, long long room_per_rank,
                        struct err *e)
{
    if (chunk <= 0)
        return 0;
    const size_t need = trainer_fixed_order_bytes(t, chunk, max_global_batch, keep_sets);
    const int sets = sets_wanted(t, chunk, max_global_batch, keep_sets);
    if (room_per_rank >= 0 && (double)need > (double)room_per_rank) {
        char a[32], b[32], c[96] = "";
        if (sets)
            snprintf(c, sizeof c, " and %d more activation sets of %d examples", sets - 1, chunk);
        return err_set(e, "train.chunk_examples = %d: the fixed-order sums need %s per rank (partial sums of %zu "
                          "trainable floats for %d chunks on %d rank%s%s), more than the %s per rank this node has "
                          "left (train.memory_per_node_mb, or what the system reports); use larger chunks, fewer "
                          "ranks per node, %strain.chunk_examples: 0",
                       chunk, bytes_text((double)need, a, sizeof a), t->mc->params.n_train,
                       (max_global_batch + chunk - 1) / chunk, t->size, t->size > 1 ? "s" : "", c,
                       bytes_text((double)room_per_rank, b, sizeof b),
                       sets ? "train.chunk_keep_activations: false, or " : "or ");
    }
    if (t->pooled_w && !peft_reg_keep_size(t->mc->peft, chunk)) /* step_chunked's pass 2 needs them */
        return err_set(e, "internal error: %s has pooled regulariser rows but cannot keep their inputs",
                       peft_kind_name(t->mc->peft->opts.method));
    const int n = (max_global_batch + chunk - 1) / chunk; /* chunks of the largest batch */
    t->chunk = chunk;
    tree_sum_init(&t->grad_tree, t->comm, n, t->mc->params.n_train, t->bucket_floats);
    tree_sum_init(&t->stats_tree, t->comm, n, t->stats_len, t->bucket_floats);
    tree_sum_init(&t->dpooled_tree, t->comm, n, (size_t)max_global_batch * t->pooled_w, t->bucket_floats);
    t->chunk_loss = xcalloc((size_t)n, sizeof *t->chunk_loss);
    if (t->pooled_w)
        t->dpooled_scratch = xcalloc((size_t)max_global_batch * t->pooled_w, sizeof *t->dpooled_scratch);
    t->kept_floats = peft_reg_keep_size(t->mc->peft, chunk);
    if (t->kept_floats) /* the MI term's inputs of every chunk of this rank's largest share */
        t->kept = xcalloc((size_t)local_chunks(t, chunk, max_global_batch) * t->kept_floats, sizeof *t->kept);
    if (sets) {
        if (peft_sets_alloc(t->mc->peft, sets, chunk) != 0)
            return err_set(e, "internal error: %s cannot keep activation sets", peft_kind_name(t->mc->peft->opts.method));
        vlt5_sets_alloc(&t->mc->model, sets, chunk);
        t->sets = sets;
    }
    return 0;
}

/* Activation set i of the model and its method (set 0: their own buffers). */
static void select_set(struct trainer *t, int i)
{
    vlt5_set_select(&t->mc->model, i);
    peft_set_select(t->mc->peft, i);
}

void trainer_share(const struct trainer *t, int Bg, int *lo, int *hi)
{
    chunk_share(Bg, t->chunk, t->rank, t->size, lo, hi);
}

/* Gathers every rank's pooled rows, in global example order, into t->pooled_all. */
static void gather_pooled(struct trainer *t, long Bg)
{
    const int w = (int)t->pooled_w;
    for (int r = 0; r < t->size; r++) {
        int lo, hi;
        chunk_share((int)Bg, t->chunk, r, t->size, &lo, &hi);
        t->counts[r] = (hi - lo) * w;
        t->displs[r] = lo * w;
    }
    MPI_Allgatherv(t->pooled_local, t->counts[t->rank], MPI_FLOAT, t->pooled_all, t->counts, t->displs, MPI_FLOAT,
                   t->comm);
}

/* The regularisers over the global batch; returns this rank's share of their value (the part every
 * rank computes identically is counted on rank 0 only). */
static double regularise(struct trainer *t, const struct vlt5_batch *b)
{
    struct vlt5 *m = &t->mc->model;
    struct peft *pf = t->mc->peft;
    long Bg = b->global_batch;
    size_t w = t->pooled_w;
    if (b->B > 0)
        peft_reg_local(pf, m, t->stats, t->pooled_local);
    else
        memset(t->stats, 0, t->stats_len * sizeof *t->stats);
    if (t->stats_len)
        MPI_Allreduce(MPI_IN_PLACE, t->stats, (int)t->stats_len, MPI_FLOAT, MPI_SUM, t->comm);
    if (w)
        gather_pooled(t, Bg);
    double shared = 0, partial = 0;
    if (b->B > 0)
        shared = peft_reg_backward(pf, m, t->stats, t->pooled_all, Bg, b->ex0, t->dpooled, &partial);
    else if (w)
        memset(t->dpooled, 0, (size_t)Bg * w * sizeof *t->dpooled);
    if (w) {
        MPI_Allreduce(MPI_IN_PLACE, t->dpooled, (int)((size_t)Bg * w), MPI_FLOAT, MPI_SUM, t->comm);
        if (b->B > 0)
            peft_reg_pooled_grad(pf, m, t->dpooled, b->ex0);
    }
    return partial + (t->rank == 0 ? shared : 0.0); /* rank 0 always has a share */
}

/* The forward passes and answer loss of the share; with the consistency loss the three passes of
 * model/peft/peft.h (A, B with its backward, A again), whose logits are bit-identical in both A's.
 * Returns this rank's part of the loss; m->logits then hold the gradient for vlt5_backward. */
static int forward_and_loss(struct trainer *t, const struct vlt5_batch *b, double *local, struct err *e)
{
    struct vlt5 *m = &t->mc->model;
    const double w = t->mc->peft->opts.consistency;
    if (!t->logits_a) {
        if (vlt5_forward(m, b, e) != 0)
            return -1;
        *local = vlt5_loss(m, NULL);
        return 0;
    }
    const size_t n = (size_t)b->B * (size_t)b->target_len * (size_t)m->dims.vocab;
    struct vlt5_batch other = *b;
    other.seed = peft_pass_seed(b->seed, 1);
    if (vlt5_forward(m, b, e) != 0)
        return -1;
    memcpy(t->logits_a, m->logits, n * sizeof *m->logits);
    if (vlt5_forward(m, &other, e) != 0)
        return -1;
    memcpy(t->logits_b, m->logits, n * sizeof *m->logits);
    double L = peft_consistency(m, t->logits_b, t->logits_a, w, 0);
    vlt5_backward(m);
    if (vlt5_forward(m, b, e) != 0)
        return -1;
    L += vlt5_loss(m, NULL);
    L += peft_consistency(m, t->logits_a, t->logits_b, w, 1);
    *local = L;
    return 0;
}

/* Chunk c of the share b: global examples [c * chunk, ...) (rows of b's buffers from ex0 on). */
static struct vlt5_batch chunk_view(const struct trainer *t, const struct vlt5_batch *b, int c)
{
    const struct vlt5_dims *d = &t->mc->model.dims;
    const long g0 = (long)c * t->chunk, g1 = g0 + t->chunk < b->global_batch ? g0 + t->chunk : b->global_batch;
    const long o = g0 - (long)b->ex0, R = d->n_regions;
    struct vlt5_batch v = *b;
    v.B = (int)(g1 - g0);
    v.ex0 = (uint64_t)g0;
    v.text += o * b->text_len;
    if (v.feats)
        v.feats += o * R * d->feat_dim;
    if (v.boxes)
        v.boxes += o * R * 4;
    if (v.visual)
        v.visual += o * R * d->d_model;
    if (v.labels)
        v.labels += o * b->target_len;
    if (v.weights)
        v.weights += o;
    return v;
}

/* The step's gradient (into p->grad, the same bits on every rank and for any rank count) and loss,
 * chunk by chunk (trainer_fixed_order).  With a regulariser: pass 1 the chunks' statistics and pooled
 * rows, summed and gathered, and the MI term's inputs kept; pass 2 (MI term) every chunk's part of the
 * pooled gradients from those, summed; pass 3 each chunk's loss, regulariser gradients and backward.
 * A rank with one chunk forwards it once; with several, each chunk keeps its activation set from pass
 * 1 to pass 3 (t->sets, its loss taken in pass 1) or is forwarded again in pass 3. */
static int step_chunked(struct trainer *t, const struct vlt5_batch *b, double *loss, struct err *e)
{
    struct vlt5 *m = &t->mc->model;
    struct params *p = &t->mc->params;
    struct peft *pf = t->mc->peft;
    const long Bg = b->global_batch;
    const int n = (int)((Bg + t->chunk - 1) / t->chunk);
    const int c0 = b->B > 0 ? (int)(b->ex0 / (uint64_t)t->chunk) : 0;
    const int c1 = b->B > 0 ? c0 + (b->B + t->chunk - 1) / t->chunk : 0;
    const size_t w = t->pooled_w;
    const int reg = t->stats_len || w, single = c1 - c0 == 1;
    const int sets = reg && !single && t->sets >= c1 - c0; /* pass 1 leaves every chunk ready for backward */
    double shared = 0.0; /* the part of the regulariser every rank computes identically */
    int rc = 0;          /* a forward error on some ranks is agreed before the next sum, not waited on */
    memset(t->chunk_loss, 0, (size_t)n * sizeof *t->chunk_loss);
    if (reg) {
        tree_sum_begin(&t->stats_tree, n, t->stats_len);
        for (int c = c0; c < c1 && rc == 0; c++) {
            struct vlt5_batch v = chunk_view(t, b, c);
            if (sets)
                select_set(t, c - c0);
            rc = single || sets ? forward_and_loss(t, &v, &t->chunk_loss[c], e) : vlt5_forward(m, &v, e);
            if (rc == 0) {
                peft_reg_local(pf, m, t->stats, t->pooled_local + (size_t)(v.ex0 - b->ex0) * w);
                tree_sum_push(&t->stats_tree, c, t->stats);
                if (!single)
                    peft_reg_keep(pf, m, t->kept + (size_t)(c - c0) * t->kept_floats);
            }
        }
        if (sets)
            select_set(t, 0);
        if (agree_all_ok(t->comm, rc, e) != 0)
            return -1;
        tree_sum_finish(&t->stats_tree, t->comm, t->stats);
        if (w) {
            gather_pooled(t, Bg);
            tree_sum_begin(&t->dpooled_tree, n, (size_t)Bg * w);
            for (int c = c0; c < c1; c++) {
                const uint64_t ex0 = (uint64_t)c * (uint64_t)t->chunk;
                double part = 0.0;
                if (single) /* the model still holds the chunk: this also readies its backward */
                    shared = peft_reg_backward(pf, m, t->stats, t->pooled_all, Bg, ex0, t->dpooled, &part);
                else
                    part = peft_reg_kept_mi(pf, t->kept + (size_t)(c - c0) * t->kept_floats, t->stats, t->pooled_all,
                                            Bg, ex0, t->dpooled);
                t->chunk_loss[c] += part;
                tree_sum_push(&t->dpooled_tree, c, t->dpooled);
            }
            tree_sum_finish(&t->dpooled_tree, t->comm, t->dpooled);
        }
    }
    tree_sum_begin(&t->grad_tree, n, p->n_train);
    for (int c = c0; c < c1 && rc == 0; c++) {
        struct vlt5_batch v = chunk_view(t, b, c);
        if (sets) {
            select_set(t, c - c0);
            params_zero_grad(p);
        } else if (!(reg && single)) { /* otherwise pass 1 did it, after the step's params_zero_grad */
            params_zero_grad(p);
            double L = 0.0;
            if ((rc = forward_and_loss(t, &v, &L, e)) != 0)
                break;
            t->chunk_loss[c] += L;
        }
        if (reg && !(w && single)) { /* the regulariser's gradients of this chunk's activations */
            double part = 0.0;
            if (w)
                memset(t->dpooled_scratch, 0, (size_t)Bg * w * sizeof *t->dpooled_scratch);
            shared = peft_reg_backward(pf, m, t->stats, t->pooled_all, Bg, v.ex0, t->dpooled_scratch, &part);
        }
        if (w)
            peft_reg_pooled_grad(pf, m, t->dpooled, v.ex0);
        vlt5_backward(m);
        tree_sum_push(&t->grad_tree, c, p->grad);
    }
    if (sets)
        select_set(t, 0); /* the model's own buffers for whatever follows (decoding, another size) */
    if (agree_all_ok(t->comm, rc, e) != 0)
        return -1;
    tree_sum_finish(&t->grad_tree, t->comm, p->grad);
    /* Each chunk's loss comes from one rank (the others add zeros); summed in chunk order. */
    MPI_Allreduce(MPI_IN_PLACE, t->chunk_loss, n, MPI_DOUBLE, MPI_SUM, t->comm);
    MPI_Allreduce(MPI_IN_PLACE, &shared, 1, MPI_DOUBLE, MPI_MAX, t->comm); /* >= 0; 0 on idle ranks */
    double L = 0.0;
    for (int c = 0; c < n; c++)
        L += t->chunk_loss[c];
    *loss = L + shared;
    return 0;
}

int trainer_step(struct trainer *t, const struct vlt5_batch *b, double lr, long step_no, double *loss,
                 double *grad_norm, struct err *e)
{
    struct vlt5 *m = &t->mc->model;
    struct params *p = &t->mc->params;
    struct peft *pf = t->mc->peft;
    params_zero_grad(p);
    peft_used_clear(pf);
    double local = 0;
    if (t->chunk) {
        if (step_chunked(t, b, &local, e) != 0)
            return -1;
        if (t->nan_step && step_no == t->nan_step && p->n_train)
            p->grad[0] = NAN;
    } else {
        /* A forward error on some ranks (a token outside the vocabulary) becomes every rank's before the
         * sums, so no rank waits in them. */
        if (agree_all_ok(t->comm, b->B > 0 ? forward_and_loss(t, b, &local, e) : 0, e) != 0)
            return -1;
        if (t->stats_len || t->pooled_w)
            local += regularise(t, b);
        if (b->B > 0)
            vlt5_backward(m);
        if (t->nan_step && step_no == t->nan_step && t->rank == 0 && p->n_train)
            p->grad[0] = NAN;
        grad_bucket_allreduce(p->grad, p->n_train, t->bucket_floats, t->comm);
        MPI_Allreduce(MPI_IN_PLACE, &local, 1, MPI_DOUBLE, MPI_SUM, t->comm);
    }
    /* Every rank draws the same experts, but a rank without a share of the batch ran no hook. */
    MPI_Allreduce(MPI_IN_PLACE, pf->used, p->n, MPI_UNSIGNED_CHAR, MPI_MAX, t->comm);
    *loss = local;
    double norm = params_grad_norm(p);
    *grad_norm = norm;
    if (!isfinite(local) || !isfinite(norm)) {
        return err_set_all(e, "step %ld: the %s is not finite (loss %g, gradient norm %g); the last good checkpoint is "
                          "kept", step_no, !isfinite(local) ? "loss" : "gradient", local, norm);
    }
    if (t->clip_norm > 0)
        params_clip_grad(p, t->clip_norm);
    params_adamw_step(p, lr, t->weight_decay, &t->hp, pf->used);
    return 0;
}
