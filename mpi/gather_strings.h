/* Gathering variable-length strings (decoded answers) from every rank to one, in rank order. */
#ifndef MIXPHM_MPI_GATHER_STRINGS_H
#define MIXPHM_MPI_GATHER_STRINGS_H

#include <mpi.h>

/* Every rank passes its n_local strings; on `root`, *all (malloc'd array of malloc'd strings) holds every
 * rank's strings in rank order and *n_all their count; elsewhere *all is NULL and *n_all 0. */
void gather_strings(MPI_Comm comm, int root, char *const *local, int n_local, char ***all, long *n_all);

#endif
