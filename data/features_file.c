/* features.h5: creating its datasets and reading rows back (layout: data/features.h, docs/data.md). */
#include "data/features.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "data/half.h"
#include "data/detector.h"

hid_t features_file_type(int half)
{
    if (!half)
        return H5Tcopy(H5T_IEEE_F32LE);
    hid_t t = H5Tcopy(H5T_IEEE_F32LE); /* IEEE binary16: what h5py and NumPy call float16 */
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    H5Tset_precision(t, 16);
    return t;
}

long features_chunk_images(const struct features_layout *l)
{
    long c = l->chunk_images;
    if (c <= 0) {
        long per_image = (long)N_REGIONS * l->dim * (l->half ? 2 : 4);
        c = (1L << 20) / per_image;
    }
    if (c < 1)
        c = 1;
    return c > l->n_images ? (l->n_images > 0 ? l->n_images : 1) : c;
}

/* A chunked dataset of `rank` dims whose first dimension is the image, with the layout's filters. */
static hid_t create_chunked(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                            const struct features_layout *l, struct err *e)
{
    hsize_t chunk[3] = {(hsize_t)features_chunk_images(l), rank > 1 ? dims[1] : 1, rank > 2 ? dims[2] : 1};
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = h5io_dcpl(), d;
    H5Pset_chunk(dcpl, rank, chunk);
    if (l->deflate > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)l->deflate);
    }
    if (l->fletcher32)
        H5Pset_fletcher32(dcpl);
    errno = 0;
    H5E_BEGIN_TRY
    {
        d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    }
    H5E_END_TRY;
    int reason = errno;
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0) {
        char where[1600];
        h5io_where(file, name, where, sizeof where);
        err_set(e, "%s: cannot create the dataset%s", where, h5io_os_reason(reason));
    }
    return d;
}

int features_create(hid_t file, const struct features_layout *l, int id_len, const char *images_digest,
                    hid_t ids[4], struct err *e)
{
    for (int i = 0; i < 4; i++)
        ids[i] = -1;
    if (l->deflate > 0 && !H5Zfilter_avail(H5Z_FILTER_DEFLATE))
        return err_set(e, "features.deflate: this HDF5 library has no deflate filter; set features.deflate: 0");
    hsize_t fd[3] = {(hsize_t)l->n_images, N_REGIONS, (hsize_t)l->dim}, bd[3] = {(hsize_t)l->n_images, N_REGIONS, 4};
    hid_t ftype = features_file_type(l->half);
    ids[0] = create_chunked(file, "features", ftype, 3, fd, l, e);
    H5Tclose(ftype);
    if (ids[0] >= 0)
        ids[1] = create_chunked(file, "boxes", H5T_IEEE_F32LE, 3, bd, l, e);
    if (ids[1] >= 0) {
        hid_t st = H5Tcopy(H5T_C_S1), dcpl = h5io_dcpl();
        H5Tset_size(st, (size_t)id_len);
        H5Tset_strpad(st, H5T_STR_NULLTERM);
        hsize_t n = (hsize_t)l->n_images, hw[2] = {(hsize_t)l->n_images, 2};
        hid_t s1 = H5Screate_simple(1, &n, NULL), s2 = H5Screate_simple(2, hw, NULL);
        H5E_BEGIN_TRY
        {
            ids[2] = H5Dcreate2(file, "image_ids", st, s1, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            ids[3] = H5Dcreate2(file, "image_hw", H5T_STD_I32LE, s2, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        }
        H5E_END_TRY;
        H5Sclose(s1);
        H5Sclose(s2);
        H5Tclose(st);
        H5Pclose(dcpl);
        if (ids[2] < 0 || ids[3] < 0)
            err_set(e, "cannot create /image_ids and /image_hw");
    }
    int rc = ids[3] >= 0 ? 0 : -1;
    if (rc == 0)
        rc = h5io_attr_str(file, "format", FEATURES_FORMAT, e);
    if (rc == 0)
        rc = h5io_attr_i64(file, "version", FEATURES_VERSION, e);
    if (rc == 0)
        rc = h5io_attr_i64(file, "n_regions", N_REGIONS, e);
    if (rc == 0)
        rc = h5io_attr_i64(file, "dim", l->dim, e);
    if (rc == 0)
        rc = h5io_attr_str(file, "dtype", l->half ? "float16" : "float32", e);
    if (rc == 0)
        rc = h5io_attr_i64(file, "projected", l->projected, e);
    if (rc == 0)
        rc = h5io_attr_str(file, "images_digest", images_digest, e);
    if (rc != 0)
        for (int i = 0; i < 4; i++)
            if (ids[i] >= 0) {
                H5Dclose(ids[i]);
                ids[i] = -1;
            }
    return rc;
}

static int shape_is(hid_t d, long n, int mid, int last)
{
    hid_t s = H5Dget_space(d);
    hsize_t dims[3] = {0, 0, 0};
    int ok = H5Sget_simple_extent_ndims(s) == 3;
    if (ok)
        H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    return ok && (long)dims[0] == n && (int)dims[1] == mid && (last < 0 || (int)dims[2] == last) ? (int)dims[2] : -1;
}

int features_open(struct features_file *f, const char *path, hid_t fapl, struct err *e)
{
    memset(f, 0, sizeof *f);
    f->file = f->features = f->boxes = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    H5E_BEGIN_TRY
    {
        f->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    }
    H5E_END_TRY;
    if (f->file < 0)
        return err_set(e, "cannot open '%s' (missing, or not an HDF5 file)", path);
    char format[64] = "";
    int64_t version = 0, n_regions = 0, projected = 0;
    int rc = h5io_read_attr_str(f->file, "format", format, sizeof format, e);
    if (rc == 0 && strcmp(format, FEATURES_FORMAT) != 0)
        rc = err_set(e, "%s: not a features.h5 file (format '%s')", path, format);
    if (rc == 0)
        rc = h5io_read_attr_i64(f->file, "version", &version, e);
    if (rc == 0 && version != FEATURES_VERSION)
        rc = err_set(e, "%s: format version %lld, this mixphm reads %d (rerun features)", path, (long long)version,
                     FEATURES_VERSION);
    if (rc == 0)
        rc = h5io_read_attr_i64(f->file, "n_regions", &n_regions, e);
    if (rc == 0)
        rc = h5io_read_attr_i64(f->file, "projected", &projected, e);
    if (rc == 0 && (!h5io_exists(f->file, "features") || !h5io_exists(f->file, "boxes")))
        rc = err_set(e, "%s: /features or /boxes is missing", path);
    if (rc == 0) {
        f->features = H5Dopen2(f->file, "features", H5P_DEFAULT);
        f->boxes = H5Dopen2(f->file, "boxes", H5P_DEFAULT);
        hid_t s = H5Dget_space(f->features);
        hsize_t dims[3] = {0, 0, 0};
        if (H5Sget_simple_extent_ndims(s) == 3)
            H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s);
        f->n_images = (long)dims[0];
        f->n_regions = (int)n_regions;
        f->dim = shape_is(f->features, f->n_images, f->n_regions, -1);
        f->projected = (int)projected;
        hid_t t = H5Dget_type(f->features);
        f->half = H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2;
        int float_ok = H5Tget_class(t) == H5T_FLOAT && (H5Tget_size(t) == 2 || H5Tget_size(t) == 4);
        H5Tclose(t);
        if (f->dim < 1 || !float_ok || n_regions != N_REGIONS)
            rc = err_set(e, "%s: /features should be [n, 36, dim] float32 or float16", path);
        else if (shape_is(f->boxes, f->n_images, f->n_regions, 4) != 4)
            rc = err_set(e, "%s: /boxes should be [%ld, 36, 4]", path, f->n_images);
    }
    if (rc != 0)
        features_close(f);
    return rc;
}

void features_close(struct features_file *f)
{
    if (f->features >= 0)
        H5Dclose(f->features);
    if (f->boxes >= 0)
        H5Dclose(f->boxes);
    if (f->file >= 0)
        H5Fclose(f->file);
    f->file = f->features = f->boxes = -1;
}

int features_image_ids(const struct features_file *f, struct strtab *ids, struct err *e)
{
    memset(ids, 0, sizeof *ids);
    hid_t d = -1;
    if (h5io_exists(f->file, "image_ids"))
        d = H5Dopen2(f->file, "image_ids", H5P_DEFAULT);
    if (d < 0)
        return err_set(e, "%s: /image_ids is missing", f->path);
    hid_t t = H5Dget_type(d);
    size_t len = H5Tget_size(t);
    H5Tclose(t);
    char *buf = xcalloc((size_t)(f->n_images ? f->n_images : 1), len + 1);
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, len + 1);
    H5Tset_strpad(mem, H5T_STR_NULLTERM);
    herr_t rc = H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Tclose(mem);
    H5Dclose(d);
    for (long i = 0; rc >= 0 && i < f->n_images; i++)
        strtab_add(ids, buf + (size_t)i * (len + 1));
    free(buf);
    return rc < 0 ? err_set(e, "%s: cannot read /image_ids", f->path) : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Reads sorted, distinct rows u[0..nu-1] of dataset d (per image: `per` values of `mem_type`) into out. */
static int read_sorted(hid_t d, const int64_t *u, long nu, int mid, int last, hid_t mem_type, hid_t dxpl,
                       void *out)
{
    hid_t fs = H5Dget_space(d);
    hsize_t mdims[3] = {(hsize_t)(nu ? nu : 1), (hsize_t)mid, (hsize_t)last};
    hid_t ms = H5Screate_simple(3, mdims, NULL);
    H5Sselect_none(fs);
    if (nu == 0)
        H5Sselect_none(ms);
    /* One hyperslab per run of consecutive rows, OR-ed into one selection. */
    for (long i = 0; i < nu;) {
        long j = i + 1;
        while (j < nu && u[j] == u[j - 1] + 1)
            j++;
        hsize_t start[3] = {(hsize_t)u[i], 0, 0}, count[3] = {(hsize_t)(j - i), (hsize_t)mid, (hsize_t)last};
        H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL);
        i = j;
    }
    herr_t rc;
    H5E_BEGIN_TRY
    {
        rc = H5Dread(d, mem_type, ms, fs, dxpl, out);
    }
    H5E_END_TRY;
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

int features_read_rows(const struct features_file *f, const int64_t *rows, long n, hid_t dxpl, float *features,
                       float *boxes, struct err *e)
{
    int64_t *u = xmalloc((size_t)(n ? n : 1) * sizeof *u);
    memcpy(u, rows, (size_t)n * sizeof *u);
    qsort(u, (size_t)n, sizeof *u, cmp_i64);
    long nu = 0;
    for (long i = 0; i < n; i++)
        if (nu == 0 || u[i] != u[nu - 1])
            u[nu++] = u[i];
    for (long i = 0; i < nu; i++)
        if (u[i] < 0 || u[i] >= f->n_images) {
            long long bad = (long long)u[i];
            free(u);
            return err_set(e, "%s: row %lld is outside the %ld images", f->path, bad, f->n_images);
        }
    size_t fsz = (size_t)N_REGIONS * (size_t)f->dim, bsz = (size_t)N_REGIONS * 4;
    int in_place = nu == n; /* sorted, distinct rows already: read straight into the caller's buffers */
    for (long i = 0; in_place && i < n; i++)
        in_place = rows[i] == u[i];
    int rc = 0;
    if (features) {
        void *tmp = (!in_place || f->half) ? xmalloc((size_t)(nu ? nu : 1) * fsz * (f->half ? 2 : 4)) : features;
        hid_t t = f->half ? features_file_type(1) : H5Tcopy(H5T_NATIVE_FLOAT);
        rc = read_sorted(f->features, u, nu, N_REGIONS, f->dim, t, dxpl, tmp);
        H5Tclose(t);
        if (rc == 0 && f->half && in_place)
            half_to_floats(tmp, features, (size_t)nu * fsz);
        for (long i = 0; rc == 0 && !in_place && i < n; i++) {
            const int64_t *hit = bsearch(&rows[i], u, (size_t)nu, sizeof *u, cmp_i64);
            size_t k = (size_t)(hit - u);
            if (f->half)
                half_to_floats((const uint16_t *)tmp + k * fsz, features + (size_t)i * fsz, fsz);
            else
                memcpy(features + (size_t)i * fsz, (const float *)tmp + k * fsz, fsz * sizeof(float));
        }
        if (tmp != features)
            free(tmp);
        if (rc != 0)
            err_set(e, "%s: cannot read /features (a damaged file fails its checksum here)", f->path);
    }
    if (rc == 0 && boxes) {
        float *tmp = in_place ? boxes : xmalloc((size_t)(nu ? nu : 1) * bsz * sizeof *tmp);
        rc = read_sorted(f->boxes, u, nu, N_REGIONS, 4, H5T_NATIVE_FLOAT, dxpl, tmp);
        for (long i = 0; rc == 0 && !in_place && i < n; i++) {
            const int64_t *hit = bsearch(&rows[i], u, (size_t)nu, sizeof *u, cmp_i64);
            memcpy(boxes + (size_t)i * bsz, tmp + (size_t)(hit - u) * bsz, bsz * sizeof *tmp);
        }
        if (tmp != boxes)
            free(tmp);
        if (rc != 0)
            err_set(e, "%s: cannot read /boxes", f->path);
    }
    free(u);
    return rc;
}

int features_read_block(const struct features_file *f, long start, long count, hid_t dxpl, float *features,
                        float *boxes, struct err *e)
{
    if (start < 0 || count < 0 || start + count > f->n_images)
        return err_set(e, "%s: rows %ld..%ld are outside the %ld images", f->path, start, start + count - 1,
                       f->n_images);
    int64_t *rows = xmalloc((size_t)(count ? count : 1) * sizeof *rows);
    for (long i = 0; i < count; i++)
        rows[i] = start + i;
    int rc = features_read_rows(f, rows, count, dxpl, features, boxes, e);
    free(rows);
    return rc;
}

void features_block_of(long n, int rank, int size, long *start, long *count)
{
    long base = n / size, extra = n % size;
    *start = rank * base + (rank < extra ? rank : extra);
    *count = base + (rank < extra ? 1 : 0);
}
