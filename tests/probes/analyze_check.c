/* Checks the analyze stage's outputs, for tests/cli/test_analyze.sh:
 *   analyze_check serial REPS.h5 REDUNDANCY.h5 TOL
 *       recomputes every statistic of REDUNDANCY.h5 (analysis/redundancy.h5) plainly, in double, on one
 *       process (tests/redundancy_ref.h: full matrices, no ScaLAPACK), from the representations the
 *       stage saved (analysis/representations.h5, analyze.save_representations) and compares:
 *       |stage - serial| <= TOL for RSA and the CKAs, TOL relative for HSIC and the bandwidths
 *   analyze_check same A.h5 B.h5 TOL
 *       every statistic of two redundancy.h5 files (the same runs, stacks, layers): |a - b| <= TOL
 *       (relative for HSIC and the bandwidths); NaN only where the other is NaN
 * Prints the largest differences; exits 0 when within tolerance, 1 when not, 2 on unreadable input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "tests/redundancy_ref.h"

/* 0-2 absolute, 3-4 scales, 5-6 [layers, 3] */
static const char *const stat_names[7] = {"rsa", "cka_linear", "cka_rbf", "sigma_x", "sigma_y", "hsic_linear", "hsic_rbf"};
static const char *const stacks[2] = {"encoder", "decoder"};
static const char *const pairs[2] = {"ha_h", "ha_g"};

struct check {
    double tol, worst_abs, worst_rel;
    long compared, bad;
    char worst_where[700];
};

/* Absolute statistics (RSA, CKA) compare absolutely, scales (HSIC, sigma) relatively. */
static void compare(struct check *c, double a, double b, int relative, const char *where)
{
    c->compared++;
    if (isnan(a) || isnan(b)) {
        if (!(isnan(a) && isnan(b))) {
            c->bad++;
            printf("  %s: %g vs %g (one is NaN)\n", where, a, b);
        }
        return;
    }
    double diff = fabs(a - b), scale = relative ? fmax(fabs(b), 1e-30) : 1.0, rel = diff / scale;
    if (rel > c->worst_rel) {
        c->worst_rel = rel, c->worst_abs = diff;
        snprintf(c->worst_where, sizeof c->worst_where, "%s (%.9g vs %.9g)", where, a, b);
    }
    if (!(rel <= c->tol)) {
        c->bad++;
        if (c->bad <= 10)
            printf("  %s: %.9g vs %.9g (difference %.3g%s)\n", where, a, b, rel, relative ? " relative" : "");
    }
}

static double *read_doubles(hid_t f, const char *path, int rank, hsize_t *dims)
{
    void *data = NULL;
    struct err e;
    if (h5io_read(f, path, H5T_NATIVE_DOUBLE, sizeof(double), rank, dims, &data, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    return data;
}

/* The run groups at the root of a redundancy.h5. */
static herr_t add_name(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g, (void)info;
    char ***names = op;
    int n = 0;
    while ((*names)[n])
        n++;
    *names = xrealloc(*names, (size_t)(n + 2) * sizeof **names);
    (*names)[n] = xstrdup(name);
    (*names)[n + 1] = NULL;
    return 0;
}

static char **run_names(hid_t f)
{
    char **names = xcalloc(1, sizeof *names);
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, add_name, &names);
    return names;
}

/* The stage's value of statistic i at (run, stack, pair, layer) into v (3 values for HSIC). */
static int stage_values(hid_t f, const char *run, int s, int p, int i, int layer, double *v)
{
    char path[512];
    snprintf(path, sizeof path, "/%s/%s/%s/%s", run, stacks[s], pairs[p], stat_names[i]);
    hsize_t dims[2];
    double *x = read_doubles(f, path, i >= 5 ? 2 : 1, dims);
    if (!x || (hsize_t)layer >= dims[0]) {
        free(x);
        return -1;
    }
    const int w = i >= 5 ? 3 : 1;
    memcpy(v, x + (long)layer * w, sizeof(double) * (size_t)w);
    free(x);
    return 0;
}

static void ref_values(const struct ref_stats *r, int i, double *v)
{
    const double scalars[5] = {r->rsa, r->cka_linear, r->cka_rbf, r->sigma_x, r->sigma_y};
    if (i < 5)
        v[0] = scalars[i];
    else
        memcpy(v, i == 5 ? r->hsic_linear : r->hsic_rbf, 3 * sizeof(double));
}

static int check_serial(hid_t reps, hid_t red, struct check *c)
{
    char **runs = run_names(red);
    int rc = runs[0] ? 0 : -1;
    for (int r = 0; runs[r] && rc == 0; r++)
        for (int s = 0; s < 2 && rc == 0; s++) {
            char path[512];
            hsize_t gd[2], hd[2], ad[2];
            snprintf(path, sizeof path, "/%s/%s/g", runs[r], stacks[s]);
            double *g = read_doubles(reps, path, 2, gd);
            rc = g ? 0 : -1;
            for (int l = 0; rc == 0; l++) {
                snprintf(path, sizeof path, "/%s/%s/layer_%d/h", runs[r], stacks[s], l);
                if (!h5io_exists(reps, path))
                    break;
                double *h = read_doubles(reps, path, 2, hd);
                snprintf(path, sizeof path, "/%s/%s/layer_%d/h_a", runs[r], stacks[s], l);
                double *ha = h ? read_doubles(reps, path, 2, ad) : NULL;
                if (!ha || hd[0] != gd[0] || ad[0] != gd[0]) {
                    free(h), free(ha);
                    rc = -1;
                    break;
                }
                struct ref_stats ref[2];
                ref_redundancy(ha, (int)ad[1], h, (int)hd[1], (int)gd[0], &ref[0]);
                ref_redundancy(ha, (int)ad[1], g, (int)gd[1], (int)gd[0], &ref[1]);
                for (int p = 0; p < 2 && rc == 0; p++)
                    for (int i = 0; i < 7 && rc == 0; i++) {
                        double a[3], b[3];
                        rc = stage_values(red, runs[r], s, p, i, l, a);
                        ref_values(&ref[p], i, b);
                        for (int j = 0; j < (i >= 5 ? 3 : 1) && rc == 0; j++) {
                            char where[400];
                            snprintf(where, sizeof where, "%s %s layer %d %s %s[%d]", runs[r], stacks[s], l, pairs[p],
                                     stat_names[i], j);
                            compare(c, a[j], b[j], i >= 3, where);
                        }
                    }
                free(h), free(ha);
            }
            free(g);
        }
    for (int r = 0; runs[r]; r++)
        free(runs[r]);
    free(runs);
    return rc;
}

static int check_same(hid_t fa, hid_t fb, struct check *c)
{
    char **runs = run_names(fa), **other = run_names(fb);
    int rc = runs[0] ? 0 : -1, na = 0, nb = 0;
    while (runs[na])
        na++;
    while (other[nb])
        nb++;
    if (na != nb) {
        printf("  %d runs vs %d\n", na, nb);
        rc = -1;
    }
    for (int r = 0; runs[r] && rc == 0; r++)
        for (int s = 0; s < 2 && rc == 0; s++)
            for (int p = 0; p < 2 && rc == 0; p++)
                for (int i = 0; i < 7 && rc == 0; i++) {
                    char path[512];
                    hsize_t da[2] = {0, 1}, db[2] = {0, 1};
                    snprintf(path, sizeof path, "/%s/%s/%s/%s", runs[r], stacks[s], pairs[p], stat_names[i]);
                    double *a = read_doubles(fa, path, i >= 5 ? 2 : 1, da), *b = read_doubles(fb, path, i >= 5 ? 2 : 1, db);
                    if (!a || !b || da[0] != db[0]) {
                        rc = -1;
                    } else {
                        const long n = (long)da[0] * (i >= 5 ? 3 : 1);
                        for (long k = 0; k < n; k++) {
                            char where[600];
                            snprintf(where, sizeof where, "%s[%ld]", path, k);
                            compare(c, a[k], b[k], i >= 3, where);
                        }
                    }
                    free(a), free(b);
                }
    for (int r = 0; runs[r]; r++)
        free(runs[r]);
    for (int r = 0; other[r]; r++)
        free(other[r]);
    free(runs), free(other);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "serial") != 0 && strcmp(argv[1], "same") != 0)) {
        fprintf(stderr, "usage: analyze_check serial REPS.h5 REDUNDANCY.h5 TOL | same A.h5 B.h5 TOL\n");
        return 2;
    }
    struct err e;
    hid_t a = h5io_open(argv[2], &e), b = a >= 0 ? h5io_open(argv[3], &e) : -1;
    if (a < 0 || b < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    struct check c = {.tol = atof(argv[4])};
    int rc = strcmp(argv[1], "serial") == 0 ? check_serial(a, b, &c) : check_same(a, b, &c);
    H5Fclose(a);
    H5Fclose(b);
    if (rc != 0 || c.compared == 0) {
        fprintf(stderr, "unreadable or empty input (%ld values compared)\n", c.compared);
        return 2;
    }
    printf("%ld values compared, %ld beyond %g; largest difference %.3g at %s\n", c.compared, c.bad, c.tol, c.worst_rel,
           c.worst_where);
    return c.bad ? 1 : 0;
}
