/* The outputs of the analyze stage (rank 0), every one written under a temporary name and renamed:
 *   redundancy.h5   /RUN/STACK/PAIR/STAT: double [layers] (rsa, cka_linear, cka_rbf, sigma_x, sigma_y)
 *                   or [layers, 3] (hsic_linear, hsic_rbf: (X, Y), (X, X), (Y, Y)); X = h_a, Y = h or g.
 *                   Each dataset's attributes say run, method, stack, pair, x, y, statistic, examples;
 *                   the root's say examples, block, weights; NaN where a statistic is undefined.
 *   redundancy.md   a table per run: layer x (RSA, linear CKA, RBF CKA) for both pairs
 *   redundancy_STAT.{dat,gp,png,svg,pdf}  STAT across layers (encoder, then decoder), one line per
 *                   (method, k) with the mean over its seeds; left (h_a, h), right (h_a, g) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "base/h5io.h"
#include "stages/analyze.h"
#include "stages/gnuplot.h"

#define N_SCALARS 5
static const char *const scalar_names[N_SCALARS] = {"rsa", "cka_linear", "cka_rbf", "sigma_x", "sigma_y"};
/* What the tables and plots show. */
#define N_SHOWN 3
static const char *const shown_titles[N_SHOWN] = {"RSA", "linear CKA", "RBF CKA"};
static const char *const pair_y[ANALYZE_PAIRS] = {"h", "g"};

static double scalar_of(const struct redundancy_stats *s, int i)
{
    const double v[N_SCALARS] = {s->rsa, s->cka_linear, s->cka_rbf, s->sigma_x, s->sigma_y};
    return v[i];
}

static int dataset_attrs(hid_t loc, const char *ds_name, const struct analyze_result *r, int s, int p,
                         const char *stat, long N, struct err *e)
{
    hid_t ds = H5Dopen2(loc, ds_name, H5P_DEFAULT);
    if (ds < 0)
        return err_set(e, "redundancy.h5: cannot reopen %s/%s", r->name, ds_name);
    int rc = h5io_attr_str(ds, "run", r->name, e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "method", r->method, e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "stack", analyze_stack_names[s], e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "pair", analyze_pair_names[p], e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "x", "h_a", e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "y", pair_y[p], e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "statistic", stat, e);
    if (rc == 0)
        rc = h5io_attr_str(ds, "rows", "layer", e);
    if (rc == 0)
        rc = h5io_attr_i64(ds, "examples", N, e);
    H5Dclose(ds);
    return rc;
}

/* /RUN/STACK/PAIR with its datasets. */
static int write_pair(hid_t run_group, const struct analyze_result *r, int s, int p, long N, double *buf, struct err *e)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", analyze_stack_names[s], analyze_pair_names[p]);
    hid_t g = h5io_group(run_group, path, e);
    if (g < 0)
        return -1;
    const int L = r->layers[s];
    int rc = 0;
    for (int i = 0; i < N_SCALARS && rc == 0; i++) {
        for (int l = 0; l < L; l++)
            buf[l] = scalar_of(analyze_stats_at(r, s, l, p), i);
        hsize_t dims[1] = {(hsize_t)L};
        rc = h5io_write(g, scalar_names[i], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, buf, e);
        if (rc == 0)
            rc = dataset_attrs(g, scalar_names[i], r, s, p, scalar_names[i], N, e);
    }
    for (int k = 0; k < 2 && rc == 0; k++) {
        const char *name = k ? "hsic_rbf" : "hsic_linear";
        for (int l = 0; l < L; l++)
            for (int j = 0; j < 3; j++) {
                const struct redundancy_stats *st = analyze_stats_at(r, s, l, p);
                buf[3 * l + j] = k ? st->hsic_rbf[j] : st->hsic_linear[j];
            }
        hsize_t dims[2] = {(hsize_t)L, 3};
        rc = h5io_write(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, buf, e);
        if (rc == 0)
            rc = dataset_attrs(g, name, r, s, p, name, N, e);
    }
    H5Gclose(g);
    return rc;
}

static int write_run(hid_t file, const struct analyze_result *r, long N, double *buf, struct err *e)
{
    hid_t g = h5io_group(file, r->name, e);
    if (g < 0)
        return -1;
    int rc = h5io_attr_str(g, "method", r->method, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "k", r->k, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "seed", r->seed, e);
    for (int s = 0; s < 2 && rc == 0; s++) {
        hid_t sg = h5io_group(g, analyze_stack_names[s], e);
        if (sg < 0) {
            rc = -1;
            break;
        }
        H5Gclose(sg);
        for (int p = 0; p < ANALYZE_PAIRS && rc == 0; p++)
            rc = write_pair(g, r, s, p, N, buf, e);
    }
    H5Gclose(g);
    return rc;
}

int analyze_write_h5(const char *path, const struct analyze_result *r, int n_runs, long N, int block,
                     const char *weights, struct err *e)
{
    struct h5io_output o;
    if (h5io_output_open(&o, path, e) != 0)
        return -1;
    hid_t f = o.file;
    double *buf = xmalloc((size_t)3 * (r[0].layers_max ? r[0].layers_max : 1) * sizeof *buf); /* [L, 3] */
    int rc = h5io_attr_str(f, "format", "mixphm-redundancy", e);
    if (rc == 0)
        rc = h5io_attr_i64(f, "examples", N, e);
    if (rc == 0)
        rc = h5io_attr_i64(f, "block", block, e);
    if (rc == 0)
        rc = h5io_attr_str(f, "weights", weights, e);
    if (rc == 0)
        rc = h5io_attr_str(f, "pairs", "ha_h: (h_a, h), the adapter's output and input; ha_g: (h_a, g), the "
                                       "adapter's output and the stack's mean-pooled final output", e);
    for (int i = 0; i < n_runs && rc == 0; i++)
        rc = write_run(f, &r[i], N, buf, e);
    free(buf);
    return h5io_output_close(&o, rc, e);
}

static void cell(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, " n/a |");
    else
        fprintf(f, " %.4f |", v);
}

int analyze_write_markdown(const char *path, const struct analyze_result *r, int n_runs, long N,
                           const char *weights, const char *plots_note, struct err *e)
{
    struct atomic_file af;
    if (atomic_open(&af, path, e) != 0)
        return -1;
    FILE *f = af.f;
    fprintf(f, "# Redundancy analysis\n\n");
    fprintf(f, "%ld test examples, %s weights, merged experts. Per layer, the adapter's output h_a against its input "
               "h (the frozen FFN output: redundancy) and against g, the mean-pooled final output of the same "
               "stack (task relevance); every vector mean-pooled per example as MixPHM's regulariser pools it "
               "(docs/analysis.md). n/a: not defined (a constant representation).\n\n", N, weights);
    if (plots_note[0])
        fprintf(f, "%s\n\n", plots_note);
    else
        for (int i = 0; i < N_SHOWN; i++)
            fprintf(f, "![%s across layers](redundancy_%s.png)\n", shown_titles[i], scalar_names[i]);
    for (int i = 0; i < n_runs; i++) {
        fprintf(f, "\n## %s\n\nmethod %s, k = %ld, seed %ld\n\n| stack | layer |", r[i].name, r[i].method, r[i].k,
                r[i].seed);
        for (int p = 0; p < ANALYZE_PAIRS; p++)
            for (int k = 0; k < N_SHOWN; k++)
                fprintf(f, " %s (h_a, %s) |", shown_titles[k], pair_y[p]);
        fprintf(f, "\n|---|---:|");
        for (int k = 0; k < ANALYZE_PAIRS * N_SHOWN; k++)
            fprintf(f, "---:|");
        fprintf(f, "\n");
        for (int s = 0; s < 2; s++)
            for (int l = 0; l < r[i].layers[s]; l++) {
                fprintf(f, "| %s | %d |", analyze_stack_names[s], l);
                for (int p = 0; p < ANALYZE_PAIRS; p++)
                    for (int k = 0; k < N_SHOWN; k++)
                        cell(f, scalar_of(analyze_stats_at(&r[i], s, l, p), k));
                fprintf(f, "\n");
            }
    }
    return atomic_commit(&af, e);
}

/* The lines of the plots: one per (method, k), in order of first appearance. */
static int line_groups(const struct analyze_result *r, int n_runs, int *group)
{
    int n = 0;
    for (int i = 0; i < n_runs; i++) {
        group[i] = -1;
        for (int j = 0; j < i && group[i] < 0; j++)
            if (strcmp(r[j].method, r[i].method) == 0 && r[j].k == r[i].k)
                group[i] = group[j];
        if (group[i] < 0)
            group[i] = n++;
    }
    return n;
}

/* The mean over the group's seeds of statistic `stat` of pair p at (s, l); NaN when none is defined. */
static double group_mean(const struct analyze_result *r, int n_runs, const int *group, int gi, int s, int l, int p,
                         int stat)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < n_runs; i++) {
        double v = group[i] == gi ? scalar_of(analyze_stats_at(&r[i], s, l, p), stat) : NAN;
        if (!isnan(v))
            sum += v, n++;
    }
    return n ? sum / n : NAN;
}

static int plot_files(const char *dir, const struct analyze_result *r, int n_runs, const int *group, int n_groups,
                      int stat, long N, struct err *e)
{
    char path[PATH_MAX_LEN + 64];
    const char *name = scalar_names[stat];
    snprintf(path, sizeof path, "%s/redundancy_%s.dat", dir, name);
    struct atomic_file af;
    if (atomic_open(&af, path, e) != 0)
        return -1;
    const int Le = r[0].layers[0], Ld = r[0].layers[1];
    for (int gi = 0; gi < n_groups; gi++) { /* one index block per line: position, (h_a, h), (h_a, g) */
        for (int i = 0; i < n_runs; i++)
            if (group[i] == gi) {
                fprintf(af.f, "# %s k=%ld\n", r[i].method, r[i].k);
                break;
            }
        for (int s = 0; s < 2; s++)
            for (int l = 0; l < r[0].layers[s]; l++) {
                fprintf(af.f, "%d", s * Le + l);
                for (int p = 0; p < ANALYZE_PAIRS; p++)
                    fprintf(af.f, " %.6g", group_mean(r, n_runs, group, gi, s, l, p, stat));
                fprintf(af.f, "\n");
            }
        fprintf(af.f, "\n\n");
    }
    if (atomic_commit(&af, e) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/redundancy_%s.gp", dir, name);
    if (atomic_open(&af, path, e) != 0)
        return -1;
    FILE *f = af.f;
    fprintf(f, "# gnuplot redundancy_%s.gp: renders redundancy_%s.png, .svg and .pdf from redundancy_%s.dat\n", name,
            name, name);
    fprintf(f, "set xtics (");
    for (int x = 0; x < Le + Ld; x++)
        fprintf(f, "%s\"%s%d\" %d", x ? ", " : "", x < Le ? "e" : "d", x < Le ? x : x - Le, x);
    fprintf(f, ")\nset xrange [-0.5:%d.5]\nset xlabel \"layer (e: encoder, d: decoder)\"\nset grid\n", Le + Ld - 1);
    fprintf(f, "set datafile missing \"nan\"\n");
    char stem[64];
    snprintf(stem, sizeof stem, "redundancy_%s", name);
    for (int format = 0; format < GNUPLOT_FORMATS; format++) {
        gnuplot_output(f, format, 1400, 500, stem, ".tmp");
        fprintf(f, "set multiplot layout 1,2 title \"%s across layers (%ld test examples; mean over seeds)\"\n",
                shown_titles[stat < N_SHOWN ? stat : 0], N);
        for (int p = 0; p < ANALYZE_PAIRS; p++) {
            /* One legend, right of the second plot, where it covers no line. */
            fprintf(f, p == ANALYZE_PAIRS - 1 ? "set key outside right top font \",9\"\n" : "unset key\n");
            fprintf(f, "set title \"(h_a, %s)%s\" noenhanced\nset ylabel \"%s\"\n", pair_y[p],
                    p ? ": relevance to the stack's output" : ": redundancy with the FFN output", shown_titles[stat]);
            for (int gi = 0; gi < n_groups; gi++) {
                int first = 0; /* the group's first run names it */
                while (group[first] != gi)
                    first++;
                char title[160];
                snprintf(title, sizeof title, "%s k=%ld", r[first].method, r[first].k);
                fprintf(f, "%s \"redundancy_%s.dat\" index %d using 1:%d with linespoints lw 2 noenhanced title ",
                        gi ? ", \\\n    " : "plot", name, gi, 2 + p);
                gnuplot_string(f, title);
            }
            fprintf(f, "\n");
        }
        fprintf(f, "unset multiplot\n");
    }
    return atomic_commit(&af, e);
}

int analyze_plot(const char *dir, const struct analyze_result *r, int n_runs, long N, struct err *e)
{
    int *group = xmalloc((size_t)n_runs * sizeof *group); /* [n_runs] */
    const int n_groups = line_groups(r, n_runs, group);
    int rc = 0;
    for (int stat = 0; stat < N_SHOWN && rc == 0; stat++) {
        char script[64];
        snprintf(script, sizeof script, "redundancy_%s.gp", scalar_names[stat]);
        rc = plot_files(dir, r, n_runs, group, n_groups, stat, N, e);
        if (rc == 0)
            rc = gnuplot_run(dir, script, e);
        for (int k = 0; k < GNUPLOT_FORMATS && rc == 0; k++) { /* rendered under .tmp names: now complete */
            char from[PATH_MAX_LEN + 80], to[PATH_MAX_LEN + 64];
            snprintf(to, sizeof to, "%s/redundancy_%s.%s", dir, scalar_names[stat], gnuplot_extensions[k]);
            snprintf(from, sizeof from, "%s.tmp", to);
            rc = commit_tmp(from, to, e);
        }
    }
    free(group);
    return rc;
}
