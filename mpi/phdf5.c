#include "mpi/phdf5.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/h5io.h"

hid_t phdf5_fapl(MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    return fapl;
}

hid_t phdf5_dxpl(int collective)
{
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
    return dxpl;
}

hid_t phdf5_create(const char *path, MPI_Comm comm, struct err *e)
{
    hid_t fapl = phdf5_fapl(comm), fcpl = H5Pcreate(H5P_FILE_CREATE), f;
    H5Pset_obj_track_times(fcpl, 0); /* the root group too: equal contents give equal files */
    H5E_BEGIN_TRY
    {
        f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    }
    H5E_END_TRY;
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0)
        err_set(e, "cannot create '%s' with parallel HDF5 (MPI-IO)", path);
    return f;
}

void phdf5_io_init(struct phdf5_io *io)
{
    memset(io, 0, sizeof *io);
    io->all_collective = 1;
}

int phdf5_write_rows(hid_t d, hid_t mem_type, long start, long count, const void *buf, hid_t dxpl,
                     struct phdf5_io *io, struct err *e)
{
    hid_t fs = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[H5S_MAX_RANK], off[H5S_MAX_RANK] = {0}, cnt[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    memcpy(cnt, dims, sizeof cnt);
    off[0] = (hsize_t)start;
    cnt[0] = (hsize_t)count;
    hid_t ms;
    if (count > 0) {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
        ms = H5Screate_simple(rank, cnt, NULL);
    } else { /* this rank writes nothing but takes part in the collective call */
        H5Sselect_none(fs);
        ms = H5Screate_simple(rank, dims, NULL);
        H5Sselect_none(ms);
    }
    herr_t rc;
    static const float nothing = 0;
    errno = 0;
    H5E_BEGIN_TRY
    {
        rc = H5Dwrite(d, mem_type, ms, fs, dxpl, count > 0 ? buf : &nothing);
    }
    H5E_END_TRY;
    int reason = errno;
    H5Sclose(ms);
    H5Sclose(fs);
    H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
    uint32_t local = 0, global = 0;
    H5Pget_mpio_actual_io_mode(dxpl, &mode);
    H5Pget_mpio_no_collective_cause(dxpl, &local, &global);
    io->transfers++;
    if (mode != H5D_MPIO_CHUNK_COLLECTIVE && mode != H5D_MPIO_CONTIGUOUS_COLLECTIVE)
        io->all_collective = 0;
    io->causes |= local | global;
    if (rc < 0) {
        char how[256];
        phdf5_io_describe(io, how, sizeof how);
        char where[1600];
        h5io_where(d, "", where, sizeof where);
        return err_set(e, "%s: the parallel write of rows %ld..%ld failed%s; HDF5's transfer was %s", where, start,
                       start + count - 1, h5io_os_reason(reason), how);
    }
    return 0;
}

void phdf5_io_reduce(MPI_Comm comm, struct phdf5_io *io)
{
    int c = io->all_collective;
    unsigned causes = io->causes;
    MPI_Allreduce(MPI_IN_PLACE, &c, 1, MPI_INT, MPI_MIN, comm);
    MPI_Allreduce(MPI_IN_PLACE, &causes, 1, MPI_UNSIGNED, MPI_BOR, comm);
    io->all_collective = c;
    io->causes = causes;
}

void phdf5_io_describe(const struct phdf5_io *io, char *out, size_t n)
{
    static const struct {
        uint32_t bit;
        const char *what;
    } causes[] = {
        {H5D_MPIO_SET_INDEPENDENT, "independent transfer requested"},
        {H5D_MPIO_DATATYPE_CONVERSION, "datatype conversion"},
        {H5D_MPIO_DATA_TRANSFORMS, "data transforms"},
        {H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "MPI derived types disabled by the environment"},
        {H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "not simple or scalar dataspaces"},
        {H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "neither contiguous nor chunked"},
        {H5D_MPIO_PARALLEL_FILTERED_WRITES_DISABLED, "parallel filtered writes disabled in this HDF5"},
        {H5D_MPIO_ERROR_WHILE_CHECKING_COLLECTIVE_POSSIBLE, "error while checking"},
    };
    if (io->all_collective && !io->causes) {
        snprintf(out, n, "collective");
        return;
    }
    snprintf(out, n, "independent (");
    int first = 1;
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
        if (io->causes & causes[i].bit) {
            snprintf(out + strlen(out), n - strlen(out), "%s%s", first ? "" : ", ", causes[i].what);
            first = 0;
        }
    snprintf(out + strlen(out), n - strlen(out), "%s)", first ? "no cause given" : "");
}

int phdf5_collective_ok(const struct world *w, int rc, const struct err *e)
{
    if (rc != 0)
        world_abort(w, "%s", e->msg);
    return 0;
}
