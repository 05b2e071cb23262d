#include "base/h5io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/mem.h"

void h5io_where(hid_t loc, const char *name, char *out, size_t n)
{
    char file[1024] = "?", obj[512] = "";
    H5E_BEGIN_TRY
    {
        if (H5Fget_name(loc, file, sizeof file) < 0)
            snprintf(file, sizeof file, "?");
        if (H5Iget_name(loc, obj, sizeof obj) < 0)
            obj[0] = '\0';
    }
    H5E_END_TRY;
    size_t len = strlen(obj);
    snprintf(out, n, "%s: %s%s%s", file, obj, (len && obj[len - 1] == '/') || name[0] == '/' ? "" : "/", name);
}

/* ": no space left on the device" and the like when the OS said why a write failed (HDF5's own message
 * does not). */
const char *h5io_os_reason(int err)
{
    switch (err) {
    case ENOSPC: return ": no space left on the device";
    case EDQUOT: return ": disk quota exceeded";
    case EIO: return ": input/output error";
    case EROFS: return ": read-only file system";
    default: return "";
    }
}

hid_t h5io_create(const char *path, struct err *e)
{
    hid_t f;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0); /* the root group too: equal contents, equal bytes */
    H5E_BEGIN_TRY
    {
        f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    }
    H5E_END_TRY;
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0)
        err_set(e, "cannot create the HDF5 file '%s'", path);
    return f;
}

int h5io_output_open(struct h5io_output *o, const char *path, struct err *e)
{
    o->file = H5I_INVALID_HID;
    if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path)
        return err_set(e, "path too long: '%s'", path);
    if (tmp_path_for(path, o->tmp, sizeof o->tmp, e) != 0)
        return -1;
    /* Built in memory (HDF5's core driver, no backing store) and written out by write_file_atomic: a
     * full disk or a quota is then an ordinary write error with its reason, never a failure inside
     * HDF5, whose 1.10 releases do not survive a close that fails. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_fapl_core(fapl, 16u << 20, 0);
    /* The earliest file format: in the 1.8 and 1.10 formats the superblock carries a checksum, and
     * HDF5 1.10's file image clears the superblock's write flag without recomputing it (the file would
     * not open).  The data keep their Fletcher32 checksums; what the readers need of the attributes
     * they range-check. */
    H5Pset_obj_track_times(fcpl, 0);
    H5E_BEGIN_TRY
    {
        o->file = H5Fcreate(o->tmp, H5F_ACC_TRUNC, fcpl, fapl);
    }
    H5E_END_TRY;
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (o->file < 0)
        return err_set(e, "cannot create the HDF5 file '%s' in memory", path);
    return 0;
}

int h5io_output_close(struct h5io_output *o, int rc, struct err *e)
{
    void *image = NULL;
    ssize_t size = -1;
    if (rc == 0) {
        H5E_BEGIN_TRY
        {
            if (H5Fflush(o->file, H5F_SCOPE_LOCAL) >= 0)
                size = H5Fget_file_image(o->file, NULL, 0);
            if (size > 0) {
                image = xmalloc((size_t)size);
                if (H5Fget_file_image(o->file, image, (size_t)size) != size)
                    size = -1;
            }
        }
        H5E_END_TRY;
        if (size <= 0)
            rc = err_set(e, "cannot finish the HDF5 file '%s' in memory", o->path);
    }
    h5io_close_quiet(o->file); /* in memory: nothing can be lost here */
    o->file = H5I_INVALID_HID;
    if (rc == 0)
        rc = write_file_atomic(o->path, image, (size_t)size, e);
    free(image);
    return rc == 0 ? 0 : -1;
}

hid_t h5io_open(const char *path, struct err *e)
{
    hid_t f;
    H5E_BEGIN_TRY
    {
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (f < 0) {
        FILE *probe = fopen(path, "rb");
        if (!probe)
            err_set(e, "cannot open '%s': no such file (or no permission)", path);
        else
            err_set(e, "'%s' is not an HDF5 file that can be read", path);
        if (probe)
            fclose(probe);
    }
    return f;
}

int h5io_close(hid_t file, const char *path, struct err *e)
{
    herr_t rc;
    errno = 0;
    H5E_BEGIN_TRY
    {
        rc = H5Fclose(file);
    }
    H5E_END_TRY;
    int saved = errno;
    return rc < 0 ? err_set(e, "cannot finish writing '%s'%s", path, h5io_os_reason(saved)) : 0;
}

hid_t h5io_gcpl(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(p, 0);
    return p;
}

hid_t h5io_dcpl(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(p, 0);
    return p;
}

hid_t h5io_group(hid_t loc, const char *name, struct err *e)
{
    hid_t gcpl = h5io_gcpl(), g;
    H5E_BEGIN_TRY
    {
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    }
    H5E_END_TRY;
    H5Pclose(gcpl);
    if (g < 0) {
        char where[1600];
        h5io_where(loc, name, where, sizeof where);
        err_set(e, "%s: cannot create the group", where);
    }
    return g;
}

int h5io_exists(hid_t loc, const char *path)
{
    /* H5Lexists needs every intermediate link to exist: walk the path. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    htri_t ok = 1;
    H5E_BEGIN_TRY
    {
        for (char *p = buf + (buf[0] == '/'); ok > 0 && p;) {
            char *slash = strchr(p, '/');
            if (slash)
                *slash = '\0';
            ok = H5Lexists(loc, buf, H5P_DEFAULT);
            if (slash)
                *slash = '/';
            p = slash ? slash + 1 : NULL;
        }
    }
    H5E_END_TRY;
    return ok > 0;
}

int h5io_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank, const hsize_t *dims,
               const void *data, struct err *e)
{
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = h5io_dcpl(), d;
    /* Every non-empty array is one chunk with a Fletcher32 checksum, which HDF5 checks on every read:
     * a damaged byte of data is an error, never a silently different number. */
    hsize_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= dims[i];
    if (rank > 0 && count > 0) {
        H5Pset_chunk(dcpl, rank, dims);
        H5Pset_fletcher32(dcpl);
    }
    herr_t rc = -1;
    errno = 0;
    H5E_BEGIN_TRY
    {
        d = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (d >= 0) {
            rc = H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
            if (H5Dclose(d) < 0)
                rc = -1;
        }
    }
    H5E_END_TRY;
    int saved = errno;
    H5Pclose(dcpl);
    H5Sclose(space);
    if (rc < 0) {
        char where[1600];
        h5io_where(loc, name, where, sizeof where);
        return err_set(e, "%s: cannot write the dataset%s", where, h5io_os_reason(saved));
    }
    return 0;
}

int h5io_write_i32(hid_t loc, const char *name, int rank, const hsize_t *dims, const int32_t *data, struct err *e)
{
    return h5io_write(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, rank, dims, data, e);
}

int h5io_write_i64(hid_t loc, const char *name, int rank, const hsize_t *dims, const int64_t *data, struct err *e)
{
    return h5io_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, rank, dims, data, e);
}

int h5io_write_f32(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data, struct err *e)
{
    return h5io_write(loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, data, e);
}

int h5io_write_i8(hid_t loc, const char *name, int rank, const hsize_t *dims, const int8_t *data, struct err *e)
{
    return h5io_write(loc, name, H5T_STD_I8LE, H5T_NATIVE_INT8, rank, dims, data, e);
}

int h5io_write_u8(hid_t loc, const char *name, hsize_t n, const void *data, struct err *e)
{
    return h5io_write(loc, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &n, data, e);
}

int h5io_write_strtab(hid_t loc, const char *name, const struct strtab *t, struct err *e)
{
    hid_t g = h5io_group(loc, name, e);
    if (g < 0)
        return -1;
    static const int64_t zero = 0;
    hsize_t n_off = (hsize_t)t->n + 1;
    int rc = h5io_write_u8(g, "chars", (hsize_t)t->len, t->chars ? t->chars : "", e);
    if (rc == 0)
        rc = h5io_write_i64(g, "offsets", 1, &n_off, t->offsets ? t->offsets : &zero, e);
    H5Gclose(g);
    return rc;
}

/* The file a handle belongs to, for messages. */
static void file_name(hid_t loc, char *out, size_t n)
{
    H5E_BEGIN_TRY
    {
        if (H5Fget_name(loc, out, n) < 0)
            snprintf(out, n, "?");
    }
    H5E_END_TRY;
}

/* Writes scalar attribute `name` of obj, replacing one that is there. */
static int attr_write(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value,
                      struct err *e)
{
    herr_t rc = -1;
    errno = 0;
    H5E_BEGIN_TRY
    {
        if (H5Aexists(obj, name) > 0)
            H5Adelete(obj, name);
        hid_t space = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            rc = H5Awrite(a, mem_type, value);
            H5Aclose(a);
        }
        H5Sclose(space);
    }
    H5E_END_TRY;
    int saved = errno;
    if (rc < 0) {
        char where[1600];
        h5io_where(obj, name, where, sizeof where);
        return err_set(e, "%s: cannot write the attribute%s", where, h5io_os_reason(saved));
    }
    return 0;
}

int h5io_attr_str(hid_t obj, const char *name, const char *value, struct err *e)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    int rc = attr_write(obj, name, type, type, value, e);
    H5Tclose(type);
    return rc;
}

int h5io_attr_i64(hid_t obj, const char *name, int64_t value, struct err *e)
{
    return attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, e);
}

int h5io_attr_f64(hid_t obj, const char *name, double value, struct err *e)
{
    return attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, e);
}

/* Reads scalar attribute `name` as `mem` after checking its class (and, for strings, that it is a
 * fixed-length one that fits `size` bytes with its terminator). */
static int attr_read(hid_t obj, const char *name, hid_t mem, H5T_class_t want, size_t size, void *out,
                     struct err *e)
{
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
        hid_t type = a >= 0 ? H5Aget_type(a) : -1;
        if (a < 0)
            rc = -1;
        else if (type < 0 || H5Tget_class(type) != want ||
                 (want == H5T_STRING && (H5Tis_variable_str(type) > 0 || H5Tget_size(type) >= size)))
            rc = -2;
        else if (H5Aread(a, mem, out) < 0)
            rc = -3;
        if (type >= 0)
            H5Tclose(type);
        if (a >= 0)
            H5Aclose(a);
    }
    H5E_END_TRY;
    if (rc == 0)
        return 0;
    char file[1024];
    file_name(obj, file, sizeof file);
    if (rc == -1)
        return err_set(e, "%s: missing attribute '%s'", file, name);
    if (rc == -2 && want == H5T_STRING)
        return err_set(e, "%s: attribute '%s' is not a fixed-length string of fewer than %zu bytes", file, name, size);
    return err_set(e, "%s: attribute '%s' has the wrong type", file, name);
}

int h5io_read_attr_str(hid_t obj, const char *name, char *out, size_t n, struct err *e)
{
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, n);
    H5Tset_strpad(mem, H5T_STR_NULLTERM);
    memset(out, 0, n);
    int rc = attr_read(obj, name, mem, H5T_STRING, n, out, e);
    H5Tclose(mem);
    return rc;
}

int h5io_read_attr_i64(hid_t obj, const char *name, int64_t *value, struct err *e)
{
    return attr_read(obj, name, H5T_NATIVE_INT64, H5T_INTEGER, sizeof *value, value, e);
}

int h5io_read_attr_f64(hid_t obj, const char *name, double *value, struct err *e)
{
    return attr_read(obj, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, sizeof *value, value, e);
}

int h5io_read(hid_t loc, const char *name, hid_t mem_type, size_t elem, int rank, hsize_t *dims, void **data,
              struct err *e)
{
    char where[1600];
    h5io_where(loc, name, where, sizeof where);
    *data = NULL;
    if (!h5io_exists(loc, name))
        return err_set(e, "%s: missing (was this file written by this version of mixphm?)", where);
    hid_t d, space = -1;
    herr_t rc = -1;
    int got_rank = -1;
    H5E_BEGIN_TRY
    {
        d = H5Dopen2(loc, name, H5P_DEFAULT);
        if (d >= 0)
            space = H5Dget_space(d);
        if (space >= 0)
            got_rank = H5Sget_simple_extent_ndims(space);
        hid_t file_type = d >= 0 ? H5Dget_type(d) : -1;
        int same_class = file_type >= 0 && ((H5Tget_class(file_type) == H5T_FLOAT) == (H5Tget_class(mem_type) == H5T_FLOAT));
        if (file_type >= 0)
            H5Tclose(file_type);
        if (got_rank == rank && !same_class)
            got_rank = -2;
        if (got_rank == rank) {
            H5Sget_simple_extent_dims(space, dims, NULL);
            size_t count = 1;
            for (int i = 0; i < rank; i++)
                count *= (size_t)dims[i];
            *data = xmalloc((count ? count : 1) * elem);
            rc = H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data);
        }
        if (space >= 0)
            H5Sclose(space);
        if (d >= 0)
            H5Dclose(d);
    }
    H5E_END_TRY;
    if (got_rank != rank) {
        free(*data);
        *data = NULL;
        if (got_rank == -2)
            return err_set(e, "damaged or foreign file %s: expected %s, found %s", where,
                           H5Tget_class(mem_type) == H5T_FLOAT ? "floating-point numbers" : "integers",
                           H5Tget_class(mem_type) == H5T_FLOAT ? "integers" : "floating-point numbers");
        if (got_rank < 0)
            return err_set(e, "%s: not a dataset that can be read", where);
        return err_set(e, "%s: expected %d dimension(s), got %d", where, rank, got_rank);
    }
    if (rc < 0) {
        free(*data);
        *data = NULL;
        return err_set(e, "damaged or foreign file %s: cannot read the dataset (a failed checksum, a damaged "
                          "or truncated file)", where);
    }
    return 0;
}

int h5io_read_strtab(hid_t loc, const char *name, struct strtab *t, struct err *e)
{
    memset(t, 0, sizeof *t);
    char where[1600];
    h5io_where(loc, name, where, sizeof where);
    if (!h5io_exists(loc, name))
        return err_set(e, "%s: missing string table", where);
    hid_t g;
    H5E_BEGIN_TRY
    {
        g = H5Gopen2(loc, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (g < 0)
        return err_set(e, "%s: not a string table (a group)", where);
    hsize_t nc, no;
    void *chars = NULL, *offsets = NULL;
    int rc = h5io_read(g, "chars", H5T_NATIVE_UINT8, 1, 1, &nc, &chars, e);
    if (rc == 0)
        rc = h5io_read(g, "offsets", H5T_NATIVE_INT64, sizeof(int64_t), 1, &no, &offsets, e);
    H5Gclose(g);
    if (rc == 0 && (no < 1 || strtab_adopt(t, chars, (size_t)nc, offsets, (long)no - 1) != 0))
        rc = err_set(e, "%s: the offsets do not describe NUL-terminated strings", where);
    if (rc != 0) {
        free(chars);
        free(offsets);
        memset(t, 0, sizeof *t);
    }
    return rc;
}

void h5io_close_quiet(hid_t file)
{
    if (file < 0)
        return;
    H5E_BEGIN_TRY
    {
        H5Fclose(file);
    }
    H5E_END_TRY;
}

int h5io_write_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *data, struct err *e)
{
    return h5io_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, data, e);
}

/* ---- whole datasets into the caller's buffer (weights, checkpoints, fixtures) ------------------ */

static hid_t open_dataset(hid_t loc, const char *name, struct err *e)
{
    char where[1600];
    h5io_where(loc, name, where, sizeof where);
    if (!h5io_exists(loc, name))
        return err_set(e, "%s: missing dataset", where);
    hid_t d;
    H5E_BEGIN_TRY
    {
        d = H5Dopen2(loc, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (d < 0)
        return err_set(e, "%s: not a dataset that can be read", where);
    return d;
}

int h5io_shape(hid_t loc, const char *name, int *ndim, long dims[H5IO_MAX_DIMS], struct err *e)
{
    hid_t d = open_dataset(loc, name, e);
    if (d < 0)
        return -1;
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t space = H5Dget_space(d);
        int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        hsize_t hd[H5IO_MAX_DIMS];
        if (nd < 0 || nd > H5IO_MAX_DIMS || H5Sget_simple_extent_dims(space, hd, NULL) < 0) {
            rc = -1;
        } else {
            *ndim = nd;
            for (int i = 0; i < nd; i++)
                dims[i] = (long)hd[i];
        }
        if (space >= 0)
            H5Sclose(space);
        H5Dclose(d);
    }
    H5E_END_TRY;
    if (rc) {
        char where[1600];
        h5io_where(loc, name, where, sizeof where);
        return err_set(e, "%s: cannot read the shape", where);
    }
    return 0;
}

/* Reads dataset `name` as `mem` after checking its class and element count. */
static int load_as(hid_t loc, const char *name, hid_t mem, H5T_class_t want, const char *what, void *out, long n,
                   struct err *e)
{
    int nd;
    long dims[H5IO_MAX_DIMS];
    if (h5io_shape(loc, name, &nd, dims, e))
        return -1;
    long count = 1;
    for (int i = 0; i < nd; i++)
        count *= dims[i];
    char where[1600];
    h5io_where(loc, name, where, sizeof where);
    if (count != n)
        return err_set(e, "%s: %ld values, expected %ld", where, count, n);
    hid_t d = open_dataset(loc, name, e);
    if (d < 0)
        return -1;
    int rc = 0;
    H5E_BEGIN_TRY
    {
        hid_t type = H5Dget_type(d);
        if (type < 0 || H5Tget_class(type) != want)
            rc = -2;
        else if (n > 0 && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
            rc = -1;
        if (type >= 0)
            H5Tclose(type);
        H5Dclose(d);
    }
    H5E_END_TRY;
    if (rc == -2)
        return err_set(e, "%s: '%s' is not %s", where, name, what);
    if (rc)
        return err_set(e, "damaged or foreign file %s: cannot read the dataset (a failed checksum, a damaged or "
                          "truncated file)", where);
    return 0;
}

int h5io_load_f32(hid_t loc, const char *name, float *out, long n, struct err *e)
{
    return load_as(loc, name, H5T_NATIVE_FLOAT, H5T_FLOAT, "floating point", out, n, e);
}

int h5io_load_f64(hid_t loc, const char *name, double *out, long n, struct err *e)
{
    return load_as(loc, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, "floating point", out, n, e);
}

int h5io_load_i32(hid_t loc, const char *name, int32_t *out, long n, struct err *e)
{
    return load_as(loc, name, H5T_NATIVE_INT32, H5T_INTEGER, "integer", out, n, e);
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

int h5io_list_datasets(hid_t loc, char ***names, int *count, struct err *e)
{
    struct list_ctx c = {NULL, 0, 0};
    herr_t r = -1;
    H5E_BEGIN_TRY
    {
        r = H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, NULL, list_one, &c);
    }
    H5E_END_TRY;
    if (r < 0) {
        for (int i = 0; i < c.n; i++)
            free(c.names[i]);
        free(c.names);
        char file[1024];
        file_name(loc, file, sizeof file);
        return err_set(e, "%s: cannot list the datasets", file);
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
