#include "stages/aggregate_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "run/sweep.h"

void agg_init(struct agg_table *t, const long *k, int n_k)
{
    memset(t, 0, sizeof *t);
    t->n_k = n_k;
    t->k = xmalloc((size_t)n_k * sizeof *t->k);
    memcpy(t->k, k, (size_t)n_k * sizeof *t->k);
    for (int i = 1; i < n_k; i++) /* ascending k: the table's columns and the plot's x axis */
        for (int j = i; j > 0 && t->k[j] < t->k[j - 1]; j--) {
            long x = t->k[j];
            t->k[j] = t->k[j - 1];
            t->k[j - 1] = x;
        }
}

int agg_add(struct agg_table *t, const char *method, long k, long seed, double accuracy, long trainable,
            double percent, struct err *e)
{
    int r = 0, c = 0;
    while (r < t->n_rows && strcmp(t->rows[r].method, method) != 0)
        r++;
    if (r == t->n_rows) {
        t->rows = xrealloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
        struct agg_row *row = &t->rows[t->n_rows++];
        memset(row, 0, sizeof *row);
        snprintf(row->method, sizeof row->method, "%s", method);
        row->trainable = trainable;
        row->percent = percent;
        row->cells = xcalloc((size_t)t->n_k, sizeof *row->cells);
    }
    while (c < t->n_k && t->k[c] != k)
        c++;
    if (c == t->n_k)
        return err_set(e, "a result for k = %ld, which the sweep does not list", k);
    struct agg_cell *cell = &t->rows[r].cells[c];
    if (cell->n >= AGG_MAX_SEEDS)
        return err_set(e, "more than %d seeds for %s, k = %ld", AGG_MAX_SEEDS, method, k);
    cell->seed[cell->n] = seed;
    cell->lr[cell->n] = 0;
    cell->empty[cell->n] = cell->top[cell->n] = -1;
    cell->top_answer[cell->n][0] = '\0';
    cell->acc[cell->n++] = accuracy;
    return 0;
}

/* torch.tensor(values).mean() and .std() (unbiased) in float32, as MixPHM's train.py reports them. */
static void mean_std_float32(const double *v, int n, double *mean, double *std)
{
    float sum = 0;
    for (int i = 0; i < n; i++)
        sum += (float)v[i];
    float m = sum / (float)n;
    float ss = 0;
    for (int i = 0; i < n; i++)
        ss += ((float)v[i] - m) * ((float)v[i] - m);
    *mean = m;
    *std = n > 1 ? (double)sqrtf(ss / (float)(n - 1)) : NAN;
}

void agg_finish(struct agg_table *t)
{
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_k; c++) {
            struct agg_cell *cell = &t->rows[r].cells[c];
            if (cell->n > 0)
                mean_std_float32(cell->acc, cell->n, &cell->mean, &cell->std);
        }
}

void agg_free(struct agg_table *t)
{
    for (int r = 0; r < t->n_rows; r++)
        free(t->rows[r].cells);
    free(t->rows);
    free(t->k);
    memset(t, 0, sizeof *t);
}

void agg_write_csv(const struct agg_table *t, FILE *f)
{
    fprintf(f, "dataset,metric,weights,method,trainable_params,trainable_percent,k,seeds,mean,std,values\n");
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_k; c++) {
            const struct agg_cell *cell = &t->rows[r].cells[c];
            if (cell->n == 0)
                continue;
            fprintf(f, "%s,%s,%s,%s,%ld,%.4f,%ld,%d,%.2f,", t->dataset, t->metric, t->weights, t->rows[r].method,
                    t->rows[r].trainable, t->rows[r].percent, t->k[c], cell->n, cell->mean);
            if (isnan(cell->std))
                fprintf(f, ",\"");
            else
                fprintf(f, "%.2f,\"", cell->std);
            for (int i = 0; i < cell->n; i++)
                fprintf(f, "%s%ld:%.2f", i ? " " : "", cell->seed[i], cell->acc[i]);
            fprintf(f, "\"\n");
        }
}

static void format_cell(const struct agg_cell *cell, char *out, size_t n)
{
    if (cell->n == 0)
        snprintf(out, n, "-");
    else if (isnan(cell->std))
        snprintf(out, n, "%.2f", cell->mean);
    else
        snprintf(out, n, "%.2f ± %.2f", cell->mean, cell->std);
}

static void format_params(long p, char *out, size_t n)
{
    if (p >= 1000000)
        snprintf(out, n, "%.2fM", (double)p / 1e6);
    else if (p >= 1000)
        snprintf(out, n, "%.1fK", (double)p / 1e3);
    else
        snprintf(out, n, "%ld", p);
}

void agg_write_markdown(const struct agg_table *t, FILE *f, const char *extra)
{
    fprintf(f, "# Results: %s\n\n", t->dataset);
    fprintf(f, "Test accuracy (%s; the %s dev checkpoint), mean ± std over seeds, by training-set size k.\n\n",
            t->metric, strcmp(t->weights, "best") == 0 ? "best" : "last");
    fprintf(f, "| method | params | %% of backbone |");
    for (int c = 0; c < t->n_k; c++)
        fprintf(f, " k = %ld |", t->k[c]);
    fprintf(f, "\n|---|---:|---:|");
    for (int c = 0; c < t->n_k; c++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int r = 0; r < t->n_rows; r++) {
        char params[32];
        format_params(t->rows[r].trainable, params, sizeof params);
        if (t->rows[r].reference)
            fprintf(f, "| *%s* | - | - |", t->rows[r].method);
        else
            fprintf(f, "| %s | %s | %.3f |", t->rows[r].method, params, t->rows[r].percent);
        for (int c = 0; c < t->n_k; c++) {
            char cell[64];
            format_cell(&t->rows[r].cells[c], cell, sizeof cell);
            fprintf(f, " %s |", cell);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nSeeds per cell: ");
    int first = 1;
    for (int r = 0; r < t->n_rows && first; r++)
        for (int c = 0; c < t->n_k && first; c++)
            if (t->rows[r].cells[c].n > 0) {
                fprintf(f, "%d.", t->rows[r].cells[c].n);
                first = 0;
            }
    fprintf(f, " Every value per seed is in results.csv.\n");
    int refs = 0;
    for (int r = 0; r < t->n_rows; r++)
        refs += t->rows[r].reference;
    if (refs)
        fprintf(f, "\nRows in italics are references, not methods: *%s* is the backbone answering with the "
                   "task's prompt before any training (the same in every column); *constant answer* gives the test "
                   "split's most frequent answer to every question; *%s* answers each question with the most "
                   "frequent answer of its question type among the k training examples.\n",
                AGG_ZERO_SHOT, AGG_PRIOR);
    int collapsed = 0, runs = 0;
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_k && !t->rows[r].reference; c++)
            for (int i = 0; i < t->rows[r].cells[c].n; i++) {
                const struct agg_cell *cell = &t->rows[r].cells[c];
                runs++;
                if (cell->empty[i] >= AGG_COLLAPSED_EMPTY || cell->top[i] > AGG_COLLAPSED_TOP) {
                    if (!collapsed++)
                        fprintf(f, "\nRuns whose answers collapsed (%.0f %% or more empty answers, or one answer for more "
                                   "than %.0f %% of the test questions):\n\n",
                                AGG_COLLAPSED_EMPTY, AGG_COLLAPSED_TOP);
                    fprintf(f, "- %s, k = %ld, seed %ld: %.2f %%; %.1f %% empty, \"%s\" %.1f %%\n", t->rows[r].method,
                            t->k[c], cell->seed[i], cell->acc[i], cell->empty[i], cell->top_answer[i], cell->top[i]);
                }
            }
    if (runs)
        fprintf(f, "\n%d of the %d runs in the table collapsed (each run's shares are in its result.json).\n", collapsed,
                runs);
    if (t->lr_selected) {
        fprintf(f, "\nLearning rates chosen on dev (eval.select_lr; per seed, in the order of the seeds):\n\n");
        fprintf(f, "| method |");
        for (int c = 0; c < t->n_k; c++)
            fprintf(f, " k = %ld |", t->k[c]);
        fprintf(f, "\n|---|");
        for (int c = 0; c < t->n_k; c++)
            fprintf(f, "---|");
        fprintf(f, "\n");
        for (int r = 0; r < t->n_rows; r++) {
            if (t->rows[r].reference)
                continue;
            fprintf(f, "| %s |", t->rows[r].method);
            for (int c = 0; c < t->n_k; c++) {
                const struct agg_cell *cell = &t->rows[r].cells[c];
                fprintf(f, " ");
                for (int i = 0; i < cell->n; i++)
                    fprintf(f, "%s%g", i ? ", " : "", cell->lr[i]);
                fprintf(f, "%s |", cell->n ? "" : "-");
            }
            fprintf(f, "\n");
        }
    }
    if (extra)
        fprintf(f, "\n%s", extra);
}

void agg_write_text(const struct agg_table *t, FILE *f)
{
    int w = 18; /* the method column fits the longest label */
    for (int r = 0; r < t->n_rows; r++)
        w = (int)strlen(t->rows[r].method) > w ? (int)strlen(t->rows[r].method) : w;
    fprintf(f, "%-*s %10s", w, "method", "params");
    for (int c = 0; c < t->n_k; c++) {
        char head[32];
        snprintf(head, sizeof head, "k = %ld", t->k[c]);
        fprintf(f, " %16s", head);
    }
    fprintf(f, "\n");
    for (int r = 0; r < t->n_rows; r++) {
        char params[32];
        format_params(t->rows[r].trainable, params, sizeof params);
        fprintf(f, "%-*s %10s", w, t->rows[r].method, params);
        for (int c = 0; c < t->n_k; c++) {
            char cell[64];
            format_cell(&t->rows[r].cells[c], cell, sizeof cell);
            fprintf(f, " %16s", cell);
        }
        fprintf(f, "\n");
    }
}

/* A run's answer shares in its result.json (empty_answers_percent, top_answer, top_answer_percent); -1
 * when the file predates them. */
struct answer_shares_read {
    double empty, top;
    char answer[24];
};

static void shares_of(const json_t *o, struct answer_shares_read *s)
{
    json_t *em = json_object_get(o, "empty_answers_percent"), *tp = json_object_get(o, "top_answer_percent"),
           *ta = json_object_get(o, "top_answer");
    s->empty = json_is_number(em) ? json_number_value(em) : -1;
    s->top = json_is_number(tp) ? json_number_value(tp) : -1;
    snprintf(s->answer, sizeof s->answer, "%s", json_is_string(ta) ? json_string_value(ta) : "");
}

/* A run's result.json: accuracy, parameters, and (when `shares` is not NULL) its answer shares. */
static int read_result(const char *run_dir, const char *name, double *acc, long *trainable, double *percent,
                       char *metric, size_t metric_len, struct answer_shares_read *shares, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/runs/%s/result.json", run_dir, name) >= (int)sizeof path)
        return err_set(e, "path too long: %s/runs/%s/result.json", run_dir, name);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return err_set(e, "%s: %s (is the run evaluated?)", path, je.text);
    json_t *a = json_object_get(o, "accuracy"), *t = json_object_get(o, "trainable_params"),
           *p = json_object_get(o, "trainable_percent"), *m = json_object_get(o, "metric");
    int rc = json_is_number(a) && json_is_integer(t) && json_is_number(p) && json_is_string(m)
                 ? 0
                 : err_set(e, "%s: expected the numbers accuracy, trainable_params, trainable_percent and the "
                              "string metric", path);
    if (rc == 0) {
        *acc = json_number_value(a);
        *trainable = (long)json_integer_value(t);
        *percent = json_number_value(p);
        snprintf(metric, metric_len, "%s", json_string_value(m));
        if (shares)
            shares_of(o, shares);
    }
    json_decref(o);
    return rc;
}

/* A run's best dev score (RUN/runs/NAME/train.json's best_dev). */
static int read_best_dev(const char *run_dir, const char *name, double *dev, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/runs/%s/train.json", run_dir, name) >= (int)sizeof path)
        return err_set(e, "path too long: %s/runs/%s/train.json", run_dir, name);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return err_set(e, "%s: %s (eval.select_lr needs each run's dev score)", path, je.text);
    json_t *d = json_object_get(o, "best_dev");
    int rc = json_is_number(d) ? 0 : err_set(e, "%s: expected the number best_dev", path);
    if (rc == 0)
        *dev = json_number_value(d);
    json_decref(o);
    return rc;
}

/* Marks row `label` as a reference row (created by agg_add). */
static void mark_reference(struct agg_table *t, const char *label)
{
    for (int r = 0; r < t->n_rows; r++)
        if (strcmp(t->rows[r].method, label) == 0)
            t->rows[r].reference = 1;
}

/* The reference rows: the backbone without training (RUN/runs/zero-shot) and the baselines of
 * RUN/baselines.json, when the eval stage made them. */
static int collect_references(const struct config *cfg, const char *run_dir, struct agg_table *t, struct err *e)
{
    char path[PATH_MAX_LEN];
    json_error_t je;
    int rc = 0;
    if (cfg->eval.zero_shot) {
        double acc = 0, percent = 0;
        long trainable = 0;
        char metric[64];
        rc = read_result(run_dir, "zero-shot", &acc, &trainable, &percent, metric, sizeof metric, NULL, e);
        for (int c = 0; c < t->n_k && rc == 0; c++)
            rc = agg_add(t, AGG_ZERO_SHOT, t->k[c], 0, acc, 0, 0, e);
        mark_reference(t, AGG_ZERO_SHOT);
    }
    if (rc == 0 && cfg->eval.baselines) {
        if (snprintf(path, sizeof path, "%s/baselines.json", run_dir) >= (int)sizeof path)
            return err_set(e, "path too long: %s/baselines.json", run_dir);
        json_t *o = json_load_file(path, 0, &je);
        if (!o)
            return err_set(e, "%s: %s (is the eval stage done?)", path, je.text);
        json_t *c = json_object_get(o, "constant"), *prior = json_object_get(o, "prior");
        json_t *answer = json_object_get(c, "answer"), *acc = json_object_get(c, "accuracy");
        if (!json_is_string(answer) || !json_is_number(acc) || !json_is_array(prior))
            rc = err_set(e, "%s: expected constant.answer, constant.accuracy and the prior list", path);
        char label[AGG_LABEL_MAX];
        if (rc == 0)
            snprintf(label, sizeof label, "constant answer \"%.64s\"", json_string_value(answer));
        for (int col = 0; col < t->n_k && rc == 0; col++)
            rc = agg_add(t, label, t->k[col], 0, json_number_value(acc), 0, 0, e);
        if (rc == 0)
            mark_reference(t, label);
        size_t i;
        json_t *v;
        json_array_foreach(prior, i, v)
        {
            json_t *k = json_object_get(v, "k"), *seed = json_object_get(v, "seed"), *a = json_object_get(v, "accuracy");
            if (rc != 0)
                break;
            if (!json_is_integer(k) || !json_is_integer(seed) || !json_is_number(a))
                rc = err_set(e, "%s: prior[%zu]: expected k, seed and accuracy", path, i);
            else
                rc = agg_add(t, AGG_PRIOR, (long)json_integer_value(k), (long)json_integer_value(seed),
                             json_number_value(a), 0, 0, e);
        }
        mark_reference(t, AGG_PRIOR);
        json_decref(o);
    }
    return rc;
}

int agg_collect(const struct config *cfg, const char *run_dir, struct agg_table *t, struct err *e)
{
    union cfg_value sizes[CFG_MAX_SWEEP];
    int n_k = config_values(cfg, "data.sizes", sizes, CFG_MAX_SWEEP);
    long k[CFG_MAX_SWEEP];
    for (int i = 0; i < n_k; i++)
        k[i] = sizes[i].i;
    agg_init(t, k, n_k);
    snprintf(t->dataset, sizeof t->dataset, "%s", config_enum_name("data.dataset", cfg->data.dataset));
    snprintf(t->weights, sizeof t->weights, "%s", config_enum_name("eval.weights", cfg->eval.weights));
    union cfg_value lrs[CFG_MAX_SWEEP];
    t->lr_selected = cfg->eval.select_lr && config_values(cfg, "train.lr", lrs, CFG_MAX_SWEEP) > 1;
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    int rc = 0, n = sweep_count(cfg);
    /* With lr_selected, the runs of one (method, k, seed) differ in train.lr only: the one with the
     * best dev score stands for them (the first on a tie). */
    struct choice {
        char label[AGG_LABEL_MAX];
        long k, seed, trainable;
        double acc, percent, dev, lr;
        struct answer_shares_read shares;
    } *choices = xcalloc((size_t)(n > 0 ? n : 1), sizeof *choices);
    int n_choices = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char name[SWEEP_NAME_MAX];
        struct choice c = {0};
        rc = sweep_run_config(cfg, i, rc_cfg, e);
        if (rc != 0)
            break;
        sweep_run_name(cfg, rc_cfg, name, sizeof name);
        rc = read_result(run_dir, name, &c.acc, &c.trainable, &c.percent, t->metric, sizeof t->metric, &c.shares, e);
        if (rc == 0 && t->lr_selected)
            rc = read_best_dev(run_dir, name, &c.dev, e);
        if (t->lr_selected)
            sweep_run_label_without(cfg, rc_cfg, "train.lr", c.label, sizeof c.label);
        else
            sweep_run_label(cfg, rc_cfg, c.label, sizeof c.label);
        c.k = rc_cfg->data.sizes;
        c.seed = rc_cfg->data.seeds;
        c.lr = t->lr_selected ? rc_cfg->train.lr : 0;
        int j = 0;
        while (t->lr_selected && j < n_choices &&
               !(choices[j].k == c.k && choices[j].seed == c.seed && !strcmp(choices[j].label, c.label)))
            j++;
        if (rc == 0 && (!t->lr_selected || j == n_choices))
            choices[n_choices++] = c;
        else if (rc == 0 && c.dev > choices[j].dev)
            choices[j] = c;
    }
    for (int j = 0; j < n_choices && rc == 0; j++) {
        rc = agg_add(t, choices[j].label, choices[j].k, choices[j].seed, choices[j].acc, choices[j].trainable,
                     choices[j].percent, e);
        for (int r = 0; r < t->n_rows && rc == 0; r++) /* what goes with the value just added */
            if (!strcmp(t->rows[r].method, choices[j].label))
                for (int ci = 0; ci < t->n_k; ci++)
                    if (t->k[ci] == choices[j].k && t->rows[r].cells[ci].n > 0) {
                        struct agg_cell *cell = &t->rows[r].cells[ci];
                        const int i = cell->n - 1;
                        cell->lr[i] = choices[j].lr;
                        cell->empty[i] = choices[j].shares.empty;
                        cell->top[i] = choices[j].shares.top;
                        snprintf(cell->top_answer[i], sizeof cell->top_answer[i], "%s", choices[j].shares.answer);
                    }
    }
    free(choices);
    if (rc == 0)
        rc = collect_references(cfg, run_dir, t, e);
    free(rc_cfg);
    agg_finish(t);
    return rc;
}

