#include "mpi/grad_allreduce.h"

#include <limits.h>

size_t grad_bucket_count(size_t n, size_t bucket_floats)
{
    if (bucket_floats == 0)
        bucket_floats = 1;
    return (n + bucket_floats - 1) / bucket_floats;
}

size_t grad_bucket_allreduce(float *grad, size_t n, size_t bucket_floats, MPI_Comm comm)
{
    int size = 1;
    MPI_Comm_size(comm, &size);
    if (size == 1 || n == 0)
        return 0;
    /* MPI counts are ints: a bucket never exceeds INT_MAX elements. */
    if (bucket_floats == 0 || bucket_floats > (size_t)INT_MAX)
        bucket_floats = (size_t)INT_MAX;
    size_t calls = 0;
    for (size_t start = 0; start < n; start += bucket_floats) {
        size_t len = n - start < bucket_floats ? n - start : bucket_floats;
        MPI_Allreduce(MPI_IN_PLACE, grad + start, (int)len, MPI_FLOAT, MPI_SUM, comm);
        calls++;
    }
    return calls;
}
