#include "mpi/run_queue.h"

/* Static assignment when one-sided communication is not available: the groups take runs in turn. */
static void plan_static(struct run_queue *q, const struct world *w)
{
    int leader = q->group_rank == 0, before = 0, leaders = 0;
    MPI_Exscan(&leader, &before, 1, MPI_INT, MPI_SUM, w->comm);
    if (w->rank == 0)
        before = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(&leader, &leaders, 1, MPI_INT, MPI_SUM, w->comm);
    MPI_Bcast(&before, 1, MPI_INT, 0, q->group); /* the group's number: leaders before its leader */
    q->static_next = before;
    q->static_step = leaders;
}

int run_queue_create(struct run_queue *q, const struct world *w, MPI_Comm group, struct err *e)
{
    (void)e;
    q->group = group;
    q->counter = NULL;
    q->win = MPI_WIN_NULL;
    q->static_step = 0;
    MPI_Comm_rank(group, &q->group_rank);
    MPI_Aint bytes = w->rank == 0 ? (MPI_Aint)sizeof(long) : 0;
    /* A network without one-sided support (Open MPI's TCP transport between hosts, for one) refuses
     * the window: then the runs are dealt out in turn instead, which every rank agrees on. */
    MPI_Errhandler handler;
    MPI_Comm_get_errhandler(w->comm, &handler);
    MPI_Comm_set_errhandler(w->comm, MPI_ERRORS_RETURN);
    long *counter = NULL;
    int failed = MPI_Win_allocate(bytes, (int)sizeof(long), MPI_INFO_NULL, w->comm, &counter, &q->win) != MPI_SUCCESS;
    MPI_Comm_set_errhandler(w->comm, handler);
    MPI_Errhandler_free(&handler);
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, w->comm);
    if (failed) {
        if (q->win != MPI_WIN_NULL)
            MPI_Win_free(&q->win);
        q->win = MPI_WIN_NULL;
        plan_static(q, w);
        return 0;
    }
    if (w->rank == 0) {
        q->counter = counter;
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, q->win);
        *q->counter = 0;
        MPI_Win_unlock(0, q->win);
    }
    /* Nobody takes an index before the counter is zeroed. */
    MPI_Barrier(w->comm);
    return 0;
}

long run_queue_next(struct run_queue *q, long n_runs)
{
    long index = -1;
    if (q->static_step > 0) {
        index = q->static_next;
        q->static_next += q->static_step;
    } else {
        if (q->group_rank == 0) {
            long one = 1;
            MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, q->win);
            MPI_Fetch_and_op(&one, &index, MPI_LONG, 0, 0, MPI_SUM, q->win);
            MPI_Win_unlock(0, q->win);
        }
        MPI_Bcast(&index, 1, MPI_LONG, 0, q->group);
    }
    return index < n_runs ? index : -1;
}

void run_queue_free(struct run_queue *q)
{
    if (q->win != MPI_WIN_NULL)
        MPI_Win_free(&q->win);
    q->counter = NULL;
}

int run_queue_is_static(const struct run_queue *q)
{
    return q->static_step > 0;
}
