/* Dynamic assignment of sweep runs to training groups: a counter in a one-sided MPI window on world
 * rank 0.  The leader of a group takes the next index with an atomic fetch-and-add and tells its
 * group, so a group that finishes early simply takes the next run; no rank is set aside to hand out
 * work.  Indices are handed out in order, each exactly once.  Where the network offers no one-sided
 * communication (the window cannot be made), the groups take the runs in turn instead (group g runs
 * g, g + G, g + 2G, ...). */
#ifndef MIXPHM_MPI_RUN_QUEUE_H
#define MIXPHM_MPI_RUN_QUEUE_H

#include "mpi/world.h"

struct run_queue {
    MPI_Win win;
    long *counter;   /* [1] on world rank 0, NULL elsewhere */
    MPI_Comm group;  /* the group that shares each index */
    int group_rank;
    long static_next, static_step; /* without a window: this group's next index and the group count */
};

/* Collective over the whole world. */
int run_queue_create(struct run_queue *q, const struct world *w, MPI_Comm group, struct err *e);
/* The next index for this group (the same on every rank of the group), or -1 once n_runs were
 * handed out.  Collective over the group. */
long run_queue_next(struct run_queue *q, long n_runs);
/* Collective over the whole world. */
void run_queue_free(struct run_queue *q);
/* Whether the runs are dealt out in turn (no one-sided communication). */
int run_queue_is_static(const struct run_queue *q);

#endif
