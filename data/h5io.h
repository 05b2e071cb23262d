/* Small HDF5 helpers for the files prepare writes serially (prepared.h5, the synthetic detector file)
 * and for reading them: whole datasets, string tables, attributes.  Errors name the file and the object
 * ("prepared.h5: /questions/tokens: expected 2 dimensions, got 1").  Objects are created without
 * modification times, so equal contents give byte-identical files.  HDF5's own error stack printing is
 * switched off around every call (H5E_BEGIN_TRY), the message comes back in the struct err.
 *
 * A string table (data/strtab.h) is stored as a group with two datasets: `chars` (uint8, every string
 * followed by its NUL) and `offsets` (int64 [n + 1], string i starts at offsets[i]). */
#ifndef MIXPHM_DATA_H5IO_H
#define MIXPHM_DATA_H5IO_H

#include <hdf5.h>
#include <stdint.h>

#include "base/err.h"
#include "data/strtab.h"

/* Creates (truncates) a file with the default driver; H5I_INVALID_HID with e set. */
hid_t h5io_create(const char *path, struct err *e);
/* Opens a file read-only with the default driver. */
hid_t h5io_open(const char *path, struct err *e);
/* Closes a file; reports a failed close (a full disk shows up here). */
int h5io_close(hid_t file, const char *path, struct err *e);
/* Creates a group (no modification time). */
hid_t h5io_group(hid_t loc, const char *name, struct err *e);
/* Group or dataset creation property lists without modification times (caller closes). */
hid_t h5io_gcpl(void);
hid_t h5io_dcpl(void);
/* 1 when the link `path` exists under loc (every intermediate group too). */
int h5io_exists(hid_t loc, const char *path);

/* Writes a whole contiguous dataset: `file_type` on disk, `mem_type` in memory, dims[rank]. */
int h5io_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank, const hsize_t *dims,
               const void *data, struct err *e);
int h5io_write_i32(hid_t loc, const char *name, int rank, const hsize_t *dims, const int32_t *data, struct err *e);
int h5io_write_i64(hid_t loc, const char *name, int rank, const hsize_t *dims, const int64_t *data, struct err *e);
int h5io_write_f32(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data, struct err *e);
int h5io_write_i8(hid_t loc, const char *name, int rank, const hsize_t *dims, const int8_t *data, struct err *e);
int h5io_write_u8(hid_t loc, const char *name, hsize_t n, const void *data, struct err *e);
int h5io_write_strtab(hid_t loc, const char *name, const struct strtab *t, struct err *e);
int h5io_attr_str(hid_t obj, const char *name, const char *value, struct err *e);
int h5io_attr_i64(hid_t obj, const char *name, int64_t value, struct err *e);

/* Reads a whole dataset of `rank` dimensions converted to `mem_type` (of `elem` bytes); *data is
 * malloc'd (at least one element), dims[] receives the shape. */
int h5io_read(hid_t loc, const char *name, hid_t mem_type, size_t elem, int rank, hsize_t *dims, void **data,
              struct err *e);
int h5io_read_strtab(hid_t loc, const char *name, struct strtab *t, struct err *e);
int h5io_read_attr_str(hid_t obj, const char *name, char *out, size_t n, struct err *e);
int h5io_read_attr_i64(hid_t obj, const char *name, int64_t *value, struct err *e);
/* "FILE: /group/name" for messages about object `name` under loc. */
void h5io_where(hid_t loc, const char *name, char *out, size_t n);

#endif
