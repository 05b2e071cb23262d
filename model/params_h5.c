#include "model/params_h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/h5io.h"

#define LIST_MAX 8 /* names quoted per kind of problem; the rest are counted */

int param_selected(const struct param_tensor *t, int owner_mask, int trainable)
{
    return (t->owner & owner_mask) && (trainable < 0 || t->trainable == trainable);
}

int params_save_h5(const struct params *p, const char *path, int owner_mask, const struct weights_attr *attrs,
                   int n_attrs, struct err *e)
{
    return params_save_h5_sel(p, path, owner_mask, -1, attrs, n_attrs, e);
}

int params_save_h5_sel(const struct params *p, const char *path, int owner_mask, int trainable,
                       const struct weights_attr *attrs, int n_attrs, struct err *e)
{
    struct h5io_output o;
    if (h5io_output_open(&o, path, e) != 0)
        return -1;
    hid_t f = o.file;
    int rc = h5io_attr_str(f, "format", WEIGHTS_FORMAT, e);
    if (!rc)
        rc = h5io_attr_i64(f, "format_version", WEIGHTS_FORMAT_VERSION, e);
    for (int i = 0; i < n_attrs && !rc; i++)
        rc = h5io_attr_i64(f, attrs[i].name, attrs[i].value, e);
    for (int i = 0; i < p->n && !rc; i++) {
        const struct param_tensor *t = &p->t[i];
        if (!param_selected(t, owner_mask, trainable))
            continue;
        if (!params_data(p, i)) {
            rc = err_set(e, "%s: its float32 values were released once converted (model.precision bf16)", t->name);
            break;
        }
        hsize_t dims[PARAM_MAX_DIMS];
        for (int k = 0; k < t->ndim; k++)
            dims[k] = (hsize_t)t->shape[k];
        rc = h5io_write_f32(f, t->name, t->ndim, dims, params_data(p, i), e);
    }
    if (h5io_output_close(&o, rc, e) != 0)
        return err_prefix(e, "writing weights %s", path);
    return 0;
}

/* Appends "name" to a comma-separated list of at most LIST_MAX names. */
static void list_add(char *buf, size_t n, int *count, const char *name)
{
    if (*count < LIST_MAX) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, "%s%s", *count ? ", " : "", name);
    }
    (*count)++;
}

static void list_close(char *buf, size_t n, int count)
{
    if (count > LIST_MAX) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, " and %d more", count - LIST_MAX);
    }
}

static int check_format(hid_t f, const char *path, struct err *e)
{
    char fmt[64];
    long version = 0;
    if (h5io_read_attr_str(f, "format", fmt, sizeof fmt, e) || strcmp(fmt, WEIGHTS_FORMAT) != 0)
        return err_set(e, "%s: not a mixphm weights file (no attribute format = \"%s\"; convert PyTorch "
                          "checkpoints with tools/convert_vlt5.py)",
                       path, WEIGHTS_FORMAT);
    if (h5io_read_attr_i64(f, "format_version", &version, e))
        return -1;
    if (version != WEIGHTS_FORMAT_VERSION)
        return err_set(e, "%s: weights format version %ld, this build reads version %d", path, version,
                       WEIGHTS_FORMAT_VERSION);
    return 0;
}

static int ignored(const char *const *ignore, const char *name)
{
    for (int i = 0; ignore && ignore[i]; i++)
        if (strcmp(ignore[i], name) == 0)
            return 1;
    return 0;
}

int params_load_h5(struct params *p, const char *path, int owner_mask, const char *const *ignore, struct err *e)
{
    return params_load_h5_sel(p, path, owner_mask, -1, ignore, e);
}

int params_load_h5_sel(struct params *p, const char *path, int owner_mask, int trainable, const char *const *ignore,
                       struct err *e)
{
    hid_t f = h5io_open(path, e);
    if (f < 0)
        return -1;
    if (check_format(f, path, e)) {
        h5io_close_quiet(f);
        return -1;
    }
    char missing[1024] = "", shapes[1400] = "", extra[1024] = "";
    int n_missing = 0, n_shapes = 0, n_extra = 0, rc = 0;
    for (int i = 0; i < p->n && !rc; i++) {
        const struct param_tensor *t = &p->t[i];
        if (!param_selected(t, owner_mask, trainable))
            continue;
        if (!h5io_exists(f, t->name)) {
            list_add(missing, sizeof missing, &n_missing, t->name);
            continue;
        }
        int nd;
        long dims[H5IO_MAX_DIMS];
        if (h5io_shape(f, t->name, &nd, dims, e)) {
            rc = -1;
            break;
        }
        int same = nd == t->ndim;
        for (int k = 0; same && k < nd; k++)
            same = dims[k] == t->shape[k];
        if (!same) {
            char want[64], got[160] = "[";
            params_shape_str(t, want, sizeof want);
            for (int k = 0; k < nd; k++) {
                size_t l = strlen(got);
                snprintf(got + l, sizeof got - l, k ? ", %ld" : "%ld", dims[k]);
            }
            strcat(got, "]");
            char item[PARAM_NAME_MAX + 240];
            snprintf(item, sizeof item, "%s is %s, expected %s", t->name, got, want);
            list_add(shapes, sizeof shapes, &n_shapes, item);
            continue;
        }
        if (!params_data(p, i)) {
            rc = err_set(e, "%s: %s was released once converted (model.precision bf16): load weights before the "
                            "first forward", path, t->name);
            break;
        }
        rc = h5io_load_f32(f, t->name, params_data(p, i), (long)t->numel, e);
    }
    char **names = NULL;
    int n_names = 0;
    if (!rc && !(rc = h5io_list_datasets(f, &names, &n_names, e))) {
        for (int i = 0; i < n_names; i++)
            if (params_find(p, names[i]) < 0 && !ignored(ignore, names[i]))
                list_add(extra, sizeof extra, &n_extra, names[i]);
        free(names);
    }
    h5io_close_quiet(f);
    if (rc)
        return -1;
    if (!n_missing && !n_shapes && !n_extra)
        return 0;
    list_close(missing, sizeof missing, n_missing);
    list_close(shapes, sizeof shapes, n_shapes);
    list_close(extra, sizeof extra, n_extra);
    return err_set(e, "%s: does not match the model:%s%s%s%s%s%s", path, n_missing ? " missing tensors: " : "",
                   missing, n_shapes ? (n_missing ? "; wrong shapes: " : " wrong shapes: ") : "", shapes,
                   n_extra ? ((n_missing || n_shapes) ? "; tensors the model does not have: "
                                                      : " tensors the model does not have: ")
                           : "",
                   extra);
}

int weights_read_attr(const char *path, const char *name, long *value, struct err *e)
{
    hid_t f = h5io_open(path, e);
    if (f < 0)
        return -1;
    int rc = check_format(f, path, e);
    if (!rc)
        rc = h5io_read_attr_i64(f, name, value, e);
    h5io_close_quiet(f);
    return rc;
}
