/* The HDF5 helpers of every file mixphm writes or reads serially (prepared.h5, the synthetic detector
 * file, weights, checkpoints, reports, test fixtures): whole datasets, string tables, attributes.  Errors name the file and the object
 * ("prepared.h5: /questions/tokens: expected 2 dimensions, got 1").  Objects are created without
 * modification times, so equal contents give byte-identical files.  HDF5's own error stack printing is
 * switched off around every call (H5E_BEGIN_TRY), the message comes back in the struct err.
 *
 * A string table (base/strtab.h) is stored as a group with two datasets: `chars` (uint8, every string
 * followed by its NUL) and `offsets` (int64 [n + 1], string i starts at offsets[i]). */
#ifndef MIXPHM_BASE_H5IO_H
#define MIXPHM_BASE_H5IO_H

#include <hdf5.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/strtab.h"

/* Creates (truncates) a file with the default driver; H5I_INVALID_HID with e set. */
hid_t h5io_create(const char *path, struct err *e);
/* A file written serially and put in place atomically (under NAME.tmp, renamed to NAME once complete),
 * so that a reader never sees a half-written file under its final name; it is built in memory and
 * written out at the end, so a full disk is a plain write error:
 *     struct h5io_output o;
 *     if (h5io_output_open(&o, path, e) != 0) return -1;
 *     int rc = ...writes into o.file...;
 *     return h5io_output_close(&o, rc, e);
 * h5io_output_close with rc == 0 writes the file (reporting a full disk with its reason); otherwise it
 * discards it and returns -1 (e keeps the first error). */
struct h5io_output {
    hid_t file;
    char path[PATH_MAX_LEN], tmp[PATH_MAX_LEN];
};
int h5io_output_open(struct h5io_output *o, const char *path, struct err *e);
int h5io_output_close(struct h5io_output *o, int rc, struct err *e);

/* Opens a file read-only with the default driver. */
hid_t h5io_open(const char *path, struct err *e);
/* Closes a file; reports a failed close (a full disk shows up here). */
int h5io_close(hid_t file, const char *path, struct err *e);
/* Closes a file whose close can no longer lose anything: one that was only read, or one whose writing
 * already failed (and that is removed next); ignores a negative id. */
void h5io_close_quiet(hid_t file);
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
int h5io_write_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *data, struct err *e);
int h5io_write_strtab(hid_t loc, const char *name, const struct strtab *t, struct err *e);
int h5io_attr_str(hid_t obj, const char *name, const char *value, struct err *e);
int h5io_attr_i64(hid_t obj, const char *name, int64_t value, struct err *e);
int h5io_attr_f64(hid_t obj, const char *name, double value, struct err *e);

/* Reads a whole dataset of `rank` dimensions converted to `mem_type` (of `elem` bytes); *data is
 * malloc'd (at least one element), dims[] receives the shape. */
int h5io_read(hid_t loc, const char *name, hid_t mem_type, size_t elem, int rank, hsize_t *dims, void **data,
              struct err *e);
int h5io_read_strtab(hid_t loc, const char *name, struct strtab *t, struct err *e);
int h5io_read_attr_str(hid_t obj, const char *name, char *out, size_t n, struct err *e);
int h5io_read_attr_i64(hid_t obj, const char *name, int64_t *value, struct err *e);
int h5io_read_attr_f64(hid_t obj, const char *name, double *value, struct err *e);

/* Rank and dims of dataset `name` (-1 with a message when it is missing). */
#define H5IO_MAX_DIMS 8
int h5io_shape(hid_t loc, const char *name, int *ndim, long dims[H5IO_MAX_DIMS], struct err *e);
/* Reads a whole dataset of exactly n values into `out`, converted (it must be of a float, resp.
 * integer, class). */
int h5io_load_f32(hid_t loc, const char *name, float *out, long n, struct err *e);
int h5io_load_f64(hid_t loc, const char *name, double *out, long n, struct err *e);
int h5io_load_i32(hid_t loc, const char *name, int32_t *out, long n, struct err *e);
/* Names of the datasets directly under loc, in name order; *names is one allocation, free() it. */
int h5io_list_datasets(hid_t loc, char ***names, int *count, struct err *e);
/* ": no space left on the device" (and the like) for the errno a failed HDF5 write left, "" for others:
 * HDF5's own message does not say why the operating system refused. */
const char *h5io_os_reason(int err);
/* "FILE: /group/name" for messages about object `name` under loc. */
void h5io_where(hid_t loc, const char *name, char *out, size_t n);

#endif
