#include "mpi/agree.h"

#include <stdio.h>
#include <string.h>

int agree_root_result(MPI_Comm comm, int root, int rc, struct err *e)
{
    MPI_Bcast(&rc, 1, MPI_INT, root, comm);
    if (rc != 0) {
        MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, root, comm);
        e->collective = 1;
    }
    return rc;
}

int agree_all_ok(MPI_Comm comm, int rc, struct err *e)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = rc != 0 ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size)
        return 0;
    if (rank == first && size > 1)
        err_prefix(e, "rank %d", rank);
    MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, first, comm);
    e->collective = 1;
    return -1;
}
