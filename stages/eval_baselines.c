#include "stages/eval_baselines.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void answer_shares(char *const *preds, long n, struct answer_shares *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 0)
        return;
    const char **sorted = xmalloc((size_t)n * sizeof *sorted); /* [n] */
    long empty = 0;
    for (long i = 0; i < n; i++) {
        sorted[i] = preds[i] ? preds[i] : "";
        empty += is_blank(sorted[i]);
    }
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    long best = 0, best_at = 0;
    for (long i = 0, run = 1; i < n; i++, run++) {
        if (i + 1 < n && strcmp(sorted[i], sorted[i + 1]) == 0)
            continue;
        if (run > best) {
            best = run;
            best_at = i;
        }
        run = 0;
    }
    out->empty_percent = 100.0 * (double)empty / (double)n;
    out->top_percent = 100.0 * (double)best / (double)n;
    snprintf(out->top_answer, sizeof out->top_answer, "%s", sorted[best_at]);
    free(sorted);
}

/* The highest-scoring label of question row q (the first of equal scores), or -1. */
static long top_label(const struct prepared *p, long q)
{
    const int32_t *answers;
    const float *scores;
    int n = prepared_labels(p, q, &answers, &scores);
    long best = -1;
    for (int i = 0; i < n; i++)
        if (best < 0 || scores[i] > scores[best])
            best = i;
    return best < 0 ? -1 : answers[best];
}

/* The most frequent value of counts[0..n) (the lowest index of equal counts), or -1 when all are 0. */
static long argmax_count(const long *counts, long n)
{
    long best = -1;
    for (long i = 0; i < n; i++)
        if (counts[i] > 0 && (best < 0 || counts[i] > counts[best]))
            best = i;
    return best;
}

long most_frequent_answer(const struct prepared *p, const int32_t *rows, long n)
{
    long *counts = xcalloc((size_t)(p->n_answers ? p->n_answers : 1), sizeof *counts); /* [n_answers] */
    for (long i = 0; i < n; i++) {
        long a = top_label(p, rows[i]);
        if (a >= 0)
            counts[a]++;
    }
    long best = argmax_count(counts, p->n_answers);
    free(counts);
    return best;
}

void answer_type_prior(const struct prepared *p, const int32_t *train, long k, const int32_t *test, long n_test,
                       const char **preds)
{
    const long n_types = p->qtypes.n > 0 ? p->qtypes.n : 1, n_ans = p->n_answers ? p->n_answers : 1;
    long *counts = xcalloc((size_t)(n_types * n_ans), sizeof *counts); /* [question types, answers] */
    long *prior = xmalloc((size_t)n_types * sizeof *prior);             /* [question types] */
    for (long i = 0; i < k; i++) {
        long a = top_label(p, train[i]), ty = p->q_qtype[train[i]];
        if (a >= 0 && ty >= 0 && ty < n_types)
            counts[ty * n_ans + a]++;
    }
    long overall = most_frequent_answer(p, train, k);
    for (long ty = 0; ty < n_types; ty++) {
        long a = argmax_count(counts + ty * n_ans, n_ans);
        prior[ty] = a >= 0 ? a : overall;
    }
    for (long i = 0; i < n_test; i++) {
        long ty = p->q_qtype[test[i]];
        long a = ty >= 0 && ty < n_types ? prior[ty] : overall;
        preds[i] = a >= 0 ? strtab_get(&p->answers, a) : "";
    }
    free(counts);
    free(prior);
}
