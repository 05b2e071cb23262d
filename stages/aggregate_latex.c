/* report/results.tex: the table for a paper (booktabs), to \input into a document that loads booktabs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "stages/aggregate_table.h"

/* Writes s with LaTeX's special characters escaped. */
static void latex_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': case '%': case '$': case '#': case '_': case '{': case '}':
            fprintf(f, "\\%c", *s);
            break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '\\': fputs("\\textbackslash{}", f); break;
        case '"': fputs("''", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The row of the best mean in column c among the methods (not the references), or -1. */
static int best_row(const struct agg_table *t, int c)
{
    int best = -1;
    for (int r = 0; r < t->n_rows; r++) {
        const struct agg_cell *cell = &t->rows[r].cells[c];
        if (!t->rows[r].reference && cell->n > 0 && (best < 0 || cell->mean > t->rows[best].cells[c].mean))
            best = r;
    }
    return best;
}

static void write_row(const struct agg_table *t, FILE *f, int r, const int *best)
{
    const struct agg_row *row = &t->rows[r];
    if (row->reference) {
        fputs("\\textit{", f);
        latex_text(f, row->method);
        fputs("} & -- & --", f);
    } else {
        latex_text(f, row->method);
        fprintf(f, " & %.2fM & %.3f", (double)row->trainable / 1e6, row->percent);
    }
    for (int c = 0; c < t->n_k; c++) {
        const struct agg_cell *cell = &row->cells[c];
        fputs(" & ", f);
        if (cell->n == 0) {
            fputs("--", f);
            continue;
        }
        const char *open = best[c] == r ? "\\textbf{" : "", *close = best[c] == r ? "}" : "";
        if (isnan(cell->std))
            fprintf(f, "%s%.2f%s", open, cell->mean, close);
        else
            fprintf(f, "%s%.2f%s\\,$\\pm$\\,%.2f", open, cell->mean, close, cell->std);
    }
    fputs(" \\\\\n", f);
}

void agg_write_latex(const struct agg_table *t, FILE *f)
{
    int *best = xmalloc((size_t)(t->n_k ? t->n_k : 1) * sizeof *best); /* [n_k] */
    for (int c = 0; c < t->n_k; c++)
        best[c] = best_row(t, c);
    fprintf(f, "%% mixphm: %s, test accuracy (", t->dataset);
    latex_text(f, t->metric);
    fprintf(f, "; %s dev checkpoint), mean $\\pm$ std over seeds; best mean per column in bold.\n", t->weights);
    fprintf(f, "%% Needs \\usepackage{booktabs}.\n");
    fprintf(f, "\\begin{tabular}{lrr");
    for (int c = 0; c < t->n_k; c++)
        fputc('r', f);
    fprintf(f, "}\n");
    fprintf(f, "\\toprule\nMethod & Params & \\%% of backbone");
    for (int c = 0; c < t->n_k; c++)
        fprintf(f, " & $k = %ld$", t->k[c]);
    fprintf(f, " \\\\\n\\midrule\n");
    int refs = 0;
    for (int r = 0; r < t->n_rows; r++) {
        if (t->rows[r].reference) {
            refs++;
            continue;
        }
        write_row(t, f, r, best);
    }
    if (refs) {
        fprintf(f, "\\midrule\n");
        for (int r = 0; r < t->n_rows; r++)
            if (t->rows[r].reference)
                write_row(t, f, r, best);
    }
    fprintf(f, "\\bottomrule\n\\end{tabular}\n");
    free(best);
}
