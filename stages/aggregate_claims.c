#include "stages/aggregate_claims.h"

#include "model/peft/methods.h"

#include <string.h>

struct agg_pair agg_compare(const struct agg_table *t, int a, int b, int c)
{
    struct agg_pair p = {0, 0, 0.0};
    const struct agg_cell *x = &t->rows[a].cells[c], *y = &t->rows[b].cells[c];
    for (int i = 0; i < x->n; i++)
        for (int j = 0; j < y->n; j++)
            if (x->seed[i] == y->seed[j]) {
                double d = x->acc[i] - y->acc[j];
                p.diff += d;
                p.wins += d > 0;
                p.n++;
            }
    if (p.n)
        p.diff /= p.n;
    return p;
}

int agg_find_row(const struct agg_table *t, const char *label)
{
    for (int r = 0; r < t->n_rows; r++)
        if (!t->rows[r].reference && strcmp(t->rows[r].method, label) == 0)
            return r;
    return -1;
}

static int is_mixphm(const char *label)
{
    return strncmp(label, "mixphm", 6) == 0 && (label[6] == '\0' || label[6] == ' ' || label[6] == '+');
}

/* The label without its routing function: "lora+add" -> "lora", "mixphm+mul x=1" -> "mixphm x=1"; 0 when
 * the label has none ("compacter++" is a method of its own: a '+' counts only before a routing name). */
static int plain_label(const char *label, char *out, size_t n)
{
    const size_t method_len = strcspn(label, " ");
    for (const char *plus = strchr(label, '+'); plus && (size_t)(plus - label) < method_len; plus = strchr(plus + 1, '+')) {
        const size_t len = method_len - (size_t)(plus + 1 - label);
        for (int r = ROUTING_NONE + 1; peft_routing_names[r]; r++)
            if (strlen(peft_routing_names[r]) == len && !strncmp(plus + 1, peft_routing_names[r], len)) {
                snprintf(out, n, "%.*s%s", (int)(plus - label), label, label + method_len);
                return 1;
            }
    }
    return 0;
}

static void pair_cell(FILE *f, struct agg_pair p)
{
    if (p.n == 0)
        fprintf(f, " - |");
    else
        fprintf(f, " %+.2f (%d/%d) |", p.diff, p.wins, p.n);
}

static void table_head(FILE *f, const struct agg_table *t, const char *first)
{
    fprintf(f, "| %s |", first);
    for (int c = 0; c < t->n_k; c++)
        fprintf(f, " k = %ld |", t->k[c]);
    fprintf(f, "\n|---|");
    for (int c = 0; c < t->n_k; c++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
}

/* "holds at k = 16, 64; does not hold at k = 500 (-1.20)" for the columns where a - b was compared;
 * `lead` is the mean difference that decides (the smallest over several rivals). */
static void verdict(FILE *f, const struct agg_table *t, const double *lead, const int *compared)
{
    int n_hold = 0, n_fail = 0;
    for (int c = 0; c < t->n_k; c++)
        if (compared[c]) {
            n_hold += lead[c] > 0;
            n_fail += !(lead[c] > 0);
        }
    if (n_hold + n_fail == 0) {
        fprintf(f, "not measured (no column with both results)");
        return;
    }
    if (n_hold) {
        fprintf(f, "holds at k =");
        for (int c = 0, i = 0; c < t->n_k; c++)
            if (compared[c] && lead[c] > 0)
                fprintf(f, "%s %ld", i++ ? "," : "", t->k[c]);
    }
    if (n_fail) {
        fprintf(f, "%sdoes not hold at k =", n_hold ? "; " : "");
        for (int c = 0, i = 0; c < t->n_k; c++)
            if (compared[c] && !(lead[c] > 0))
                fprintf(f, "%s %ld (%+.2f)", i++ ? "," : "", t->k[c], lead[c]);
    }
}

void agg_write_claims(const struct agg_table *t, FILE *f)
{
    int mix = agg_find_row(t, "mixphm");
    if (mix < 0)
        mix = agg_find_row(t, "mixphm regularizer=true");
    int ablation = agg_find_row(t, "mixphm regularizer=false"), full = agg_find_row(t, "full");
    int n_routing = 0;
    char plain[AGG_LABEL_MAX];
    for (int r = 0; r < t->n_rows; r++)
        n_routing += !t->rows[r].reference && plain_label(t->rows[r].method, plain, sizeof plain) &&
                     agg_find_row(t, plain) >= 0;
    if (mix < 0 && n_routing == 0)
        return;
    double lead[64];
    int compared[64];
    const int n_k = t->n_k < 64 ? t->n_k : 64;
    fprintf(f, "\n## Claims\n\nEach cell: the mean over seeds of the paired difference in test accuracy (points; the "
               "same seed is the same k-shot split for every method), and on how many seeds the first is ahead. "
               "A claim holds at k when the mean difference is positive; differences within the seeds' standard "
               "deviation above are not consistent however they fall.\n");
    if (mix >= 0) {
        fprintf(f, "\n### %s against the other methods\n\n", t->rows[mix].method);
        table_head(f, t, "MixPHM minus");
        for (int c = 0; c < n_k; c++)
            lead[c] = 1e300, compared[c] = 0;
        for (int r = 0; r < t->n_rows; r++) {
            if (r == mix || t->rows[r].reference || is_mixphm(t->rows[r].method))
                continue;
            fprintf(f, "| %s |", t->rows[r].method);
            for (int c = 0; c < t->n_k; c++) {
                struct agg_pair p = agg_compare(t, mix, r, c);
                pair_cell(f, p);
                if (p.n && r != full && c < n_k) {
                    compared[c] = 1;
                    lead[c] = p.diff < lead[c] ? p.diff : lead[c];
                }
            }
            fprintf(f, "\n");
        }
        fprintf(f, "\n- **MixPHM is better than every other parameter-efficient method**: ");
        verdict(f, t, lead, compared);
        fprintf(f, " (the smallest lead over them in parentheses).\n");
        if (full >= 0) {
            for (int c = 0; c < n_k; c++) {
                struct agg_pair p = agg_compare(t, mix, full, c);
                compared[c] = p.n > 0;
                lead[c] = p.diff;
            }
            fprintf(f, "- **MixPHM is at least as good as full fine-tuning**: ");
            verdict(f, t, lead, compared);
            fprintf(f, ".\n");
        }
        if (ablation >= 0) {
            for (int c = 0; c < n_k; c++) {
                struct agg_pair p = agg_compare(t, mix, ablation, c);
                compared[c] = p.n > 0;
                lead[c] = p.diff;
            }
            fprintf(f, "- **The redundancy regulariser helps MixPHM** (with against without): ");
            verdict(f, t, lead, compared);
            fprintf(f, ".\n");
        }
    }
    if (n_routing) {
        fprintf(f, "\n### Routing functions against their plain method\n\n");
        table_head(f, t, "routed minus plain");
        for (int r = 0; r < t->n_rows; r++) {
            int base;
            if (t->rows[r].reference || !plain_label(t->rows[r].method, plain, sizeof plain) ||
                (base = agg_find_row(t, plain)) < 0)
                continue;
            fprintf(f, "| %s - %s |", t->rows[r].method, plain);
            for (int c = 0; c < t->n_k; c++)
                pair_cell(f, agg_compare(t, r, base, c));
            fprintf(f, "\n");
        }
        fprintf(f, "\n");
        for (int r = 0; r < t->n_rows; r++) {
            int base;
            if (t->rows[r].reference || !plain_label(t->rows[r].method, plain, sizeof plain) ||
                (base = agg_find_row(t, plain)) < 0)
                continue;
            for (int c = 0; c < n_k; c++) {
                struct agg_pair p = agg_compare(t, r, base, c);
                compared[c] = p.n > 0;
                lead[c] = p.diff;
            }
            fprintf(f, "- **%s improves %s**: ", t->rows[r].method, plain);
            verdict(f, t, lead, compared);
            fprintf(f, ".\n");
        }
    }
}
