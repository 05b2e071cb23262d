/* Agreeing on errors, so that a failure on some ranks becomes one clean error on all of them instead of
 * ranks waiting forever in the next collective call. */
#ifndef MIXPHM_MPI_AGREE_H
#define MIXPHM_MPI_AGREE_H

#include <mpi.h>

#include "base/err.h"

/* Rank `root` did something alone: every rank returns its rc, and on failure its message, with
 * e->collective set. */
int agree_root_result(MPI_Comm comm, int root, int rc, struct err *e);
/* Every rank has its own rc: all return -1 when any failed, with the message of the lowest failing rank
 * (prefixed by "rank R: " when more than one rank runs) and e->collective set. */
int agree_all_ok(MPI_Comm comm, int rc, struct err *e);

#endif
