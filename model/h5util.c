#include "model/h5util.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

hid_t h5u_open_read(const char *path, struct err *e)
{
    hid_t f = -1;
    htri_t is_h5 = -1;
    H5E_BEGIN_TRY
    {
        is_h5 = H5Fis_hdf5(path);
        if (is_h5 > 0)
            f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (is_h5 == 0)
        return err_set(e, "%s: not an HDF5 file", path);
    if (f < 0)
        return err_set(e, "%s: cannot open (missing or unreadable file)", path);
    return f;
}

hid_t h5u_create(const char *path, struct err *e)
{
    hid_t f = -1;
    H5E_BEGIN_TRY
    {
        f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (f < 0)
        return err_set(e, "%s: cannot create", path);
    return f;
}

void h5u_close(hid_t f)
{
    if (f >= 0) {
        H5E_BEGIN_TRY
        {
            H5Fclose(f);
        }
        H5E_END_TRY;
    }
}

int h5u_exists(hid_t f, const char *name)
{
    htri_t r = 0;
    H5E_BEGIN_TRY
    {
        r = H5Lexists(f, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
    return r > 0;
}

static hid_t open_dataset(hid_t f, const char *path, const char *name, struct err *e)
{
    hid_t d = -1;
    if (!h5u_exists(f, name))
        return err_set(e, "%s: missing dataset '%s'", path, name);
    H5E_BEGIN_TRY
    {
        d = H5Dopen2(f, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (d < 0)
        return err_set(e, "%s: '%s' is not a readable dataset", path, name);
    return d;
}

int h5u_shape(hid_t f, const char *path, const char *name, int *ndim, long dims[H5U_MAX_DIMS], struct err *e)
{
    hid_t d = open_dataset(f, path, name, e);
    if (d < 0)
        return -1;
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t s = H5Dget_space(d);
        int nd = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
        hsize_t hd[H5U_MAX_DIMS];
        if (nd < 0 || nd > H5U_MAX_DIMS || H5Sget_simple_extent_dims(s, hd, NULL) < 0) {
            rc = -1;
        } else {
            *ndim = nd;
            for (int i = 0; i < nd; i++)
                dims[i] = (long)hd[i];
        }
        if (s >= 0)
            H5Sclose(s);
        H5Dclose(d);
    }
    H5E_END_TRY;
    if (rc)
        return err_set(e, "%s: cannot read the shape of '%s'", path, name);
    return 0;
}

/* Reads dataset `name` as `memtype` after checking its class and element count. */
static int read_as(hid_t f, const char *path, const char *name, hid_t memtype, H5T_class_t want, const char *what,
                   void *out, long n, struct err *e)
{
    int nd;
    long dims[H5U_MAX_DIMS];
    if (h5u_shape(f, path, name, &nd, dims, e))
        return -1;
    long count = 1;
    for (int i = 0; i < nd; i++)
        count *= dims[i];
    if (count != n)
        return err_set(e, "%s: dataset '%s' has %ld values, expected %ld", path, name, count, n);
    hid_t d = open_dataset(f, path, name, e);
    if (d < 0)
        return -1;
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t ty = H5Dget_type(d);
        if (ty < 0 || H5Tget_class(ty) != want)
            rc = -2;
        else if (n > 0 && H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
            rc = -1;
        if (ty >= 0)
            H5Tclose(ty);
        H5Dclose(d);
    }
    H5E_END_TRY;
    if (rc == -2)
        return err_set(e, "%s: dataset '%s' is not %s", path, name, what);
    if (rc)
        return err_set(e, "%s: cannot read dataset '%s'", path, name);
    return 0;
}

int h5u_read_float(hid_t f, const char *path, const char *name, float *out, long n, struct err *e)
{
    return read_as(f, path, name, H5T_NATIVE_FLOAT, H5T_FLOAT, "floating point", out, n, e);
}

int h5u_read_double(hid_t f, const char *path, const char *name, double *out, long n, struct err *e)
{
    return read_as(f, path, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, "floating point", out, n, e);
}

int h5u_read_int32(hid_t f, const char *path, const char *name, int32_t *out, long n, struct err *e)
{
    return read_as(f, path, name, H5T_NATIVE_INT32, H5T_INTEGER, "integer", out, n, e);
}

static int write_as(hid_t f, const char *path, const char *name, hid_t filetype, hid_t memtype, int ndim,
                    const long *dims, const void *data, struct err *e)
{
    hsize_t hd[H5U_MAX_DIMS];
    if (ndim < 0 || ndim > H5U_MAX_DIMS)
        return err_set(e, "%s: dataset '%s' has %d dimensions (at most %d)", path, name, ndim, H5U_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        hd[i] = (hsize_t)dims[i];
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t s = ndim ? H5Screate_simple(ndim, hd, NULL) : H5Screate(H5S_SCALAR);
        hid_t d = s >= 0 ? H5Dcreate2(f, name, filetype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
        if (d < 0 || H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
            rc = -1;
        if (d >= 0)
            H5Dclose(d);
        if (s >= 0)
            H5Sclose(s);
    }
    H5E_END_TRY;
    if (rc)
        return err_set(e, "%s: cannot write dataset '%s'", path, name);
    return 0;
}

int h5u_write_float(hid_t f, const char *path, const char *name, int ndim, const long *dims, const float *data,
                    struct err *e)
{
    return write_as(f, path, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ndim, dims, data, e);
}

int h5u_write_double(hid_t f, const char *path, const char *name, int ndim, const long *dims, const double *data,
                     struct err *e)
{
    return write_as(f, path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ndim, dims, data, e);
}

int h5u_write_int32(hid_t f, const char *path, const char *name, int ndim, const long *dims, const int32_t *data,
                    struct err *e)
{
    return write_as(f, path, name, H5T_STD_I32LE, H5T_NATIVE_INT32, ndim, dims, data, e);
}

static int attr_write(hid_t f, const char *path, const char *name, hid_t filetype, hid_t memtype, const void *v,
                      struct err *e)
{
    int rc = 0;
    H5E_BEGIN_TRY
    {
        if (H5Aexists(f, name) > 0)
            H5Adelete(f, name);
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, name, filetype, s, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, memtype, v) < 0)
            rc = -1;
        if (a >= 0)
            H5Aclose(a);
        H5Sclose(s);
    }
    H5E_END_TRY;
    if (rc)
        return err_set(e, "%s: cannot write attribute '%s'", path, name);
    return 0;
}

int h5u_attr_write_long(hid_t f, const char *path, const char *name, long v, struct err *e)
{
    int64_t x = v;
    return attr_write(f, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &x, e);
}

int h5u_attr_write_double(hid_t f, const char *path, const char *name, double v, struct err *e)
{
    return attr_write(f, path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, e);
}

int h5u_attr_write_string(hid_t f, const char *path, const char *name, const char *v, struct err *e)
{
    hid_t ty = H5Tcopy(H5T_C_S1);
    H5Tset_size(ty, strlen(v) + 1);
    H5Tset_strpad(ty, H5T_STR_NULLTERM);
    int rc = attr_write(f, path, name, ty, ty, v, e);
    H5Tclose(ty);
    return rc;
}

/* Reads scalar attribute `name` as `memtype` after checking its class (and, for strings, that it is a
 * fixed-length one that fits `size` bytes with its terminator). */
static int attr_read(hid_t f, const char *path, const char *name, hid_t memtype, H5T_class_t want, size_t size,
                     void *v, struct err *e)
{
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t a = H5Aexists(f, name) > 0 ? H5Aopen(f, name, H5P_DEFAULT) : -1;
        hid_t ty = a >= 0 ? H5Aget_type(a) : -1;
        if (a < 0)
            rc = -1;
        else if (ty < 0 || H5Tget_class(ty) != want ||
                 (want == H5T_STRING && (H5Tis_variable_str(ty) > 0 || H5Tget_size(ty) >= size)))
            rc = -2;
        else if (H5Aread(a, memtype, v) < 0)
            rc = -3;
        if (ty >= 0)
            H5Tclose(ty);
        if (a >= 0)
            H5Aclose(a);
    }
    H5E_END_TRY;
    if (rc == -1)
        return err_set(e, "%s: missing attribute '%s'", path, name);
    if (rc == -2 && want == H5T_STRING)
        return err_set(e, "%s: attribute '%s' is not a fixed-length string of fewer than %zu bytes", path, name, size);
    if (rc)
        return err_set(e, "%s: attribute '%s' has the wrong type", path, name);
    return 0;
}

int h5u_attr_read_long(hid_t f, const char *path, const char *name, long *v, struct err *e)
{
    int64_t x = 0;
    if (attr_read(f, path, name, H5T_NATIVE_INT64, H5T_INTEGER, sizeof x, &x, e))
        return -1;
    *v = (long)x;
    return 0;
}

int h5u_attr_read_double(hid_t f, const char *path, const char *name, double *v, struct err *e)
{
    return attr_read(f, path, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, sizeof *v, v, e);
}

int h5u_attr_read_string(hid_t f, const char *path, const char *name, char *v, size_t n, struct err *e)
{
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    memset(v, 0, n);
    int rc = attr_read(f, path, name, mt, H5T_STRING, n, v, e);
    H5Tclose(mt);
    return rc;
}

struct list_ctx {
    char **names;
    int n, cap;
};

static herr_t list_one(hid_t g, const char *name, const H5L_info_t *info, void *p)
{
    (void)info;
    struct list_ctx *c = p;
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->names = xrealloc(c->names, sizeof(char *) * (size_t)c->cap);
    }
    c->names[c->n++] = xstrdup(name);
    return 0;
}

int h5u_list(hid_t f, const char *path, char ***names, int *count, struct err *e)
{
    struct list_ctx c = {NULL, 0, 0};
    herr_t r = -1;
    H5E_BEGIN_TRY
    {
        r = H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, list_one, &c);
    }
    H5E_END_TRY;
    if (r < 0) {
        for (int i = 0; i < c.n; i++)
            free(c.names[i]);
        free(c.names);
        return err_set(e, "%s: cannot list the datasets", path);
    }
    /* One allocation: the pointer table followed by the strings. */
    size_t bytes = sizeof(char *) * (size_t)(c.n + 1);
    for (int i = 0; i < c.n; i++)
        bytes += strlen(c.names[i]) + 1;
    char **out = xmalloc(bytes);
    char *s = (char *)(out + c.n + 1);
    for (int i = 0; i < c.n; i++) {
        size_t l = strlen(c.names[i]) + 1;
        memcpy(s, c.names[i], l);
        out[i] = s;
        s += l;
        free(c.names[i]);
    }
    out[c.n] = NULL;
    free(c.names);
    *names = out;
    *count = c.n;
    return 0;
}
