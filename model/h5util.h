/* Small HDF5 helpers for weight files and test fixtures: whole float/int datasets at the root of a
 * file, scalar attributes, and the list of dataset names.  Every failure is reported through struct
 * err with the file and the dataset or attribute; HDF5's own error stack printing is switched off
 * around each call (H5E_BEGIN_TRY), so a bad file never prints library noise or crashes. */
#ifndef MIXPHM_MODEL_H5UTIL_H
#define MIXPHM_MODEL_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "base/err.h"

#define H5U_MAX_DIMS 8

/* -1 and a message naming `path` when the file cannot be opened or is not HDF5. */
hid_t h5u_open_read(const char *path, struct err *e);
hid_t h5u_create(const char *path, struct err *e);
void h5u_close(hid_t f);

int h5u_exists(hid_t f, const char *name);
/* Rank and dims of a dataset; -1 when it is missing (message names it). */
int h5u_shape(hid_t f, const char *path, const char *name, int *ndim, long dims[H5U_MAX_DIMS], struct err *e);
/* Reads a whole dataset converted to float / double / int32 (it must be of a float resp. integer class).
 * `f` may be a file or a group: names are relative to it. */
int h5u_read_float(hid_t f, const char *path, const char *name, float *out, long n, struct err *e);
int h5u_read_int32(hid_t f, const char *path, const char *name, int32_t *out, long n, struct err *e);
int h5u_read_double(hid_t f, const char *path, const char *name, double *out, long n, struct err *e);
int h5u_write_float(hid_t f, const char *path, const char *name, int ndim, const long *dims, const float *data,
                    struct err *e);
int h5u_write_int32(hid_t f, const char *path, const char *name, int ndim, const long *dims, const int32_t *data,
                    struct err *e);
int h5u_write_double(hid_t f, const char *path, const char *name, int ndim, const long *dims, const double *data,
                     struct err *e);

/* Scalar attributes of the file's root group. */
int h5u_attr_write_long(hid_t f, const char *path, const char *name, long v, struct err *e);
int h5u_attr_write_double(hid_t f, const char *path, const char *name, double v, struct err *e);
int h5u_attr_write_string(hid_t f, const char *path, const char *name, const char *v, struct err *e);
int h5u_attr_read_long(hid_t f, const char *path, const char *name, long *v, struct err *e);
int h5u_attr_read_double(hid_t f, const char *path, const char *name, double *v, struct err *e);
int h5u_attr_read_string(hid_t f, const char *path, const char *name, char *v, size_t n, struct err *e);

/* Names of the datasets at the root, in name order; *names is one allocation, free() it. */
int h5u_list(hid_t f, const char *path, char ***names, int *count, struct err *e);

#endif
