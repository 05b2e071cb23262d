/* Compares two training outputs, for the training tests:
 *   compare_runs weights A.h5 B.h5 ATOL RTOL    every dataset of two weights files (same names, shapes)
 *   compare_runs json A.json B.json KEY ATOL RTOL   the numbers of array KEY ("loss", "dev" scores)
 * Prints the largest differences; exits 0 when |a - b| <= ATOL + RTOL |b| everywhere (0 0: bit-identical),
 * 1 when not, 2 on unreadable input. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"

struct diff {
    double max_abs, max_rel;
    long bad, total;
};

static void compare_values(const double *a, const double *b, long n, double atol, double rtol, struct diff *d)
{
    for (long i = 0; i < n; i++) {
        double x = a[i], y = b[i], ad = fabs(x - y);
        double rel = ad / (fabs(y) > 1e-30 ? fabs(y) : 1e-30);
        int same_bits = memcmp(&x, &y, sizeof x) == 0 || (x == y);
        if (ad > d->max_abs)
            d->max_abs = ad;
        if (ad > 0 && rel > d->max_rel)
            d->max_rel = rel;
        if (!same_bits && !(ad <= atol + rtol * fabs(y)))
            d->bad++;
        d->total++;
    }
}

static int weights(const char *pa, const char *pb, double atol, double rtol)
{
    struct err e;
    hid_t fa = h5io_open(pa, &e), fb = fa >= 0 ? h5io_open(pb, &e) : -1;
    if (fa < 0 || fb < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    char **names = NULL;
    int n = 0;
    if (h5io_list_datasets(fa, &names, &n, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    struct diff d = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int na, nb;
        long da[H5IO_MAX_DIMS], db[H5IO_MAX_DIMS];
        if (h5io_shape(fa, names[i], &na, da, &e) != 0 || h5io_shape(fb, names[i], &nb, db, &e) != 0 ||
            na != nb) {
            fprintf(stderr, "%s: %s\n", names[i], e.msg[0] ? e.msg : "different ranks");
            rc = 2;
            break;
        }
        long count = 1;
        for (int k = 0; k < na; k++) {
            count *= da[k];
            if (da[k] != db[k]) {
                fprintf(stderr, "%s: different shapes\n", names[i]);
                rc = 2;
            }
        }
        float *a = xmalloc((size_t)(count ? count : 1) * sizeof *a), *b = xmalloc((size_t)(count ? count : 1) * sizeof *b);
        double *ad = xmalloc((size_t)(count ? count : 1) * sizeof *ad), *bd = xmalloc((size_t)(count ? count : 1) * sizeof *bd);
        if (rc == 0 && (h5io_load_f32(fa, names[i], a, count, &e) != 0 || h5io_load_f32(fb, names[i], b, count, &e) != 0)) {
            fprintf(stderr, "%s\n", e.msg);
            rc = 2;
        }
        for (long k = 0; rc == 0 && k < count; k++) {
            ad[k] = a[k];
            bd[k] = b[k];
        }
        if (rc == 0)
            compare_values(ad, bd, count, atol, rtol, &d);
        free(a);
        free(b);
        free(ad);
        free(bd);
    }
    free(names);
    h5io_close_quiet(fa);
    h5io_close_quiet(fb);
    if (rc != 0)
        return rc;
    printf("%d tensors, %ld values: max abs diff %.3g, max rel diff %.3g, %ld beyond tolerance\n", n, d.total,
           d.max_abs, d.max_rel, d.bad);
    return d.bad || d.total == 0 ? 1 : 0;
}

/* The numbers of array `key` (numbers, or objects with a "score"). */
static double *json_numbers(const char *path, const char *key, long *n)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    json_t *arr = root ? json_object_get(root, key) : NULL;
    if (!json_is_array(arr)) {
        fprintf(stderr, "%s: no array \"%s\"\n", path, key);
        json_decref(root);
        return NULL;
    }
    *n = (long)json_array_size(arr);
    double *v = xmalloc((size_t)(*n ? *n : 1) * sizeof *v);
    for (long i = 0; i < *n; i++) {
        json_t *x = json_array_get(arr, (size_t)i);
        if (json_is_object(x))
            x = json_object_get(x, "score");
        v[i] = json_number_value(x);
    }
    json_decref(root);
    return v;
}

static int json(const char *pa, const char *pb, const char *key, double atol, double rtol)
{
    long na, nb;
    double *a = json_numbers(pa, key, &na), *b = a ? json_numbers(pb, key, &nb) : NULL;
    if (!a || !b) {
        free(a);
        return 2;
    }
    if (na != nb) {
        printf("%s: %ld values in %s, %ld in %s\n", key, na, pa, nb, pb);
        free(a);
        free(b);
        return 1;
    }
    struct diff d = {0};
    compare_values(a, b, na, atol, rtol, &d);
    printf("%s: %ld values: max abs diff %.3g, max rel diff %.3g, %ld beyond tolerance\n", key, na, d.max_abs, d.max_rel,
           d.bad);
    free(a);
    free(b);
    return d.bad || na == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "weights") == 0)
        return weights(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
    if (argc == 7 && strcmp(argv[1], "json") == 0)
        return json(argv[2], argv[3], argv[4], atof(argv[5]), atof(argv[6]));
    fprintf(stderr, "usage: compare_runs weights A.h5 B.h5 ATOL RTOL | json A.json B.json KEY ATOL RTOL\n");
    return 2;
}
