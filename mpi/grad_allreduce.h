/* Data-parallel gradient reduction: the gradients of all trainable parameters live in one contiguous
 * buffer (model/params), and it is summed over the ranks of a training group in a few large buckets,
 * one MPI_Allreduce per bucket, always the whole buffer and always in buffer order.  Ranks therefore
 * never disagree on what is reduced, even when a step's routing left some experts' gradients at zero. */
#ifndef MIXPHM_MPI_GRAD_ALLREDUCE_H
#define MIXPHM_MPI_GRAD_ALLREDUCE_H

#include <mpi.h>
#include <stddef.h>

/* Number of buckets for n floats with at most bucket_floats per bucket (>= 1 for n > 0). */
size_t grad_bucket_count(size_t n, size_t bucket_floats);
/* Sums grad [n] over `comm` in place, bucket by bucket.  Returns the number of MPI calls made (0 for
 * a single-rank communicator, where there is nothing to sum). */
size_t grad_bucket_allreduce(float *grad, size_t n, size_t bucket_floats, MPI_Comm comm);

#endif
