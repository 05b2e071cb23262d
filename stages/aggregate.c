/* The aggregate stage: every run's result.json into one table per dataset (docs/evaluation.md):
 *   report/results.csv       one line per (method, k) with the value of every seed
 *   report/results.md        the paper's layout: methods by rows with their parameter counts, k by
 *                            columns, "mean ± std" over seeds; the metric variant and the weights named
 *   report/results.tex       the same table for LaTeX (booktabs), the best per column in bold
 *   report/accuracy_vs_k.png, .svg and .pdf   accuracy against k, one line per method, std as error bars
 *                            (gnuplot; the data and the script are kept next to them)
 * and the table in the log.  Rank 0 does the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/agree.h"
#include "stages/aggregate_claims.h"
#include "stages/aggregate_table.h"
#include "stages/gnuplot.h"
#include "stages/stages.h"

static int write_text_file(const char *dir, const char *name, void (*writer)(const struct agg_table *, FILE *, const char *),
                           const struct agg_table *t, const char *extra, struct err *e)
{
    char path[PATH_MAX_LEN + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct atomic_file af;
    if (atomic_open(&af, path, e) != 0)
        return -1;
    writer(t, af.f, extra);
    return atomic_commit(&af, e);
}

static void markdown_writer(const struct agg_table *t, FILE *f, const char *extra)
{
    agg_write_markdown(t, f, extra);
    agg_write_claims(t, f);
}

static void latex_writer(const struct agg_table *t, FILE *f, const char *extra)
{
    (void)extra;
    agg_write_latex(t, f);
}

static void csv_writer(const struct agg_table *t, FILE *f, const char *extra)
{
    (void)extra;
    agg_write_csv(t, f);
}

/* The plot's data (one gnuplot index block per method: k, mean, std) and script; renders PNG and SVG.
 * Returns 0, or -1 with a message when gnuplot is missing or fails (the stage goes on without plot). */
static int plot(const struct agg_table *t, const char *dir, struct err *e)
{
    char data[PATH_MAX_LEN + 64], script[PATH_MAX_LEN + 64];
    snprintf(data, sizeof data, "%s/accuracy_vs_k.dat", dir);
    snprintf(script, sizeof script, "%s/accuracy_vs_k.gp", dir);
    struct atomic_file af;
    if (atomic_open(&af, data, e) != 0)
        return -1;
    for (int r = 0; r < t->n_rows; r++) {
        fprintf(af.f, "# %s\n", t->rows[r].method);
        for (int c = 0; c < t->n_k; c++) {
            const struct agg_cell *cell = &t->rows[r].cells[c];
            if (cell->n > 0)
                fprintf(af.f, "%ld %.4f %.4f\n", t->k[c], cell->mean, cell->n > 1 ? cell->std : 0.0);
        }
        fprintf(af.f, "\n\n");
    }
    if (atomic_commit(&af, e) != 0)
        return -1;
    if (atomic_open(&af, script, e) != 0)
        return -1;
    fprintf(af.f, "# gnuplot %s: renders accuracy_vs_k.png, .svg and .pdf from accuracy_vs_k.dat\n", "accuracy_vs_k.gp");
    fprintf(af.f, "set logscale x\nset xtics (");
    for (int c = 0; c < t->n_k; c++)
        fprintf(af.f, "%s\"%ld\" %ld", c ? ", " : "", t->k[c], t->k[c]);
    fprintf(af.f, ")\nset xlabel \"training examples k\"\nset ylabel \"test accuracy (%%, %s)\"\n", t->metric);
    fprintf(af.f, "set title \"%s: accuracy against k, mean and std over seeds\"\n", t->dataset);
    const int height = gnuplot_key(af.f, t->n_rows, 560);
    fprintf(af.f, "set grid\nset offsets graph 0.05, graph 0.05, 0, 0\n");
    for (int format = 0; format < GNUPLOT_FORMATS; format++) {
        gnuplot_output(af.f, format, 900, height, "accuracy_vs_k", "");
        for (int r = 0, refs = 0; r < t->n_rows; r++) {
            fprintf(af.f, "%s \"accuracy_vs_k.dat\" index %d using 1:2:3 with yerrorlines lw 2 ", r ? ", \\\n    " : "plot",
                    r);
            if (t->rows[r].reference) /* the references dashed and gray, so the methods' colours are theirs */
                fprintf(af.f, "dt %d lc rgb \"#555555\" ", 2 + refs++);
            fprintf(af.f, "noenhanced title ");
            gnuplot_string(af.f, t->rows[r].method);
        }
        fprintf(af.f, "\n");
    }
    if (atomic_commit(&af, e) != 0)
        return -1;
    return gnuplot_run(dir, "accuracy_vs_k.gp", e);
}

int stage_aggregate(const struct config *cfg, struct run *run)
{
    struct world *w = run->world;
    struct err *e = &run->err;
    int rc = 0;
    if (w->rank == 0) {
        char dir[PATH_MAX_LEN];
        struct agg_table t;
        rc = run_path(run, "report", dir, sizeof dir) == 0 ? make_dirs(dir, e) : err_set(e, "path too long");
        if (rc == 0)
            rc = agg_collect(cfg, run->dir, &t, e);
        char extra[ERR_MSG_MAX + 256] = "";
        if (rc == 0) {
            struct err pe;
            if (plot(&t, dir, &pe) == 0)
                snprintf(extra, sizeof extra, "![accuracy against k](accuracy_vs_k.png)\n");
            else {
                log_warn(&run->log, "%s", pe.msg);
                snprintf(extra, sizeof extra, "(No plot: %s)\n", pe.msg);
            }
            char analysis[PATH_MAX_LEN];
            /* With analyze.enabled `mixphm run` writes the analysis right after this report. */
            if (run_path(run, "analysis/redundancy.md", analysis, sizeof analysis) == 0 &&
                (cfg->analyze.enabled || file_exists(analysis))) {
                size_t len = strlen(extra);
                snprintf(extra + len, sizeof extra - len, "\nRedundancy analysis: [analysis/redundancy.md](../analysis/redundancy.md)\n");
            }
            rc = write_text_file(dir, "results.md", markdown_writer, &t, extra, e);
        }
        if (rc == 0)
            rc = write_text_file(dir, "results.csv", csv_writer, &t, NULL, e);
        if (rc == 0)
            rc = write_text_file(dir, "results.tex", latex_writer, &t, NULL, e);
        if (rc == 0 && run->log.enabled) {
            fprintf(stderr, "\n%s: test accuracy (%s, %s weights), mean ± std over seeds\n", t.dataset, t.metric,
                    t.weights);
            agg_write_text(&t, stderr);
            fprintf(stderr, "\n");
        }
        if (rc == 0)
            agg_free(&t);
    }
    rc = agree_root_result(w->comm, 0, rc, e);
    if (rc == 0)
        rc = run_output(run, "report/results.csv");
    if (rc == 0)
        rc = run_output(run, "report/results.md");
    if (rc == 0)
        rc = run_output(run, "report/results.tex");
    return rc;
}
