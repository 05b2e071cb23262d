/* Parallel HDF5 through the MPI-IO driver: every rank of a communicator opens one file, creates its
 * objects together (collective metadata), and writes its own rows of a dataset in one collective
 * transfer.  HDF5 reports after each transfer whether it really was collective; phdf5_write_rows passes
 * that on, because HDF5 silently falls back to independent I/O in some cases (a type conversion, for
 * instance) and refuses filtered writes that are not collective. */
#ifndef MIXPHM_MPI_PHDF5_H
#define MIXPHM_MPI_PHDF5_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "base/err.h"
#include "mpi/world.h"

/* File access: the MPI-IO driver on `comm`, collective metadata reads and writes (caller closes). */
hid_t phdf5_fapl(MPI_Comm comm);
/* Data transfer: collective (1) or independent (0) MPI-IO (caller closes). */
hid_t phdf5_dxpl(int collective);
/* Creates (truncates) `path` on every rank of `comm`; object modification times are not recorded. */
hid_t phdf5_create(const char *path, MPI_Comm comm, struct err *e);

/* The outcome of a collective parallel HDF5 call (create, write, close) on this rank.  A failure cannot
 * be agreed on with the other ranks, which may be waiting inside HDF5's own collectives (a full disk
 * fails the write on one rank only), so it ends the job at once through the abort path with the
 * message; success returns 0.  Nothing is left under a final name: the file is still NAME.tmp. */
int phdf5_collective_ok(const struct world *w, int rc, const struct err *e);

/* What HDF5 did in the transfers so far. */
struct phdf5_io {
    int transfers;
    int all_collective;  /* 1 while every transfer on this rank was collective */
    uint32_t causes;     /* OR of H5Pget_mpio_no_collective_cause's local and global causes */
};
void phdf5_io_init(struct phdf5_io *io);
/* Writes rows [start, start + count) of dataset `d` (the first dimension is the row; the others are
 * written whole) from `buf` of type `mem_type`.  Every rank calls it; count 0 selects nothing.  The
 * transfer's actual mode is added to `io`. */
int phdf5_write_rows(hid_t d, hid_t mem_type, long start, long count, const void *buf, hid_t dxpl,
                     struct phdf5_io *io, struct err *e);
/* The same over all ranks of `comm` (collective). */
void phdf5_io_reduce(MPI_Comm comm, struct phdf5_io *io);
/* "collective", or "independent (datatype conversion, ...)". */
void phdf5_io_describe(const struct phdf5_io *io, char *out, size_t n);

#endif
