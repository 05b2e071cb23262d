#include "mpi/gather_strings.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void gather_strings(MPI_Comm comm, int root, char *const *local, int n_local, char ***all, long *n_all)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* Pack this rank's strings, each with its NUL. */
    int bytes = 0;
    for (int i = 0; i < n_local; i++)
        bytes += (int)strlen(local[i]) + 1;
    char *packed = xmalloc((size_t)(bytes ? bytes : 1));
    for (int i = 0, o = 0; i < n_local; i++) {
        size_t len = strlen(local[i]) + 1;
        memcpy(packed + o, local[i], len);
        o += (int)len;
    }
    int mine[2] = {n_local, bytes};
    int *counts = rank == root ? xmalloc((size_t)size * 2 * sizeof *counts) : NULL; /* [size, 2] */
    MPI_Gather(mine, 2, MPI_INT, counts, 2, MPI_INT, root, comm);
    int *byte_counts = NULL, *displs = NULL;
    char *joined = NULL;
    long total_strings = 0;
    if (rank == root) {
        byte_counts = xmalloc((size_t)size * sizeof *byte_counts);
        displs = xmalloc((size_t)size * sizeof *displs);
        long total = 0;
        for (int r = 0; r < size; r++) {
            byte_counts[r] = counts[2 * r + 1];
            displs[r] = (int)total;
            total += counts[2 * r + 1];
            total_strings += counts[2 * r];
        }
        joined = xmalloc((size_t)(total ? total : 1));
    }
    MPI_Gatherv(packed, bytes, MPI_CHAR, joined, byte_counts, displs, MPI_CHAR, root, comm);
    *all = NULL;
    *n_all = 0;
    if (rank == root) {
        char **out = xmalloc((size_t)(total_strings ? total_strings : 1) * sizeof *out);
        const char *p = joined;
        for (long i = 0; i < total_strings; i++) {
            out[i] = xstrdup(p);
            p += strlen(p) + 1;
        }
        *all = out;
        *n_all = total_strings;
    }
    free(packed);
    free(counts);
    free(byte_counts);
    free(displs);
    free(joined);
}
