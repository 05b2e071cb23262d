/* The MPI world of one mixphm process: init/finalize, the single abort path, and the groups that
 * train runs side by side.
 *
 * Every MPI error is routed through one handler (installed on MPI_COMM_WORLD and inherited by every
 * communicator derived from it) that prints the rank, the host and MPI's own message, then aborts the
 * job: mpirun exits non-zero and no rank is left waiting in a collective. */
#ifndef MIXPHM_MPI_WORLD_H
#define MIXPHM_MPI_WORLD_H

#include <mpi.h>

#include "base/err.h"

struct world {
    MPI_Comm comm;  /* MPI_COMM_WORLD (with our error handler) */
    int rank, size;
    int local_rank, local_size; /* within this node */
    char host[64];
    MPI_Errhandler errhandler;
};

/* MPI_Init plus: the error handler, the node-local communicator and the BLAS thread policy (one
 * thread per rank when a node runs several ranks, unless OPENBLAS_NUM_THREADS is set). */
int world_init(struct world *w, int *argc, char ***argv, struct err *e);
void world_finalize(struct world *w);

/* The abort path: prints "mixphm: rank R/N (host): error: <message>" to stderr and aborts every rank
 * of the job with exit status 1. */
_Noreturn void world_abort(const struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends the process after an error: a collective error (every rank saw it) is printed once by rank 0
 * and all ranks exit 1 cleanly; any other goes through world_abort. */
_Noreturn void world_fail(struct world *w, const struct err *e);

/* Collective over `comm`: the stop signal (SIGTERM, SIGUSR1, SIGUSR2) that any rank has pending, or 0.
 * signals_catch_stop() must have been called; every rank learns of a stop at the same point of its
 * loop. */
int world_poll_stop(MPI_Comm comm);

void world_barrier(const struct world *w);
/* 1 on every rank when `ok` was true on every rank. */
int world_all_ok(const struct world *w, int ok);
void world_bcast_bytes(const struct world *w, void *buf, int n, int root);

/* Training groups: consecutive blocks of `ranks_per_group` ranks; when the world size is not a
 * multiple, the last group is smaller; when it is smaller than one group, all ranks form one group. */
struct group {
    MPI_Comm comm;
    int index;  /* which group this rank belongs to */
    int count;  /* number of groups */
    int rank;   /* rank within the group */
    int size;   /* ranks in this group */
};

int world_split_groups(const struct world *w, int ranks_per_group, struct group *g, struct err *e);
void group_free(struct group *g);

#endif
