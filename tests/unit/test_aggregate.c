/* The aggregate stage's table: made-up result.json files of a sweep into mean ± std over seeds (float32,
 * unbiased, as MixPHM's train.py), the paper's layout in Markdown, and the CSV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "run/sweep.h"
#include "stages/aggregate_claims.h"
#include "stages/aggregate_table.h"
#include "stages/gnuplot.h"
#include "tests/harness.h"

/* RUN/runs/NAME/result.json with the keys aggregate reads, and `extra` (", \"key\": value ...") after them. */
static void write_result_with(struct test_ctx *t, const char *name, double acc, long trainable, double percent,
                              const char *extra)
{
    char dir[700], path[800], text[1024];
    struct err e;
    snprintf(dir, sizeof dir, "%s/run/runs/%s", t->tmpdir, name);
    CHECK_INT(t, make_dirs(dir, &e), 0);
    snprintf(path, sizeof path, "%s/result.json", dir);
    snprintf(text, sizeof text,
             "{\"run\": \"%s\", \"metric\": \"vlt5\", \"accuracy\": %.17g, \"trainable_params\": %ld, "
             "\"trainable_percent\": %.17g%s}\n", name, acc, trainable, percent, extra);
    CHECK_INT(t, write_file_atomic(path, text, strlen(text), &e), 0);
}

static void write_result(struct test_ctx *t, const char *name, double acc, long trainable, double percent)
{
    write_result_with(t, name, acc, trainable, percent, "");
}

/* The table's results.md text (free it). */
static char *markdown_of(const struct agg_table *tab)
{
    char *md = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    agg_write_markdown(tab, f, NULL);
    fclose(f);
    return md;
}

static struct config *sweep_config(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    const char *sets[] = {dir, "peft.method=[mixphm, lora]", "data.sizes=[64, 16]", "data.seeds=[13, 21, 42]",
                          "eval.zero_shot=false", "eval.baselines=false"};
    CHECKF(t, config_load(cfg, NULL, sets, 6, &e) == 0, "%s", e.msg);
    return cfg;
}

static void test_mean_std_over_seeds(struct test_ctx *t)
{
    struct config *cfg = sweep_config(t);
    /* mixphm k16: 40, 42, 47 -> mean 43, std sqrt(13) = 3.6056; k64: 50, 50, 50 -> 50 ± 0. */
    const double mix16[] = {40, 42, 47}, mix64[] = {50, 50, 50}, lora16[] = {30.5, 31.25, 35.125},
                 lora64[] = {45, 44, 46};
    const long seeds[] = {13, 21, 42};
    for (int s = 0; s < 3; s++) {
        char name[64];
        snprintf(name, sizeof name, "mixphm-k16-s%ld", seeds[s]);
        write_result(t, name, mix16[s], 874048, 0.389);
        snprintf(name, sizeof name, "mixphm-k64-s%ld", seeds[s]);
        write_result(t, name, mix64[s], 874048, 0.389);
        snprintf(name, sizeof name, "lora-k16-s%ld", seeds[s]);
        write_result(t, name, lora16[s], 884736, 0.394);
        snprintf(name, sizeof name, "lora-k64-s%ld", seeds[s]);
        write_result(t, name, lora64[s], 884736, 0.394);
    }
    struct agg_table tab;
    struct err e;
    CHECKF(t, agg_collect(cfg, cfg->run.dir, &tab, &e) == 0, "%s", e.msg);
    CHECK_INT(t, tab.n_k, 2);
    CHECK_INT(t, tab.k[0], 16); /* columns in ascending k whatever the sweep's order */
    CHECK_INT(t, tab.k[1], 64);
    CHECK_INT(t, tab.n_rows, 2);
    CHECK_STR(t, tab.rows[0].method, "mixphm");
    CHECK_STR(t, tab.metric, "vlt5");
    CHECK_NEAR(t, tab.rows[0].cells[0].mean, 43.0, 1e-5, 0);
    CHECK_NEAR(t, tab.rows[0].cells[0].std, sqrt(13.0), 1e-5, 0);
    CHECK_NEAR(t, tab.rows[0].cells[1].std, 0.0, 0, 0);
    CHECK_NEAR(t, tab.rows[1].cells[0].mean, (30.5 + 31.25 + 35.125) / 3, 1e-5, 0);
    CHECK_INT(t, tab.rows[0].cells[0].n, 3);

    char *md = markdown_of(&tab);
    CHECK_CONTAINS(t, md, "| method | params | % of backbone | k = 16 | k = 64 |");
    CHECK_CONTAINS(t, md, "| mixphm | 874.0K | 0.389 | 43.00 ± 3.61 | 50.00 ± 0.00 |");
    CHECK_CONTAINS(t, md, "| lora | 884.7K | 0.394 | 32.29 ± 2.48 | 45.00 ± 1.00 |");
    CHECK_CONTAINS(t, md, "vlt5; the best dev checkpoint");
    free(md);

    char *csv = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&csv, &len);
    agg_write_csv(&tab, f);
    fclose(f);
    CHECK_CONTAINS(t, csv, "synthetic,vlt5,best,mixphm,874048,0.3890,16,3,43.00,3.61,\"13:40.00 21:42.00 42:47.00\"\n");
    free(csv);
    agg_free(&tab);
    free(cfg);
}

static void test_missing_result_is_named(struct test_ctx *t)
{
    struct config *cfg = sweep_config(t);
    write_result(t, "mixphm-k64-s13", 50, 874048, 0.389);
    struct agg_table tab;
    struct err e;
    CHECK_INT(t, agg_collect(cfg, cfg->run.dir, &tab, &e), -1);
    CHECK_CONTAINS(t, e.msg, "mixphm-k64-s21/result.json");
    CHECK_CONTAINS(t, e.msg, "is the run evaluated?");
    agg_free(&tab);
    free(cfg);
}

static void test_one_seed_has_no_std(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    const char *sets[] = {dir, "peft.method=pfeiffer", "data.sizes=[16]", "data.seeds=[13]", "eval.zero_shot=false",
                          "eval.baselines=false"};
    CHECK_INT(t, config_load(cfg, NULL, sets, 6, &e), 0);
    write_result(t, "pfeiffer-k16-s13", 12.345, 2379264, 1.06);
    struct agg_table tab;
    CHECKF(t, agg_collect(cfg, cfg->run.dir, &tab, &e) == 0, "%s", e.msg);
    CHECK(t, isnan(tab.rows[0].cells[0].std)); /* torch's unbiased std of one value */
    char *md = markdown_of(&tab);
    CHECK_CONTAINS(t, md, "| pfeiffer | 2.38M | 1.060 | 12.35 |");
    free(md);
    agg_free(&tab);
    free(cfg);
}

/* Runs whose answers collapsed are listed under the table from their result.json's shares: 5 % empty
 * answers or more, or one answer above 60 %; exactly at 60 % or below 5 % is not a collapse. */
static void test_collapsed_runs_are_listed(struct test_ctx *t)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    char dir[700];
    snprintf(dir, sizeof dir, "run.dir=\"%s/run\"", t->tmpdir);
    const char *sets[] = {dir, "peft.method=lora", "data.sizes=[16]", "data.seeds=[13, 21, 42, 87]",
                          "eval.zero_shot=false", "eval.baselines=false"};
    CHECK_INT(t, config_load(cfg, NULL, sets, 6, &e), 0);
    const struct {
        const char *name, *top;
        double empty, share;
    } runs[] = {{"lora-k16-s13", "no", 0.0, 64.8}, {"lora-k16-s21", "yes", 4.9, 60.0},
                {"lora-k16-s42", "", 5.0, 5.0},    {"lora-k16-s87", "red", 0.0, 30.0}};
    for (int i = 0; i < 4; i++) {
        char shares[256];
        snprintf(shares, sizeof shares,
                 ", \"empty_answers_percent\": %g, \"top_answer\": \"%s\", \"top_answer_percent\": %g",
                 runs[i].empty, runs[i].top, runs[i].share);
        write_result_with(t, runs[i].name, 40, 1536, 0.6, shares);
    }
    struct agg_table tab;
    CHECKF(t, agg_collect(cfg, cfg->run.dir, &tab, &e) == 0, "%s", e.msg);
    char *md = markdown_of(&tab);
    CHECK_CONTAINS(t, md, "- lora, k = 16, seed 13: 40.00 %; 0.0 % empty, \"no\" 64.8 %");
    CHECK_CONTAINS(t, md, "- lora, k = 16, seed 42: 40.00 %; 5.0 % empty");
    CHECK(t, !strstr(md, "seed 21:") && !strstr(md, "seed 87:"));
    CHECK_CONTAINS(t, md, "2 of the 4 runs in the table collapsed");
    free(md);
    agg_free(&tab);
    free(cfg);
}

/* The claims: paired by seed, the mean difference and the wins; the verdicts name the k where a claim
 * holds and where not. */
static void test_claims_are_paired_by_seed(struct test_ctx *t)
{
    struct agg_table tab;
    struct err e;
    const long k[] = {16, 64};
    agg_init(&tab, k, 2);
    /* k 16: mixphm 40 42 47, lora 41 40 45 (diffs -1 +2 +2: +1.00, 2/3), full 50 50 50 (-7.67, 0/3);
     * k 64: mixphm 50 50 50, lora 51 52 53 (-2.00, 0/3), full 49 49 49 (+1, 3/3);
     * regularizer=false 39 40 41 at k 16 only; lora+add = lora + 0.5 at k 16, lora - 1 at k 64. */
    const long seeds[] = {13, 21, 42};
    const double mix[2][3] = {{40, 42, 47}, {50, 50, 50}}, lora[2][3] = {{41, 40, 45}, {51, 52, 53}},
                 full[2][3] = {{50, 50, 50}, {49, 49, 49}};
    for (int c = 0; c < 2; c++)
        for (int s = 0; s < 3; s++) {
            CHECK_INT(t, agg_add(&tab, "mixphm regularizer=true", k[c], seeds[s], mix[c][s], 1, 0.1, &e), 0);
            CHECK_INT(t, agg_add(&tab, "lora", k[c], seeds[s], lora[c][s], 1, 0.1, &e), 0);
            CHECK_INT(t, agg_add(&tab, "full", k[c], seeds[s], full[c][s], 1, 100, &e), 0);
            CHECK_INT(t, agg_add(&tab, "lora+add", k[c], seeds[s], lora[c][s] + (c ? -1 : 0.5), 1, 0.1, &e), 0);
            /* Compacter++ is a method, not Compacter with a routing function. */
            CHECK_INT(t, agg_add(&tab, "compacter", k[c], seeds[s], 30, 1, 0.1, &e), 0);
            CHECK_INT(t, agg_add(&tab, "compacter++", k[c], seeds[s], 31, 1, 0.1, &e), 0);
            if (c == 0)
                CHECK_INT(t, agg_add(&tab, "mixphm regularizer=false", k[c], seeds[s], 39 + s, 1, 0.1, &e), 0);
        }
    /* A seed only one side has is not paired. */
    CHECK_INT(t, agg_add(&tab, "lora", 16, 87, 99, 1, 0.1, &e), 0);
    agg_finish(&tab);
    struct agg_pair p = agg_compare(&tab, agg_find_row(&tab, "mixphm regularizer=true"), agg_find_row(&tab, "lora"), 0);
    CHECK_INT(t, p.n, 3);
    CHECK_INT(t, p.wins, 2);
    CHECK_NEAR(t, p.diff, 1.0, 1e-12, 0);
    char *md = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    agg_write_claims(&tab, f);
    fclose(f);
    CHECK_CONTAINS(t, md, "| lora | +1.00 (2/3) | -2.00 (0/3) |");
    CHECK_CONTAINS(t, md, "| full | -7.00 (0/3) | +1.00 (3/3) |");
    /* The smallest lead over the PEFT methods decides (over lora+add at k 16: +0.50). */
    CHECK_CONTAINS(t, md, "**MixPHM is better than every other parameter-efficient method**: holds at k = 16; does not "
                          "hold at k = 64 (-2.00)");
    CHECK_CONTAINS(t, md, "**MixPHM is at least as good as full fine-tuning**: holds at k = 64; does not hold at k = 16 (-7.00)");
    CHECK_CONTAINS(t, md, "**The redundancy regulariser helps MixPHM** (with against without): holds at k = 16.");
    CHECK_CONTAINS(t, md, "| lora+add - lora | +0.50 (3/3) | -1.00 (0/3) |");
    CHECK_CONTAINS(t, md, "**lora+add improves lora**: holds at k = 16; does not hold at k = 64 (-1.00)");
    CHECK(t, !strstr(md, "compacter++ - compacter") && !strstr(md, "compacter++ improves"));
    CHECK_CONTAINS(t, md, "| compacter++ | ");
    free(md);
    agg_free(&tab);
}

/* Braces balanced and every row of the tabular with as many cells as columns. */
static int latex_well_formed(const char *tex, int columns)
{
    int depth = 0;
    for (const char *c = tex; *c; c++) {
        if (*c == '\\' && c[1]) {
            c++;
            continue;
        }
        depth += *c == '{';
        depth -= *c == '}';
        if (depth < 0)
            return 0;
    }
    if (depth != 0)
        return 0;
    const char *body = strstr(tex, "\\toprule");
    for (const char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *end = strstr(line, "\\\\");
        const char *nl = strchr(line, '\n');
        if (!end || (nl && end > nl))
            continue; /* a rule line */
        int amps = 0;
        for (const char *c = line; c < end; c++)
            amps += *c == '&' && (c == line || c[-1] != '\\');
        if (amps != columns - 1)
            return 0;
    }
    return 1;
}

static void test_latex_table(struct test_ctx *t)
{
    struct agg_table tab;
    struct err e;
    const long k[] = {16, 64};
    agg_init(&tab, k, 2);
    snprintf(tab.dataset, sizeof tab.dataset, "synthetic");
    snprintf(tab.metric, sizeof tab.metric, "vlt5");
    snprintf(tab.weights, sizeof tab.weights, "best");
    const long seeds[] = {13, 21};
    for (int s = 0; s < 2; s++) {
        CHECK_INT(t, agg_add(&tab, "mixphm regularizer=false", 16, seeds[s], 40 + s, 874048, 0.389, &e), 0);
        CHECK_INT(t, agg_add(&tab, "mixphm regularizer=false", 64, seeds[s], 50, 874048, 0.389, &e), 0);
        CHECK_INT(t, agg_add(&tab, "lora_x&y", 16, seeds[s], 44, 884736, 0.394, &e), 0);
        CHECK_INT(t, agg_add(&tab, "lora_x&y", 64, seeds[s], 49 + s, 884736, 0.394, &e), 0);
        CHECK_INT(t, agg_add(&tab, AGG_PRIOR, 16, seeds[s], 60, 0, 0, &e), 0); /* a reference is never bold */
    }
    agg_finish(&tab);
    tab.rows[2].reference = 1;
    char *tex = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&tex, &len);
    agg_write_latex(&tab, f);
    fclose(f);
    CHECK_CONTAINS(t, tex, "\\begin{tabular}{lrrrr}");
    CHECK_CONTAINS(t, tex, "Method & Params & \\% of backbone & $k = 16$ & $k = 64$ \\\\");
    CHECK_CONTAINS(t, tex, "mixphm regularizer=false & 0.87M & 0.389 & 40.50\\,$\\pm$\\,0.71 & \\textbf{50.00}\\,$\\pm$\\,0.00 \\\\");
    CHECK_CONTAINS(t, tex, "lora\\_x\\&y & 0.88M & 0.394 & \\textbf{44.00}\\,$\\pm$\\,0.00 & 49.50\\,$\\pm$\\,0.71 \\\\");
    CHECK_CONTAINS(t, tex, "\\midrule\n\\textit{answer-type prior} & -- & -- & 60.00\\,$\\pm$\\,0.00 & -- \\\\");
    CHECK_CONTAINS(t, tex, "\\bottomrule\n\\end{tabular}\n");
    CHECK(t, latex_well_formed(tex, 5));
    CHECK(t, !latex_well_formed("\\toprule\na & b \\\\\n", 3)); /* the check itself can fail */
    free(tex);
    agg_free(&tab);
}

/* Plot titles with spaces ("mixphm regularizer=false") stay one title. */
static void test_gnuplot_titles_are_quoted(struct test_ctx *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    gnuplot_string(f, "mixphm regularizer=false");
    fputc(' ', f);
    gnuplot_string(f, "a \"b\" \\c");
    fclose(f);
    CHECK_STR(t, buf, "\"mixphm regularizer=false\" \"a \\\"b\\\" \\\\c\"");
    free(buf);
}

/* A few lines keep the key at the right; many put it under the axes and make the image taller by its
 * rows, so the axes keep their height. */
static void test_gnuplot_key_moves_below_for_many_lines(struct test_ctx *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_INT(t, gnuplot_key(f, 9, 560), 560);
    fclose(f);
    CHECK_STR(t, buf, "set key outside right top\n");
    free(buf);
    f = open_memstream(&buf, &len);
    CHECK_INT(t, gnuplot_key(f, 25, 560), 560 + 9 * GNUPLOT_KEY_ROW_PX); /* 25 lines in rows of 3 */
    fclose(f);
    CHECK(t, strstr(buf, "outside below") != NULL && strstr(buf, "maxcols 3") != NULL);
    free(buf);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"mean and std over seeds in the paper's layout", test_mean_std_over_seeds},
        {"a missing result is named", test_missing_result_is_named},
        {"one seed: the mean alone", test_one_seed_has_no_std},
        {"runs whose answers collapsed are listed", test_collapsed_runs_are_listed},
        {"gnuplot titles are quoted", test_gnuplot_titles_are_quoted},
        {"the plot's key moves under the axes for many lines", test_gnuplot_key_moves_below_for_many_lines},
        {"claims are paired by seed and name where they hold", test_claims_are_paired_by_seed},
        {"the LaTeX table: booktabs, escapes, the best per column in bold", test_latex_table},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
