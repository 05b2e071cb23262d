#include "mpi/run_queue.h"

int run_queue_create(struct run_queue *q, const struct world *w, MPI_Comm group, struct err *e)
{
    (void)e;
    q->group = group;
    MPI_Comm_rank(group, &q->group_rank);
    MPI_Aint bytes = w->rank == 0 ? (MPI_Aint)sizeof(long) : 0;
    MPI_Win_allocate(bytes, (int)sizeof(long), MPI_INFO_NULL, w->comm, &q->counter, &q->win);
    if (w->rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, q->win);
        *q->counter = 0;
        MPI_Win_unlock(0, q->win);
    } else {
        q->counter = NULL;
    }
    /* Nobody takes an index before the counter is zeroed. */
    MPI_Barrier(w->comm);
    return 0;
}

long run_queue_next(struct run_queue *q, long n_runs)
{
    long index = -1;
    if (q->group_rank == 0) {
        long one = 1;
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, q->win);
        MPI_Fetch_and_op(&one, &index, MPI_LONG, 0, 0, MPI_SUM, q->win);
        MPI_Win_unlock(0, q->win);
    }
    MPI_Bcast(&index, 1, MPI_LONG, 0, q->group);
    return index < n_runs ? index : -1;
}

void run_queue_free(struct run_queue *q)
{
    MPI_Win_free(&q->win);
    q->counter = NULL;
}
