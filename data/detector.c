#include "data/detector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "data/readers.h"

void detector_group_name(int layout, const char *img_id, char *out, size_t n)
{
    if (layout == LAYOUT_COCO)
        snprintf(out, n, "%lld", image_number(img_id));
    else
        snprintf(out, n, "%s", img_id);
}

int detector_detect_layout(hid_t file, const char *path, const char *img_id, int *layout, struct err *e)
{
    char name[512];
    if (h5io_exists(file, img_id)) {
        *layout = LAYOUT_VLT5;
        return 0;
    }
    detector_group_name(LAYOUT_COCO, img_id, name, sizeof name);
    if (image_number(img_id) >= 0 && h5io_exists(file, name)) {
        *layout = LAYOUT_COCO;
        return 0;
    }
    return err_set(e, "%s: no group for image '%s' (looked for '%s'%s%s)", path, img_id, img_id,
                   image_number(img_id) >= 0 ? " and " : "", image_number(img_id) >= 0 ? name : "");
}

int detector_open(struct detector_file *d, const char *path, int layout, struct err *e)
{
    snprintf(d->path, sizeof d->path, "%s", path);
    d->layout = layout;
    d->file = h5io_open(path, e);
    return d->file < 0 ? err_prefix(e, "detector file") : 0;
}

void detector_close(struct detector_file *d)
{
    if (d->file >= 0)
        H5Fclose(d->file);
    d->file = -1;
}

int detector_has(const struct detector_file *d, const char *img_id)
{
    char name[512];
    detector_group_name(d->layout, img_id, name, sizeof name);
    return h5io_exists(d->file, name);
}

/* Opens the image's group; an error names the file and the image. */
static hid_t open_image(const struct detector_file *d, const char *img_id, struct err *e)
{
    char name[512];
    detector_group_name(d->layout, img_id, name, sizeof name);
    hid_t g;
    H5E_BEGIN_TRY
    {
        g = H5Gopen2(d->file, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (g < 0)
        err_set(e, "%s: image '%s' is not in the file (no group '%s')", d->path, img_id, name);
    return g;
}

/* Reads dataset `name` of group g if it has `rank` dimensions equal to want[] (want[i] < 0: any; the
 * dims found go to got[]), converted to `type`; with out == NULL only the shape is checked.
 * Returns 0, -1 for a missing dataset or a wrong shape, -2 when the values cannot be read.  *is_f64 (if
 * not NULL) tells whether the stored type is a 64-bit float. */
static int read_checked(hid_t g, const char *name, int rank, const long *want, hsize_t *got, hid_t type, void *out,
                        int *is_f64)
{
    int rc = -1;
    H5E_BEGIN_TRY
    {
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        if (ds >= 0) {
            hid_t sp = H5Dget_space(ds);
            hsize_t dims[H5S_MAX_RANK];
            int r = H5Sget_simple_extent_ndims(sp);
            if (r == rank) {
                H5Sget_simple_extent_dims(sp, dims, NULL);
                rc = 0;
                for (int i = 0; i < rank; i++) {
                    if (want[i] >= 0 && dims[i] != (hsize_t)want[i])
                        rc = -1;
                    if (got)
                        got[i] = dims[i];
                }
            }
            H5Sclose(sp);
            if (rc == 0 && is_f64) {
                hid_t t = H5Dget_type(ds);
                *is_f64 = H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 8;
                H5Tclose(t);
                type = *is_f64 ? H5T_NATIVE_DOUBLE : type;
            }
            if (rc == 0 && out && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
                rc = -2;
            H5Dclose(ds);
        }
    }
    H5E_END_TRY;
    return rc;
}

int detector_feature_dim(const struct detector_file *d, const char *img_id, int *dim, struct err *e)
{
    hid_t g = open_image(d, img_id, e);
    if (g < 0)
        return -1;
    static const long want[2] = {N_REGIONS, -1};
    hsize_t dims[2] = {0, 0};
    int rc = read_checked(g, "features", 2, want, dims, H5T_NATIVE_FLOAT, NULL, NULL);
    H5Gclose(g);
    if (rc != 0 || dims[1] < 1 || dims[1] > 65536)
        return err_set(e, "%s: image '%s': 'features' should be a [36, dim] dataset", d->path, img_id);
    *dim = (int)dims[1];
    return 0;
}

/* (height, width) from img_h / img_w (VL-T5) or img_hw (COCO). */
static int image_size(const struct detector_file *d, hid_t g, const char *img_id, double hw[2], struct err *e)
{
    static const long two[1] = {2};
    if (d->layout == LAYOUT_COCO) {
        if (read_checked(g, "img_hw", 1, two, NULL, H5T_NATIVE_DOUBLE, hw, NULL) != 0)
            return err_set(e, "%s: image '%s': 'img_hw' should be [2] (height, width)", d->path, img_id);
    } else if (read_checked(g, "img_h", 0, NULL, NULL, H5T_NATIVE_DOUBLE, &hw[0], NULL) != 0 ||
               read_checked(g, "img_w", 0, NULL, NULL, H5T_NATIVE_DOUBLE, &hw[1], NULL) != 0) {
        return err_set(e, "%s: image '%s': 'img_h' and 'img_w' should be scalars", d->path, img_id);
    }
    if (!(hw[0] >= 1 && hw[1] >= 1 && hw[0] < 1e6 && hw[1] < 1e6))
        return err_set(e, "%s: image '%s': image size %g x %g (height x width) is not a size", d->path, img_id, hw[0],
                       hw[1]);
    return 0;
}

int detector_read(const struct detector_file *d, const char *img_id, int dim, float *features, float *boxes,
                  int64_t hw_out[2], struct err *e)
{
    hid_t g = open_image(d, img_id, e);
    if (g < 0)
        return -1;
    const long fwant[2] = {N_REGIONS, dim}, bwant[2] = {N_REGIONS, 4};
    double hw[2], raw[N_REGIONS * 4]; /* boxes as stored: float32, or float64 */
    int is_f64 = 0, rc = read_checked(g, "features", 2, fwant, NULL, H5T_NATIVE_FLOAT, features, NULL);
    char what[PATH_MAX_LEN + 600];
    snprintf(what, sizeof what, "%s: image '%s'", d->path, img_id);
    if (rc != 0) {
        rc = err_set(e, rc == -1 ? "%s: 'features' should be [36, %d] like the other images"
                                 : "%s: cannot read 'features' (not numbers, or a damaged file)", what, dim);
    } else if ((rc = read_checked(g, "boxes", 2, bwant, NULL, H5T_NATIVE_FLOAT, raw, &is_f64)) != 0) {
        rc = err_set(e, rc == -1 ? "%s: 'boxes' should be [36, 4]" : "%s: cannot read 'boxes'", what);
    } else if (image_size(d, g, img_id, hw, e) != 0) {
        rc = -1;
    } else if (is_f64) { /* normalised in the stored precision, as NumPy does */
        rc = boxes_normalize_f64(raw, boxes, N_REGIONS, hw[1], hw[0], what, e);
    } else {
        memcpy(boxes, raw, N_REGIONS * 4 * sizeof *boxes);
        rc = boxes_normalize_f32(boxes, N_REGIONS, hw[1], hw[0], what, e);
    }
    if (rc == 0 && hw_out) {
        hw_out[0] = (int64_t)hw[0];
        hw_out[1] = (int64_t)hw[1];
    }
    H5Gclose(g);
    return rc;
}

static int check_and_clamp(float *b, int n, const char *what, struct err *e)
{
    for (int i = 0; i < n * 4; i++) {
        if (b[i] >= 1.0f + 1e-5f || b[i] <= -1e-5f)
            return err_set(e, "%s: box %d coordinate %d is %g of the image size, outside [0, 1] (a box larger "
                           "than its image?)", what, i / 4, i % 4, (double)b[i]);
        b[i] = b[i] < 0.0f ? 0.0f : b[i] > 1.0f ? 1.0f : b[i];
    }
    return 0;
}

int boxes_normalize_f32(float *boxes, int n, double width, double height, const char *what, struct err *e)
{
    float w = (float)width, h = (float)height;
    for (int i = 0; i < n; i++) {
        boxes[4 * i + 0] /= w;
        boxes[4 * i + 1] /= h;
        boxes[4 * i + 2] /= w;
        boxes[4 * i + 3] /= h;
    }
    return check_and_clamp(boxes, n, what, e);
}

int boxes_normalize_f64(const double *in, float *out, int n, double width, double height, const char *what,
                        struct err *e)
{
    for (int i = 0; i < n; i++) {
        double v[4] = {in[4 * i] / width, in[4 * i + 1] / height, in[4 * i + 2] / width, in[4 * i + 3] / height};
        for (int k = 0; k < 4; k++) {
            if (v[k] >= 1.0 + 1e-5 || v[k] <= -1e-5)
                return err_set(e, "%s: box %d coordinate %d is %g of the image size, outside [0, 1]", what, i, k, v[k]);
            out[4 * i + k] = (float)(v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k]);
        }
    }
    return 0;
}
